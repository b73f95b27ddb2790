"""The evaluation protocol: folds, one fold's split, the epoch choice, fold summaries.

Everything that decides which speaker's audio goes where, and which model
is reported, is written here once; `main`, the fold runner (`training.py`),
the exporter and the benchmarks call it.

  loso: leave one speaker out, one fold per speaker in the corpus's speaker
      order (the paper's protocol on IEMOCAP: 10 folds).
  loso_session: leave one session out, for corpora whose utterances carry a
      `session` metadata column (IEMOCAP: 5 folds of 2 speakers).
  speaker_kfold: K speaker-disjoint folds of about equal size, for corpora
      with many speakers (CREMA-D's 91 actors).

Honesty rules:
  * Every fold is speaker-disjoint from its training data, and every speaker
    with emotion-labelled data is tested exactly once. Speakers of
    domain-only data are never in a fold (they only train).
  * The test speakers' utterances never reach the training data
    (`split_fold`).
  * No epoch is chosen on a test speaker: the reported model is the last
    epoch's, or with `validation_speakers` the epoch with the best UA on
    validation speakers (`select_epoch`). The test speakers' per-epoch WA/UA
    is logged for monitoring only.
  * Validation speakers come from the fold's emotion-labelled training
    speakers, never from its test speakers (`select_validation_speakers`).
  * Transductive speaker normalisation (`FrontendConfig.normalization =
    "speaker"`) takes each test speaker's statistics from its own unlabelled
    audio (never its labels), as `DataConfig.speaker_bn` takes its BatchNorm
    statistics; `results.json` says so (`uses_test_speaker_audio`,
    `fold_result.py`).

No TensorFlow or Keras import here.
"""

import dataclasses
import pathlib

import numpy as np

PROTOCOLS = ("loso", "loso_session", "speaker_kfold")
# The history key whose maximum chooses the epoch with validation speakers.
MONITOR = "val_ua"


# ---------------------------------------------------------------- folds


def make_folds(corpus, protocol="loso", n_folds=5, seed=0):
    """The test speakers of every fold.

    Args:
        corpus: Corpus. Its `speakers` (fold order) and utterances.
        protocol: str. One of `PROTOCOLS`.
        n_folds: int. Folds of `speaker_kfold`.
        seed: int. Tie-breaking order of `speaker_kfold` (the split is a
            function of the data and the seed only).

    Returns:
        A list of lists of speaker ids.

    Raises:
        ValueError: unknown protocol, no session column, or more folds than
            speakers.
    """
    speakers = list(corpus.speakers)
    if protocol == "loso":
        return [[s] for s in speakers]
    labelled = [u for u in corpus.utterances if u.label is not None]
    if protocol == "loso_session":
        return _session_folds(corpus, speakers, labelled)
    if protocol == "speaker_kfold":
        return _speaker_kfold(speakers, labelled, n_folds, seed)
    raise ValueError(f"--protocol={protocol!r}; expected one of {', '.join(PROTOCOLS)}")


def _session_folds(corpus, speakers, labelled):
    session_of = {}
    for u in labelled:
        session = u.meta.get("session")
        if session in (None, ""):
            raise ValueError(
                    f"--protocol=loso_session needs a session for every utterance, but "
                    f"{u.path} ({corpus.name}) has none; use --protocol=loso or "
                    "speaker_kfold, or add a 'session' column to the manifest")
        session_of.setdefault(u.speaker, str(session))
    sessions = sorted(set(session_of.values()),
                      key=lambda v: (not v.isdigit(), int(v) if v.isdigit() else 0, v))
    return [[s for s in speakers if session_of.get(s) == v] for v in sessions]


def _speaker_kfold(speakers, labelled, n_folds, seed):
    sizes = {s: 0 for s in speakers}
    for u in labelled:
        sizes[u.speaker] = sizes.get(u.speaker, 0) + 1
    present = [s for s in speakers if sizes[s]]
    if not 2 <= n_folds <= len(present):
        raise ValueError(f"--n_folds={n_folds}: speaker_kfold needs 2 to {len(present)} "
                         f"folds for the {len(present)} speakers with labelled data")
    # Largest speakers first, each into the fold with the fewest utterances
    # so far (as scikit-learn's GroupKFold), with a seeded order among
    # speakers of equal size so that the seed picks one balanced split.
    rank = np.random.default_rng(seed).permutation(len(present))
    order = sorted(range(len(present)), key=lambda i: (-sizes[present[i]], rank[i]))
    totals, members = [0] * n_folds, [[] for _ in range(n_folds)]
    for i in order:
        k = min(range(n_folds), key=lambda j: (totals[j], len(members[j]), j))
        totals[k] += sizes[present[i]]
        members[k].append(present[i])
    position = {s: i for i, s in enumerate(speakers)}
    return [sorted(m, key=position.get) for m in members]


def protocol_name(protocol):
    """Human-readable name for results.json and summaries."""
    return {"loso": "leave-one-speaker-out", "loso_session": "leave-one-session-out",
            "speaker_kfold": "speaker-disjoint k-fold"}.get(protocol, protocol)


def fold_speakers(corpus, fold):
    """The test speakers of fold `fold` (an index into `corpus.fold_list()`)."""
    folds = corpus.fold_list()
    n = len(folds)
    if not 0 <= fold < n:
        raise ValueError(f"--fold={fold} is out of range: this corpus has {n} folds "
                         f"({protocol_name(corpus.protocol)}), so folds are "
                         f"0..{n - 1}; see 'folds' in data_report.json")
    return list(folds[fold])


def fold_name(test_speakers):
    """The fold's test speakers as one string (the speaker id for LOSO)."""
    return "+".join(test_speakers)


# ---------------------------------------------------------------- one fold's split


@dataclasses.dataclass(frozen=True)
class FoldSplit:
    """One fold's utterances, split once: training, validation and test.

    Attributes:
        name: str. The test speakers as one string (`fold_name`).
        test_speakers: list of str.
        test_gender: str. Their genders, "+"-joined.
        train: utterances of the other speakers, domain-only data included,
            without the validation speakers.
        validation_speakers: list of str (empty: the last epoch is reported).
        validation: the validation speakers' emotion-labelled utterances.
        test: the test speakers' emotion-labelled utterances.
    """

    name: str
    test_speakers: list
    test_gender: str
    train: list
    validation_speakers: list
    validation: list
    test: list


def split_fold(corpus, fold, validation_speakers=0):
    """The fold's `FoldSplit`.

    Args:
        corpus: Corpus.
        fold: int (index into the protocol's folds) or a collection of test
            speaker ids.
        validation_speakers: int. Training speakers held out to choose the
            epoch (`TrainConfig.validation_speakers`); 0: none.

    Raises:
        ValueError: the fold is out of range, its test speakers have no
            emotion-labelled utterance, or there is nothing to train on.
    """
    if isinstance(fold, (int, np.integer)):
        test_speakers = fold_speakers(corpus, int(fold))
        where = f"fold {fold}"
    else:
        test_speakers = list(fold)
        where = f"fold {fold_name(test_speakers)}"
    held_out = set(test_speakers)
    name = fold_name(test_speakers)
    train = [u for u in corpus.utterances if u.speaker not in held_out]
    test = [u for u in corpus.utterances if u.speaker in held_out and u.label is not None]
    if not test:
        who = f"test speaker {name} has" if len(test_speakers) == 1 else \
            f"test speakers {name} have"
        raise ValueError(f"{where}: {who} no emotion-labelled "
                         "utterances left after the filters; see 'skipped' in "
                         "data_report.json for the files to restore, try another "
                         "--iemocap_subset or --emotions, or leave the fold out of --fold")
    if not any(u.label is not None for u in train):
        raise ValueError(f"{where}: no emotion-labelled training utterances")
    # Validation speakers come out of the emotion-labelled training speakers (not
    # domain-only data), never the test speakers.
    labelled = {u.speaker for u in train if u.label is not None} | held_out
    candidates = [s for s in corpus.speakers if s in labelled]
    chosen = select_validation_speakers(
        candidates, {s: corpus.gender_of(s) for s in candidates}, test_speakers,
        validation_speakers)
    train, validation = split_validation(train, chosen)
    test_gender = "+".join(sorted({corpus.gender_of(s) for s in test_speakers}))
    return FoldSplit(name, test_speakers, test_gender, train, chosen, validation, test)


def select_validation_speakers(speakers, genders, test_speakers, k):
    """The `k` validation speakers of the fold whose test speakers are `test_speakers`.

    The choice is deterministic and differs between folds: candidates are the
    training speakers in corpus order starting after the (last) test speaker
    (cyclic); each pick takes the next candidate of the gender least
    represented so far, so k = 2 gives one speaker of each gender where both
    exist.

    Args:
        speakers: sequence of str. Every speaker of the corpus, in corpus order.
        genders: dict speaker -> gender.
        test_speakers: str or list of str. Never selected.
        k: int. How many; at most the number of training speakers minus one.

    Returns:
        A list of `k` speaker names.
    """
    speakers = list(speakers)
    tests = [test_speakers] if isinstance(test_speakers, str) else list(test_speakers)
    unknown = [s for s in tests if s not in speakers]
    if unknown or not tests:
        raise ValueError(f"test speakers {unknown or tests!r} are not speakers of the corpus")
    if k <= 0:
        return []
    start = max(speakers.index(s) for s in tests)
    candidates = [speakers[(start + i) % len(speakers)] for i in range(1, len(speakers))]
    candidates = [s for s in candidates if s not in tests]
    if k >= len(candidates):
        raise ValueError(f"validation_speakers={k}: the fold has {len(candidates)} training "
                         "speakers, and at least one must be left to train on")
    chosen, counts = [], {g: 0 for g in sorted(set(genders[s] for s in candidates))}
    while len(chosen) < k:
        remaining = [s for s in candidates if s not in chosen]
        fewest = min(counts[genders[s]] for s in remaining)
        pick = next(s for s in remaining if counts[genders[s]] == fewest)
        chosen.append(pick)
        counts[genders[pick]] += 1
    return chosen


def split_validation(train_utterances, speakers):
    """(training utterances without `speakers`, their emotion-labelled utterances)."""
    held = set(speakers)
    train = [u for u in train_utterances if u.speaker not in held]
    validation = [u for u in train_utterances if u.speaker in held and u.label is not None]
    if speakers and not validation:
        raise ValueError(f"validation speakers {sorted(held)} have no emotion-labelled "
                         "utterances; choose another --validation_speakers")
    return train, validation


def uses_test_speaker_audio(config):
    """Whether scoring a fold reads its test speakers' unlabelled audio (never their
    labels): speaker normalisation's statistics, or `speaker_bn`'s BatchNorm ones."""
    return config.model.frontend.normalization == "speaker" or config.data.speaker_bn


# ---------------------------------------------------------------- the epoch reported


def best_epoch(history):
    """(1-based epoch, value) of the best `val_ua` in a history (first of ties)."""
    values = history.get(MONITOR, [])
    if not values:
        return None, None
    i = int(np.argmax(values))
    return i + 1, float(values[i])


@dataclasses.dataclass(frozen=True)
class EpochChoice:
    """Which epoch's model a fold reports, and why (`results.json` `epoch_selection`).

    Attributes:
        epoch: int or None. 1-based; None when no epoch was completed.
        validation_ua: float or None. The chosen epoch's validation UA.
        reason: str. One line for results.json.
        best_weights: bool. The checkpoint's best-validation weights are the
            result (else the model as training left it, the last epoch's).
    """

    epoch: object
    validation_ua: object
    reason: str
    best_weights: bool


def select_epoch(history, validation_speakers, stopped_early):
    """The `EpochChoice` of a fold: best validation UA, else the last epoch.

    The test speakers' figures in `history` (`test_speaker_*`) are never read.
    """
    epochs_completed = len(history.get("loss", []))
    epoch, validation_ua = best_epoch(history)
    if validation_speakers and epoch is not None:
        return EpochChoice(epoch, validation_ua,
                           f"best validation UA ({validation_ua:.4f}) at epoch {epoch} of "
                           f"{epochs_completed} on speakers {', '.join(validation_speakers)}"
                           f"{', stopped early' if stopped_early else ''}; test speaker "
                           "never used", True)
    return EpochChoice(epochs_completed, validation_ua if validation_speakers else None,
                       "last epoch (the test speaker never selects an epoch)", False)


# ---------------------------------------------------------------- over folds


def write_summary(fold_results, out_dir, missing_folds=()):
    """`summary.json` and `summary.md`: per fold, mean +- std, and pooled WA/UA.

    Args:
        fold_results: list of `FoldResult` with `y_true`/`y_pred`.
        out_dir: path. The run folder.
        missing_folds: folds of the run without results (`fanout.summarize`),
            listed in both files.
    """
    from adarl_tf import evaluation, files
    stats = evaluation.pooled_and_mean(
        [{"wa": r.wa, "ua": r.ua, "y_true": r.y_true, "y_pred": r.y_pred}
         for r in fold_results])
    first = fold_results[0]
    folds = [{"fold": r.fold, "test_speaker": r.test_speaker, "wa": r.wa, "ua": r.ua,
              "domain_accuracy": r.domain_accuracy, "n_test_utterances": r.n_test_utterances,
              "epochs_completed": r.epochs_completed, "test_speakers": r.test_speakers}
             for r in fold_results]
    summary = {"corpus": first.corpus, "protocol": first.protocol, "variant": first.variant,
               "n_folds": len(folds), "folds": folds, "missing_folds": list(missing_folds),
               **stats}
    out_dir = pathlib.Path(out_dir)
    files.write_json(out_dir / "summary.json", summary)
    files.write_text(out_dir / "summary.md", _summary_markdown(summary, stats, missing_folds))
    return summary


def _summary_markdown(summary, stats, missing_folds):
    folds = summary["folds"]
    lines = [f"# {summary['variant']} on the {summary['corpus']}, {summary['protocol']}", "",
             "Utterance-level; the last epoch's model, or the best validation-speaker epoch "
             "(results.json `epoch_selection`), never an epoch chosen on the test speaker.",
             "", "| fold | test speaker | utterances | WA | UA | domain acc. |",
             "|---|---|---|---|---|---|"]
    for f in folds:
        dom = "n/a" if f["domain_accuracy"] is None else f"{f['domain_accuracy']:.4f}"
        lines.append(f"| {f['fold']} | {f['test_speaker']} | {f['n_test_utterances']} | "
                     f"{f['wa']:.4f} | {f['ua']:.4f} | {dom} |")
    lines += ["", f"Mean over {len(folds)} folds: WA {stats['wa_mean']:.4f} "
              f"+- {stats['wa_std']:.4f}, UA {stats['ua_mean']:.4f} +- {stats['ua_std']:.4f} "
              "(std, ddof=1).",
              f"Pooled over {stats['n_utterances_pooled']} utterances: "
              f"WA {stats['wa_pooled']:.4f}, UA {stats['ua_pooled']:.4f}.", ""]
    if missing_folds:
        lines += [f"Missing folds (no results.json): {', '.join(map(str, missing_folds))}; "
                  "the figures above are over the folds present only.", ""]
    return "\n".join(lines)
