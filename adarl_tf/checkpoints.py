"""Fold state on disk: per-epoch checkpoints, resume, and whether a fold is done.

A fold folder `fold_NN/` is "complete" when its `results.json` holds every
requested epoch for the same config, "resume" when `checkpoint/state.json`
names a finished epoch of the same config and data, and "new" otherwise.
Everything here is written through `files` (temporary name, then rename), so
a kill at any instant leaves the previous state intact.
"""

import datetime
import hashlib
import json
import pathlib
import shutil
import time

import keras
import numpy as np

from adarl_tf import files, fold_files
from adarl_tf.fold_result import FoldResult

CHECKPOINT_DIR = "checkpoint"
STATE_FILE = "state.json"
BEST_WEIGHTS = "best.weights.h5"  # The best validation epoch's (validation.py).
# What training writes into fold_NN/, all that `clear_fold` deletes.
FOLD_OUTPUTS = ("results.json", "predictions.csv", "model.keras", "test_features.npz",
                CHECKPOINT_DIR, "logs")


def fold_dir_of(out_dir, fold):
    return pathlib.Path(out_dir) / f"fold_{fold:02d}"


def data_fingerprint(train_utterances, test_utterances):
    """A hash of the fold's data (names, labels, durations, split).

    A checkpoint is only resumed on the data it was trained on: files added
    or skipped since then would change the epochs' batches.
    """
    h = hashlib.sha256()
    for split, utts in (("train", train_utterances), ("test", test_utterances)):
        for u in utts:
            h.update(f"{split}\t{u.name}\t{u.label}\t{u.duration_s:.6f}\n".encode())
    return h.hexdigest()


def _plain(config):
    """The config as JSON would give it back (tuples as lists), for comparisons."""
    return json.loads(json.dumps(config.to_dict()))


def _normalised(saved):
    """A saved config with the fields added since it was written at their defaults.

    So a run written before a new field existed (whose default keeps the old
    behaviour) still counts as the same config.
    """
    from adarl_tf.config import ExperimentConfig
    try:
        return _plain(ExperimentConfig.from_dict(saved))
    except (TypeError, KeyError, ValueError, AttributeError):
        return saved


def _differences(saved, current, prefix=""):
    """'train.epochs: 3 -> 5'-style lines for every field that differs."""
    lines = []
    for key in sorted(set(saved) | set(current)):
        a, b = saved.get(key), current.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            lines += _differences(a, b, f"{prefix}{key}.")
        elif a != b:
            lines.append(f"{prefix}{key}: {a!r} -> {b!r}")
    return lines


def _read_json(path):
    """The parsed file, or None if it is missing or not valid JSON."""
    try:
        return json.loads(pathlib.Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _other_run(path, saved_config, config):
    diff = _differences(saved_config, _plain(config))
    return ValueError(
        f"{path} was written by a run with another config ({'; '.join(diff[:5])}"
        f"{'; ...' if len(diff) > 5 else ''}); rerun with the same flags to continue it, "
        "add --overwrite to replace it, or choose another --out_dir")


def fold_status(config, out_dir, fold):
    """Whether fold `fold` under `out_dir` is already done for `config`.

    Returns:
        "complete" if `results.json` parses, has `epochs_completed` equal to
        the requested epochs and the same config; "resume" if a checkpoint of
        this config is there; "new" otherwise.

    Raises:
        ValueError: the fold's results or checkpoint come from another config
            (the message lists the differences and the fix).
    """
    fold_dir = fold_dir_of(out_dir, fold)
    try:  # A missing or torn results.json is an unfinished fold, not an error.
        results = FoldResult.read(fold_dir / fold_files.RESULTS, keys=("config",))
    except fold_files.RunFileError:
        results = None
    if results is not None:
        if _normalised(results.config) != _plain(config):
            raise _other_run(fold_dir / fold_files.RESULTS, results.config, config)
        if (results.epochs_completed == config.train.epochs or results.stopped_early) and \
                (fold_dir / fold_files.PREDICTIONS).exists():
            return "complete"
    state = _read_json(fold_dir / CHECKPOINT_DIR / STATE_FILE)
    if isinstance(state, dict) and "config" in state:
        if _normalised(state["config"]) != _plain(config):
            raise _other_run(fold_dir / CHECKPOINT_DIR, state["config"], config)
        return "resume"
    return "new"


def clear_fold(out_dir, fold):
    """Deletes what training wrote for `fold` (results, model, checkpoint, logs).

    Other files in the fold folder (an export, notes) are left alone.
    """
    fold_dir = fold_dir_of(out_dir, fold)
    for name in FOLD_OUTPUTS:
        path = fold_dir / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


class EpochCheckpoint(keras.callbacks.Callback):
    """Saves everything training needs to go on, after every epoch.

    `checkpoint/epoch_NNN.weights.h5` holds the model's weights (trainable,
    the center-loss centres and the BN moving statistics, which are
    non-trainable weights) and the optimizer's variables, its `iterations`
    included: that counter is the learning-rate schedule's position.
    `checkpoint/state.json`, written after the weights, is the commit point:
    it names the weights file of the last finished epoch and holds the epoch
    count, the history so far (test-speaker monitoring included), the config,
    the data fingerprint and the seeds. The training order needs no saved
    RNG state: the data pipeline shuffles (and augments, `pipelines/plan.py`) epoch e
    with seeds derived from (seed, e) (`plan.epoch_seed`). The one random
    op a model can hold, the optional `SpecAugment`, keeps its seed state outside
    the weights: a resumed fold draws its masks anew (valid, not bit-identical).

    With `monitor` (validation speakers, `validation.py`), an epoch whose
    `logs[monitor]` beats every earlier one also goes to `checkpoint/best.weights.h5`,
    and state.json records `best_epoch` and whether early stopping ended the fold.

    Every file is written atomically, so a kill at any instant leaves the
    previous epoch's files intact. Its place among the callbacks (last):
    `training.fold_callbacks`.

    Args:
        directory: path. The fold's `checkpoint/` folder.
        config: ExperimentConfig.
        fingerprint: str. `data_fingerprint` of the fold.
        history: dict. The history of the epochs before this run's first.
        train_seconds: float. Training time spent before this run.
        monitor: str or None. The log key whose maximum selects the epoch.
    """

    def __init__(self, directory, config, fingerprint, history=None, train_seconds=0.0,
                 monitor=None):
        super().__init__()
        self.directory = pathlib.Path(directory)
        self.config = config
        self.fingerprint = fingerprint
        self.history = {k: list(v) for k, v in (history or {}).items()}
        self.train_seconds = train_seconds
        self.monitor = monitor
        self.epoch_start = None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_start = time.time()

    def on_epoch_end(self, epoch, logs=None):
        self.train_seconds += time.time() - self.epoch_start
        earlier = list(self.history.get(self.monitor, [])) if self.monitor else []
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value))
        extra = {}
        if self.monitor:
            current = (logs or {}).get(self.monitor)
            if current is not None and (not earlier or float(current) > max(earlier)):
                with files.atomic_path(self.directory / BEST_WEIGHTS) as tmp:
                    self.model.save_weights(tmp)
            values = self.history.get(self.monitor, [])
            extra = {"best_epoch": int(np.argmax(values)) + 1 if values else None,
                     "stopped_early": bool(getattr(self.model, "stop_training", False))}
        name = f"epoch_{epoch + 1:03d}.weights.h5"
        with files.atomic_path(self.directory / name) as tmp:
            self.model.save_weights(tmp)
        optimizer = self.model.optimizer
        files.write_json(self.directory / STATE_FILE, {
            "epoch": epoch + 1,
            "weights": name,
            "optimizer_iterations": int(keras.ops.convert_to_numpy(optimizer.iterations)),
            "next_learning_rate": float(optimizer.learning_rate),
            "seed": self.config.train.seed,
            "shuffle_seeds": "pipelines.plan.epoch_seed(seed, epoch, stream)",
            "deterministic": self.config.train.deterministic,
            "data_fingerprint": self.fingerprint,
            "train_seconds": round(self.train_seconds, 1),
            "history": self.history,
            "config": _plain(self.config),
            "saved_at": datetime.datetime.now(datetime.timezone.utc).isoformat(),
            **extra,
        })
        for old in self.directory.glob("epoch_*.weights.h5"):
            if old.name != name:
                old.unlink()


def resume_state(ckpt_dir, config, fingerprint):
    """The checkpoint's state.json if it can be resumed, else None; raises on a mismatch."""
    state = _read_json(ckpt_dir / STATE_FILE)
    if not isinstance(state, dict):
        return None
    if _normalised(state.get("config") or {}) != _plain(config):
        raise _other_run(ckpt_dir, state.get("config") or {}, config)
    if state.get("data_fingerprint") != fingerprint:
        raise ValueError(
            f"{ckpt_dir} was trained on other data (files were added, removed or skipped "
            "since; compare data_report.json); restore the data, add --overwrite to start "
            "the fold again, or choose another --out_dir")
    if not (ckpt_dir / state.get("weights", "")).is_file():
        raise ValueError(f"{ckpt_dir / STATE_FILE} names {state.get('weights')}, which is "
                         "missing; add --overwrite to start the fold again")
    return state


def configure_determinism(config):
    """Seeds every generator; with `train.deterministic`, TensorFlow's op determinism.

    Op determinism is process-wide and cannot be turned off again; it makes
    some GPU kernels slower and raises on ops without a deterministic kernel.
    """
    keras.utils.set_random_seed(config.train.seed)
    if config.train.deterministic:
        import tensorflow as tf
        tf.config.experimental.enable_op_determinism()
