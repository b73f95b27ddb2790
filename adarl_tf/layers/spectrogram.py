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


@keras.saving.register_keras_serializable(package="adarl_tf")
class Spectrogram(keras.layers.Layer):
    """Z-scored log-magnitude spectrogram of fixed-length waveforms.

    The DFT is a strided 1-D convolution with a fixed windowed cosine/sine
    basis restricted to the kept bins (400 bins at 10 Hz spacing, 0-3990 Hz).
    This gives the paper's exact 1600-point-DFT bins without an FFT op, since
    TFLite's RFFT2D takes only power-of-two lengths (SPEC §2), and it runs as
    one convolution on any accelerator.

    Normalisation is per example and per channel (never across the batch).
    Frames that hold only the zero padding of a short segment are left out of
    the mean and standard deviation and set to 0 afterwards, which equals the
    paper's zero-padding of the normalised spectrogram to 300 frames.

    Args:
        config: `FrontendConfig` or its dict. Defaults to the paper's settings.
        **kwargs: base layer arguments (`name`, `dtype`, ...).

    Call arguments:
        waveform: float tensor of samples in [-1, 1] at `config.sample_rate_hz`.

    Input shape:
        `(batch, segment_samples)`, e.g. `(batch, 48000)`.

    Output shape:
        `(batch, n_bins, n_frames, n_channels)`, e.g. `(batch, 400, 300, 3)`:
        frequency, time, channels, as the network expects.

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

    def _log_spectrogram(self, waveform, basis, length):
        """(batch, samples) -> z-scored (batch, bins, frames) and frame mask."""
        c = self.config
        hop, frames = c.hop_samples, c.n_frames
        # Pad the end so that `frames` frames fit, as stft(pad_end=True), and cut
        # any excess so a longer input cannot change the frame count.
        needed = (frames - 1) * hop + length
        x = ops.pad(waveform, [[0, 0], [0, max(0, needed - c.segment_samples)]])
        spec, energy = self._frame_dft(x[:, :needed], basis, length)
        real, imag = spec[..., :c.n_bins], spec[..., c.n_bins:]
        log_mag = 0.5 * ops.log(real * real + imag * imag + c.log_floor ** 2)
        # A frame is padding when all its samples are exactly zero.
        mask = ops.cast(energy > 0.0, "float32")  # (b, frames, 1)
        count = ops.maximum(ops.sum(mask, axis=(1, 2)) * c.n_bins, 1.0)
        mean = ops.sum(log_mag * mask, axis=(1, 2)) / count
        centred = (log_mag - mean[:, None, None]) * mask
        std = ops.sqrt(ops.sum(centred * centred, axis=(1, 2)) / count)
        z = centred / (std[:, None, None] + 1e-5)
        return ops.transpose(z, (0, 2, 1)), ops.transpose(mask, (0, 2, 1))

    def call(self, waveform):
        waveform = ops.cast(waveform, "float32")
        specs = [self._log_spectrogram(waveform, basis, length)
                 for basis, length in zip(self.bases, self.window_lengths)]
        if self.config.channel_mode == "colormap":
            z, mask = specs[0]
            x = ops.clip((z + _COLORMAP_Z_RANGE) / (2 * _COLORMAP_Z_RANGE), 0.0, 1.0)
            knots = _JET_KNOTS.shape[0] - 1
            hats = ops.relu(1.0 - ops.abs(
                x[..., None] * knots - ops.arange(knots + 1, dtype="float32")))
            return ops.matmul(hats, self.colormap) * mask[..., None]
        return ops.stack([z for z, _ in specs], axis=-1)

    def compute_output_shape(self, input_shape):
        c = self.config
        return (input_shape[0], c.n_bins, c.n_frames, c.n_channels)

    def get_config(self):
        config = super().get_config()
        config["config"] = dataclasses.asdict(self.config)
        return config
