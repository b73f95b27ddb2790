r"""Trains and evaluates ADARL, one fold of the protocol (leave one speaker out by default)
per `--fold`.

  python -m adarl_tf.main --fold=0 --epochs=3                 # synthetic demo corpus
  python -m adarl_tf.main --fold=3 --dataset=iemocap \
      --data_dir=/data/IEMOCAP_full_release                   # the paper's protocol
  python -m adarl_tf.main --fold=all --variant=backbone       # an ablation, 10 folds
  python -m adarl_tf.main --dry_run --dataset=iemocap --data_dir=...   # data report only
  python -m adarl_tf.main --fold=0 --dataset=ravdess --data_dir=/data/RAVDESS --emotions=all
  python -m adarl_tf.main --fold=all --dataset=iemocap,emodb --data_dir=A,B --domain=corpus
  python -m adarl_tf.main --fold=all --parallel_folds=4       # one process per fold (GPU)
  python -m adarl_tf.main --summarize --out_dir=runs/x        # summary of the folds on disk

Writes `<out_dir>/data_report.json`, `config.json`, one `fold_NN/` per fold
(results.json, predictions.csv, model.keras, TensorBoard logs) and, for
several folds, `summary.json` and `summary.md`.

Running the same command again after a crash continues: a fold with a
complete results.json is skipped, a killed fold resumes from its last
finished epoch (`fold_NN/checkpoint/`); `--overwrite` starts the folds anew.
"""

import dataclasses
import os
import pathlib
import sys
import tempfile

from absl import app, flags, logging

from adarl_tf import config as config_lib
from adarl_tf import distribute, files, precision, protocol
from adarl_tf.corpora.load import DATASETS, load_corpus
from adarl_tf.pipelines import PIPELINES
from adarl_tf.protocol import PROTOCOLS, protocol_name

_D = config_lib
FLAGS = flags.FLAGS

# What to run.
flags.DEFINE_string("fold", None, "Fold index (0-based, in the printed fold order of "
                    "--protocol; with loso one speaker per fold), a comma list such as 0,3,7, "
                    "or 'all'.")
flags.DEFINE_string("dataset", "demo", f"Corpus: one of {', '.join(DATASETS)}, or a comma "
                    "list of them for several corpora in one run (speaker ids are prefixed "
                    "with the corpus name).")
flags.DEFINE_string("data_dir", None, "The corpus folder (iemocap: IEMOCAP_full_release; "
                    "ravdess: the folder with Actor_XX/; emodb: the folder with wav/ or the "
                    "files; cremad: the folder with AudioWAV/ and VideoDemographics.csv; "
                    "ased: the folder with 01Neutral/ ... 05Angry/; "
                    "manifest: the CSV/TSV file); a comma list, one per --dataset. With "
                    "--dataset=demo, an already generated demo corpus (default: generated "
                    "into --cache_dir).")
flags.DEFINE_string("out_dir", None, "Run folder. Defaults to runs/<dataset>_<variant>.")
flags.DEFINE_string("cache_dir", None, "Where the demo corpus is generated. Defaults to "
                    "$ADARL_TF_CACHE or ~/.cache/adarl_tf.")
flags.DEFINE_bool("dry_run", False, "Load the data, write data_report.json, and exit.")
flags.DEFINE_bool("overwrite", False, "Train the chosen folds from scratch: delete their "
                  "results, model, checkpoint and logs first. Without it, a fold whose "
                  "results.json is complete is skipped and a killed fold resumes from its "
                  "last finished epoch.")
# Data.
flags.DEFINE_enum("iemocap_subset", _D.DataConfig.iemocap_subset,
                  ["improvised", "scripted", "all"], "IEMOCAP utterances used.")
flags.DEFINE_bool("merge_excited", _D.DataConfig.merge_excited,
                  "Count IEMOCAP 'exc' as happy (off in the paper).")
flags.DEFINE_string("emotions", _D.DataConfig.emotions, "Class set: 'default' (neutral, "
                    "happy, sad, angry on every corpus), 'all' (every label of the corpus), "
                    "or a comma list with optional merges, e.g. "
                    "neutral,happy=happy+excited,sad,angry.")
flags.DEFINE_string("domain", _D.DataConfig.domain, "Domain of the domain head: gender (the "
                    "paper), corpus, session, or any manifest column; one output per value.")
flags.DEFINE_enum("protocol", _D.DataConfig.protocol, list(PROTOCOLS),
                  "Folds: loso (one speaker per fold), loso_session (one session per fold, "
                  "IEMOCAP), speaker_kfold (--n_folds speaker-disjoint folds).")
flags.DEFINE_integer("n_folds", _D.DataConfig.n_folds, "Folds of --protocol=speaker_kfold.")
flags.DEFINE_bool("ravdess_song", _D.DataConfig.include_song,
                  "RAVDESS: also the song files (vocal channel 02).")
flags.DEFINE_string("extra_domain_data", None, "A manifest (CSV/TSV) of domain-only "
                    "utterances added to every fold's training data (never tested).")
flags.DEFINE_float("min_tail_s", _D.DataConfig.min_tail_s,
                   "Tail policy: a remainder after the last full 3 s segment is kept as a "
                   "zero-padded segment if at least this long (seconds), else dropped.")
flags.DEFINE_enum("tail", _D.DataConfig.tail, list(_D.TAILS),
                  "What a kept tail segment holds: pad (the tail then zeros, the paper) or "
                  "overlap (the utterance's last segment_s, as training windows end).")
# Model.
flags.DEFINE_enum("normalization", _D.FrontendConfig.normalization, list(_D.NORMALIZATIONS),
                  "segment: z-score per segment (the paper); speaker: per frequency row "
                  "with the statistics of the speaker's speech (uses the test speakers' "
                  "unlabelled audio; a profile at inference: README, Speaker normalisation).")
flags.DEFINE_enum("domain_input", _D.ModelConfig.domain_input, list(_D.DOMAIN_INPUTS),
                  "With --normalization=speaker: the domain pathway's input, segment (the "
                  "paper's per-segment z-score, which keeps the gender cue) or shared.")
flags.DEFINE_enum("scale", _D.FrontendConfig.scale, list(_D.SCALES),
                  "Frequency rows: linear DFT bins (the paper) or mel bands (compact preset).")
flags.DEFINE_integer("n_mels", _D.FrontendConfig.n_mels, "Mel bands with --scale=mel.")
flags.DEFINE_float("mel_low_hz", _D.FrontendConfig.mel_low_hz,
                   "Lowest mel band edge (Hz) with --scale=mel.")
flags.DEFINE_float("bin_spacing_hz", _D.FrontendConfig.bin_spacing_hz,
                   "DFT resolution in Hz: sample rate / DFT length (paper: 10 Hz, 1600 points).")
flags.DEFINE_float("single_window_ms", _D.FrontendConfig.single_window_ms,
                   "Window of --channel_mode=mono and colormap (ms).")
flags.DEFINE_string("trunk_pools", "2x2,2x2,2x2,6x6", "Pool (frequency x time) of each "
                    "multi-scale unit (paper: 2x2,2x2,2x2,6x6).")
flags.DEFINE_enum("variant", _D.ModelConfig.variant, list(_D.VARIANTS),
                  "adarl, or an ablation of paper Table 3.")
flags.DEFINE_float("segment_s", _D.FrontendConfig.segment_s,
                   "Segment length in seconds (paper: 3 s, 300 frames).")
flags.DEFINE_float("max_freq_hz", _D.FrontendConfig.max_freq_hz,
                   "Highest frequency kept, at 10 Hz per bin (paper: 4000 Hz, 400 bins).")
flags.DEFINE_list("trunk_filters", [str(f) for f in _D.ModelConfig.trunk_filters],
                  "Filters per branch of the four multi-scale units of each trunk.")
flags.DEFINE_enum("channel_mode", _D.FrontendConfig.channel_mode, list(_D.CHANNEL_MODES),
                  "Reading of the 3 input channels (SPEC section 2).")
flags.DEFINE_string("kernel_sizes", "3x3,5x5", "The two kernels of each multi-scale unit, "
                    "freq x time, e.g. 3x3,5x5 or 10x2,2x8.")
flags.DEFINE_float("domain_loss_weight", _D.ModelConfig.domain_loss_weight, "lambda_1.")
flags.DEFINE_float("emotion_loss_weight", _D.ModelConfig.emotion_loss_weight, "lambda_2.")
flags.DEFINE_float("center_loss_weight", _D.ModelConfig.center_loss_weight, "lambda_3.")
flags.DEFINE_float("center_alpha", _D.ModelConfig.center_alpha, "Centre update rate.")
flags.DEFINE_float("grl_scale", _D.ModelConfig.grl_scale,
                   "Gradient reversal factor (domain_invariant only).")
flags.DEFINE_integer("time_masks", _D.ModelConfig.time_masks, "SpecAugment time masks per "
                     "training segment (0: none, the paper's model).")
flags.DEFINE_integer("time_mask_frames", _D.ModelConfig.time_mask_frames,
                     "Widest SpecAugment time mask, frames of 10 ms.")
flags.DEFINE_integer("freq_masks", _D.ModelConfig.freq_masks, "SpecAugment frequency masks "
                     "per training segment (0: none).")
flags.DEFINE_integer("freq_mask_bins", _D.ModelConfig.freq_mask_bins,
                     "Widest SpecAugment frequency mask, bins of 10 Hz.")
# Training.
flags.DEFINE_integer("epochs", _D.TrainConfig.epochs, "Training epochs.")
flags.DEFINE_integer("batch_size", _D.TrainConfig.batch_size, "Segments per batch.")
flags.DEFINE_float("learning_rate", _D.TrainConfig.learning_rate,
                   "Initial rate (epoch_decay) or peak rate (cosine).")
flags.DEFINE_float("lr_decay", _D.TrainConfig.lr_decay,
                   "epoch_decay: rate factor after every epoch.")
flags.DEFINE_float("momentum", _D.TrainConfig.momentum, "SGD momentum (paper: not stated).")
flags.DEFINE_float("weight_decay", _D.TrainConfig.weight_decay,
                   "Decoupled weight decay (SGD and AdamW).")
flags.DEFINE_enum("optimizer", _D.TrainConfig.optimizer, list(_D.OPTIMIZERS),
                  "sgd (paper) or adamw.")
flags.DEFINE_enum("schedule", _D.TrainConfig.schedule, list(_D.SCHEDULES),
                  "epoch_decay: x lr_decay per epoch (paper; depends on the corpus size); "
                  "cosine: warm-up then cosine decay over the whole run's steps.")
flags.DEFINE_float("warmup_fraction", _D.TrainConfig.warmup_fraction,
                   "cosine: linear warm-up over this share of the run's steps.")
flags.DEFINE_enum("class_balance", _D.TrainConfig.class_balance, list(_D.CLASS_BALANCES),
                  "none (paper), weighted_loss (class-weighted cross-entropy from the "
                  "training fold's counts) or sampler (class-balanced batches).")
flags.DEFINE_integer("validation_speakers", _D.TrainConfig.validation_speakers,
                     "Training speakers held out to choose the epoch by their UA (never the "
                     "test speaker); 0: the paper's protocol, the last epoch.")
flags.DEFINE_integer("early_stopping_patience", _D.TrainConfig.early_stopping_patience,
                     "With validation speakers: stop after this many epochs without a "
                     "better validation UA (0: run every epoch, keep the best).")
flags.DEFINE_integer("bn_recalibration_batches", _D.TrainConfig.bn_recalibration_batches,
                     "At every epoch end, re-estimate the BatchNorm statistics over this "
                     "many batches of clean training segments (0: training's moving "
                     "averages, the paper).")
flags.DEFINE_float("train_hop_s", _D.TrainConfig.train_hop_s, "Training segments start this "
                   "far apart (overlapping when < --segment_s); 0: the paper's cut.")
flags.DEFINE_bool("random_crop", _D.TrainConfig.random_crop, "Shift the training segments "
                  "by a random offset within each utterance, new every epoch.")
flags.DEFINE_list("speed_factors", [], "Speed perturbation: one factor drawn per training "
                  "segment, e.g. 0.9,1.0,1.1 (empty: off).")
flags.DEFINE_float("gain_db", _D.TrainConfig.gain_db, "Random training gain in +- dB (0: off).")
flags.DEFINE_float("noise_snr_db", _D.TrainConfig.noise_snr_db, "White noise on training "
                   "segments at an SNR drawn in [this, 40] dB (unset: off).")
flags.DEFINE_integer("seed", _D.TrainConfig.seed, "Random seed.")
flags.DEFINE_bool("deterministic", _D.TrainConfig.deterministic, "Fix every seed and turn "
                  "on TensorFlow's op determinism: a rerun gives the same results.json "
                  "metrics. Slower on GPU; an op without a deterministic kernel then fails.")
flags.DEFINE_bool("monitor_test", _D.TrainConfig.monitor_test, "Log the test speaker's "
                  "WA/UA every epoch to TensorBoard (monitoring only; never selects an epoch).")
# Speed and scale (README "Speed and scale").
flags.DEFINE_enum("precision", _D.TrainConfig.precision, list(precision.PRECISIONS),
                  "Keras dtype policy; the frontend, center loss, outputs and losses stay "
                  "float32, float16 gets loss scaling.")
flags.DEFINE_enum("pipeline", _D.TrainConfig.pipeline, list(PIPELINES), "Input pipeline: "
                  "tf.data where TensorFlow is installed (auto), else numpy batches.")
flags.DEFINE_enum("strategy", "default", list(distribute.STRATEGIES), "tf.distribute "
                  "strategy (TensorFlow backend): mirrored = all local GPUs, multi_worker = "
                  "the machines of TF_CONFIG.")
flags.DEFINE_bool("batch_per_replica", _D.TrainConfig.batch_per_replica, "With --strategy: "
                  "--batch_size is per replica (global batch = batch_size x replicas) instead "
                  "of global.")
flags.DEFINE_integer("parallel_folds", 1, "With several folds: train up to this many folds at "
                     "once, each in its own process (one GPU each, round-robin); logs in "
                     "fold_NN/train.log.")
flags.DEFINE_bool("summarize", False, "Only write summary.json/summary.md of --out_dir from "
                  "its fold_NN/results.json (folds trained anywhere), listing missing folds.")
# Monitoring (changes no result, so not part of the config).
flags.DEFINE_string("profile_batch", "0", "TensorBoard profiler: a training step such as 5, "
                    "or a range 5,8 (1-based, per fold); 0 = off. The trace lands in "
                    "fold_NN/logs/train (Profile tab; needs tensorboard-plugin-profile).")


def _kernel_sizes(text, flag="--kernel_sizes"):
    """'3x3,5x5' -> ((3, 3), (5, 5)); also --trunk_pools."""
    try:
        sizes = tuple(tuple(int(v) for v in k.lower().split("x")) for k in text.split(","))
    except ValueError:
        sizes = ()
    if not sizes or any(len(k) != 2 or min(k) < 1 for k in sizes):
        raise app.UsageError(f"{flag}={text!r}; expected e.g. 3x3,5x5")
    return sizes


def _ints(values, flag):
    try:
        return tuple(int(v) for v in values)
    except ValueError:
        raise app.UsageError(f"{flag}={','.join(values)}; expected whole numbers such as "
                             "16,16,16,32") from None


def _speed_factors(values):
    try:
        factors = tuple(float(v) for v in values)
    except ValueError:
        factors = ()
    if len(factors) != len(values) or any(f <= 0 for f in factors):
        raise app.UsageError(f"--speed_factors={','.join(values)}; expected positive "
                             "numbers such as 0.9,1.0,1.1")
    return factors


def _profile_batch(text):
    try:
        steps = [int(v) for v in text.split(",")]
    except ValueError:
        steps = []
    if len(steps) not in (1, 2) or any(v < 0 for v in steps) or (
            len(steps) == 2 and not 0 < steps[0] <= steps[1]):
        raise app.UsageError(f"--profile_batch={text!r}; expected 0 (off), a step such as 5, "
                             "or a range such as 5,8")
    return steps[0] if len(steps) == 1 else tuple(steps)


def config_from_flags():
    """The `ExperimentConfig` the flags describe."""
    frontend = _D.FrontendConfig(channel_mode=FLAGS.channel_mode, segment_s=FLAGS.segment_s,
                                 max_freq_hz=FLAGS.max_freq_hz,
                                 bin_spacing_hz=FLAGS.bin_spacing_hz,
                                 single_window_ms=FLAGS.single_window_ms, scale=FLAGS.scale,
                                 n_mels=FLAGS.n_mels, mel_low_hz=FLAGS.mel_low_hz,
                                 normalization=FLAGS.normalization)
    model = _D.ModelConfig(
        variant=FLAGS.variant, frontend=frontend, kernel_sizes=_kernel_sizes(FLAGS.kernel_sizes),
        trunk_pools=_kernel_sizes(FLAGS.trunk_pools, "--trunk_pools"),
        domain_input=FLAGS.domain_input,
        trunk_filters=_ints(FLAGS.trunk_filters, "--trunk_filters"),
        domain_loss_weight=FLAGS.domain_loss_weight,
        emotion_loss_weight=FLAGS.emotion_loss_weight,
        center_loss_weight=FLAGS.center_loss_weight, center_alpha=FLAGS.center_alpha,
        grl_scale=FLAGS.grl_scale, time_masks=FLAGS.time_masks,
        time_mask_frames=FLAGS.time_mask_frames, freq_masks=FLAGS.freq_masks,
        freq_mask_bins=FLAGS.freq_mask_bins)
    train = _D.TrainConfig(
        epochs=FLAGS.epochs, batch_size=FLAGS.batch_size, learning_rate=FLAGS.learning_rate,
        lr_decay=FLAGS.lr_decay, momentum=FLAGS.momentum, weight_decay=FLAGS.weight_decay,
        seed=FLAGS.seed, monitor_test=FLAGS.monitor_test, deterministic=FLAGS.deterministic,
        optimizer=FLAGS.optimizer, schedule=FLAGS.schedule,
        warmup_fraction=FLAGS.warmup_fraction, class_balance=FLAGS.class_balance,
        validation_speakers=FLAGS.validation_speakers,
        early_stopping_patience=FLAGS.early_stopping_patience,
        bn_recalibration_batches=FLAGS.bn_recalibration_batches, train_hop_s=FLAGS.train_hop_s,
        random_crop=FLAGS.random_crop, speed_factors=_speed_factors(FLAGS.speed_factors),
        gain_db=FLAGS.gain_db, noise_snr_db=FLAGS.noise_snr_db,
        precision=FLAGS.precision, pipeline=FLAGS.pipeline,
        batch_per_replica=FLAGS.batch_per_replica)
    data = _D.DataConfig(dataset=FLAGS.dataset, data_dir=FLAGS.data_dir,
                         iemocap_subset=FLAGS.iemocap_subset,
                         merge_excited=FLAGS.merge_excited, min_tail_s=FLAGS.min_tail_s,
                         emotions=FLAGS.emotions, domain=FLAGS.domain,
                         protocol=FLAGS.protocol, n_folds=FLAGS.n_folds,
                         include_song=FLAGS.ravdess_song, tail=FLAGS.tail,
                         extra_domain_data=FLAGS.extra_domain_data)
    return _D.ExperimentConfig(model=model, train=train, data=data)


def config_of_flags(argv):
    """The `ExperimentConfig` of a list of main's flags (e.g. ["--flagfile=configs/x.cfg"]).

    Parses them into this process's flags: for tools (benchmarks) that run it
    in a process of their own.
    """
    FLAGS(["adarl_tf.main", *argv])
    return config_from_flags()


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


def _check_out_dir(path):
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


def _prepare_out_dir(path):
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


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    if FLAGS.summarize:
        return _summarize()
    if FLAGS.fold is None and not FLAGS.dry_run:
        raise app.UsageError("--fold is required: an index such as --fold=0, a list "
                             "--fold=0,3, or --fold=all (or use --dry_run)")
    # Everything is checked before anything is written: a command that fails
    # must leave an existing run in --out_dir as it was.
    config, profile_batch, out_dir = _config_and_out_dir()
    corpus, config, report = _load(config, out_dir)
    if FLAGS.dry_run:
        return _dry_run(corpus, report, out_dir)
    folds = parse_folds(FLAGS.fold, len(corpus.fold_list()))
    logging.info("Config:\n%s", config.to_json())

    # TensorFlow only now, so that --help and --dry_run stay fast.
    from adarl_tf import training
    try:
        strategy = distribute.make_strategy(FLAGS.strategy)
    except ValueError as e:
        raise app.UsageError(str(e))
    status, complete = _check_folds(config, corpus, folds, out_dir)
    out_dir = _write_run_files(config, report, out_dir)
    done = [f for f in folds if status[f] == "complete"]
    if done:
        logging.info("Folds %s are complete in %s (results.json with %d epochs, same config): "
                     "not trained again; add --overwrite to train them anew",
                     ", ".join(map(str, done)), out_dir, config.train.epochs)
    to_train = [f for f in folds if status[f] != "complete"]
    if FLAGS.parallel_folds > 1 and len(to_train) > 1:
        return _train_in_processes(corpus, config, folds, to_train, out_dir)
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
                                                       progress=progress,
                                                       profile_batch=profile_batch,
                                                       strategy=strategy))
        except ValueError as e:
            raise app.UsageError(str(e))
    _print_results(corpus, config, results, out_dir)
    return 0


def _config_and_out_dir():
    """(config, profiler steps, run folder) from the flags, every value checked."""
    try:
        config = config_from_flags()
    except ValueError as e:
        raise app.UsageError(str(e))
    profile_batch = _profile_batch(FLAGS.profile_batch)
    out_dir = pathlib.Path(FLAGS.out_dir or os.path.join(
            "runs", f"{FLAGS.dataset.replace(',', '+')}_{FLAGS.variant}"))
    _check_out_dir(out_dir)
    return config, profile_batch, out_dir


def _load(config, out_dir):
    """(corpus, config sized to it, its data report), the report logged."""
    try:
        corpus = load_corpus(config.data, cache_dir=FLAGS.cache_dir)
    except (ValueError, FileNotFoundError) as e:
        raise app.UsageError(str(e))
    report = corpus.report()
    _log_report(corpus, report, out_dir / "data_report.json")
    return corpus, sized_to(config, corpus), report


def _dry_run(corpus, report, out_dir):
    """--dry_run: data_report.json and one line, no training."""
    files.write_json(_prepare_out_dir(out_dir) / "data_report.json", report)
    genders = [corpus.gender_of(s) for s in corpus.speakers]
    print(f"Dry run: {report['n_utterances']} utterances from {len(corpus.speakers)} "
          f"speakers ({genders.count('F')} F, {genders.count('M')} M) of the "
          f"{corpus.name}; {len(corpus.fold_list())} folds ({protocol_name(corpus.protocol)}); "
          f"classes {', '.join(corpus.emotions)}; report in "
          f"{out_dir / 'data_report.json'}")
    return 0


def _check_folds(config, corpus, folds, out_dir):
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
            if FLAGS.overwrite:
                checkpoints.clear_fold(out_dir, fold)
            status[fold] = checkpoints.fold_status(config, out_dir, fold)
            if status[fold] == "complete":  # Read now: a damaged file stops the run here.
                complete[fold] = FoldResult.load(checkpoints.fold_dir_of(out_dir, fold))
    except ValueError as e:
        raise app.UsageError(str(e))
    return status, complete


def _write_run_files(config, report, out_dir):
    """data_report.json and config.json; the folder this process writes its folds into."""
    _prepare_out_dir(out_dir)
    files.write_json(out_dir / "data_report.json", report)
    if FLAGS.strategy == "multi_worker" and not distribute.is_chief():
        # Every worker trains; only worker 0 writes the run folder.
        out_dir = _prepare_out_dir(out_dir / f"worker_{os.getpid()}")
    files.write_text(out_dir / "config.json", config.to_json() + "\n")
    return out_dir


def _train_in_processes(corpus, config, folds, to_train, out_dir):
    """--parallel_folds: one child process per fold, then the summary of `folds`."""
    from adarl_tf import fanout
    codes = fanout.run_folds(to_train, out_dir, _child_flags(out_dir), FLAGS.parallel_folds)
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


def _print_results(corpus, config, results, out_dir):
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


def _log_report(corpus, report, report_path):
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


def _child_flags(out_dir):
    """This module's flags as set, for a child process that trains one fold."""
    skip = {"fold", "parallel_folds", "overwrite", "out_dir", "summarize"}
    args = [flag.serialize() for flag in FLAGS.get_flags_for_module(__name__)
            if flag.name not in skip and flag.present]
    return args + [f"--out_dir={out_dir}"]


def _summarize():
    """--summarize: the summary of the folds in --out_dir."""
    from adarl_tf import fanout
    if not FLAGS.out_dir:
        raise app.UsageError("--summarize needs --out_dir, the run folder holding fold_NN/")
    try:
        summary = fanout.summarize(FLAGS.out_dir)
    except ValueError as e:
        raise app.UsageError(str(e))
    missing = summary["missing_folds"]
    print(f"{summary['n_folds']} folds in {FLAGS.out_dir}: WA {summary['wa_mean']:.4f} "
          f"+- {summary['wa_std']:.4f}, UA {summary['ua_mean']:.4f} +- {summary['ua_std']:.4f}"
          f"{'; missing folds ' + ', '.join(map(str, missing)) if missing else ''} "
          f"(see {pathlib.Path(FLAGS.out_dir) / 'summary.md'})")
    return 0


def _one_line_errors(main_fn):
    """`main_fn` with a usage error printed as one line and exit code 1.

    absl's `app.run` would print the whole --help (about 215 lines) before it;
    --help itself is one flag away.
    """
    def wrapped(argv):
        try:
            return main_fn(argv)
        except app.UsageError as e:
            print(f"error: {e}", file=sys.stderr)
            return e.exitcode
    return wrapped


def run():
    app.run(_one_line_errors(main))


if __name__ == "__main__":
    run()
