"""Configuration dataclasses: the model, its training and its data are functions of these.

Values are in physical units (hertz, milliseconds, seconds); derived values
(sample counts, bin counts) are properties computed here and nowhere else.
The resolved config is written with every run (`results.json`, `config.json`).
No TensorFlow or Keras import here: the config is read by every backend.
"""

import dataclasses
import json
from typing import Optional, Tuple

# The model's input names and its serving outputs' names, the same in every format;
# here rather than in `model.py` so that a runtime (`export/runners.py`) needs no Keras.
WAVEFORM = "waveform"
SPEAKER_STATS = "speaker_stats"
EMOTION_PROBS = "emotion_probs"
DOMAIN_PROBS = "domain_probs"

CHANNEL_MODES = ("multires", "colormap", "mono")
SCALES = ("linear", "mel")
NORMALIZATIONS = ("segment", "speaker")
TAILS = ("pad", "overlap")
IEMOCAP_SUBSETS = ("improvised", "scripted", "all")
DOMAIN_INPUTS = ("segment", "shared")
ATTENTION_INITS = ("glorot", "uniform")
ATTENTION_INPUTS = ("maps", "embedding")
VARIANTS = ("adarl", "backbone", "domain_invariant")
OPTIMIZERS = ("sgd", "adamw")
SCHEDULES = ("epoch_decay", "cosine")
CLASS_BALANCES = ("none", "weighted_loss", "sampler")
SPEAKER_RUNS = ("random", "stratified")


def _positive(config, *names, or_zero=False):
    """Refuses a field that is not > 0 (>= 0 with `or_zero`), NaN included.

    Every field has the name of main's flag, so the message names the flag.
    """
    bad = [f"--{n}={getattr(config, n)!r}" for n in names
           if not (getattr(config, n) >= 0 if or_zero else getattr(config, n) > 0)]
    if bad:
        raise ValueError(f"{', '.join(bad)}; expected {'>= 0' if or_zero else '> 0'}")


@dataclasses.dataclass(frozen=True)
class FrontendConfig:
    """The spectrogram frontend (paper §2.4, SPEC §2)."""

    sample_rate_hz: int = 16000  # Model input rate; files at other rates are resampled to it.
    segment_s: float = 3.0  # Segment length fed to the network (300 frames).
    hop_ms: float = 10.0  # Frame step.
    bin_spacing_hz: float = 10.0  # DFT resolution: 16 kHz / 10 Hz = 1600-point DFT.
    max_freq_hz: float = 4000.0  # Bins kept: 0 Hz up to (not incl.) this: 400 bins.
    # How the 3 input channels are read (SPEC §2 open point):
    # "multires": one log spectrogram per window in `window_ms`, stacked;
    # "colormap": one log spectrogram (`single_window_ms`) through the jet colour map;
    # "mono": one log spectrogram (`single_window_ms`), one channel.
    channel_mode: str = "multires"
    window_ms: Tuple[float, ...] = (20.0, 30.0, 40.0)  # Hamming windows, multires.
    single_window_ms: float = 40.0  # Hamming window, colormap and mono modes.
    log_floor: float = 1e-5  # Magnitude floor inside the log (~ -100 dBFS).
    # "linear": the paper's DFT bins (0 to max_freq_hz at bin_spacing_hz);
    # "mel": those bins summed into `n_mels` triangular mel bands (HTK scale,
    # `mel_low_hz` to max_freq_hz) by a fixed matrix: the compact preset's
    # cheaper input (configs/adarl_compact.cfg).
    scale: str = "linear"
    n_mels: int = 64
    mel_low_hz: float = 0.0
    # How each log spectrogram is normalised (layers/spectrogram.py):
    # "segment": z-score over the segment (the paper); "speaker": per frequency
    # row with the mean and standard deviation of the speaker's speech frames,
    # a second model input (adarl_tf/speaker_norm.py).
    normalization: str = "segment"

    def __post_init__(self):
        _positive(self, "sample_rate_hz", "segment_s", "hop_ms", "bin_spacing_hz",
                  "max_freq_hz", "single_window_ms")
        if self.segment_samples < self.hop_samples:
            raise ValueError(f"--segment_s={self.segment_s}; expected at least one "
                             f"{self.hop_ms} ms frame")
        for name, value, allowed in (("channel_mode", self.channel_mode, CHANNEL_MODES),
                                     ("scale", self.scale, SCALES),
                                     ("normalization", self.normalization, NORMALIZATIONS)):
            if value not in allowed:
                raise ValueError(f"{name}={value!r}; expected one of {allowed}")
        if self.scale == "mel" and not (self.n_mels >= 1 and
                                        0 <= self.mel_low_hz < self.max_freq_hz):
            raise ValueError(f"mel scale needs n_mels >= 1 and 0 <= mel_low_hz < "
                             f"max_freq_hz; got {self.n_mels}, {self.mel_low_hz}")
        for w in self.windows_ms:
            if not 0 < w * 1e-3 * self.sample_rate_hz <= self.dft_length:
                raise ValueError(f"window of {w} ms does not fit the "
                                 f"{self.dft_length}-point DFT")

    @classmethod
    def from_dict(cls, d: dict) -> "FrontendConfig":
        return cls(**_tuples(d))

    @property
    def segment_samples(self) -> int:
        return int(round(self.segment_s * self.sample_rate_hz))

    @property
    def hop_samples(self) -> int:
        return int(round(self.hop_ms * 1e-3 * self.sample_rate_hz))

    @property
    def dft_length(self) -> int:
        return int(round(self.sample_rate_hz / self.bin_spacing_hz))

    @property
    def n_bins(self) -> int:
        return int(round(self.max_freq_hz / self.bin_spacing_hz))

    @property
    def n_frames(self) -> int:
        # As tf.signal.stft(pad_end=True): one frame per hop, the end zero-padded.
        return -(-self.segment_samples // self.hop_samples)

    @property
    def n_rows(self) -> int:
        """Frequency rows of the network's input: mel bands or DFT bins."""
        return self.n_mels if self.scale == "mel" else self.n_bins

    @property
    def n_spectrograms(self) -> int:
        """Log spectrograms computed (one per window), each normalised on its own."""
        return len(self.windows_ms)

    @property
    def stats_shape(self) -> Tuple[int, int, int]:
        """A speaker's statistics: (mean | std, row, spectrogram)."""
        return 2, self.n_rows, self.n_spectrograms

    @property
    def windows_ms(self) -> Tuple[float, ...]:
        """The window of each spectrogram computed, in channel order."""
        if self.channel_mode == "multires":
            return tuple(self.window_ms)
        return (self.single_window_ms,)

    @property
    def n_channels(self) -> int:
        return {"multires": len(self.window_ms), "colormap": 3, "mono": 1}[
            self.channel_mode]


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """The network (paper Table 1, SPEC §3) and its training objective (SPEC §4)."""

    variant: str = "adarl"  # adarl | backbone | domain_invariant (paper Table 3).
    frontend: FrontendConfig = dataclasses.field(default_factory=FrontendConfig)
    n_emotions: int = 4  # Emotion classes.
    n_domains: int = 2  # Domain classes (gender: F, M).
    trunk_filters: Tuple[int, ...] = (16, 16, 16, 32)  # Filters per conv branch, per unit.
    trunk_pools: Tuple[Tuple[int, int], ...] = ((2, 2), (2, 2), (2, 2), (6, 6))
    # The two kernels of each multi-scale unit; the OCR lost the second (SPEC §3).
    kernel_sizes: Tuple[Tuple[int, int], ...] = ((3, 3), (5, 5))
    hidden_units: int = 64  # Domain FC(3072, 64) and emotion FC(64, 64).
    attention_units: int = 4  # Attention bottleneck FC(8, 4).
    # How the attention starts: "glorot", the paper's Xavier initialisation
    # (each input gets its own random row weights from the first step), or
    # "uniform", its last layer's kernel at zero (every row weight 0.5 for
    # every input: the network starts as its backbone, and the domain pathway's
    # rescaling grows from there).
    attention_init: str = "glorot"
    # Whether the emotion loss trains the domain pathway through the attention
    # (the paper, end to end). False: the domain trunk learns from the domain
    # loss alone and the attention reads a representation of the domain only.
    attention_trains_domain: bool = True
    # Standardise the attention's pooled frequency profile (a BatchNormalization
    # per row) before its bottleneck. Off in the paper. Trained domain maps'
    # time-and-channel averages vary by ~0.03 between utterances, too little to
    # move the paper's attention: its weights come out nearly the same for every
    # input and gender (RESULTS.md, eighth session).
    attention_standardize: bool = False
    # What the attention reads: "maps", the paper's time-and-channel average of
    # the domain maps (8 values), or "embedding", the domain head's hidden
    # feature after its BN (hidden_units values), which the gender loss shapes
    # directly and which is standardised over the batch, so its bottleneck
    # units are not all off (the paper's pooled profile leaves the weights
    # nearly constant: RESULTS.md, eighth session). Measured best with
    # attention_trains_domain=False, and then within noise of the paper's
    # (RESULTS.md, ninth session).
    attention_input: str = "maps"
    # adarl: the attention reads the domain embedding averaged over the speaker's
    # windows (layers/group_mean.py), not each window's own: gender is a property
    # of the speaker, and a 3 s window tells it less surely (ASED's per-window
    # gender accuracy is 0.74-0.77). Training averages each run of
    # speaker_bn_group windows; scoring needs --speaker_bn, which sets the mean to
    # the test speaker's (without it every window would read the training mean).
    # Needs attention_input="embedding". Measured in RESULTS.md (twenty-third and
    # twenty-fourth sessions).
    domain_speaker_mean: bool = False
    # Moving-average momentum of every BatchNormalization. 0.9 is PyTorch's
    # default (its "0.1"); Keras' 0.99 leaves the inference statistics near
    # their initial values after the few hundred steps of a small corpus.
    bn_momentum: float = 0.9
    # Learnable scale (gamma) of the BN that yields the deep feature. Off by
    # default: with it, the center loss (lambda_3 = 0.5 at lr 0.2) is minimised
    # by shrinking gamma to 0, which collapses every feature onto one point
    # and stalls the emotion loss at ln(4) (seen on the demo corpus). With unit
    # variance per dimension, the center loss can only shrink the within-class
    # spread relative to the total, which is its purpose.
    feature_bn_scale: bool = False
    # Train the emotion pathway on features normalised per speaker, as
    # `--speaker_bn` scores them: every training batch is laid out as runs of
    # this many windows of one speaker (pipelines/plan.py), and the emotion
    # pathway's BatchNorms normalise each run with its own statistics
    # (layers/ghost_batch_norm.py). The domain pathway's see the whole batch.
    # Scoring is unchanged. 0: the whole batch (the paper).
    speaker_bn_group: int = 0
    # The domain pathway's input under speaker normalisation: "segment", the
    # paper's per-segment z-score (it keeps the speaker's spectral envelope, the
    # gender cue that speaker normalisation divides out of the emotion input),
    # or "shared", the emotion pathway's input. No effect with segment
    # normalisation. Measured so far without a clear winner (RESULTS.md).
    domain_input: str = "segment"
    domain_loss_weight: float = 1.0  # lambda_1.
    emotion_loss_weight: float = 1.0  # lambda_2.
    center_loss_weight: float = 0.5  # lambda_3.
    center_alpha: float = 0.5  # Centre update rate of Wen et al. (2016).
    grl_scale: float = 1.0  # Gradient reversal factor, domain_invariant only.
    # SpecAugment (Park et al. 2019) on the spectrogram, training only (layers/spec_augment.py).
    # 0 masks: no layer in the graph, the paper's model.
    time_masks: int = 0  # Time masks per segment.
    time_mask_frames: int = 0  # Widest time mask, in frames (10 ms each).
    freq_masks: int = 0  # Frequency masks per segment.
    freq_mask_bins: int = 0  # Widest frequency mask, in rows (bins or mel bands).

    def __post_init__(self):
        if self.variant not in VARIANTS:
            raise ValueError(f"variant={self.variant!r}; expected one of {VARIANTS}")
        if self.domain_input not in DOMAIN_INPUTS:
            raise ValueError(f"domain_input={self.domain_input!r}; expected one of "
                             f"{DOMAIN_INPUTS}")
        if self.attention_init not in ATTENTION_INITS:
            raise ValueError(f"attention_init={self.attention_init!r}; expected one of "
                             f"{ATTENTION_INITS}")
        if self.attention_input not in ATTENTION_INPUTS:
            raise ValueError(f"attention_input={self.attention_input!r}; expected one of "
                             f"{ATTENTION_INPUTS}")
        if self.domain_speaker_mean and (self.variant != "adarl" or not self.speaker_bn_group
                                         or self.attention_input != "embedding"):
            raise ValueError("--domain_speaker_mean averages the attention's domain embedding "
                             "over each speaker's windows: it needs --variant=adarl, "
                             "--attention_input=embedding and --speaker_bn_group > 0; got "
                             f"variant={self.variant!r}, attention_input="
                             f"{self.attention_input!r}, speaker_bn_group={self.speaker_bn_group}")
        if len(self.trunk_filters) != len(self.trunk_pools):
            raise ValueError("trunk_filters and trunk_pools must have one entry "
                             f"per unit; got {self.trunk_filters} and {self.trunk_pools}")
        if not self.trunk_filters or min(self.trunk_filters) < 1:
            raise ValueError(f"--trunk_filters={self.trunk_filters}; expected counts >= 1")
        _positive(self, "n_emotions", "n_domains", "hidden_units", "attention_units")
        _positive(self, "time_masks", "time_mask_frames", "freq_masks", "freq_mask_bins",
                  "domain_loss_weight", "emotion_loss_weight", "center_loss_weight",
                  "center_alpha", "grl_scale", "speaker_bn_group", or_zero=True)
        if min(self.feature_shape[:2]) < 1:
            raise ValueError(f"--trunk_pools={self.trunk_pools} pool a {self.frontend.n_rows} "
                             f"x {self.frontend.n_frames} input to nothing; use smaller pools "
                             "or a longer --segment_s")

    @property
    def feature_shape(self) -> Tuple[int, int, int]:
        """(freq, time, channels) at the end of each trunk: (8, 6, 64) by default."""
        f, t = self.frontend.n_rows, self.frontend.n_frames
        for pf, pt in self.trunk_pools:
            f, t = f // pf, t // pt
        return f, t, len(self.kernel_sizes) * self.trunk_filters[-1]

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        d = dict(d)
        frontend = d.pop("frontend", {})
        if isinstance(frontend, dict):
            frontend = FrontendConfig.from_dict(frontend)
        return cls(frontend=frontend, **_tuples(d))


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Optimisation (paper §3.2, SPEC §5)."""

    epochs: int = 50
    # The run's length in optimiser steps per fold instead of epochs (0: `epochs`).
    # main turns it into whole epochs before the folds train (experiment.py:
    # `resolved_epochs`), so that one preset trains a corpus of 500 segments and
    # one of 5,000 about as long; `epochs` then holds the result.
    train_steps: int = 0
    batch_size: int = 32
    learning_rate: float = 0.2  # Initial (epoch_decay) or peak (cosine) rate.
    lr_decay: float = 0.7  # epoch_decay: rate multiplied by this after every epoch.
    momentum: float = 0.0  # SGD only. Not stated in the paper; plain SGD by default.
    weight_decay: float = 4e-5  # Decoupled decay (Keras' weight_decay), SGD and AdamW.
    # The rest up to `seed` are the robust recipe (configs/adarl_robust.cfg); their
    # defaults are the paper's recipe. See optim.py.
    optimizer: str = "sgd"  # sgd | adamw.
    # epoch_decay: the paper's x lr_decay per epoch (its shape depends on the corpus
    # size); cosine: warm-up then cosine decay to 0 over the whole run's steps.
    schedule: str = "epoch_decay"
    warmup_fraction: float = 0.0  # cosine: linear warm-up over this share of all steps.
    # An exponential moving average of the weights (Polyak averaging, Keras' use_ema),
    # updated every step with this momentum; 0: off. When on, everything that scores or
    # saves a model (BatchNorm recalibration, validation, checkpoints, the test) sees the
    # averaged weights, and training continues from the raw ones (optim.py).
    ema_momentum: float = 0.0
    # UA-oriented class balance: none | weighted_loss (cross-entropy weighted by
    # n / (k n_c) from the training segments' counts) | sampler (each batch
    # element's class drawn uniformly, pipelines/plan.py).
    class_balance: str = "none"
    # With --speaker_bn_group n, how a speaker's windows fill its runs of n: random
    # (shuffled) | stratified (each run holds the speaker's emotions in the speaker's
    # own proportions, as the statistics of all its windows that score it do).
    speaker_runs: str = "random"
    # K training speakers held out to choose the epoch (best utterance UA), never the
    # test speaker; 0: the paper's protocol, the last epoch. See validation.py.
    validation_speakers: int = 0
    # With validation speakers: stop after this many epochs without a better
    # validation UA (0: train every epoch, still keep the best).
    early_stopping_patience: int = 0
    # At every epoch end, re-estimate the BatchNorm statistics over this many batches
    # of clean training segments with the epoch's weights (precise_bn.py); 0: the
    # moving averages of training (the paper).
    bn_recalibration_batches: int = 0
    # Training-time augmentation (pipelines/plan.py); never at evaluation.
    # 0: segments do not overlap (paper); else training segments start this far apart.
    train_hop_s: float = 0.0
    random_crop: bool = False  # Shift the segments by a random offset per utterance and epoch.
    speed_factors: Tuple[float, ...] = ()  # Speed perturbation, one factor drawn per segment.
    gain_db: float = 0.0  # Random gain, uniform in +- this many dB per segment.
    noise_snr_db: Optional[float] = None  # White noise at an SNR drawn in [this, 40] dB.
    # Mixup (Zhang et al. 2018) of each training segment with another of its batch,
    # weight lambda = max(b, 1 - b), b ~ Beta(alpha, alpha); 0: off.
    mixup_alpha: float = 0.0
    # A finished fold's model.keras (or its fold folder) to start from, e.g. trained on
    # another corpus: layers of the same name and shapes are copied (warm_start.py).
    init_from: str = ""
    seed: int = 0
    monitor_test: bool = True  # Test-speaker WA/UA each epoch, for monitoring only.
    # TensorFlow op determinism (bit-identical reruns; slower on GPU).
    deterministic: bool = False
    # Keras dtype policy: float32 | mixed_float16 | mixed_bfloat16 (precision.py).
    precision: str = "float32"
    # Input pipeline: auto (tf.data where TensorFlow is installed, else numpy) |
    # tf.data | numpy. Both render the same plan (pipelines/plan.py).
    pipeline: str = "auto"
    # Under a tf.distribute strategy: batch_size per replica (global batch =
    # batch_size x replicas) instead of the global batch (distribute.py).
    batch_per_replica: bool = False

    def __post_init__(self):
        _positive(self, "epochs", "batch_size", "learning_rate", "lr_decay")
        _positive(self, "momentum", "weight_decay", "gain_db", "mixup_alpha", "train_steps",
                  or_zero=True)
        for name, value, allowed in (("optimizer", self.optimizer, OPTIMIZERS),
                                     ("schedule", self.schedule, SCHEDULES),
                                     ("class_balance", self.class_balance, CLASS_BALANCES),
                                     ("speaker_runs", self.speaker_runs, SPEAKER_RUNS)):
            if value not in allowed:
                raise ValueError(f"{name}={value!r}; expected one of {allowed}")
        if not 0.0 <= self.warmup_fraction < 1.0:
            raise ValueError(f"warmup_fraction={self.warmup_fraction}; expected 0 <= f < 1")
        if not 0.0 <= self.ema_momentum < 1.0:
            raise ValueError(f"ema_momentum={self.ema_momentum}; expected 0 (off) or "
                             "0 < m < 1, e.g. 0.99")
        if min(self.validation_speakers, self.early_stopping_patience,
               self.bn_recalibration_batches) < 0:
            raise ValueError("validation_speakers, early_stopping_patience and "
                             "bn_recalibration_batches must be >= 0")
        if self.early_stopping_patience and not self.validation_speakers:
            raise ValueError("early_stopping_patience needs validation_speakers >= 1: the "
                             "test speaker never selects an epoch")
        if self.train_hop_s < 0 or any(f <= 0 for f in self.speed_factors):
            raise ValueError("train_hop_s must be >= 0 and speed_factors > 0")

    @property
    def augments(self) -> bool:
        """Whether the training pipeline differs from the paper's segmentation."""
        return bool(self.train_hop_s or self.random_crop or self.speed_factors or
                    self.gain_db or self.noise_snr_db is not None)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        # Fields that no longer mean anything, in configs saved by older versions.
        return cls(**_tuples({k: v for k, v in d.items() if k not in _REMOVED_TRAIN_FIELDS}))


@dataclasses.dataclass(frozen=True)
class DataConfig:
    """Which corpus, which utterances, how they are cut into segments."""

    # demo | iemocap | ravdess | emodb | cremad | ased | manifest, or a comma list of
    # them for several corpora in one run (speaker ids are then prefixed).
    dataset: str = "demo"
    # The corpus folder (or manifest file); a comma list, one per dataset.
    data_dir: Optional[str] = None
    iemocap_subset: str = "improvised"  # One of IEMOCAP_SUBSETS.
    merge_excited: bool = False  # Count "exc" as happy (off in the paper).
    # Class set: "default" (neutral, happy, sad, angry on every corpus), "all"
    # (every label the corpus has), or a comma list with optional merges such
    # as "neutral,happy=happy+excited,sad,angry" (adarl_tf/corpora/labels.py).
    emotions: str = "default"
    # The domain: "gender" (the paper) or any metadata column (corpus,
    # session, a manifest column); the domain head has one unit per value.
    domain: str = "gender"
    protocol: str = "loso"  # loso | loso_session | speaker_kfold.
    n_folds: int = 5  # Folds of speaker_kfold.
    include_song: bool = False  # RAVDESS: also the song files (vocal channel 02).
    # A manifest of domain-only utterances (emotion column may be empty) added
    # to every fold's training data, never to a test fold.
    extra_domain_data: Optional[str] = None
    # Tail policy: an utterance is cut into non-overlapping segments; the part
    # left after the last full segment is zero-padded into one more segment if
    # it is at least this long, else dropped. An utterance shorter than one
    # segment always gives one padded segment.
    min_tail_s: float = 1.0
    # What the kept tail segment holds: "pad", the tail then zeros (the paper);
    # "overlap", the utterance's last segment_s, overlapping the segment before
    # it (no padding unless the utterance is shorter than one segment), which is
    # how the robust recipe's training windows end (pipelines/plan.py).
    tail: str = "pad"
    # Score each speaker with the emotion pathway's BatchNorm statistics
    # re-estimated on that speaker's own scoring windows (AdaBN; precise_bn.py):
    # the test speakers' unlabelled audio is used, as speaker normalisation uses
    # it. Scoring only (validation and test speakers alike); training and the
    # saved model's statistics do not change.
    speaker_bn: bool = False

    def __post_init__(self):
        _positive(self, "min_tail_s", or_zero=True)
        if self.n_folds < 2:
            raise ValueError(f"--n_folds={self.n_folds}; expected >= 2")
        if self.tail not in TAILS:
            raise ValueError(f"tail={self.tail!r}; expected one of {TAILS}")


@dataclasses.dataclass(frozen=True)
class ExperimentConfig:
    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    train: TrainConfig = dataclasses.field(default_factory=TrainConfig)
    data: DataConfig = dataclasses.field(default_factory=DataConfig)

    def __post_init__(self):
        if self.train.gain_db and self.model.frontend.normalization == "segment":
            # A gain shifts a log spectrogram by a constant, which the
            # per-segment z-score removes (2x gain moved z by 0.004).
            raise ValueError("gain_db has no effect with normalization=segment (the "
                             "per-segment z-score removes any gain); drop --gain_db or "
                             "use --normalization=speaker")
        group = self.model.speaker_bn_group
        if group and (self.train.batch_size % group or self.train.mixup_alpha or
                      self.train.class_balance == "sampler"):
            # The plan lays each batch out as whole runs of one speaker's windows.
            raise ValueError(f"--speaker_bn_group={group} needs --batch_size a multiple of it "
                             f"(got {self.train.batch_size}), no --mixup_alpha (it mixes "
                             "speakers) and a --class_balance other than sampler")
        if self.train.speaker_runs != "random" and not group:
            raise ValueError(f"--speaker_runs={self.train.speaker_runs} lays out runs of one "
                             "speaker's windows: it needs --speaker_bn_group > 0")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict) -> "ExperimentConfig":
        return cls(model=ModelConfig.from_dict(d["model"]),
                   train=TrainConfig.from_dict(d["train"]),
                   data=DataConfig(**d["data"]))


# shuffle_buffer: the size of tf.data's shuffle, until the plan (pipelines/plan.py) took over.
_REMOVED_TRAIN_FIELDS = ("shuffle_buffer",)


def _tuples(d: dict) -> dict:
    """JSON turns tuples into lists; the frozen dataclasses keep tuples."""

    def fix(v):
        return tuple(fix(x) for x in v) if isinstance(v, list) else v

    return {k: fix(v) for k, v in d.items()}
