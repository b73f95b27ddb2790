r"""Finished folds scored again another way: does a figure hang on how it is scored?

  python benchmarks/rescore.py --run_dir=runs/r19/adarl_compact_backbone --min_tail_s=0
  python benchmarks/rescore.py --run_dir=runs/r19/adarl_compact_backbone --speaker_bn

The scoring cut (`DataConfig.min_tail_s` and `tail`) decides which windows of a
test utterance are scored. With the compact preset's 3 s windows and 1 s
shortest tail, a RAVDESS utterance of 3.5 s is scored on its first 3 s only;
`--min_tail_s=0` adds a window ending at its last sample (`tail=overlap`), so
every utterance is scored whole. `--speaker_bn` scores each test speaker with
the emotion pathway's BatchNorm statistics re-estimated on its own windows
(`DataConfig.speaker_bn`: its unlabelled audio is used). With
`--speaker_bn_recordings=k` each test speaker's utterances are split at random
into groups of k, and each group is adapted to and scored on its own: what
`python -m adarl_tf.predict --speaker_bn` does with k files of one speaker, so
the figures say how many recordings such a call needs. Training does not
change: this reads finished folds only.

Every finished fold's `model.keras` (the reported model: the chosen epoch's
where validation chose one) scores its test speakers twice, the run's own way,
which must give the UA that `results.json` recorded (`reproduced`), and the
way the flags give; the two are paired fold by fold. Nothing is
chosen with it. Prints one JSON line per fold and a summary line.

`--out_dir` also writes the rescored folds as a run folder of their own
(`fold_NN/results.json`, `predictions.csv`, `test_features.npz`, and the
changed `config.json`; no `model.keras`: the run's is the model), which the
other benchmarks read like any run: e.g. `ensemble.py` then scores an ensemble
with every utterance whole. The run itself is never written to. Measured
figures: RESULTS.md.
"""

import dataclasses
import json
import pathlib
import sys

import numpy as np
from absl import app, flags

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from train_fit import finished_fold, finished_folds, run_config, scored  # noqa: E402

FLAGS = flags.FLAGS


def in_groups(utterances, size, seed):
    """`utterances` with each speaker's split at random into groups of `size` (the last one
    smaller), each group renamed as a speaker of its own (`<speaker>#<n>`), in their order.

    `--speaker_bn` adapts to each speaker alone, so to each group alone.
    """
    rng = np.random.default_rng(seed)
    renamed = list(utterances)
    speakers = np.array([u.speaker for u in utterances])
    for speaker in dict.fromkeys(speakers):
        order = rng.permutation(np.flatnonzero(speakers == speaker))
        for n, start in enumerate(range(0, len(order), size)):
            for i in order[start:start + size]:
                renamed[i] = dataclasses.replace(utterances[i], speaker=f"{speaker}#{n}")
    return renamed


def scored_in_groups(model, test, config, corpus, stats_table, size, seed):
    """`scored`, with the speakers' utterances adapted to in groups of `size` (`in_groups`);
    the scores are those of the utterances as they are."""
    from adarl_tf import training
    renamed = in_groups(test, size, seed)
    if stats_table is not None:  # Each group keeps its speaker's input statistics.
        stats_table = {r.speaker: stats_table[u.speaker] for r, u in zip(renamed, test)}
    return training.score_outputs(
        training.predict_utterances(model, renamed, config, config.train.batch_size,
                                    stats_table), test, corpus)


def rescore_fold(run_dir, config, other, corpus, fold, out_dir=None, group_size=None):
    """One fold's test UA scored the run's way (`config`) and `other`'s, as a dict;
    with `out_dir`, the rescored fold written there too (`write_fold`). With
    `group_size`, `other` adapts to groups of that many utterances of a speaker."""
    from adarl_tf import checkpoints
    from adarl_tf.fold_result import FoldResult
    source = checkpoints.fold_dir_of(run_dir, fold)
    recorded = FoldResult.read(source / "results.json")
    _, test, stats_table, model = finished_fold(run_dir, config, corpus, fold)
    own = scored(model, test, config, corpus, stats_table)
    if group_size is None:
        rescored = scored(model, test, other, corpus, stats_table)
    else:
        rescored = scored_in_groups(model, test, other, corpus, stats_table, group_size, fold)
    if out_dir is not None:
        write_fold(checkpoints.fold_dir_of(out_dir, fold), recorded, source, other, test,
                   rescored, corpus, group_size)
    ua = own.scores["ua"]
    return {"fold": fold, "test_speakers": sorted({u.speaker for u in test}),
            "recorded_ua": recorded.ua, "ua": ua, "reproduced": abs(ua - recorded.ua) < 1e-6,
            "rescored_ua": rescored.scores["ua"], "rescored_wa": rescored.scores["wa"],
            "segments": own.outputs["n_segments"],
            "rescored_segments": rescored.outputs["n_segments"]}


def write_fold(fold_dir, recorded, source, other, test, rescored, corpus, group_size=None):
    """A rescored fold as a fold folder: its test outputs, then results.json (the recorded
    one with the new cut's scores and config, and where it came from), written last as
    training writes it, so a fold interrupted here is not taken for a finished one."""
    from adarl_tf import protocol, training
    fold_dir.mkdir(parents=True, exist_ok=True)
    training.write_test_outputs(fold_dir, test, rescored, corpus)
    dataclasses.replace(
        recorded, wa=rescored.scores["wa"], ua=rescored.scores["ua"],
        confusion_matrix=rescored.scores["confusion_matrix"],
        domain_accuracy=rescored.domain_accuracy, n_test_utterances=len(test),
        n_test_segments=rescored.outputs["n_segments"], config=other.to_dict(),
        uses_test_speaker_audio=protocol.uses_test_speaker_audio(other),
        extra=dict(recorded.extra, rescored_from=str(source), recorded_ua=recorded.ua,
                   **({} if group_size is None else {"speaker_bn_recordings": group_size})),
    ).write(fold_dir)


def summary(rows, what):
    """One line: the mean UA under both cuts and their paired difference."""
    ua = np.array([r["ua"] for r in rows])
    other = np.array([r["rescored_ua"] for r in rows])
    diff = other - ua
    se = diff.std(ddof=1) / np.sqrt(len(diff)) if len(diff) > 1 else float("nan")
    reproduced = sum(r["reproduced"] for r in rows)
    return (f"{len(rows)} folds: UA {ua.mean():.3f} scored the run's way -> {other.mean():.3f} "
            f"with {what}, paired {diff.mean():+.3f} +- {se:.3f} (standard error); the run's "
            f"own scoring reproduces results.json on {reproduced} of {len(rows)} folds")


def main(argv):
    del argv
    from adarl_tf import experiment, files
    run_dir = pathlib.Path(FLAGS.run_dir)
    config = run_config(run_dir, FLAGS.data_dir)
    changes = {name: value for name, value in (("min_tail_s", FLAGS.min_tail_s),
                                               ("tail", FLAGS.tail),
                                               ("speaker_bn", FLAGS.speaker_bn))
               if value is not None and value != getattr(config.data, name)}
    group_size = FLAGS.speaker_bn_recordings
    if group_size is not None:
        if not changes.get("speaker_bn", config.data.speaker_bn):
            raise app.UsageError("--speaker_bn_recordings=k groups the recordings that "
                                 "--speaker_bn adapts to; add --speaker_bn")
        if group_size < 1:
            raise app.UsageError(f"--speaker_bn_recordings={group_size}: expected a number "
                                 "of recordings, at least 1")
    elif not changes:
        raise app.UsageError(f"--min_tail_s, --tail and --speaker_bn give {run_dir}'s own "
                             f"scoring (min_tail_s={config.data.min_tail_s}, tail="
                             f"{config.data.tail}, speaker_bn={config.data.speaker_bn}); set "
                             "one to another value")
    try:  # A bad value is refused before the corpus loads; `other` is made after it.
        dataclasses.replace(config.data, **changes)
    except ValueError as e:
        raise app.UsageError(str(e))
    done = finished_folds(run_dir)
    if not done:
        raise app.UsageError(f"{run_dir}: no fold is finished (a fold needs results.json and "
                             "model.keras); train it first")
    out_dir = _out_dir(FLAGS.out_dir, run_dir)
    corpus, config, _ = experiment.load(config, run_dir)  # Logs the corpus; writes nothing.
    other = dataclasses.replace(config, data=dataclasses.replace(config.data, **changes))
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        files.write_json(out_dir / "config.json", other.to_dict())
    rows = []
    for fold in done:
        rows.append(rescore_fold(run_dir, config, other, corpus, fold, out_dir, group_size))
        print(json.dumps(rows[-1]), flush=True)
    what = {**changes, **({} if group_size is None else {"speaker_bn_recordings": group_size})}
    print(summary(rows, ", ".join(f"{k}={v}" for k, v in what.items())))


def _out_dir(flag, run_dir):
    """--out_dir as a path (None if unset), refused where writing there would overwrite a run:
    the run itself, or a folder that already holds a fold's results."""
    if not flag:
        return None
    out_dir = pathlib.Path(flag)
    if out_dir.resolve() == run_dir.resolve():
        raise app.UsageError(f"--out_dir={flag} is the run itself; name a new folder for the "
                             "rescored folds")
    taken = sorted(p.parent.name for p in out_dir.glob("fold_*/results.json"))
    if taken:
        raise app.UsageError(f"--out_dir={flag} already holds {', '.join(taken)}; name a new "
                             "folder (nothing there is overwritten)")
    return out_dir


if __name__ == "__main__":
    flags.DEFINE_string("run_dir", None, "A python -m adarl_tf.main --out_dir folder.")
    flags.DEFINE_float("min_tail_s", None, "Shortest scored tail, in seconds (the run's own "
                       "if unset); 0 with tail=overlap scores every utterance whole.")
    flags.DEFINE_enum("tail", None, ["pad", "overlap"], "What a scored tail holds (the run's "
                      "own if unset).")
    flags.DEFINE_boolean("speaker_bn", None, "Score each test speaker with the emotion "
                         "pathway's BatchNorm statistics re-estimated on its own windows (the "
                         "run's own if unset).")
    flags.DEFINE_integer("speaker_bn_recordings", None, "With --speaker_bn: adapt to (and "
                         "score) each test speaker's utterances in random groups of this many "
                         "(as predict --speaker_bn scores the files given together); default: "
                         "all of them at once.")
    flags.DEFINE_string("data_dir", None, "Where the corpus lies, if not config.json's.")
    flags.DEFINE_string("out_dir", None, "Also write the rescored folds here, as a run folder "
                        "(results.json, predictions.csv, test_features.npz; a new folder).")
    flags.mark_flag_as_required("run_dir")
    app.run(main)
