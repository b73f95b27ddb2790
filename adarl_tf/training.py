"""One fold: train on the other speakers, score the fold's test speakers.

Folds come from the corpus's protocol (`Corpus.folds`: leave one speaker out
by default, or one session, or speaker-disjoint k-fold); class and domain
names from the corpus (`Corpus.emotions`, `Corpus.domain_values`).

Honesty rules, enforced here:
  * the test speaker's utterances never reach the training pipeline;
  * the reported result is the model after the last epoch, or with
    `validation_speakers` the epoch with the best UA on training speakers held
    out for it (`validation.py`); the test speaker's per-epoch WA/UA is logged
    to TensorBoard for monitoring only and never chooses an epoch.

What reaches TensorBoard is listed in `monitoring.py`.

Nothing is lost to a crash: after every epoch the fold's state goes to
`fold_NN/checkpoint/` (see `checkpoints.EpochCheckpoint`), and running the same command
again continues from the last finished epoch; a fold whose `results.json` is
complete for the same config is not trained again (`checkpoints.fold_status`).
"""

import datetime
import pathlib
import platform
import shutil
import sys
import time

import keras
import numpy as np
from absl import logging

from adarl_tf import checkpoints, distribute, evaluation, files, model as model_lib
from adarl_tf import optim, recalibration, speaker_norm, validation
from adarl_tf import precision as precision_lib
from adarl_tf.config import ExperimentConfig
from adarl_tf.corpora import protocols
from adarl_tf.corpora.corpus import EMOTIONS, GENDERS
from adarl_tf.pipelines import (augment_module, crops, pipeline_module,
                                tensorflow_available)
from adarl_tf.pipelines import rules as seg

# TensorBoard (monitoring.py, keras.callbacks.TensorBoard) needs TensorFlow;
# without it (JAX-only installs) a fold trains, checkpoints and scores alike,
# with no event files (said once in the log).
monitoring = None
if tensorflow_available():
    from adarl_tf import monitoring


def fold_speakers(corpus, fold):
    """The test speakers of fold `fold` (an index into `corpus.fold_list()`)."""
    folds = corpus.fold_list()
    n = len(folds)
    if not 0 <= fold < n:
        raise ValueError(f"--fold={fold} is out of range: this corpus has {n} folds "
                         f"({protocols.protocol_name(corpus.protocol)}), so folds are "
                         f"0..{n - 1}; see 'folds' in data_report.json")
    return list(folds[fold])


def fold_name(test_speakers):
    """The fold's test speakers as one string (the speaker id for LOSO)."""
    return "+".join(test_speakers)


def split_fold(corpus, fold):
    """(test speakers' name, training utterances, emotion-labelled test utterances).

    Args:
        corpus: Corpus.
        fold: int (index into the protocol's folds) or a collection of test
            speaker ids.

    The training utterances are every utterance of the other speakers,
    domain-only data included; the test utterances are the test speakers'
    emotion-labelled ones only.
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
    return name, train, test


def fold_speaker_stats(config, train_utts, val_utts, test_utts):
    """Speaker normalisation: {speaker: statistics} for every speaker of the fold, and
    the training speakers' pooled statistics; (None, None) with segment normalisation.

    Each speaker's statistics come from its own audio in its own part of the
    fold (speaker_norm.py); the test speakers' unlabelled audio is used.
    """
    frontend = config.model.frontend
    if frontend.normalization != "speaker":
        return None, None
    from adarl_tf.pipelines import arrays
    return speaker_norm.fold_statistics(
        {"train": train_utts, "validation": val_utts, "test": test_utts}, frontend,
        lambda u: arrays.decode(u, frontend.sample_rate_hz))


def _stats_of(utterances, stats_table):
    return None if stats_table is None else speaker_norm.per_utterance(utterances, stats_table)


def predict_utterances(model, utterances, config, batch_size, stats_table=None):
    """Utterance-level outputs: the mean over each utterance's segments.

    `stats_table` ({speaker: statistics}) is needed with speaker normalisation.

    Returns a dict: `emotion_probs`, `deep_features` and, where the variant has
    them, `domain_probs` and `attention` (I^D), each (n_utterances, k); the
    per-segment I^D as `segment_attention`; `segment_counts` (segments per
    utterance) and their sum `n_segments`.
    """
    frontend = config.model.frontend
    pipe = pipeline_module(config.train.pipeline)
    ds = pipe.evaluation_dataset(utterances, frontend, config.data.min_tail_s, batch_size,
                                 tail=config.data.tail, stats=_stats_of(utterances, stats_table))
    # Arrays (numpy pipeline) are batched by predict; a tf.data set is batched.
    kwargs = {"batch_size": batch_size} if isinstance(ds, (np.ndarray, dict)) else {}
    out = model.predict(ds, verbose=0, **kwargs)
    counts = seg.segments_per_utterance(utterances, frontend, config.data.min_tail_s)
    result = {"n_segments": int(counts.sum()), "segment_counts": counts}
    for key in (model_lib.EMOTION_PROBS, model_lib.DOMAIN_PROBS, model_lib.DEEP_FEATURES,
                model_lib.ATTENTION):
        if key in out:
            # float32 whatever the precision policy (bfloat16 outputs otherwise).
            result[key] = evaluation.group_mean(np.asarray(out[key], "float32"), counts)
    if model_lib.ATTENTION in out:
        result["segment_attention"] = np.asarray(out[model_lib.ATTENTION], "float32")
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
    segments = pipeline_module(train_cfg.pipeline).evaluation_dataset(
        sample, config.model.frontend, config.data.min_tail_s, batch_size,
        tail=config.data.tail, stats=_stats_of(sample, stats_table))
    return recalibration.batches_of(segments, batch_size, train_cfg.bn_recalibration_batches)


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
    epoch (the fold's result is the last epoch's). Keep this callback before
    `TensorBoard` in the list so that its values reach the event files.

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
        self.labels, self.domains = seg.labels_of(utterances, corpus)
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
        speaker = fold_name(sorted({u.speaker for u in self.utterances}))
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


def _versions():
    import sklearn
    versions = {"python": platform.python_version(), "keras": keras.__version__,
                "backend": keras.backend.backend(), "numpy": np.__version__,
                "scikit-learn": sklearn.__version__}
    if "tensorflow" in sys.modules:
        versions["tensorflow"] = sys.modules["tensorflow"].__version__
    return versions


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
        The fold's results dict (as written to `results.json`, plus the
        utterance labels and predictions under `y_true`/`y_pred` for pooling).
    """
    test_speaker, train_utts, test_utts = split_fold(corpus, fold)
    test_speakers = fold_speakers(corpus, fold)
    emotions, (domain, domain_values) = _emotions_of(corpus), _domain_of(corpus)
    if (config.model.n_emotions, config.model.n_domains) != (len(emotions), len(domain_values)):
        raise ValueError(
                f"the model has {config.model.n_emotions} emotion and {config.model.n_domains} "
                f"domain outputs but {corpus.name} has {len(emotions)} classes "
                f"({', '.join(emotions)}) and {len(domain_values)} {domain} values; set "
                "ModelConfig.n_emotions/n_domains from the corpus (main.py does)")
    test_gender = "+".join(sorted({corpus.gender_of(s) for s in test_speakers}))
    fold_dir = checkpoints.fold_dir_of(out_dir, fold)
    fold_dir.mkdir(parents=True, exist_ok=True)
    frontend, train_cfg = config.model.frontend, config.train
    pipe = pipeline_module(train_cfg.pipeline)
    batch_size = distribute.global_batch_size(train_cfg.batch_size, strategy,
                                              train_cfg.batch_per_replica)
    # Validation speakers come out of the emotion-labelled training speakers (not
    # domain-only data), never the test speakers.
    labelled = {u.speaker for u in train_utts if u.label is not None} | set(test_speakers)
    candidates = [s for s in corpus.speakers if s in labelled]
    val_speakers = validation.select_speakers(
        candidates, {s: corpus.gender_of(s) for s in candidates}, test_speakers,
        train_cfg.validation_speakers)
    train_utts, val_utts = validation.split_validation(train_utts, val_speakers)
    augmented = train_cfg.augments or train_cfg.class_balance == "sampler"
    n_train_segments = int(crops.segment_counts(train_utts, frontend,
                                                config.data.min_tail_s, train_cfg).sum())
    steps_per_epoch = crops.steps_per_epoch(train_utts, frontend, config.data.min_tail_s,
                                            batch_size, train_cfg)
    if val_speakers:
        logging.info("Fold %d: validation speakers %s (%d utterances) choose the epoch",
                     fold, ", ".join(val_speakers), len(val_utts))
    logging.info("Fold %d: test speaker %s (%s), %d test utterances; %d training "
                 "utterances from %d speakers -> %d segments, %d steps per epoch",
                 fold, test_speaker, test_gender, len(test_utts),
                 len(train_utts), len({u.speaker for u in train_utts}),
                 n_train_segments, steps_per_epoch)
    stats_table, pooled_stats = fold_speaker_stats(config, train_utts, val_utts, test_utts)
    ckpt_dir = fold_dir / checkpoints.CHECKPOINT_DIR
    fingerprint = checkpoints.data_fingerprint(train_utts + val_utts, test_utts)
    state = checkpoints.resume_state(ckpt_dir, config, fingerprint)

    checkpoints.configure_determinism(config)
    logging.info("Fold %d: %s pipeline, precision %s, %d replica(s), global batch %d",
                 fold, pipe.__name__.rsplit(".", 1)[-1], train_cfg.precision,
                 distribute.replicas(strategy), batch_size)
    # Layers take the dtype policy in force when built (precision.py); variables
    # made in the strategy's scope are mirrored over its replicas.
    with precision_lib.dtype_policy(train_cfg.precision), distribute.scope(strategy):
        model = model_lib.build_model(config.model)
        if pooled_stats is not None:
            # Kept in the model for callers with no profile of the speaker.
            model.get_layer("spectrogram").pooled_stats.assign(pooled_stats)
        if train_cfg.class_balance == "weighted_loss":
            model.set_class_weights(crops.class_weights(
                train_utts, frontend, config.data.min_tail_s, train_cfg,
                config.model.n_emotions, corpus=corpus))
        # The paper's SGD and x lr_decay per epoch, or AdamW / warm-up + cosine (optim.py).
        # A mixed_float16 model gets a LossScaleOptimizer here (auto_scale_loss).
        model.compile(optimizer=optim.build_optimizer(train_cfg, steps_per_epoch))
        if strategy is not None:
            distribute.prepare_model(model, strategy)

    initial_epoch, history_before, seconds_before = 0, {}, 0.0
    if state is not None:
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
        if steps_taken != initial_epoch * steps_per_epoch:
            raise ValueError(
                f"{ckpt_dir}: the optimizer has taken {steps_taken} steps, "
                f"not {initial_epoch} x {steps_per_epoch}; add --overwrite to start the fold "
                "again")
        history_before = state.get("history", {})
        seconds_before = float(state.get("train_seconds", 0.0))
        logging.info("Fold %d: resuming after epoch %d of %d from %s (learning rate %.6g)",
                     fold, initial_epoch, train_cfg.epochs, ckpt_dir,
                     float(model.optimizer.learning_rate))

    log_dir = fold_dir / "logs"
    probe = attention_probe(train_utts, corpus=corpus)
    # Order matters: the callbacks that add to the epoch's logs come before
    # TensorBoard, EpochSummaries after the monitor whose predictions it draws,
    # the checkpoint last (it records the complete logs).
    callbacks = []
    if train_cfg.bn_recalibration_batches:
        # First: every later callback scores or saves the recalibrated model.
        callbacks.append(recalibration.BatchNormRecalibration(
            _recalibration_batches(train_utts, config, batch_size, strategy, stats_table)))
    if val_speakers:
        val_labels, _ = seg.labels_of(val_utts, corpus)
        callbacks.append(validation.ValidationScore(
            lambda m, utts: predict_utterances(m, utts, config, train_cfg.batch_size,
                                               stats_table)[
                model_lib.EMOTION_PROBS], val_utts, val_labels, config.model.n_emotions))
        if train_cfg.early_stopping_patience:
            callbacks.append(validation.ResumableEarlyStopping(
                train_cfg.early_stopping_patience, history_before))
    monitor = None
    if train_cfg.monitor_test:
        monitor = TestSpeakerMonitor(test_utts, config, train_cfg.batch_size, probe=probe,
                                     corpus=corpus, stats_table=stats_table)
        callbacks.append(monitor)
        if monitoring is not None:
            callbacks.append(monitoring.EpochSummaries(log_dir, monitor.summary_data))
    # On a resumed fold TensorBoard adds a new event file; its steps go on from
    # `initial_epoch`.
    if monitoring is not None:
        callbacks.append(keras.callbacks.TensorBoard(log_dir=str(log_dir), write_graph=False,
                                                     profile_batch=profile_batch))
    else:
        logging.info("TensorFlow is not installed: no TensorBoard logs (fold_NN/logs); "
                     "the history is in results.json")
    fold_progress = None
    if progress is not None:
        fold_progress = progress.callback(fold, test_speaker)
        callbacks.append(fold_progress)
    checkpoint = checkpoints.EpochCheckpoint(
        ckpt_dir, config, fingerprint, history_before, seconds_before,
        monitor=validation.MONITOR if val_speakers else None)
    callbacks.append(checkpoint)
    if verbose is None:
        verbose = 1 if sys.stdout.isatty() else 2
    start = time.time()
    stopped_before = bool(state and state.get("stopped_early"))
    if initial_epoch < train_cfg.epochs and not stopped_before:
        # Every remaining epoch back to back, each shuffled by its own seed; with
        # `steps_per_epoch` Keras keeps one iterator across the epochs.
        if augmented:
            # tf.data's (TensorFlow, imported only here) or its numpy twin (JAX).
            augment = augment_module(train_cfg.pipeline)
            train_ds = augment.training_dataset(train_utts, frontend, config.data.min_tail_s,
                                                train_cfg, train_cfg.shuffle_buffer,
                                                first_epoch=initial_epoch, corpus=corpus,
                                                batch_size=batch_size, tail=config.data.tail,
                                                stats=_stats_of(train_utts, stats_table))
        else:
            train_ds = pipe.training_dataset(train_utts, frontend, config.data.min_tail_s,
                                             batch_size, train_cfg.shuffle_buffer,
                                             seed=train_cfg.seed, first_epoch=initial_epoch,
                                             epochs=train_cfg.epochs, corpus=corpus,
                                             tail=config.data.tail,
                                             stats=_stats_of(train_utts, stats_table))
        with distribute.scope(strategy):  # See distribute.prepare_model.
            model.fit(train_ds, epochs=train_cfg.epochs, initial_epoch=initial_epoch,
                      steps_per_epoch=steps_per_epoch, callbacks=callbacks,
                      verbose=verbose, shuffle=False)  # The pipeline shuffles.
    train_seconds = seconds_before + time.time() - start
    history = checkpoint.history
    epochs_completed = len(history.get("loss", []))

    stopped_early = stopped_before or bool(getattr(model, "stop_training", False))
    selected_epoch, validation_ua = validation.best_epoch(history)
    if val_speakers and selected_epoch is not None:
        # The best validation epoch's weights are the result; the test speaker is
        # scored once, now.
        model.load_weights(ckpt_dir / checkpoints.BEST_WEIGHTS)
        monitor_last = monitor_probe = None
        selection = (f"best validation UA ({validation_ua:.4f}) at epoch {selected_epoch} of "
                     f"{epochs_completed} on speakers {', '.join(val_speakers)}"
                     f"{', stopped early' if stopped_early else ''}; test speaker never used")
    else:
        monitor_last = monitor.last if monitor is not None else None
        monitor_probe = monitor.last_probe if monitor is not None else None
        selected_epoch = epochs_completed
        selection = "last epoch (the test speaker never selects an epoch)"
    # The last epoch's model is the result unless validation chose another (the
    # monitor already scored the last one).
    scored = monitor_last if monitor_last is not None else \
        predict_utterances(model, test_utts, config, train_cfg.batch_size, stats_table)
    y_true, y_domain = seg.labels_of(test_utts, corpus)
    probs = scored["emotion_probs"]
    scores = evaluation.classification_scores(y_true, probs, len(emotions))
    domain_accuracy = None
    if "domain_probs" in scored:
        domain_accuracy = float(np.mean(scored["domain_probs"].argmax(-1) == y_domain))

    with files.atomic_path(fold_dir / "model.keras") as tmp:
        model.save(tmp)
    y_pred = probs.argmax(-1)
    files.write_csv(
        fold_dir / "predictions.csv",
        ["name", "speaker", "gender", "label", "prediction"] + [f"p_{e}" for e in emotions],
        [[u.name, u.speaker, u.gender, u.label, emotions[p]] + [f"{v:.6f}" for v in row]
         for u, p, row in zip(test_utts, y_pred, probs)])
    results = {
        "corpus": corpus.name,
        "protocol": protocols.protocol_name(corpus.protocol),
        "protocol_id": corpus.protocol,
        "fold": fold,
        "test_speaker": test_speaker,
        "test_speakers": test_speakers,
        "test_gender": test_gender,
        "variant": config.model.variant,
        "normalization": frontend.normalization,
        # Speaker normalisation takes the test speakers' statistics from their own
        # unlabelled audio (transductive); segment normalisation uses nothing of them.
        "uses_test_speaker_audio": frontend.normalization == "speaker",
        "wa": scores["wa"],
        "ua": scores["ua"],
        "labels": list(emotions),
        "confusion_matrix": scores["confusion_matrix"],
        "domain_accuracy": domain_accuracy,
        "domain": domain,
        "domain_labels": list(domain_values),
        "n_test_utterances": len(test_utts),
        "n_test_segments": scored["n_segments"],
        "n_train_utterances": len(train_utts),
        "n_train_segments": n_train_segments,
        "epochs_requested": train_cfg.epochs,
        "epochs_completed": epochs_completed,
        "epoch_selection": selection,
        "selected_epoch": selected_epoch,
        "validation_speakers": val_speakers,
        "validation_ua": validation_ua if val_speakers else None,
        "n_validation_utterances": len(val_utts),
        "stopped_early": stopped_early,
        "train_seconds": round(train_seconds, 1),
        "history": history,
        "resumed_after_epoch": initial_epoch if state is not None else None,
        "deterministic": train_cfg.deterministic,
        "pipeline": pipe.__name__.rsplit(".", 1)[-1],
        "replicas": distribute.replicas(strategy),
        "global_batch_size": batch_size,
        "config": config.to_dict(),
        "versions": _versions(),
        "finished_at": datetime.datetime.now(datetime.timezone.utc).isoformat(),
    }
    _write_test_features(fold_dir / "test_features.npz", test_utts, y_true, y_pred, scored,
                         emotions)
    if monitoring is not None:
        probe_scored = monitor_probe if monitor_probe is not None \
            else predict_utterances(model, probe, config, train_cfg.batch_size, stats_table)
        monitoring.write_fold_end(
            log_dir, monitoring.hparams_of(config, fold, test_speaker), results,
            _projector_points(test_utts, scored, y_pred, probe, probe_scored, emotions))
    # results.json last: its presence with every epoch is what marks the fold
    # complete (`checkpoints.fold_status`), so everything else must be on disk before it.
    files.write_json(fold_dir / "results.json", results)
    # model.keras holds the final state; the checkpoint is no longer needed.
    shutil.rmtree(ckpt_dir, ignore_errors=True)
    if fold_progress is not None:
        fold_progress.finish_fold()
    logging.info("Fold %d (%s, %s): WA %.4f UA %.4f, domain accuracy %s, %d epochs in %.0f s",
                 fold, test_speaker, corpus.name, results["wa"], results["ua"],
                 "n/a" if domain_accuracy is None else f"{domain_accuracy:.4f}",
                 epochs_completed, train_seconds)
    return dict(results, y_true=y_true, y_pred=y_pred)


def _write_test_features(path, utterances, y_true, y_pred, scored, emotions):
    """`test_features.npz`: per test utterance, the deep feature and labels (for the report).

    The deep feature is the mean of the utterance's segments' 64-d features;
    `attention` (adarl only) likewise the mean I^D.
    """
    arrays = {
        "names": np.array([u.name for u in utterances]),
        "speakers": np.array([u.speaker for u in utterances]),
        "genders": np.array([u.gender for u in utterances]),
        "labels": np.asarray(y_true, "int32"),
        "predictions": np.asarray(y_pred, "int32"),
        "label_names": np.array(emotions),
        "deep_features": np.asarray(scored[model_lib.DEEP_FEATURES], "float32"),
    }
    if model_lib.ATTENTION in scored:
        arrays["attention"] = np.asarray(scored[model_lib.ATTENTION], "float32")
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


def write_summary(fold_results, out_dir, missing_folds=()):
    """`summary.json` and `summary.md`: per fold, mean +- std, and pooled WA/UA.

    `missing_folds` (folds of the run without results, `fanout.summarize`)
    are listed in both files.
    """
    stats = evaluation.pooled_and_mean(fold_results)
    corpus = fold_results[0]["corpus"]
    protocol = fold_results[0].get("protocol", "leave-one-speaker-out")
    folds = [dict({k: r[k] for k in ("fold", "test_speaker", "wa", "ua", "domain_accuracy",
                                     "n_test_utterances", "epochs_completed")},
                  test_speakers=r.get("test_speakers", [r["test_speaker"]]))
             for r in fold_results]
    summary = {"corpus": corpus, "protocol": protocol,
               "variant": fold_results[0]["variant"], "n_folds": len(folds),
               "folds": folds, "missing_folds": list(missing_folds), **stats}
    out_dir = pathlib.Path(out_dir)
    files.write_json(out_dir / "summary.json", summary)
    lines = [f"# {summary['variant']} on the {corpus}, {protocol}", "",
             "Utterance-level; the last epoch's model, or the best validation-speaker epoch "
             "(results.json `epoch_selection`), never an epoch chosen on the test speaker.",
             "", "| fold | test speaker | utterances | WA | UA | domain acc. |",
             "|---|---|---|---|---|---|"]
    for f in folds:
        dom = "n/a" if f["domain_accuracy"] is None else f"{f['domain_accuracy']:.4f}"
        lines.append(f"| {f['fold']} | {f['test_speaker']} | {f['n_test_utterances']} | "
                     f"{f['wa']:.4f} | {f['ua']:.4f} | {dom} |")
    lines += ["", f"Mean over {len(folds)} folds: WA {stats['wa_mean']:.4f} "
              f"+- {stats['wa_std']:.4f}, UA {stats['ua_mean']:.4f} +- {stats['ua_std']:.4f} (std, ddof=1).",
              f"Pooled over {stats['n_utterances_pooled']} utterances: "
              f"WA {stats['wa_pooled']:.4f}, UA {stats['ua_pooled']:.4f}.", ""]
    if missing_folds:
        lines += [f"Missing folds (no results.json): {', '.join(map(str, missing_folds))}; "
                  "the figures above are over the folds present only.", ""]
    files.write_text(out_dir / "summary.md", "\n".join(lines))
    return summary
