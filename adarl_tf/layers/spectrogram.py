"""Raw 16 kHz audio to the paper's z-scored log spectrogram, inside the model."""

import dataclasses

import keras
import numpy as np
from keras import ops

from adarl_tf.config import FrontendConfig

# MATLAB's "jet" colour map is piecewise linear through these 9 equally spaced
# knots (value 0, 1/8, ..., 1), so a hat-function blend reproduces it exactly
# with elementwise ops and one matmul, all TFLite builtins.
_JET_KNOTS = np.array(
    [[0.0, 0.0, 0.5], [0.0, 0.0, 1.0], [0.0, 0.5, 1.0], [0.0, 1.0, 1.0],
     [0.5, 1.0, 0.5], [1.0, 1.0, 0.0], [1.0, 0.5, 0.0], [1.0, 0.0, 0.0],
     [0.5, 0.0, 0.0]], dtype="float32")
# z-scores mapped onto the colour map's [0, 1]: a fixed range, not a
# per-batch one, so that serving sees what training saw.
_COLORMAP_Z_RANGE = 3.0
# Name scope of the mel product in the graph (export finds it by this name).
MEL_SCOPE = "mel_bands"


def dft_basis(window_length, dft_length, n_bins):
    """Hamming-windowed DFT basis restricted to the kept bins.

    Returns a (window_length, 2 * n_bins) float32 matrix whose first half gives
    the real and second half the imaginary part of bins 0..n_bins-1 of a
    `dft_length`-point DFT of one zero-padded frame, exactly as
    `tf.signal.stft(frame_length=window_length, fft_length=dft_length)` with its
    default (periodic) Hamming window.
    """
    n = np.arange(window_length)
    window = 0.54 - 0.46 * np.cos(2.0 * np.pi * n / window_length)
    phase = 2.0 * np.pi * np.outer(n, np.arange(n_bins)) / dft_length
    basis = np.concatenate([np.cos(phase), -np.sin(phase)], axis=1)
    return (window[:, None] * basis).astype("float32")


def mel_matrix(n_bins, bin_spacing_hz, n_mels, low_hz, high_hz):
    """(n_bins, n_mels) triangular mel filterbank over DFT bins 0..n_bins-1.

    HTK mel scale, bands evenly spaced in mel between `low_hz` and `high_hz`,
    unnormalised triangles and no weight on the DC bin: the first `n_bins`
    rows of `tf.signal.linear_to_mel_weight_matrix` (a test checks), written
    in numpy so that the frontend has no TensorFlow dependency.
    """
    def to_mel(hz):
        return 1127.0 * np.log1p(np.asarray(hz, "float64") / 700.0)

    mel = to_mel(np.arange(n_bins) * bin_spacing_hz)[:, None]
    edges = np.linspace(to_mel(low_hz), to_mel(high_hz), n_mels + 2)
    lower, centre, upper = edges[:-2], edges[1:-1], edges[2:]
    weights = np.maximum(0.0, np.minimum((mel - lower) / (centre - lower),
                                         (upper - mel) / (upper - centre)))
    weights[0] = 0.0
    return weights.astype("float32")


@keras.saving.register_keras_serializable(package="adarl_tf")
class Spectrogram(keras.layers.Layer):
    """Z-scored log-magnitude spectrogram of fixed-length waveforms.

    The DFT is a strided 1-D convolution with a fixed windowed cosine/sine
    basis restricted to the kept bins (400 bins at 10 Hz spacing, 0-3990 Hz).
    This gives the paper's exact 1600-point-DFT bins without an FFT op, since
    TFLite's RFFT2D takes only power-of-two lengths (SPEC §2), and it runs as
    one convolution on any accelerator.

    With `scale="mel"` the bins' power is summed into mel bands by a fixed
    matrix (`mel_matrix`) before the log: the compact preset's input.

    Normalisation, per log spectrogram (`config.normalization`):
      * "segment" (the paper): one mean and standard deviation per example
        over its frames and rows (never across the batch);
      * "speaker": per frequency row, with the speaker's statistics given as a
        second input `(batch, 2, rows, n_spectrograms)` (mean, then standard
        deviation; `adarl_tf/speaker_norm.py` computes them). The pooled
        statistics of the training speakers are kept in the layer
        (`pooled_stats`), for callers with no profile of the speaker.
    Frames that hold only the zero padding of a short segment are left out of
    the statistics and set to 0 afterwards, which equals the paper's
    zero-padding of the normalised spectrogram to 300 frames. Only padding is
    exactly zero: decoded audio has its digital silence dithered
    (`adarl_tf.audio.fill_digital_silence`).

    Args:
        config: `FrontendConfig` or its dict. Defaults to the paper's settings.
        **kwargs: base layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: the waveform, float samples in [-1, 1] at
            `config.sample_rate_hz`; with speaker normalisation a list
            `[waveform, speaker_stats]`.

    Input shape:
        `(batch, segment_samples)`, e.g. `(batch, 48000)`; speaker_stats
        `(batch,) + config.stats_shape`.

    Output shape:
        `(batch, n_rows, n_frames, n_channels)`, e.g. `(batch, 400, 300, 3)`:
        frequency (bins or mel bands), time, channels, as the network expects.

    Example:
        >>> layer = Spectrogram()
        >>> layer(np.zeros((2, 48000), "float32")).shape
        (2, 400, 300, 3)

    Reference:
        Fan et al., "Adaptive Domain-Aware Representation Learning for Speech
        Emotion Recognition", Interspeech 2020, §2.4.
    """

    def __init__(self, config=None, **kwargs):
        # The frontend's logs and normalisation need float32 whatever the
        # model's mixed-precision policy.
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        if config is None:
            config = FrontendConfig()
        elif isinstance(config, dict):
            config = FrontendConfig.from_dict(config)
        self.config = config
        self.window_lengths = [
            int(round(w * 1e-3 * config.sample_rate_hz)) for w in config.windows_ms
        ]

    def build(self, input_shape):
        c = self.config
        self.bases = []
        for length in self.window_lengths:
            basis = dft_basis(length, c.dft_length, c.n_bins)
            # Fixed, not trained; stored so that the exported graph holds it.
            self.bases.append(self.add_weight(
                name=f"dft_basis_{length}", shape=(length, 1, 2 * c.n_bins),
                initializer=keras.initializers.Constant(basis[:, None, :]),
                trainable=False))
        self.colormap = self.add_weight(
            name="jet", shape=_JET_KNOTS.shape,
            initializer=keras.initializers.Constant(_JET_KNOTS), trainable=False)
        # Weights only where used: the paper's layer keeps its exact weight list.
        if c.scale == "mel":
            self.mel = self.add_weight(
                name="mel_matrix", shape=(c.n_bins, c.n_mels),
                initializer=keras.initializers.Constant(
                    mel_matrix(c.n_bins, c.bin_spacing_hz, c.n_mels, c.mel_low_hz,
                               c.max_freq_hz)), trainable=False)
        if c.normalization == "speaker":
            identity = np.stack([np.zeros(c.stats_shape[1:]), np.ones(c.stats_shape[1:])])
            self.pooled_stats = self.add_weight(
                name="pooled_stats", shape=c.stats_shape,
                initializer=keras.initializers.Constant(identity.astype("float32")),
                trainable=False)

    def _frame_dft(self, x, basis, length):
        """(batch, samples) padded to whole frames -> DFT and energy of each frame.

        Returns `(spec (batch, frames, 2 * bins), energy (batch, frames, 1))`:
        the windowed DFT of every frame (real parts, then imaginary), as a
        strided convolution with the basis, and the sum of its squared samples.
        """
        x = ops.expand_dims(x, -1)
        hop = self.config.hop_samples
        spec = ops.conv(x, basis, strides=hop, padding="valid")
        energy = ops.conv(x * x, ops.ones((length, 1, 1)), strides=hop, padding="valid")
        return spec, energy

    def log_spectrograms(self, waveform):
        """(batch, samples) -> [(log magnitude (batch, frames, rows), mask)] per window.

        A mask `(batch, frames, 1)` is 1 for the frames of that window that
        hold audio and 0 for frames of padding only (every sample exactly
        zero). Before any normalisation: `speaker_norm` takes its statistics
        from these.
        """
        return [self._log_window(waveform, basis, length)
                for basis, length in zip(self.bases, self.window_lengths)]

    def _log_window(self, waveform, basis, length):
        """One window's `(log magnitude, mask)`, see `log_spectrograms`."""
        c = self.config
        hop, frames = c.hop_samples, c.n_frames
        # Pad the end so that `frames` frames fit, as stft(pad_end=True), and cut
        # any excess so a longer input cannot change the frame count.
        needed = (frames - 1) * hop + length
        x = ops.pad(waveform, [[0, 0], [0, max(0, needed - c.segment_samples)]])
        spec, energy = self._frame_dft(x[:, :needed], basis, length)
        real, imag = spec[..., :c.n_bins], spec[..., c.n_bins:]
        if c.scale == "mel":
            # Named, so that export keeps this product float32: power spans
            # too many decades across bands for int8 (export/tflite.py).
            with keras.name_scope(MEL_SCOPE):
                power = ops.matmul(real * real + imag * imag, self.mel)
            log_mag = 0.5 * ops.log(power + c.log_floor ** 2)
        else:
            log_mag = 0.5 * ops.log(real * real + imag * imag + c.log_floor ** 2)
        # A frame is padding when all its samples are exactly zero.
        return log_mag, ops.cast(energy > 0.0, "float32")

    def _segment_zscore(self, log_mag, mask):
        """The paper's per-example z-score over frames and rows (padding left out)."""
        count = ops.maximum(ops.sum(mask, axis=(1, 2)) * log_mag.shape[-1], 1.0)
        mean = ops.sum(log_mag * mask, axis=(1, 2)) / count
        centred = (log_mag - mean[:, None, None]) * mask
        std = ops.sqrt(ops.sum(centred * centred, axis=(1, 2)) / count)
        return centred / (std[:, None, None] + 1e-5)

    def _speaker_zscore(self, log_mag, mask, stats, i):
        """Per row, with the speaker's mean and standard deviation of spectrogram `i`."""
        mean, std = stats[:, 0, None, :, i], stats[:, 1, None, :, i]  # (b, 1, rows)
        return (log_mag - mean) / (std + 1e-5) * mask

    def call(self, inputs):
        waveform, stats = inputs if isinstance(inputs, (list, tuple)) else (inputs, None)
        if (stats is None) != (self.config.normalization == "segment"):
            raise ValueError(f"normalization={self.config.normalization!r} "
                             f"{'needs' if stats is None else 'takes no'} speaker statistics")
        waveform = ops.cast(waveform, "float32")
        if stats is not None:
            stats = ops.cast(stats, "float32")
        zs, masks = [], []
        # One window after the other, each normalised as soon as it is computed:
        # the paper's graph in its original op order (bit-identical results).
        for i, (basis, length) in enumerate(zip(self.bases, self.window_lengths)):
            log_mag, mask = self._log_window(waveform, basis, length)
            z = self._segment_zscore(log_mag, mask) if stats is None else \
                self._speaker_zscore(log_mag, mask, stats, i)
            zs.append(ops.transpose(z, (0, 2, 1)))
            masks.append(ops.transpose(mask, (0, 2, 1)))
        mask = masks[0]
        if self.config.channel_mode == "colormap":
            x = ops.clip((zs[0] + _COLORMAP_Z_RANGE) / (2 * _COLORMAP_Z_RANGE), 0.0, 1.0)
            knots = _JET_KNOTS.shape[0] - 1
            hats = ops.relu(1.0 - ops.abs(
                x[..., None] * knots - ops.arange(knots + 1, dtype="float32")))
            return ops.matmul(hats, self.colormap) * mask[..., None]
        return ops.stack(zs, axis=-1)

    def compute_output_shape(self, input_shape):
        c = self.config
        if isinstance(input_shape, (list, tuple)) and isinstance(input_shape[0], (list, tuple)):
            input_shape = input_shape[0]
        return (input_shape[0], c.n_rows, c.n_frames, c.n_channels)

    def get_config(self):
        config = super().get_config()
        config["config"] = dataclasses.asdict(self.config)
        return config
