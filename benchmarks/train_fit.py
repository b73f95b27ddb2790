r"""How well each fold's saved model fits its own training speakers.

  python benchmarks/train_fit.py --run_dir=runs/r14/adarl_compact_backbone [--folds=0,1]

Training curves show accuracy on augmented segments; this scores every
finished fold's `model.keras` on its training utterances as the test speakers
are scored (clean audio, the scoring cut, the mean over an utterance's
segments), beside its test utterances. Low on both: the model under-fits
(more steps, more capacity, less regularisation); high on the training
speakers and low on the test ones: it over-fits them. Nothing is chosen with
it: it reads finished folds only.

`--run_dir` is one `python -m adarl_tf.main` folder (its `config.json` names
the corpus and the protocol; `--data_dir` overrides where the corpus lies).
Prints one JSON line per fold (UA/WA and per-speaker accuracy, training and
test) and a table. Measured figures: RESULTS.md.
"""

import dataclasses
import json
import pathlib

import numpy as np
from absl import app, flags

FLAGS = flags.FLAGS


def scored(model, utterances, config, corpus, stats_table):
    """`model` on labelled `utterances` under `config`'s scoring cut, scored as training
    scores its test speakers (`training.score_outputs`: the same outputs, labels, scores)."""
    from adarl_tf import training
    return training.score_outputs(
        training.predict_utterances(model, utterances, config, config.train.batch_size,
                                    stats_table), utterances, corpus)


def score(model, utterances, config, corpus, stats_table):
    """(UA, WA, {speaker: accuracy}) of `model` on `utterances`, scored as the test set is."""
    result = scored(model, utterances, config, corpus, stats_table)
    hits = result.y_true == result.y_pred
    speakers = np.array([u.speaker for u in utterances])
    per_speaker = {s: float(hits[speakers == s].mean()) for s in sorted(set(speakers))}
    return result.scores["ua"], result.scores["wa"], per_speaker


def finished_fold(run_dir, config, corpus, fold):
    """(split, labelled test utterances, speaker statistics, saved model) of a finished fold:
    what scoring it again needs, from its `model.keras` and the protocol's split."""
    import keras

    from adarl_tf import checkpoints, protocol, training
    split = protocol.split_fold(corpus, fold, config.train.validation_speakers)
    test = [u for u in split.test if u.label is not None]
    stats_table, _ = training.fold_speaker_stats(config, split.train, split.validation,
                                                 split.test)
    model = keras.models.load_model(checkpoints.fold_dir_of(run_dir, fold) / "model.keras")
    return split, test, stats_table, model


def fold_fit(run_dir, config, corpus, fold):
    """One fold's training and test fit, as a dict."""
    split, test, stats_table, model = finished_fold(run_dir, config, corpus, fold)
    # Validation speakers (if any) choose the epoch and are not trained on: left out.
    train = [u for u in split.train if u.label is not None]
    result = {"fold": fold, "test_speakers": sorted({u.speaker for u in test})}
    for name, utterances in (("train", train), ("test", test)):
        ua, wa, per_speaker = score(model, utterances, config, corpus, stats_table)
        result.update({f"{name}_ua": ua, f"{name}_wa": wa, f"{name}_per_speaker": per_speaker})
    return result


def finished_folds(run_dir):
    """Fold numbers whose folder holds a results.json and a model.keras."""
    return sorted(int(p.name[len("fold_"):]) for p in run_dir.glob("fold_*")
                  if (p / "results.json").exists() and (p / "model.keras").exists())


def table(rows):
    lines = ["| fold | test speakers | train UA | train WA | test UA | test WA | "
             "lowest training speaker |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        low = min(r["train_per_speaker"], key=r["train_per_speaker"].get)
        lines.append(f"| {r['fold']} | {', '.join(r['test_speakers'])} | {r['train_ua']:.3f} | "
                     f"{r['train_wa']:.3f} | {r['test_ua']:.3f} | {r['test_wa']:.3f} | "
                     f"{low} {r['train_per_speaker'][low]:.2f} |")
    return "\n".join(lines)


def run_config(run_dir, data_dir=None):
    """The `ExperimentConfig` a run folder's `config.json` holds, its corpus at `data_dir`
    where given; a clear `app.UsageError` where the folder holds no run."""
    from adarl_tf.config import ExperimentConfig
    if not (run_dir / "config.json").exists():
        raise app.UsageError(f"{run_dir / 'config.json'} not found; --run_dir is the folder "
                             "python -m adarl_tf.main --out_dir wrote")
    config = ExperimentConfig.from_dict(json.loads((run_dir / "config.json").read_text()))
    if data_dir:
        config = dataclasses.replace(
            config, data=dataclasses.replace(config.data, data_dir=data_dir))
    return config


def main(argv):
    del argv
    from adarl_tf import experiment
    run_dir = pathlib.Path(FLAGS.run_dir)
    config = run_config(run_dir, FLAGS.data_dir)
    done = finished_folds(run_dir)
    folds = [int(f) for f in FLAGS.folds] if FLAGS.folds else done
    missing = sorted(set(folds) - set(done))
    if not folds or missing:
        which = f"folds {missing} are not finished" if missing else "no fold is finished"
        raise app.UsageError(f"{run_dir}: {which} (a fold needs results.json and "
                             "model.keras); train them first")
    corpus, config, _ = experiment.load(config, run_dir)  # Logs the corpus; writes nothing.
    rows = []
    for fold in folds:
        rows.append(fold_fit(run_dir, config, corpus, fold))
        print(json.dumps(rows[-1]), flush=True)
    print(table(rows))


if __name__ == "__main__":
    flags.DEFINE_string("run_dir", None, "A python -m adarl_tf.main --out_dir folder.")
    flags.DEFINE_list("folds", [], "Folds to score (default: every finished fold).")
    flags.DEFINE_string("data_dir", None, "Where the corpus lies, if not config.json's.")
    flags.mark_flag_as_required("run_dir")
    app.run(main)
