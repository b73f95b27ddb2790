"""The inference-only frontend: the DFT as a matrix product over cut frames."""

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from adarl_tf.config import FrontendConfig
from adarl_tf.export.framed_spectrogram import FramedSpectrogram, framed
from adarl_tf.layers import Spectrogram


def _segments(n, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n) / 16000
    x = sum(np.sin(2 * np.pi * 140 * k * t) / k for k in range(1, 8))
    x = np.stack([0.1 * x + 0.005 * rng.standard_normal(n),
                  0.02 * rng.standard_normal(n)]).astype("float32")
    x[1, n // 2:] = 0.0  # Zero padding: masked frames.
    return x


@pytest.mark.parametrize("mode", ["multires", "colormap", "mono"])
def test_framed_spectrogram_equals_the_layer(mode):
    config = FrontendConfig(segment_s=0.5, channel_mode=mode)
    x = _segments(8000)
    want = np.asarray(Spectrogram(config)(x))
    got = np.asarray(FramedSpectrogram(config)(x))
    assert got.shape == want.shape
    # Float32 sums in another order; the log and z-score magnify it where the
    # power is near the floor.
    np.testing.assert_allclose(got, want, atol=1e-2)
    assert np.abs(got - want).mean() < 1e-5


def test_windows_that_are_not_whole_hops_fall_back_to_the_convolution():
    config = FrontendConfig(segment_s=0.5, window_ms=(25.0, 30.0, 40.0))  # 400 samples.
    x = _segments(8000)
    np.testing.assert_allclose(np.asarray(FramedSpectrogram(config)(x)),
                               np.asarray(Spectrogram(config)(x)), atol=1e-2)


def test_framed_copies_the_config_and_name():
    layer = Spectrogram(FrontendConfig(segment_s=0.5), name="spectrogram")
    copy = framed(layer)
    assert isinstance(copy, FramedSpectrogram) and copy.name == "spectrogram"
    assert copy.config == layer.config


def test_framed_spectrogram_takes_mel_speaker_statistics_and_part_hop_windows():
    # The compact preset's frontend: a 25 ms window (2.5 hops: whole blocks, then
    # half of the next), mel bands; with per-row speaker normalisation.
    config = FrontendConfig(segment_s=0.5, max_freq_hz=8000.0, bin_spacing_hz=31.25,
                            scale="mel", n_mels=32, channel_mode="mono",
                            single_window_ms=25.0, normalization="speaker")
    x = _segments(8000)
    rng = np.random.default_rng(1)
    stats = np.stack([rng.normal(-4.0, 1.0, (2, 32, 1)), rng.uniform(0.5, 2.0, (2, 32, 1))],
                     axis=1).astype("float32")  # (batch, mean | std, rows, spectrograms)
    want = np.asarray(Spectrogram(config)([x, stats]))
    got = np.asarray(FramedSpectrogram(config)([x, stats]))
    np.testing.assert_allclose(got, want, atol=1e-3)
    assert np.abs(got - want).mean() < 1e-5
    assert np.all(got[1, :, 26:] == 0.0)  # Frames of padding only, as the layer has them.


def test_framed_copies_the_pooled_statistics():
    config = FrontendConfig(segment_s=0.5, normalization="speaker")
    layer = Spectrogram(config, name="spectrogram")
    layer.build((None, 8000))
    layer.pooled_stats.assign(np.full(config.stats_shape, 2.0, "float32"))
    np.testing.assert_array_equal(np.asarray(framed(layer).pooled_stats), 2.0)
