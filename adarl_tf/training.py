"""The fold runner: one fold of the protocol, trained, scored and written.

`train_and_evaluate` reads top to bottom: split (`protocol.py`), data, model,
resume, callbacks (`fold_callbacks`, which owns their order), fit, select
and score, write (`fold_result.FoldResult`). The honesty rules (no epoch
chosen on a test speaker, validation speakers from the training speakers,
transductive speaker normalisation said in results.json) are the protocol's,
stated and applied in `protocol.py`.

What reaches TensorBoard is listed in `monitoring.py`.

Nothing is lost to a crash: after every epoch the fold's state goes to
`fold_NN/checkpoint/` (see `checkpoints.EpochCheckpoint`), and running the same command
again continues from the last finished epoch; a fold whose `results.json` is
complete for the same config is not trained again (`checkpoints.fold_status`).
"""

import dataclasses
import datetime
import pathlib
import platform
import shutil
import sys
import time
import typing

import keras
import numpy as np
from absl import logging

from adarl_tf import (
    checkpoints,
    distribute,
    evaluation,
    files,
    optim,
    precise_bn,
    protocol,
    speaker_norm,
    validation,
    warm_start,
)
from adarl_tf import model as model_lib
from adarl_tf import precision as precision_lib
from adarl_tf.config import ExperimentConfig
from adarl_tf.corpora.corpus import EMOTIONS, GENDERS
from adarl_tf.fold_result import FoldResult
from adarl_tf.pipelines import plan as plan_lib
from adarl_tf.pipelines import renderer, tensorflow_available

# TensorBoard (monitoring.py, keras.callbacks.TensorBoard) needs TensorFlow;
# without it (JAX-only installs) a fold trains, checkpoints and scores alike,
# with no event files (said once in the log).
monitoring = None
if tensorflow_available():
    from adarl_tf import monitoring


def fold_speaker_stats(config, train_utts, val_utts, test_utts):
    """Speaker normalisation: {speaker: statistics} for every speaker of the fold, and
    the training speakers' pooled statistics; (None, None) with segment normalisation.

    Each speaker's statistics come from its own audio in its own part of the
    fold (speaker_norm.py); the test speakers' unlabelled audio is used.
    """
    frontend = config.model.frontend
    if frontend.normalization != "speaker":
        return None, None
    from adarl_tf.pipelines import render_numpy
    return speaker_norm.fold_statistics(
        {"train": train_utts, "validation": val_utts, "test": test_utts}, frontend,
        lambda u: render_numpy.decode(u, frontend.sample_rate_hz))


def scoring_cut(config):
    """The paper's cut under the fold's tail policy: scoring, recalibration."""
    return plan_lib.Cut.of(config.model.frontend, config.data.min_tail_s, config.data.tail)


def training_cut(config):
    """The training cut: the scoring cut, or the robust recipe's windows."""
    return plan_lib.Cut.of(config.model.frontend, config.data.min_tail_s, config.data.tail,
                           config.train)


def _scoring_inputs(utterances, config, batch_size, stats_table):
    plan = plan_lib.scoring_plan(utterances, scoring_cut(config), batch_size)
    return plan, renderer(config.train.pipeline).scoring_data(
        utterances, plan, config.model.frontend.sample_rate_hz, stats_table)


def predict_utterances(model, utterances, config, batch_size, stats_table=None):
    """Utterance-level outputs: the mean over each utterance's segments.

    `stats_table` ({speaker: statistics}) is needed with speaker normalisation.
    With `config.data.speaker_bn`, each speaker's utterances are scored with the
    emotion pathway's BN statistics re-estimated on that speaker's own windows
    (`_speaker_adapted_outputs`).

    Returns a dict: `emotion_probs`, `deep_features` and, where the variant has
    them, `domain_probs` and `attention` (I^D), each (n_utterances, k); the
    per-segment I^D as `segment_attention`; `segment_counts` (segments per
    utterance) and their sum `n_segments`.
    """
    if config.data.speaker_bn:
        return _speaker_adapted_outputs(model, utterances, config, batch_size, stats_table)
    plan, ds = _scoring_inputs(utterances, config, batch_size, stats_table)
    # Arrays (numpy pipeline) are batched by predict; a tf.data set is batched.
    kwargs = {"batch_size": batch_size} if isinstance(ds, (np.ndarray, dict)) else {}
    out = model.predict(ds, verbose=0, **kwargs)
    counts = np.bincount(plan.utterance, minlength=len(utterances))
    result = {"n_segments": int(counts.sum()), "segment_counts": counts}
    for key in (model_lib.EMOTION_PROBS, model_lib.DOMAIN_PROBS, model_lib.DEEP_FEATURES,
                model_lib.ATTENTION):
        if key in out:
            # float32 whatever the precision policy (bfloat16 outputs otherwise).
            result[key] = evaluation.group_mean(np.asarray(out[key], "float32"), counts)
    if model_lib.ATTENTION in out:
        result["segment_attention"] = np.asarray(out[model_lib.ATTENTION], "float32")
    return result


def _speaker_adapted_outputs(model, utterances, config, batch_size, stats_table):
    """`predict_utterances` speaker by speaker, each inside `precise_bn.speaker_adapted`
    over that speaker's own scoring windows (its unlabelled audio), the outputs put
    back in the utterances' order."""
    plain = dataclasses.replace(config, data=dataclasses.replace(config.data, speaker_bn=False))
    speakers = np.array([u.speaker for u in utterances])
    parts = []
    for speaker in dict.fromkeys(speakers):
        index = np.flatnonzero(speakers == speaker)
        group = [utterances[i] for i in index]
        size = precise_bn.ADAPTATION_BATCH
        _, windows = _scoring_inputs(group, plain, size, stats_table)
        with precise_bn.speaker_adapted(model, precise_bn.batches_of(windows, size, len(group))):
            parts.append((index, predict_utterances(model, group, plain, batch_size,
                                                    stats_table)))
    return _merge_outputs(parts, len(utterances))


def _merge_outputs(parts, n_utterances):
    """[(utterance indices, predict_utterances' dict of those utterances)] as one dict
    in utterance order; per-segment rows follow their utterances."""
    counts = np.zeros(n_utterances, "int64")
    for index, out in parts:
        counts[index] = out["segment_counts"]
    result = {"n_segments": int(counts.sum()), "segment_counts": counts}
    for key in parts[0][1]:
        if key in result:
            continue
        if key == "segment_attention":
            rows = {}
            for index, out in parts:
                chunks = np.split(out[key], np.cumsum(out["segment_counts"])[:-1])
                rows.update(zip(index.tolist(), chunks))
            result[key] = np.concatenate([rows[i] for i in range(n_utterances)])
        else:
            first = parts[0][1][key]
            result[key] = np.zeros((n_utterances,) + first.shape[1:], first.dtype)
            for index, out in parts:
                result[key][index] = out[key]
    return result


def _recalibration_batches(train_utts, config, batch_size, strategy, stats_table=None):
    """Clean segments of a fixed, shuffled sample of the training utterances."""
    if distribute.replicas(strategy) > 1:
        raise ValueError("bn_recalibration_batches runs the model outside the strategy's "
                         "replicas; use it with one device (--strategy=default)")
    train_cfg = config.train
    labelled = [u for u in train_utts if u.label is not None]
    order = np.random.default_rng(train_cfg.seed).permutation(len(labelled))
    # Enough utterances for the batches asked for (each gives >= 1 segment).
    sample = [labelled[i] for i in order[:train_cfg.bn_recalibration_batches * batch_size]]
    _, segments = _scoring_inputs(sample, config, batch_size, stats_table)
    return precise_bn.batches_of(segments, batch_size, train_cfg.bn_recalibration_batches)


def attention_probe(train_utterances, per_gender=8, corpus=None):
    """A fixed sample of emotion-labelled training utterances, `per_gender` per domain value.

    The test speaker has one domain value, so the per-domain attention profile
    and the projector's contrast need training speakers of every value; the
    sample is fixed (sorted names) so that epochs compare.
    """
    domain, values = _domain_of(corpus)
    probe = []
    for value in values:
        pool = sorted((u for u in train_utterances
                       if u.domain_value(domain) == value and u.label),
                      key=lambda u: u.name)
        step = max(len(pool) // per_gender, 1)  # Spread over speakers and emotions.
        probe += pool[::step][:per_gender]
    return probe


def _domain_of(corpus):
    if corpus is None:
        return "gender", GENDERS
    return corpus.domain, tuple(corpus.domain_values)


def _emotions_of(corpus):
    return tuple(corpus.emotions) if corpus is not None else EMOTIONS


class TestSpeakerMonitor(keras.callbacks.Callback):
    """Adds the test speaker's utterance-level WA/UA to each epoch's logs.

    For watching training in TensorBoard only: these figures never choose an
    epoch (`protocol.select_epoch`). Its place among the callbacks:
    `fold_callbacks`.

    With `probe` (training utterances, see `attention_probe`) and a variant
    with attention, it also predicts the probe every epoch, for the
    per-gender attention summaries (`summary_data`).
    """

    def __init__(self, utterances, config, batch_size, probe=(), corpus=None,
                 stats_table=None):
        super().__init__()
        self.utterances = utterances
        self.config = config
        self.stats_table = stats_table
        self.batch_size = batch_size
        self.emotions = _emotions_of(corpus)
        self.domain, self.domain_values = _domain_of(corpus)
        self.labels, self.domains = plan_lib.labels_of(utterances, corpus)
        self.probe = list(probe) if config.model.variant == "adarl" else []
        self.last = self.last_probe = self.last_scores = None

    def on_epoch_end(self, epoch, logs=None):
        self.last = predict_utterances(self.model, self.utterances, self.config,
                                       self.batch_size, self.stats_table)
        self.last_scores = evaluation.classification_scores(
            self.labels, self.last["emotion_probs"], len(self.emotions))
        if self.probe:
            self.last_probe = predict_utterances(self.model, self.probe, self.config,
                                                 self.batch_size, self.stats_table)
        if logs is not None:
            logs["test_speaker_wa"] = self.last_scores["wa"]
            logs["test_speaker_ua"] = self.last_scores["ua"]
            if "domain_probs" in self.last:
                logs["test_speaker_domain_accuracy"] = float(
                    np.mean(self.last["domain_probs"].argmax(-1) == self.domains))

    def summary_data(self):
        """What `monitoring.EpochSummaries` draws after this epoch."""
        if self.last is None:
            return None
        speaker = protocol.fold_name(sorted({u.speaker for u in self.utterances}))
        values = sorted({u.domain_value(self.domain) for u in self.utterances})
        value = "+".join(values)
        attention = {}
        if "segment_attention" in self.last:
            attention[f"test_speaker_{value}"] = self.last["segment_attention"]
        if self.last_probe is not None:
            per_segment = np.repeat([u.domain_value(self.domain) for u in self.probe],
                                    self.last_probe["segment_counts"])
            for g in self.domain_values:
                attention[f"train_sample_{g}"] = \
                    self.last_probe["segment_attention"][per_segment == g]
        return {"labels": list(self.emotions),
                "test_confusion": self.last_scores["confusion_matrix"],
                "test_title": f"test speaker {speaker} ({value})", "attention": attention}


def cpu_name(cpuinfo="/proc/cpuinfo"):
    """The CPU's model and its widest vector instructions, e.g. "Intel(R) Xeon(R) Processor
    (avx512f)".

    TensorFlow's CPU kernels take different paths by instruction set, and the same fold and
    seed trained on an AVX-512 Xeon and on an AVX2-only EPYC differed by as much as two seeds
    do (RESULTS.md, thirty-fourth session): results.json records it so that runs are paired
    only with runs of the same kind of CPU (benchmarks/ensemble.py --against checks). Without
    /proc/cpuinfo (not Linux), the platform's own name.
    """
    info = {}
    try:
        lines = pathlib.Path(cpuinfo).read_text(errors="replace").splitlines()
    except OSError:
        lines = []
    for line in lines:  # The first processor's entries.
        key, _, value = line.partition(":")
        info.setdefault(key.strip(), value.strip())
    name = info.get("model name") or platform.processor() or platform.machine() or "unknown"
    flags = set((info.get("flags") or info.get("Features") or "").split())  # x86, Arm
    isa = next((f for f in ("avx512f", "avx2", "avx", "asimd") if f in flags), None)
    return f"{name} ({isa})" if isa else name


def _versions():
    import sklearn
    versions = {"python": platform.python_version(), "keras": keras.__version__,
                "backend": keras.backend.backend(), "numpy": np.__version__,
                "scikit-learn": sklearn.__version__, "cpu": cpu_name()}
    if "tensorflow" in sys.modules:
        versions["tensorflow"] = sys.modules["tensorflow"].__version__
    return versions


@dataclasses.dataclass
class _Fold:
    """What the steps of one fold share: its split, data sizes, statistics and folders."""

    config: ExperimentConfig
    corpus: typing.Any
    fold: int
    split: protocol.FoldSplit
    fold_dir: typing.Any
    strategy: typing.Any
    pipe: typing.Any  # The pipeline module (segments or arrays).
    batch_size: int  # Global, over the strategy's replicas.
    n_train_segments: int
    steps_per_epoch: int
    stats_table: typing.Any  # {speaker: statistics}, speaker normalisation only.
    pooled_stats: typing.Any
    probe: list  # Training utterances for the attention summaries and projector.
    fingerprint: str  # checkpoints.data_fingerprint: a checkpoint resumes on this data only.

    @property
    def ckpt_dir(self):
        return self.fold_dir / checkpoints.CHECKPOINT_DIR


@dataclasses.dataclass
class _Start:
    """Where `fit` starts: after the checkpoint's last epoch, or at 0."""

    initial_epoch: int = 0
    history: dict = dataclasses.field(default_factory=dict)
    seconds: float = 0.0
    stopped_early: bool = False
    resumed: bool = False


@dataclasses.dataclass
class _Callbacks:
    all: list
    monitor: typing.Any  # TestSpeakerMonitor or None.
    checkpoint: checkpoints.EpochCheckpoint
    progress: typing.Any  # The console's fold progress or None.


@dataclasses.dataclass
class _Scored:
    """The test utterances scored by the reported model."""

    outputs: dict  # predict_utterances' dict.
    probe_outputs: typing.Any  # The monitor's last probe predictions, or None.
    y_true: np.ndarray
    y_pred: np.ndarray
    scores: dict  # WA, UA, confusion matrix.
    domain_accuracy: typing.Any
    y_domain: np.ndarray  # The test utterances' domain indices.


def train_and_evaluate(config: ExperimentConfig, corpus, fold, out_dir, verbose=None,
                       progress=None, profile_batch=0, strategy=None):
    """Trains fold `fold` of `corpus` and writes `<out_dir>/fold_NN/`.

    Args:
        config: ExperimentConfig.
        corpus: Corpus.
        fold: int. Index of the fold in `corpus.fold_list()` (with LOSO, of
            the test speaker in `corpus.speakers`).
        out_dir: path. The run folder.
        verbose: Keras' `fit` verbosity. Defaults to a bar on a terminal, one
            line per epoch otherwise.
        progress: `monitoring.RunProgress` or None. Prints the fold and the
            run's time left before every epoch.
        profile_batch: int or (first, last) steps for the TensorBoard profiler
            (0: off). Not part of the config: it changes no result.
        strategy: a `tf.distribute.Strategy` (`distribute.make_strategy`) or
            None: the model is built and compiled in its scope.

    Returns:
        The fold's `FoldResult` (as written to `results.json`), with the test
        utterances' labels and predictions in `y_true`/`y_pred` for pooling.
    """
    # Split: training, validation and test utterances, once (protocol.py).
    _check_outputs(config, corpus)
    split = protocol.split_fold(corpus, fold, config.train.validation_speakers)
    # Data: batch size, steps per epoch, speaker statistics.
    run = _prepare(config, corpus, fold, split, out_dir, strategy)
    # Resume: a checkpoint of the same config and data, from a killed run.
    state = checkpoints.resume_state(run.ckpt_dir, config, run.fingerprint)
    checkpoints.configure_determinism(config)
    # Model.
    model = _build_model(run)
    if state is None and config.train.init_from:  # A resumed fold has its own weights.
        warm_start.warm_start(model, config.train.init_from)
    start = _resume(model, state, run)
    # Callbacks, in their one order.
    callbacks = fold_callbacks(run, start, progress, profile_batch)
    # Fit.
    train_seconds = _fit(model, run, start, callbacks.all, verbose)
    # Select the epoch (never on the test speaker) and score the test speakers.
    history = callbacks.checkpoint.history
    stopped_early = start.stopped_early or bool(getattr(model, "stop_training", False))
    choice = protocol.select_epoch(history, split.validation_speakers, stopped_early)
    scored = _score_test(model, run, choice, callbacks.monitor)
    # Write: model, predictions, features, TensorBoard, then results.json.
    result = _fold_result(run, scored, choice, history, start, train_seconds, stopped_early)
    _write_fold(model, run, result, scored)
    if callbacks.progress is not None:
        callbacks.progress.finish_fold()
    logging.info("Fold %d (%s, %s): WA %.4f UA %.4f, domain accuracy %s, %d epochs in %.0f s",
                 fold, split.name, corpus.name, result.wa, result.ua,
                 "n/a" if result.domain_accuracy is None else f"{result.domain_accuracy:.4f}",
                 result.epochs_completed, train_seconds)
    return result


def _check_outputs(config, corpus):
    """Refuses a model whose outputs do not fit the corpus's classes and domain values."""
    emotions, (domain, domain_values) = _emotions_of(corpus), _domain_of(corpus)
    if (config.model.n_emotions, config.model.n_domains) != (len(emotions), len(domain_values)):
        raise ValueError(
                f"the model has {config.model.n_emotions} emotion and {config.model.n_domains} "
                f"domain outputs but {corpus.name} has {len(emotions)} classes "
                f"({', '.join(emotions)}) and {len(domain_values)} {domain} values; set "
                "ModelConfig.n_emotions/n_domains from the corpus (main.py does)")


def _prepare(config, corpus, fold, split, out_dir, strategy):
    """The fold's `_Fold`: its folder made, its sizes counted and logged, its statistics."""
    if config.data.speaker_bn and distribute.replicas(strategy) > 1:
        raise ValueError("speaker_bn re-estimates BatchNorm statistics outside the strategy's "
                         "replicas; use it with one device (--strategy=default), or score a "
                         "finished run with benchmarks/rescore.py --speaker_bn")
    train_cfg = config.train
    fold_dir = checkpoints.fold_dir_of(out_dir, fold)
    fold_dir.mkdir(parents=True, exist_ok=True)
    batch_size = distribute.global_batch_size(train_cfg.batch_size, strategy,
                                              train_cfg.batch_per_replica)
    group = config.model.speaker_bn_group
    if group and (batch_size % distribute.replicas(strategy) or
                  (batch_size // distribute.replicas(strategy)) % group):
        raise ValueError(f"--speaker_bn_group={group}: each replica's share of the global "
                         f"batch ({batch_size} over {distribute.replicas(strategy)}) must be "
                         "whole runs of one speaker; choose a batch that divides so")
    n_train_segments = int(plan_lib.counts(split.train, training_cut(config)).sum())
    steps_per_epoch = -(-n_train_segments // batch_size)
    if split.validation_speakers:
        logging.info("Fold %d: validation speakers %s (%d utterances) choose the epoch",
                     fold, ", ".join(split.validation_speakers), len(split.validation))
    logging.info("Fold %d: test speaker %s (%s), %d test utterances; %d training "
                 "utterances from %d speakers -> %d segments, %d steps per epoch",
                 fold, split.name, split.test_gender, len(split.test),
                 len(split.train), len({u.speaker for u in split.train}),
                 n_train_segments, steps_per_epoch)
    stats_table, pooled_stats = fold_speaker_stats(config, split.train, split.validation,
                                                   split.test)
    return _Fold(config, corpus, fold, split, fold_dir, strategy,
                 renderer(train_cfg.pipeline), batch_size, n_train_segments,
                 steps_per_epoch, stats_table, pooled_stats,
                 attention_probe(split.train, corpus=corpus),
                 checkpoints.data_fingerprint(split.train + split.validation, split.test))


def _build_model(run):
    """The compiled model, under the precision policy and in the strategy's scope."""
    config, train_cfg = run.config, run.config.train
    logging.info("Fold %d: %s pipeline, precision %s, %d replica(s), global batch %d",
                 run.fold, _pipeline_name(run), train_cfg.precision,
                 distribute.replicas(run.strategy), run.batch_size)
    # Layers take the dtype policy in force when built (precision.py); variables
    # made in the strategy's scope are mirrored over its replicas.
    with precision_lib.dtype_policy(train_cfg.precision), distribute.scope(run.strategy):
        model = model_lib.build_model(config.model)
        if run.pooled_stats is not None:
            # Kept in the model for callers with no profile of the speaker.
            model.get_layer("spectrogram").pooled_stats.assign(run.pooled_stats)
        if train_cfg.class_balance == "weighted_loss":
            model.set_class_weights(plan_lib.class_weights(
                run.split.train, training_cut(config), config.model.n_emotions,
                corpus=run.corpus))
        # The paper's SGD and x lr_decay per epoch, or AdamW / warm-up + cosine (optim.py).
        # A mixed_float16 model gets a LossScaleOptimizer here (auto_scale_loss).
        model.compile(optimizer=optim.build_optimizer(train_cfg, run.steps_per_epoch))
        if run.strategy is not None:
            distribute.prepare_model(model, run.strategy)
    return model


def _resume(model, state, run):
    """Loads the checkpoint `state` names into `model`; where `fit` starts."""
    if state is None:
        return _Start()
    ckpt_dir = run.ckpt_dir
    # The optimizer's variables must exist for load_weights to fill them.
    model.optimizer.build(model.trainable_variables)
    try:
        model.load_weights(ckpt_dir / state["weights"])
    except Exception as e:  # h5py and Keras raise many types for a bad file.
        raise ValueError(f"{ckpt_dir / state['weights']} cannot be loaded ({e}); add "
                         "--overwrite to start the fold again") from e
    initial_epoch = int(state["epoch"])
    # convert_to_numpy: int() fails on a tf.distribute MirroredVariable.
    steps_taken = int(keras.ops.convert_to_numpy(model.optimizer.iterations))
    if steps_taken != initial_epoch * run.steps_per_epoch:
        raise ValueError(
            f"{ckpt_dir}: the optimizer has taken {steps_taken} steps, "
            f"not {initial_epoch} x {run.steps_per_epoch}; add --overwrite to start the fold "
            "again")
    logging.info("Fold %d: resuming after epoch %d of %d from %s (learning rate %.6g)",
                 run.fold, initial_epoch, run.config.train.epochs, ckpt_dir,
                 float(model.optimizer.learning_rate))
    return _Start(initial_epoch, state.get("history", {}),
                  float(state.get("train_seconds", 0.0)), bool(state.get("stopped_early")),
                  resumed=True)


def fold_callbacks(run, start, progress=None, profile_batch=0):
    """Every callback of a fold's `fit`, in the one order that works.

    The order, and why (each is present only where its setting asks for it):
      0. `optim.ema_callback` (`ema_momentum`): first, so that every later
         callback recalibrates, scores and saves the weights' moving average;
         the raw weights come back at the next epoch's start. After the last
         epoch the model keeps the average. A fold stopped early is scored
         with its best epoch's weights, which the checkpoint saved averaged.
      1. `precise_bn.BatchNormRecalibration` (`bn_recalibration_batches`):
         first, so that every later callback scores or saves the recalibrated
         model.
      2. `validation.ValidationScore` (validation speakers): adds `val_wa` /
         `val_ua` to the epoch's logs, which 3, 6 and 8 read.
      3. `validation.ResumableEarlyStopping` (`early_stopping_patience`):
         reads `val_ua`; continues a resumed fold's count from its history.
      4. `TestSpeakerMonitor` (`monitor_test`): adds the test speakers' WA/UA
         to the logs, for monitoring only (it never chooses an epoch).
      5. `monitoring.EpochSummaries`: after the monitor whose predictions it
         draws.
      6. `keras.callbacks.TensorBoard`: after every callback that adds to the
         logs, so that their values reach the event files; on a resumed fold
         it adds a new event file whose steps go on from the initial epoch.
      7. The console's fold progress (`progress`).
      8. `checkpoints.EpochCheckpoint`: last, so that the logs it records
         (and the history results.json keeps) hold what every other callback
         added, and the best-validation weights it saves are those 2 scored.

    5 and 6 need TensorFlow; without it the log says once that there are no
    TensorBoard logs.

    `run` is the fold's `_Fold`, `start` its `_Start` (whose history goes on);
    `progress` and `profile_batch` as in `train_and_evaluate`.
    """
    config, train_cfg = run.config, run.config.train
    split, stats_table, log_dir = run.split, run.stats_table, run.fold_dir / "logs"
    callbacks, monitor, fold_progress = [], None, None
    ema = optim.ema_callback(train_cfg, start.resumed)
    if ema is not None:  # 0
        callbacks.append(ema)
    if train_cfg.bn_recalibration_batches:  # 1
        callbacks.append(precise_bn.BatchNormRecalibration(_recalibration_batches(
            split.train, config, run.batch_size, run.strategy, stats_table)))
    if split.validation_speakers:  # 2, 3
        val_labels, _ = plan_lib.labels_of(split.validation, run.corpus)
        callbacks.append(validation.ValidationScore(
            lambda m, utts: predict_utterances(m, utts, config, train_cfg.batch_size,
                                               stats_table)[model_lib.EMOTION_PROBS],
            split.validation, val_labels, config.model.n_emotions))
        if train_cfg.early_stopping_patience:
            callbacks.append(validation.ResumableEarlyStopping(
                train_cfg.early_stopping_patience, start.history))
    if train_cfg.monitor_test:  # 4, 5
        monitor = TestSpeakerMonitor(split.test, config, train_cfg.batch_size,
                                     probe=run.probe, corpus=run.corpus,
                                     stats_table=stats_table)
        callbacks.append(monitor)
        if monitoring is not None:
            callbacks.append(monitoring.EpochSummaries(log_dir, monitor.summary_data))
    if monitoring is not None:  # 6
        callbacks.append(keras.callbacks.TensorBoard(log_dir=str(log_dir), write_graph=False,
                                                     profile_batch=profile_batch))
    else:
        logging.info("TensorFlow is not installed: no TensorBoard logs (fold_NN/logs); "
                     "the history is in results.json")
    if progress is not None:  # 7
        fold_progress = progress.callback(run.fold, split.name)
        callbacks.append(fold_progress)
    checkpoint = checkpoints.EpochCheckpoint(  # 8
        run.ckpt_dir, config, run.fingerprint, start.history, start.seconds,
        monitor=protocol.MONITOR if split.validation_speakers else None)
    callbacks.append(checkpoint)
    return _Callbacks(callbacks, monitor, checkpoint, fold_progress)


def _fit(model, run, start, callbacks, verbose):
    """Trains the remaining epochs back to back; the fold's training seconds in all."""
    train_cfg = run.config.train
    if verbose is None:
        verbose = 1 if sys.stdout.isatty() else 2
    begin = time.time()
    if start.initial_epoch < train_cfg.epochs and not start.stopped_early:
        train_ds = _training_data(run, start.initial_epoch)
        with distribute.scope(run.strategy):  # See distribute.prepare_model.
            model.fit(train_ds, epochs=train_cfg.epochs, initial_epoch=start.initial_epoch,
                      steps_per_epoch=run.steps_per_epoch, callbacks=callbacks,
                      verbose=verbose, shuffle=False)  # The pipeline shuffles.
    return start.seconds + time.time() - begin


def _pipeline_name(run):
    return "tf.data" if run.pipe.__name__.endswith("render_tf") else "numpy"


def _training_data(run, first_epoch):
    """Every remaining epoch's batches, rendered from the fold's training plan.

    With `steps_per_epoch` Keras keeps one iterator across the epochs.
    """
    config = run.config
    plan = plan_lib.training_plan(run.split.train, training_cut(config), config.train,
                                  run.batch_size, first_epoch, corpus=run.corpus,
                                  speaker_group=config.model.speaker_bn_group)
    return run.pipe.training_data(run.split.train, plan, config.model.frontend.sample_rate_hz,
                                  run.stats_table)


def _score_test(model, run, choice, monitor):
    """The test utterances scored by the reported model (`choice`).

    The last epoch's model is the result unless validation chose another;
    the monitor has then already scored it.
    """
    config, test = run.config, run.split.test
    if choice.best_weights:
        # The best validation epoch's weights; the test speaker is scored once, now.
        model.load_weights(run.ckpt_dir / checkpoints.BEST_WEIGHTS)
        monitor = None
    outputs = monitor.last if monitor is not None else None
    if outputs is None:
        outputs = predict_utterances(model, test, config, config.train.batch_size,
                                     run.stats_table)
    return score_outputs(outputs, test, run.corpus,
                         monitor.last_probe if monitor is not None else None)


def score_outputs(outputs, utterances, corpus, probe_outputs=None):
    """`predict_utterances`' outputs for labelled `utterances`, scored (a `_Scored`):
    WA, UA and confusion matrix, and the domain accuracy where the variant has a head."""
    y_true, y_domain = plan_lib.labels_of(utterances, corpus)
    probs = outputs["emotion_probs"]
    domain_accuracy = None
    if "domain_probs" in outputs:
        domain_accuracy = float(np.mean(outputs["domain_probs"].argmax(-1) == y_domain))
    return _Scored(outputs, probe_outputs, y_true, probs.argmax(-1),
                   evaluation.classification_scores(y_true, probs, len(_emotions_of(corpus))),
                   domain_accuracy, y_domain)


def _fold_result(run, scored, choice, history, start, train_seconds, stopped_early):
    """The fold's `FoldResult`, with its predictions for pooling."""
    config, corpus, split = run.config, run.corpus, run.split
    frontend, train_cfg = config.model.frontend, config.train
    domain, domain_values = _domain_of(corpus)
    return FoldResult(
        corpus=corpus.name, protocol=protocol.protocol_name(corpus.protocol),
        protocol_id=corpus.protocol, fold=run.fold, test_speaker=split.name,
        test_speakers=split.test_speakers, test_gender=split.test_gender,
        variant=config.model.variant, normalization=frontend.normalization,
        uses_test_speaker_audio=protocol.uses_test_speaker_audio(config),
        wa=scored.scores["wa"], ua=scored.scores["ua"], labels=list(_emotions_of(corpus)),
        confusion_matrix=scored.scores["confusion_matrix"],
        domain_accuracy=scored.domain_accuracy, domain=domain,
        domain_labels=list(domain_values), n_test_utterances=len(split.test),
        n_test_segments=scored.outputs["n_segments"],
        n_train_utterances=len(split.train), n_train_segments=run.n_train_segments,
        epochs_requested=train_cfg.epochs, epochs_completed=len(history.get("loss", [])),
        epoch_selection=choice.reason, selected_epoch=choice.epoch,
        validation_speakers=split.validation_speakers, validation_ua=choice.validation_ua,
        n_validation_utterances=len(split.validation), stopped_early=stopped_early,
        train_seconds=round(train_seconds, 1), history=history,
        resumed_after_epoch=start.initial_epoch if start.resumed else None,
        deterministic=train_cfg.deterministic, pipeline=_pipeline_name(run),
        replicas=distribute.replicas(run.strategy), global_batch_size=run.batch_size,
        config=config.to_dict(), versions=_versions(),
        finished_at=datetime.datetime.now(datetime.timezone.utc).isoformat(),
    ).with_predictions(scored.y_true, scored.y_pred)


def _write_fold(model, run, result, scored):
    """model.keras, predictions.csv, test_features.npz, TensorBoard's fold end, results.json.

    results.json last: its presence with every epoch is what marks the fold
    complete (`checkpoints.fold_status`), so everything else must be on disk
    before it. model.keras holds the final state; the checkpoint then goes.
    """
    config, test, fold_dir = run.config, run.split.test, run.fold_dir
    emotions = _emotions_of(run.corpus)
    with files.atomic_path(fold_dir / "model.keras") as tmp:
        model.save(tmp)
    write_test_outputs(fold_dir, test, scored, run.corpus)
    if monitoring is not None:
        probe_scored = scored.probe_outputs if scored.probe_outputs is not None else \
            predict_utterances(model, run.probe, config, config.train.batch_size,
                               run.stats_table)
        monitoring.write_fold_end(
            fold_dir / "logs", monitoring.hparams_of(config, run.fold, run.split.name),
            result.to_dict(), _projector_points(test, scored.outputs, scored.y_pred, run.probe,
                                                probe_scored, emotions))
    result.write(fold_dir)
    shutil.rmtree(run.ckpt_dir, ignore_errors=True)


def write_test_outputs(fold_dir, utterances, scored, corpus):
    """`predictions.csv` (class and probabilities per test utterance) and
    `test_features.npz` of a scored fold, each written atomically."""
    emotions = _emotions_of(corpus)
    files.write_csv(
        fold_dir / "predictions.csv",
        ["name", "speaker", "gender", "label", "prediction"] + [f"p_{e}" for e in emotions],
        [[u.name, u.speaker, u.gender, u.label, emotions[p]] + [f"{v:.6f}" for v in row]
         for u, p, row in zip(utterances, scored.y_pred, scored.outputs["emotion_probs"])])
    _write_test_features(fold_dir / "test_features.npz", utterances, scored, emotions)


def _write_test_features(path, utterances, scored, emotions):
    """`test_features.npz`: per test utterance, the deep feature and labels (for the report).

    The deep feature is the mean of the utterance's segments' 64-d features;
    `attention` (adarl only) likewise the mean I^D; `domain_probs` (variants
    with a domain head) the mean domain probabilities, beside `domain_labels`
    (the true domain indices), so that an ensemble can score its gender too.
    """
    outputs = scored.outputs
    arrays = {
        "names": np.array([u.name for u in utterances]),
        "speakers": np.array([u.speaker for u in utterances]),
        "genders": np.array([u.gender for u in utterances]),
        "labels": np.asarray(scored.y_true, "int32"),
        "predictions": np.asarray(scored.y_pred, "int32"),
        "label_names": np.array(emotions),
        "deep_features": np.asarray(outputs[model_lib.DEEP_FEATURES], "float32"),
    }
    if model_lib.ATTENTION in outputs:
        arrays["attention"] = np.asarray(outputs[model_lib.ATTENTION], "float32")
    if model_lib.DOMAIN_PROBS in outputs:
        arrays["domain_probs"] = np.asarray(outputs[model_lib.DOMAIN_PROBS], "float32")
        arrays["domain_labels"] = np.asarray(scored.y_domain, "int32")
    with files.atomic_path(path) as tmp:
        np.savez_compressed(tmp, **arrays)


def _projector_points(test_utts, scored, y_pred, probe, probe_scored, emotions):
    """Deep features with metadata: the test utterances and the training sample."""
    probe_pred = probe_scored["emotion_probs"].argmax(-1)
    rows = [{"name": u.name, "split": "test", "speaker": u.speaker, "gender": u.gender,
             "emotion": u.label, "prediction": emotions[p]}
            for u, p in zip(test_utts, y_pred)]
    rows += [{"name": u.name, "split": "train sample", "speaker": u.speaker,
              "gender": u.gender, "emotion": u.label, "prediction": emotions[p]}
             for u, p in zip(probe, probe_pred)]
    features = np.concatenate([scored[model_lib.DEEP_FEATURES],
                               probe_scored[model_lib.DEEP_FEATURES]])
    return features, rows
