"""What training shows in TensorBoard beyond Keras' scalars, and the console progress.

Each fold's `logs/` holds two TensorBoard runs:

  * `train/` (Keras' `TensorBoard` callback): `epoch_loss` and each loss term,
    `epoch_learning_rate`, the training segments' `epoch_emotion_accuracy`
    (WA) and `epoch_emotion_ua` (UA, `metrics.BalancedAccuracy`),
    `epoch_domain_accuracy`, and the test speaker's
    `epoch_test_speaker_wa/ua/domain_accuracy` (monitoring only);
  * `monitor/` (`EpochSummaries` and `write_fold_end` below): per epoch the
    test speaker's confusion matrix and the attention weights I^D as images and
    histograms; at the end of the fold the HParams session (config and final
    WA/UA) and the embedding projector's deep features.

A separate `monitor/` run keeps the images, histograms and the HParams session
out of Keras' own writer, whose file it owns and closes at the end of `fit`.

The test speaker's figures are for watching training only: the fold's result
is always the last epoch's model, never an epoch chosen on them.
"""

import pathlib
import sys
import time

import keras
import numpy as np
import tensorflow as tf
from tensorboard.plugins import projector
from tensorboard.plugins.hparams import api as hp

from adarl_tf import files
from adarl_tf.plots import attention_figure, confusion_figure, figure_to_png, row_percentages

MONITOR_RUN = "monitor"  # Folder under fold_NN/logs/ for everything written here.
PROJECTOR_TENSOR = "embedding/.ATTRIBUTES/VARIABLE_VALUE"  # Checkpoint key of the features.
MONITORING_NOTE = (
    "Test-speaker figures (`epoch_test_speaker_*`, `monitoring_only/*`) are for watching "
    "training only. The fold's reported result is the model after the last epoch; no "
    "epoch is ever chosen on the test speaker.")


def _png_summary(name, fig, step, description=None):
    image = tf.image.decode_png(figure_to_png(fig), channels=4)
    tf.summary.image(name, image[None], step=step, description=description)


# ---------------------------------------------------------------- per-epoch summaries


class EpochSummaries(keras.callbacks.Callback):
    """Per epoch, into `<log_dir>/monitor`: confusion image, attention images and histograms.

    Args:
        log_dir: path. The fold's `logs/` folder.
        source: callable, no arguments, returning after each epoch a dict with
            `labels` (emotion names), `test_confusion` (the test speaker's
            utterance confusion matrix), `test_title`, and `attention`:
            {group name: (n_segments, n_rows) I^D}, empty for variants without
            attention. Its place among the callbacks: `training.fold_callbacks`.
    """

    def __init__(self, log_dir, source):
        super().__init__()
        self.writer = tf.summary.create_file_writer(
            str(pathlib.Path(log_dir) / MONITOR_RUN))
        self.source = source

    def on_train_begin(self, logs=None):
        with self.writer.as_default(step=0):
            tf.summary.text("monitoring_only/README", MONITORING_NOTE)

    def on_epoch_end(self, epoch, logs=None):
        data = self.source()
        if data is None:
            return
        with self.writer.as_default(step=epoch):
            counts = np.asarray(data["test_confusion"]).sum(axis=1)
            fig = confusion_figure(row_percentages(data["test_confusion"]), data["labels"],
                                   f"{data['test_title']}, epoch {epoch + 1} (monitoring only)",
                                   row_notes=[f"({int(n)})" for n in counts])
            _png_summary("monitoring_only/test_speaker_confusion", fig, epoch,
                         "Test speaker's utterance confusion matrix, rows normalised. "
                         + MONITORING_NOTE)
            attention = data.get("attention") or {}
            if attention:
                profiles = {k: v.mean(axis=0) for k, v in attention.items() if len(v)}
                fig = attention_figure(profiles, f"mean I^D per frequency row, epoch {epoch + 1}")
                _png_summary("attention/mean_profile", fig, epoch,
                             "Mean domain attention I^D per frequency row and group.")
                for group, values in attention.items():
                    if len(values):
                        tf.summary.histogram(f"attention/{group}", values, step=epoch)
        self.writer.flush()

    def on_train_end(self, logs=None):
        self.writer.flush()


# ---------------------------------------------------------------- end of fold


def hparams_of(config, fold, test_speaker):
    """The flat, scalar HParams of a run (one session per fold)."""
    m, t, d = config.model, config.train, config.data
    return {
        "variant": m.variant, "dataset": d.dataset, "fold": fold, "test_speaker": test_speaker,
        "iemocap_subset": d.iemocap_subset, "merge_excited": d.merge_excited,
        "emotions": d.emotions, "domain": d.domain, "protocol": d.protocol,
        "channel_mode": m.frontend.channel_mode, "segment_s": m.frontend.segment_s,
        "max_freq_hz": m.frontend.max_freq_hz,
        "trunk_filters": ",".join(str(f) for f in m.trunk_filters),
        "kernel_sizes": ",".join("x".join(str(v) for v in k) for k in m.kernel_sizes),
        "domain_loss_weight": m.domain_loss_weight, "emotion_loss_weight": m.emotion_loss_weight,
        "center_loss_weight": m.center_loss_weight, "epochs": t.epochs,
        "batch_size": t.batch_size, "learning_rate": t.learning_rate, "lr_decay": t.lr_decay,
        "momentum": t.momentum, "weight_decay": t.weight_decay, "seed": t.seed,
        # The robust recipes' levers, to compare ablations in the HParams dashboard.
        "normalization": m.frontend.normalization, "optimizer": t.optimizer,
        "schedule": t.schedule, "train_hop_s": t.train_hop_s,
        "validation_speakers": t.validation_speakers, "mixup_alpha": t.mixup_alpha,
        "domain_input": m.domain_input, "attention_init": m.attention_init,
        "attention_trains_domain": m.attention_trains_domain,
        "attention_standardize": m.attention_standardize,
        "attention_input": m.attention_input,
    }


FINAL_METRICS = ("final/wa", "final/ua", "final/domain_accuracy")


def write_fold_end(log_dir, hparams, results, projector_points):
    """HParams session with final WA/UA, and the embedding projector, into `monitor/`.

    Args:
        log_dir: path. The fold's `logs/` folder.
        hparams: dict from `hparams_of`.
        results: the fold's results dict (`wa`, `ua`, `domain_accuracy`,
            `epochs_completed`).
        projector_points: (features (n, d) array, metadata rows: list of dicts,
            same keys in every row).
    """
    run_dir = pathlib.Path(log_dir) / MONITOR_RUN
    writer = tf.summary.create_file_writer(str(run_dir))
    step = int(results["epochs_completed"])
    with writer.as_default(step=step):
        hp.hparams_config(hparams=[hp.HParam(k) for k in hparams],
                          metrics=[hp.Metric(k) for k in FINAL_METRICS])
        hp.hparams(hparams, trial_id=f"{hparams['variant']}/fold_{hparams['fold']:02d}")
        tf.summary.scalar("final/wa", results["wa"],
                          description="Utterance WA after the last epoch (the result).")
        tf.summary.scalar("final/ua", results["ua"],
                          description="Utterance UA after the last epoch (the result).")
        if results.get("domain_accuracy") is not None:
            tf.summary.scalar("final/domain_accuracy", results["domain_accuracy"])
    writer.flush()
    writer.close()

    features, metadata = projector_points
    columns = list(metadata[0])
    lines = ["\t".join(columns)] + [
        "\t".join(str(row[c]).replace("\t", " ") for c in columns) for row in metadata]
    files.write_text(run_dir / "metadata.tsv", "\n".join(lines) + "\n")
    checkpoint = tf.train.Checkpoint(embedding=tf.Variable(np.asarray(features, "float32")))
    checkpoint.save(str(run_dir / "embedding.ckpt"))
    cfg = projector.ProjectorConfig()
    embedding = cfg.embeddings.add()
    embedding.tensor_name = PROJECTOR_TENSOR
    embedding.metadata_path = "metadata.tsv"
    projector.visualize_embeddings(str(run_dir), cfg)


# ---------------------------------------------------------------- console progress


def _clock(seconds):
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class RunProgress:
    """The whole run's clock: which fold of how many, and the time left.

    The estimate is (mean seconds per finished epoch, monitoring included) x
    epochs left, plus the mean per-fold overhead (build, final scoring,
    saving) x folds left; it improves as epochs finish.

    Args:
        n_folds: int. Folds in this run.
        epochs: int. Epochs per fold.
        stream: file. Where the lines go. Defaults to stdout, the stream of
            Keras' progress bar, so that the two interleave in order.
    """

    def __init__(self, n_folds, epochs, stream=None):
        self.n_folds, self.epochs = n_folds, epochs
        self.stream = stream if stream is not None else sys.stdout
        self.start = time.time()
        self.epoch_seconds = []
        self.fold_overheads = []
        self.folds_done = 0

    def seconds_left(self, epochs_done_in_fold):
        if not self.epoch_seconds:
            return None
        per_epoch = float(np.mean(self.epoch_seconds))
        folds_after = self.n_folds - self.folds_done - 1
        epochs_left = self.epochs - epochs_done_in_fold + folds_after * self.epochs
        overhead = float(np.mean(self.fold_overheads)) if self.fold_overheads else 0.0
        return per_epoch * epochs_left + overhead * (folds_after + 1)

    def say(self, text):
        print(text, file=self.stream, flush=True)

    def callback(self, fold, test_speaker):
        return _FoldProgress(self, fold, test_speaker)


class _FoldProgress(keras.callbacks.Callback):
    """Prints one line per epoch before Keras' own bar (Keras appends its bar last)."""

    def __init__(self, run, fold, test_speaker):
        super().__init__()
        self.run, self.fold, self.test_speaker = run, fold, test_speaker
        self.fold_start = self.epoch_start = None
        self.train_seconds = 0.0

    def on_train_begin(self, logs=None):
        self.fold_start = time.time()

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_start = time.time()
        left = self.run.seconds_left(epoch)
        estimate = "estimated after the first epoch" if left is None else \
            f"about {_clock(left)} left"
        self.run.say(f"[fold {self.run.folds_done + 1}/{self.run.n_folds}: fold {self.fold}, "
                     f"test speaker {self.test_speaker}] epoch {epoch + 1}/{self.run.epochs}; "
                     f"run {_clock(time.time() - self.run.start)} elapsed, {estimate}")

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.time() - self.epoch_start
        self.run.epoch_seconds.append(seconds)
        self.train_seconds += seconds

    def finish_fold(self):
        """Called by the trainer once the fold's files are written."""
        if self.fold_start is not None:
            self.run.fold_overheads.append(
                max(time.time() - self.fold_start - self.train_seconds, 0.0))
        self.run.folds_done += 1
