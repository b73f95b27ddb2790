"""The command line of `adarl_tf.main`: one flag per config field, and the run's own flags.

A config flag takes its type and default from its dataclass field (`config.py`);
the table below gives only its section, its help and, where it differs from the
field, its name. `config_from_flags` builds the `ExperimentConfig` from the
table alone, so a new field needs one row here and nothing else.
"""

import dataclasses
import math
import sys
import typing

from absl import app, flags

from adarl_tf import config as config_lib
from adarl_tf import distribute, precision
from adarl_tf.corpora.load import DATASETS
from adarl_tf.pipelines import PIPELINES
from adarl_tf.protocol import PROTOCOLS

FLAGS = flags.FLAGS

# The dataclass of each section; "frontend" is the model's `frontend` field.
SECTIONS = {"frontend": config_lib.FrontendConfig, "model": config_lib.ModelConfig,
            "train": config_lib.TrainConfig, "data": config_lib.DataConfig}
# A string field with a fixed set of values becomes an enum flag.
CHOICES = {"iemocap_subset": config_lib.IEMOCAP_SUBSETS, "protocol": PROTOCOLS,
           "tail": config_lib.TAILS, "normalization": config_lib.NORMALIZATIONS,
           "domain_input": config_lib.DOMAIN_INPUTS, "attention_init": config_lib.ATTENTION_INITS,
           "attention_input": config_lib.ATTENTION_INPUTS,
           "scale": config_lib.SCALES,
           "variant": config_lib.VARIANTS, "channel_mode": config_lib.CHANNEL_MODES,
           "optimizer": config_lib.OPTIMIZERS, "schedule": config_lib.SCHEDULES,
           "class_balance": config_lib.CLASS_BALANCES,
           "speaker_runs": config_lib.SPEAKER_RUNS, "precision": precision.PRECISIONS,
           "pipeline": PIPELINES}
# flag: (section, help) or (section, help, field) where the field is named otherwise.
CONFIG_FLAGS = {
    # Data.
    "dataset": ("data", f"Corpus: one of {', '.join(DATASETS)}, or a comma list of them for "
                "several corpora in one run (speaker ids are prefixed with the corpus name)."),
    "data_dir": ("data", "The corpus folder (iemocap: IEMOCAP_full_release; ravdess: the "
                 "folder with Actor_XX/; emodb: the folder with wav/ or the files; cremad: "
                 "the folder with AudioWAV/ and VideoDemographics.csv; ased: the folder with "
                 "01Neutral/ ... 05Angry/; manifest: the CSV/TSV file); a comma list, one per "
                 "--dataset. With --dataset=demo, an already generated demo corpus (default: "
                 "generated into --cache_dir)."),
    "iemocap_subset": ("data", "IEMOCAP utterances used."),
    "merge_excited": ("data", "Count IEMOCAP 'exc' as happy (off in the paper)."),
    "emotions": ("data", "Class set: 'default' (neutral, happy, sad, angry on every corpus), "
                 "'all' (every label of the corpus), or a comma list with optional merges, "
                 "e.g. neutral,happy=happy+excited,sad,angry."),
    "domain": ("data", "Domain of the domain head: gender (the paper), corpus, session, or any "
               "manifest column; one output per value."),
    "protocol": ("data", "Folds: loso (one speaker per fold), loso_session (one session per "
                 "fold, IEMOCAP), speaker_kfold (--n_folds speaker-disjoint folds)."),
    "n_folds": ("data", "Folds of --protocol=speaker_kfold."),
    "ravdess_song": ("data", "RAVDESS: also the song files (vocal channel 02).",
                     "include_song"),
    "extra_domain_data": ("data", "A manifest (CSV/TSV) of domain-only utterances added to "
                          "every fold's training data (never tested)."),
    "min_tail_s": ("data", "Tail policy: a remainder after the last full 3 s segment is kept "
                   "as a zero-padded segment if at least this long (seconds), else dropped."),
    "tail": ("data", "What a kept tail segment holds: pad (the tail then zeros, the paper) or "
             "overlap (the utterance's last segment_s, as training windows end)."),
    "speaker_bn": ("data", "Score each speaker with the emotion pathway's BatchNorm "
                   "statistics re-estimated on its own windows (AdaBN; uses the test "
                   "speakers' unlabelled audio). Scoring only: training and the saved "
                   "model are unchanged."),
    # Frontend.
    "normalization": ("frontend", "segment: z-score per segment (the paper); speaker: per "
                      "frequency row with the statistics of the speaker's speech (uses the "
                      "test speakers' unlabelled audio; a profile at inference: README, "
                      "Speaker normalisation)."),
    "scale": ("frontend", "Frequency rows: linear DFT bins (the paper) or mel bands (compact "
              "preset)."),
    "n_mels": ("frontend", "Mel bands with --scale=mel."),
    "mel_low_hz": ("frontend", "Lowest mel band edge (Hz) with --scale=mel."),
    "bin_spacing_hz": ("frontend", "DFT resolution in Hz: sample rate / DFT length (paper: "
                       "10 Hz, 1600 points)."),
    "single_window_ms": ("frontend", "Window of --channel_mode=mono and colormap (ms)."),
    "segment_s": ("frontend", "Segment length in seconds (paper: 3 s, 300 frames)."),
    "max_freq_hz": ("frontend", "Highest frequency kept, at 10 Hz per bin (paper: 4000 Hz, "
                    "400 bins)."),
    "channel_mode": ("frontend", "Reading of the 3 input channels (SPEC section 2)."),
    # Model.
    "variant": ("model", "adarl, or an ablation of paper Table 3."),
    "domain_input": ("model", "With --normalization=speaker: the domain pathway's input, "
                     "segment (the paper's per-segment z-score, which keeps the gender cue) "
                     "or shared."),
    "attention_init": ("model", "adarl: the attention's start, glorot (the paper's Xavier) or "
                       "uniform (its last layer at zero: every frequency row weighted 0.5 for "
                       "every input, so training starts from the backbone)."),
    "attention_trains_domain": ("model", "adarl: the emotion loss also trains the domain "
                                "pathway through the attention (the paper); with "
                                "--noattention_trains_domain only the domain loss does."),
    "attention_standardize": ("model", "adarl: standardise the attention's pooled frequency "
                              "profile (BatchNorm per row) before its bottleneck, so that its "
                              "weights can differ between inputs (off in the paper)."),
    "attention_input": ("model", "adarl: what the attention reads, maps (the paper: the domain "
                        "maps' time-and-channel average) or embedding (the domain head's "
                        "hidden feature after its BN)."),
    "attention_units": ("model", "adarl: units of the attention's bottleneck (the paper's "
                        "FC(8, 4): 4)."),
    "domain_speaker_mean": ("model", "adarl: the attention reads the domain embedding averaged "
                            "over each speaker's windows (needs --attention_input=embedding, "
                            "--speaker_bn_group and --speaker_bn)."),
    "trunk_filters": ("model", "Filters per branch of the four multi-scale units of each "
                      "trunk."),
    "trunk_pools": ("model", "Pool (frequency x time) of each multi-scale unit (paper: "
                    "2x2,2x2,2x2,6x6)."),
    "kernel_sizes": ("model", "The two kernels of each multi-scale unit, freq x time, e.g. "
                     "3x3,5x5 or 10x2,2x8."),
    "speaker_bn_group": ("model", "Train the emotion pathway's BatchNorms per speaker, as "
                         "--speaker_bn scores: every training batch is runs of this many "
                         "windows of one speaker, each normalised with its own statistics "
                         "(0: the whole batch, the paper)."),
    "domain_loss_weight": ("model", "lambda_1."),
    "emotion_loss_weight": ("model", "lambda_2."),
    "center_loss_weight": ("model", "lambda_3."),
    "center_alpha": ("model", "Centre update rate."),
    "grl_scale": ("model", "Gradient reversal factor (domain_invariant only)."),
    "time_masks": ("model", "SpecAugment time masks per training segment (0: none, the "
                   "paper's model)."),
    "time_mask_frames": ("model", "Widest SpecAugment time mask, frames of 10 ms."),
    "freq_masks": ("model", "SpecAugment frequency masks per training segment (0: none)."),
    "freq_mask_bins": ("model", "Widest SpecAugment frequency mask, bins of 10 Hz."),
    # Training.
    "epochs": ("train", "Training epochs."),
    "train_steps": ("train", "The run's length in optimiser steps per fold instead of "
                    "--epochs (0: --epochs): the fewest whole epochs that give the fold "
                    "with the most training segments this many steps, e.g. 960 gives "
                    "60 epochs of 16 steps or 24 of 40."),
    "batch_size": ("train", "Segments per batch."),
    "learning_rate": ("train", "Initial rate (epoch_decay) or peak rate (cosine)."),
    "lr_decay": ("train", "epoch_decay: rate factor after every epoch."),
    "momentum": ("train", "SGD momentum (paper: not stated)."),
    "weight_decay": ("train", "Decoupled weight decay (SGD and AdamW)."),
    "optimizer": ("train", "sgd (paper) or adamw."),
    "schedule": ("train", "epoch_decay: x lr_decay per epoch (paper; depends on the corpus "
                 "size); cosine: warm-up then cosine decay over the whole run's steps."),
    "warmup_fraction": ("train", "cosine: linear warm-up over this share of the run's steps."),
    "ema_momentum": ("train", "Keep an exponential moving average of the weights with this "
                     "momentum, e.g. 0.99 (0: off); validation, checkpoints and the test "
                     "use the averaged weights."),
    "class_balance": ("train", "none (paper), weighted_loss (class-weighted cross-entropy "
                      "from the training fold's counts) or sampler (class-balanced batches)."),
    "speaker_runs": ("train", "With --speaker_bn_group: random (each run of one speaker's "
                     "windows drawn at random) or stratified (each run holds the speaker's "
                     "emotions in its own proportions, like the statistics that score it)."),
    "validation_speakers": ("train", "Training speakers held out to choose the epoch by their "
                            "UA (never the test speaker); 0: the paper's protocol, the last "
                            "epoch."),
    "early_stopping_patience": ("train", "With validation speakers: stop after this many "
                                "epochs without a better validation UA (0: run every epoch, "
                                "keep the best)."),
    "bn_recalibration_batches": ("train", "At every epoch end, re-estimate the BatchNorm "
                                 "statistics over this many batches of clean training "
                                 "segments (0: training's moving averages, the paper)."),
    "train_hop_s": ("train", "Training segments start this far apart (overlapping when < "
                    "--segment_s); 0: the paper's cut."),
    "random_crop": ("train", "Shift the training segments by a random offset within each "
                    "utterance, new every epoch."),
    "speed_factors": ("train", "Speed perturbation: one factor drawn per training segment, "
                      "e.g. 0.9,1.0,1.1 (empty: off)."),
    "gain_db": ("train", "Random training gain in +- dB (0: off)."),
    "noise_snr_db": ("train", "White noise on training segments at an SNR drawn in [this, "
                     "40] dB (unset or inf: off; inf turns off a preset's noise)."),
    "mixup_alpha": ("train", "Mixup: each training segment mixed with another of its batch "
                    "(waveforms, speaker statistics and loss targets) at a weight "
                    "max(b, 1 - b), b ~ Beta(alpha, alpha); 0: off."),
    "init_from": ("train", "Start from another run's weights: a finished fold's model.keras or "
                  "fold folder, e.g. trained on another corpus with the same preset. Layers of "
                  "the same name and shapes are copied (not the spectrogram's statistics; a "
                  "head sized to other classes stays initialised), then every weight trains."),
    "seed": ("train", "Random seed."),
    "deterministic": ("train", "Fix every seed and turn on TensorFlow's op determinism: a "
                      "rerun gives the same results.json metrics. Slower on GPU; an op "
                      "without a deterministic kernel then fails."),
    "monitor_test": ("train", "Log the test speaker's WA/UA every epoch to TensorBoard "
                     "(monitoring only; never selects an epoch)."),
    "precision": ("train", "Keras dtype policy; the frontend, center loss, outputs and losses "
                  "stay float32, float16 gets loss scaling."),
    "pipeline": ("train", "Input pipeline: tf.data where TensorFlow is installed (auto), else "
                 "numpy batches."),
    "batch_per_replica": ("train", "With --strategy: --batch_size is per replica (global "
                          "batch = batch_size x replicas) instead of global."),
}


def _field(flag):
    section, _, *field = CONFIG_FLAGS[flag]
    name = field[0] if field else flag
    return section, next(f for f in dataclasses.fields(SECTIONS[section]) if f.name == name)


def _kind(field):
    """The field's type as one of str, bool, int, float, "ints", "floats", "sizes"."""
    args = [a for a in typing.get_args(field.type) if a is not type(None)]
    if typing.get_origin(field.type) is typing.Union:
        return args[0]
    if typing.get_origin(field.type) is tuple:
        return {int: "ints", float: "floats"}.get(args[0], "sizes")
    return field.type


def _define(flag):
    section, field = _field(flag)
    default = field.default if field.default_factory is dataclasses.MISSING else (
        field.default_factory())
    kind, help_text = _kind(field), CONFIG_FLAGS[flag][1]
    if kind in ("ints", "floats"):
        flags.DEFINE_list(flag, [str(v) for v in default], help_text)
    elif kind == "sizes":
        flags.DEFINE_string(flag, ",".join(f"{a}x{b}" for a, b in default), help_text)
    elif field.name in CHOICES:
        flags.DEFINE_enum(flag, default, list(CHOICES[field.name]), help_text)
    else:
        define = {str: flags.DEFINE_string, bool: flags.DEFINE_bool,
                  int: flags.DEFINE_integer, float: flags.DEFINE_float}[kind]
        define(flag, default, help_text)


for _flag in CONFIG_FLAGS:
    _define(_flag)

# What to run (not part of the config).
flags.DEFINE_string("fold", None, "Fold index (0-based, in the printed fold order of "
                    "--protocol; with loso one speaker per fold), a comma list such as 0,3,7, "
                    "or 'all'.")
flags.DEFINE_string("out_dir", None, "Run folder. Defaults to runs/<dataset>_<variant>.")
flags.DEFINE_string("cache_dir", None, "Where the demo corpus is generated. Defaults to "
                    "$ADARL_TF_CACHE or ~/.cache/adarl_tf.")
flags.DEFINE_bool("dry_run", False, "Load the data, write data_report.json, and exit.")
flags.DEFINE_bool("overwrite", False, "Train the chosen folds from scratch: delete their "
                  "results, model, checkpoint and logs first. Without it, a fold whose "
                  "results.json is complete is skipped and a killed fold resumes from its "
                  "last finished epoch.")
# Speed and scale (README "Speed and scale").
flags.DEFINE_enum("strategy", "default", list(distribute.STRATEGIES), "tf.distribute "
                  "strategy (TensorFlow backend): mirrored = all local GPUs, multi_worker = "
                  "the machines of TF_CONFIG.")
flags.DEFINE_integer("parallel_folds", 1, "With several folds: train up to this many folds at "
                     "once, each in its own process (one GPU each, round-robin); logs in "
                     "fold_NN/train.log.")
flags.DEFINE_bool("summarize", False, "Only write summary.json/summary.md of --out_dir from "
                  "its fold_NN/results.json (folds trained anywhere), listing missing folds.")
# Monitoring (changes no result, so not part of the config).
flags.DEFINE_string("profile_batch", "0", "TensorBoard profiler: a training step such as 5, "
                    "or a range 5,8 (1-based, per fold); 0 = off. The trace lands in "
                    "fold_NN/logs/train (Profile tab; needs tensorboard-plugin-profile).")


def _sizes(text, flag):
    """'3x3,5x5' -> ((3, 3), (5, 5)): --kernel_sizes and --trunk_pools."""
    try:
        sizes = tuple(tuple(int(v) for v in k.lower().split("x")) for k in text.split(","))
    except ValueError:
        sizes = ()
    if not sizes or any(len(k) != 2 or min(k) < 1 for k in sizes):
        raise app.UsageError(f"--{flag}={text!r}; expected e.g. 3x3,5x5")
    return sizes


def _ints(values, flag):
    try:
        return tuple(int(v) for v in values)
    except ValueError:
        raise app.UsageError(f"--{flag}={','.join(values)}; expected whole numbers such as "
                             "16,16,16,32") from None


def _floats(values, flag):
    """Positive numbers: --speed_factors."""
    try:
        factors = tuple(float(v) for v in values)
    except ValueError:
        factors = ()
    if len(factors) != len(values) or any(f <= 0 for f in factors):
        raise app.UsageError(f"--{flag}={','.join(values)}; expected positive "
                             "numbers such as 0.9,1.0,1.1")
    return factors


_PARSERS = {"ints": _ints, "floats": _floats, "sizes": _sizes}


def profile_batch(text):
    """--profile_batch: 0 (off), a step, or a (first, last) range."""
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
    """The `ExperimentConfig` the flags describe; a field without a flag keeps its default."""
    values = {section: {} for section in SECTIONS}
    for flag in CONFIG_FLAGS:
        section, field = _field(flag)
        value, parse = FLAGS[flag].value, _PARSERS.get(_kind(field))
        if value == math.inf and field.default is None:
            # An infinite SNR is no noise: the only way to unset an optional number
            # (--noise_snr_db) that a flagfile set, since absl has no "unset" value.
            value = None
        values[section][field.name] = parse(value, flag) if parse else value
    if values["train"]["train_steps"] and FLAGS["epochs"].present:
        # Both would set the run's length, and a preset may set one of them.
        raise ValueError(f"--epochs={FLAGS.epochs} and --train_steps={FLAGS.train_steps} "
                         "both set the run's length; give one (--train_steps=0 counts it "
                         "in epochs where a preset sets --train_steps)")
    if values["model"]["domain_speaker_mean"] and not values["data"]["speaker_bn"]:
        # Without it, every test window would read the training speakers' mean.
        # (Checked here, not in the config: scoring itself runs on a copy without it.)
        raise ValueError("--domain_speaker_mean needs --speaker_bn: the test speaker's mean "
                         "domain embedding comes from its windows scored together")
    model = config_lib.ModelConfig(frontend=config_lib.FrontendConfig(**values["frontend"]),
                                   **values["model"])
    return config_lib.ExperimentConfig(model=model, train=config_lib.TrainConfig(
            **values["train"]), data=config_lib.DataConfig(**values["data"]))


def config_of_flags(argv):
    """The `ExperimentConfig` of a list of main's flags (e.g. ["--flagfile=configs/x.cfg"]).

    Parses them into this process's flags: for tools (benchmarks) that run it
    in a process of their own.
    """
    FLAGS(["adarl_tf.main", *argv])
    return config_from_flags()


def child_flags(out_dir):
    """The flags as set, for a child process that trains one fold."""
    skip = {"fold", "parallel_folds", "overwrite", "out_dir", "summarize"}
    args = [flag.serialize() for flag in FLAGS.get_flags_for_module(sys.modules[__name__])
            if flag.name not in skip and flag.present]
    return args + [f"--out_dir={out_dir}"]
