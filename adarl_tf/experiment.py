"""The steps of `adarl_tf.main`, each a function: check and load, train the folds, report.

Everything is checked before anything is written: a command that fails must
leave an existing run in its folder as it was. A usage problem is an
`app.UsageError`, which main prints as one line.
"""

import dataclasses
import os
import pathlib
import tempfile

from absl import app, logging

from adarl_tf import distribute, files, protocol
from adarl_tf.corpora.load import load_corpus
from adarl_tf.protocol import protocol_name


def sized_to(config, corpus):
    """The config with the model's outputs sized to the corpus's classes and domain values."""
    model = dataclasses.replace(config.model, n_emotions=len(corpus.emotions),
                                n_domains=len(corpus.domain_values))
    return dataclasses.replace(config, model=model)


def parse_folds(text, n_speakers):
    """'3' -> [3]; '0,3' -> [0, 3]; 'all' -> every fold (`n_speakers`: the fold count)."""
    if text.strip().lower() == "all":
        return list(range(n_speakers))
    try:
        folds = [int(v) for v in text.split(",")]
    except ValueError:
        raise app.UsageError(f"--fold={text!r}; expected an index, a comma list or 'all'")
    twice = sorted({f for f in folds if folds.count(f) > 1})
    if twice:
        raise app.UsageError(f"--fold={text}: fold {', '.join(map(str, twice))} is listed "
                             "twice (it would be trained and counted twice); list each once")
    bad = [f for f in folds if not 0 <= f < n_speakers]
    if bad:
        raise app.UsageError(f"--fold={text}: {bad} out of range; this corpus has "
                             f"{n_speakers} folds, 0..{n_speakers - 1}")
    return folds


def check_out_dir(path):
    """Refuses an --out_dir that could not be created, without creating anything."""
    path = pathlib.Path(os.path.abspath(path))
    existing = next(p for p in (path, *path.parents) if p.exists())
    reason = None
    if not existing.is_dir():
        reason = f"{existing} is a file"
    elif not os.access(existing, os.W_OK | os.X_OK):
        reason = "Permission denied"
    if reason:
        raise app.UsageError(f"--out_dir={path} is not writable ({reason}); choose another "
                             "folder with --out_dir")


def prepare_out_dir(path):
    """Creates the run folder and checks that it is writable."""
    path = pathlib.Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        # A uniquely named probe: the fold processes of --parallel_folds check the
        # same folder at once (a shared name let one delete the other's probe).
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write_test"):
            pass
    except OSError as e:
        raise app.UsageError(f"--out_dir={path} is not writable ({e.strerror}); choose "
                             "another folder with --out_dir")
    return path


def resolved_init_from(config):
    """The config with --init_from as an absolute model path; a UsageError if there is
    none or it cannot be loaded, before the run writes anything.

    Absolute, so that the folds' children (--parallel_folds) and a resumed run
    started elsewhere read the same file and compare equal configs. Whether its
    trunks fit this run's model is known only when a fold builds it.
    """
    if not config.train.init_from:
        return config
    from adarl_tf import warm_start
    try:
        path = warm_start.source_path(config.train.init_from)
        warm_start.load_source(path)  # A damaged file: refused now, not at fold start.
    except ValueError as e:
        raise app.UsageError(str(e))
    return dataclasses.replace(config, train=dataclasses.replace(config.train,
                                                                 init_from=str(path)))


def load(config, out_dir, cache_dir=None):
    """(corpus, config sized to it, its data report), the report logged."""
    try:
        corpus = load_corpus(config.data, cache_dir=cache_dir)
    except (ValueError, FileNotFoundError) as e:
        raise app.UsageError(str(e))
    report = corpus.report()
    log_report(corpus, report, out_dir / "data_report.json")
    return corpus, sized_to(config, corpus), report


def resolved_epochs(config, corpus, strategy=None):
    """The config with `--train_steps` turned into epochs; unchanged without it.

    The epochs are the fewest whole ones that give the fold with the most
    training segments `train_steps` optimiser steps, counted over every fold of
    the protocol (not only those run), so that `--fold=N` alone trains as long
    as N does in `--fold=all`. The count and the result are logged.
    """
    train = config.train
    if not train.train_steps:
        return config
    from adarl_tf.pipelines import plan as plan_lib  # NumPy only: the dry run counts too.
    batch = distribute.global_batch_size(train.batch_size, strategy, train.batch_per_replica)
    cut = plan_lib.Cut.of(config.model.frontend, config.data.min_tail_s, config.data.tail, train)
    steps = []
    for fold in range(len(corpus.fold_list())):
        try:
            split = protocol.split_fold(corpus, fold, train.validation_speakers)
        except ValueError:  # check_folds says why, for the folds asked for.
            continue
        steps.append(plan_lib.steps(split.train, cut, batch))
    if not steps:
        return config
    epochs = -(-train.train_steps // max(steps))
    logging.info("--train_steps=%d: %d epochs (%s steps per epoch over the %d folds)",
                 train.train_steps, epochs, "-".join(map(str, sorted({min(steps), max(steps)}))),
                 len(steps))
    return dataclasses.replace(config, train=dataclasses.replace(train, epochs=epochs))


def dry_run(corpus, report, out_dir, config=None):
    """--dry_run: data_report.json and one line, no training; with `config`, also how
    many epochs a fold would train (`resolved_epochs`, on one device)."""
    files.write_json(prepare_out_dir(out_dir) / "data_report.json", report)
    genders = [corpus.gender_of(s) for s in corpus.speakers]
    length = ""
    if config is not None:
        epochs = resolved_epochs(config, corpus).train.epochs
        steps = config.train.train_steps
        length = f"; {epochs} epochs a fold" + (f" (--train_steps={steps})" if steps else "")
    print(f"Dry run: {report['n_utterances']} utterances from {len(corpus.speakers)} "
          f"speakers ({genders.count('F')} F, {genders.count('M')} M) of the "
          f"{corpus.name}; {len(corpus.fold_list())} folds ({protocol_name(corpus.protocol)}); "
          f"classes {', '.join(corpus.emotions)}{length}; report in "
          f"{out_dir / 'data_report.json'}")
    return 0


def check_folds(config, corpus, folds, out_dir, overwrite=False):
    """({fold: complete / resume / new}, {fold: FoldResult of a complete fold}).

    Every fold is checked before the first one trains: an empty fold or a
    folder of another run should stop the run now, not hours into it.
    """
    from adarl_tf import checkpoints
    from adarl_tf.fold_result import FoldResult
    status, complete = {}, {}
    try:
        for fold in folds:
            protocol.split_fold(corpus, fold, config.train.validation_speakers)
        for fold in folds:
            status[fold] = "new" if overwrite else checkpoints.fold_status(config, out_dir, fold)
            if status[fold] == "complete":  # Read now: a damaged file stops the run here.
                complete[fold] = FoldResult.load(checkpoints.fold_dir_of(out_dir, fold))
    except ValueError as e:
        raise app.UsageError(str(e))
    if overwrite:  # Only once every fold has passed its checks.
        for fold in folds:
            checkpoints.clear_fold(out_dir, fold)
    return status, complete


def write_run_files(config, report, out_dir, strategy_name="default"):
    """data_report.json and config.json; the folder this process writes its folds into."""
    prepare_out_dir(out_dir)
    files.write_json(out_dir / "data_report.json", report)
    if strategy_name == "multi_worker" and not distribute.is_chief():
        # Every worker trains; only worker 0 writes the run folder.
        out_dir = prepare_out_dir(out_dir / f"worker_{os.getpid()}")
    files.write_text(out_dir / "config.json", config.to_json() + "\n")
    return out_dir


def train_in_processes(corpus, config, folds, to_train, out_dir, child_flags, parallel):
    """--parallel_folds: one child process per fold, then the summary of `folds`."""
    from adarl_tf import fanout
    codes = fanout.run_folds(to_train, out_dir, child_flags, parallel)
    failed = [f for f, code in codes.items() if code]
    summary = fanout.summarize(out_dir, folds)
    print(f"{corpus.name}, {config.model.variant}, {summary['n_folds']} folds: "
          f"WA {summary['wa_mean']:.4f} +- {summary['wa_std']:.4f}, "
          f"UA {summary['ua_mean']:.4f} +- {summary['ua_std']:.4f} "
          f"(see {out_dir / 'summary.md'})")
    if failed:
        raise app.UsageError(f"folds {failed} failed; see their fold_NN/train.log, then "
                             "rerun the same command to retry them")
    return 0


def train_folds(config, corpus, folds, status, complete, out_dir, **train_kwargs):
    """The FoldResult of each fold in `folds`: read if complete, else trained (or resumed).

    `train_kwargs` go to `training.train_and_evaluate` (progress clock aside).
    """
    from adarl_tf import training  # TensorFlow only now: --help and --dry_run stay fast.
    to_train = [f for f in folds if status[f] != "complete"]
    progress = None
    if training.monitoring is not None:  # The console clock lives beside TensorBoard's code.
        progress = training.monitoring.RunProgress(len(to_train), config.train.epochs)
    results = []
    for fold in folds:
        if status[fold] == "complete":
            results.append(complete[fold])
            continue
        logging.info("=== Fold %d (%d of %d to train)%s ===", fold, to_train.index(fold) + 1,
                     len(to_train), ", resuming" if status[fold] == "resume" else "")
        try:
            results.append(training.train_and_evaluate(config, corpus, fold, out_dir,
                                                       progress=progress, **train_kwargs))
        except ValueError as e:
            raise app.UsageError(str(e))
    return results



def print_results(corpus, config, results, out_dir):
    """One line: the fold's figures, or the summary over several folds (written here)."""
    from adarl_tf import checkpoints
    if len(results) > 1:
        summary = protocol.write_summary(results, out_dir)
        print(f"{corpus.name}, {config.model.variant}, {len(results)} folds: "
              f"WA {summary['wa_mean']:.4f} +- {summary['wa_std']:.4f}, "
              f"UA {summary['ua_mean']:.4f} +- {summary['ua_std']:.4f}; "
              f"pooled WA {summary['wa_pooled']:.4f} UA {summary['ua_pooled']:.4f} "
              f"(see {out_dir / 'summary.md'})")
    else:
        r = results[0]
        print(f"{corpus.name}, {config.model.variant}, fold {r.fold} "
              f"(test speaker {r.test_speaker}): WA {r.wa:.4f} UA {r.ua:.4f} "
              f"after {r.epochs_completed} epochs (see {checkpoints.fold_dir_of(out_dir, r.fold)})")


def log_report(corpus, report, report_path):
    """Logs what the data report holds: counts, what was left out, the folds."""
    logging.info("Corpus: %s, %d utterances (%s); domain %s (%s); %d skipped, details in %s",
                 corpus.name, report["n_utterances"], report["label_totals"], corpus.domain,
                 ", ".join(corpus.domain_values), len(report["skipped"]), report_path)
    if report["excluded_labels"]:
        logging.info("Utterances outside the class set (%s), not used: %s",
                     ", ".join(corpus.emotions), report["excluded_labels"])
    if report["skipped"]:
        logging.warning("%d files or label lines were skipped; see 'skipped' in %s",
                        len(report["skipped"]), report_path)
        for entry in report["skipped"][:5]:
            logging.warning("  skipped %s: %s", entry["path"], entry["reason"])
    if report["unlabelled_wavs"]["count"]:
        logging.info("%d WAV files have no label line (not used); see 'unlabelled_wavs' in %s",
                     report["unlabelled_wavs"]["count"], report_path)
    if report["gender_code_disagreements"]:
        logging.info("%d files carry another gender code than their speaker's (the speaker's "
                     "is used); see 'gender_code_disagreements' in %s",
                     len(report["gender_code_disagreements"]), report_path)
    fold_list = corpus.fold_list()
    for fold in report["empty_folds"]:
        logging.warning("Fold %d (%s) has no labelled utterances left after the filters; it "
                        "cannot be trained", fold, "+".join(fold_list[fold]))
    logging.info("%s folds (fold: test speakers): %s", protocol_name(corpus.protocol),
                 ", ".join(f"{i}: {'+'.join(f)}" for i, f in enumerate(fold_list)))


def summarize(out_dir):
    """--summarize: the summary of the folds in --out_dir."""
    from adarl_tf import fanout
    if not out_dir:
        raise app.UsageError("--summarize needs --out_dir, the run folder holding fold_NN/")
    try:
        summary = fanout.summarize(out_dir)
    except ValueError as e:
        raise app.UsageError(str(e))
    missing = summary["missing_folds"]
    print(f"{summary['n_folds']} folds in {out_dir}: WA {summary['wa_mean']:.4f} "
          f"+- {summary['wa_std']:.4f}, UA {summary['ua_mean']:.4f} +- {summary['ua_std']:.4f}"
          f"{'; missing folds ' + ', '.join(map(str, missing)) if missing else ''} "
          f"(see {pathlib.Path(out_dir) / 'summary.md'})")
    return 0
