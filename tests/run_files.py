"""Fold folders as `adarl_tf.main` leaves them (for the tests of the tools that read
runs: `--summarize`, `report`, `export`).

`trained_fold` trains one for real, one epoch of a tiny model on the small demo
corpus; `trained_fold_cli` does the same through `python -m adarl_tf.main`.
`fake_fold` writes one without training: `results.json`,
`predictions.csv` and `test_features.npz` with the keys their readers check
(`adarl_tf/fold_files.py`); the figures follow from `labels` and `predictions`
(class indices of `EMOTIONS`).
"""

import json

import numpy as np

from adarl_tf import checkpoints, files
from adarl_tf.corpora.corpus import EMOTIONS


def trained_fold(model_config, corpus_dir, out_dir, tail="pad"):
    """One epoch of `model_config` on the demo corpus at `corpus_dir`; its fold 1 folder."""
    from adarl_tf import training
    from adarl_tf.config import DataConfig, ExperimentConfig, TrainConfig
    from adarl_tf.corpora import demo, iemocap
    config = ExperimentConfig(
        model=model_config, train=TrainConfig(epochs=1, batch_size=8, monitor_test=False),
        data=DataConfig(min_tail_s=0.5, tail=tail, data_dir=str(corpus_dir)))
    corpus = iemocap.load_iemocap(corpus_dir, name=demo.DEMO_CORPUS_NAME)
    training.train_and_evaluate(config, corpus, 1, out_dir, verbose=0)
    return checkpoints.fold_dir_of(out_dir, 1)


# One epoch of a tiny model on the demo corpus, as `trained_fold_cli` passes it to main.
TINY_FOLD_FLAGS = ("--dataset=demo", "--epochs=1", "--segment_s=1.0", "--max_freq_hz=2000",
                   "--trunk_filters=4,4,4,8", "--batch_size=8", "--nomonitor_test")


def trained_fold_cli(corpus_dir, out_dir, fold, *flags):
    """Fold `fold` of the demo corpus at `corpus_dir` trained by `python -m adarl_tf.main`
    (`TINY_FOLD_FLAGS` and `flags`) into `out_dir`; its results.json as a dict."""
    from tests.cli_checks import run_python
    done = run_python("-m", "adarl_tf.main", *TINY_FOLD_FLAGS, f"--data_dir={corpus_dir}",
                      f"--fold={fold}", *flags, f"--out_dir={out_dir}")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return json.loads((checkpoints.fold_dir_of(out_dir, fold) / "results.json").read_text())


def fake_fold(out_dir, fold, labels, predictions, config=None, probs=None, names=None,
              domain=None):
    """Writes `<out_dir>/fold_NN/`; returns its path.

    `probs` (utterances x classes), when given, adds predictions.csv's `p_<class>`
    columns (and `predictions` should be their argmax); `names` the utterances'
    names (default u0, u1, ...), in the file's row order; `domain` (domain
    probabilities, true domain indices), when given, test_features.npz's
    `domain_probs` and `domain_labels` (and `names`), as a run with a domain head.
    """
    fold_dir = checkpoints.fold_dir_of(out_dir, fold)
    fold_dir.mkdir(parents=True)
    correct = sum(a == b for a, b in zip(labels, predictions))
    confusion = np.zeros((len(EMOTIONS), len(EMOTIONS)), int)
    np.add.at(confusion, (labels, predictions), 1)
    files.write_json(fold_dir / "results.json", {
        "corpus": "fake corpus", "variant": "adarl", "fold": fold, "test_speaker": f"S{fold}",
        "wa": correct / len(labels), "ua": correct / len(labels), "domain_accuracy": None,
        "n_test_utterances": len(labels), "epochs_completed": 1, "labels": list(EMOTIONS),
        "confusion_matrix": confusion.tolist(), "config": config or {"train": {"epochs": 1}}})
    names = names or [f"u{i}" for i in range(len(labels))]
    p_columns = [] if probs is None else [f"p_{e}" for e in EMOTIONS]
    files.write_csv(fold_dir / "predictions.csv", ["name", "label", "prediction"] + p_columns,
                    [[name, EMOTIONS[a], EMOTIONS[b]] +
                     ([] if probs is None else [f"{v:.6f}" for v in probs[i]])
                     for i, (name, a, b) in enumerate(zip(names, labels, predictions))])
    extra = {} if domain is None else {
        "names": np.array(names), "domain_probs": np.asarray(domain[0], "float32"),
        "domain_labels": np.asarray(domain[1], "int32")}
    with files.atomic_path(fold_dir / "test_features.npz") as tmp:
        np.savez_compressed(tmp, labels=np.asarray(labels, "int32"),
                            label_names=np.array(EMOTIONS),
                            genders=np.array(["F", "M"] * (len(labels) // 2 + 1))[:len(labels)],
                            deep_features=np.ones((len(labels), 64), "float32"), **extra)
    return fold_dir


def data_report(out_dir, n):
    """A `data_report.json` of `n` one-speaker folds, S0 ... S<n-1>."""
    files.write_json(out_dir / "data_report.json", {
        "speakers": [{"id": f"S{i}", "fold": i} for i in range(n)],
        "folds": [{"fold": i, "test_speakers": [f"S{i}"]} for i in range(n)],
        "empty_folds": []})
