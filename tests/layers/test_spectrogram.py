import numpy as np
import pytest

from adarl_tf.config import FrontendConfig
from adarl_tf.layers import Spectrogram
from adarl_tf.layers.spectrogram import dft_basis
from tests.layer_checks import run_layer_checks

RATE = 16000
# Short segments keep the tests quick; the bins are the paper's (10 Hz, 0-3990 Hz).
SMALL = FrontendConfig(segment_s=0.5)


def _speechlike(n, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n) / RATE
    x = sum(np.sin(2 * np.pi * f * t) / k for k, f in enumerate([180, 360, 540, 900, 2500], 1))
    return (0.1 * x + 0.01 * rng.normal(size=n)).astype("float32")


def test_standard_checks(tmp_path):
    x = np.stack([_speechlike(8000, s) for s in range(2)])
    run_layer_checks(tmp_path, Spectrogram, {"config": SMALL.__dict__}, x,
                     [(2, 400, 50, 3)], trains=False)


def test_paper_shape():
    assert tuple(Spectrogram()(np.zeros((1, 48000), "float32")).shape) == (1, 400, 300, 3)


@pytest.mark.parametrize("mode,channels", [("multires", 3), ("colormap", 3), ("mono", 1)])
def test_channel_modes(mode, channels):
    layer = Spectrogram(FrontendConfig(segment_s=0.5, channel_mode=mode))
    y = np.asarray(layer(_speechlike(8000)[None]))
    assert y.shape == (1, 400, 50, channels)
    if mode == "colormap":
        assert y.min() >= 0.0 and y.max() <= 1.0
        # Jet: low values blue-ish, high values red-ish.
        z = np.asarray(Spectrogram(FrontendConfig(segment_s=0.5, channel_mode="mono"))(
            _speechlike(8000)[None]))[0, ..., 0]
        hot, cold = z > 2.0, z < -2.0
        assert y[0][hot][:, 0].mean() > y[0][hot][:, 2].mean()
        assert y[0][cold][:, 2].mean() > y[0][cold][:, 0].mean()
    else:
        # z-scored per channel.
        np.testing.assert_allclose(y.mean(axis=(0, 1, 2)), 0.0, atol=1e-4)
        np.testing.assert_allclose(y.std(axis=(0, 1, 2)), 1.0, atol=1e-3)


def test_tone_peaks_at_its_bin():
    t = np.arange(8000) / RATE
    tone = (0.5 * np.sin(2 * np.pi * 1000.0 * t)).astype("float32")
    y = np.asarray(Spectrogram(SMALL)(tone[None]))
    peaks = y[0].argmax(axis=0)  # (frames, channels)
    assert (peaks[5:-5] == 100).all()  # 1000 Hz / 10 Hz per bin.


def test_padding_frames_are_zero_and_ignored_by_the_statistics():
    layer = Spectrogram(SMALL)
    speech = _speechlike(4000)  # 0.25 s of 0.5 s: the rest is zero padding.
    padded = np.concatenate([speech, np.zeros(4000, "float32")])[None]
    y = np.asarray(layer(padded))[0]
    assert np.all(y[:, 26:, :] == 0.0)  # Frames holding only padding.
    # The speech frames' statistics ignore the padding: z-scored among themselves.
    first = y[:, :20, 0]
    assert abs(first.mean()) < 0.2 and 0.8 < first.std() < 1.2
    # Louder speech gives the same normalised spectrogram.
    np.testing.assert_allclose(np.asarray(layer(4.0 * padded))[0], y, atol=2e-3)


def test_each_example_is_normalised_alone():
    layer = Spectrogram(SMALL)
    a, b = _speechlike(8000, 1), 0.001 * _speechlike(8000, 2)
    alone = np.asarray(layer(a[None]))[0]
    batched = np.asarray(layer(np.stack([a, b])))[0]
    # float32: a batch of two may take other kernels (reduction order) than one
    # example, so allow float32 rounding relative to the value too (AVX2-only CPUs).
    np.testing.assert_allclose(alone, batched, rtol=1e-5, atol=1e-5)


def test_silence_gives_zeros_not_nan():
    y = np.asarray(Spectrogram(SMALL)(np.zeros((1, 8000), "float32")))
    assert np.all(y == 0.0)


def test_basis_is_the_windowed_dft():
    basis = dft_basis(320, 1600, 400)
    frame = _speechlike(320)
    spectrum = np.fft.rfft(frame * np.hamming(321)[:-1], n=1600)[:400]  # Periodic Hamming.
    np.testing.assert_allclose(frame @ basis[:, :400], spectrum.real, atol=1e-3)
    np.testing.assert_allclose(frame @ basis[:, 400:], spectrum.imag, atol=1e-3)


def test_rejects_bad_config():
    with pytest.raises(ValueError, match="channel_mode"):
        FrontendConfig(channel_mode="rgb")
    with pytest.raises(ValueError, match="does not fit"):
        FrontendConfig(window_ms=(20.0, 200.0))


def test_matches_tf_signal_stft_with_1600_point_fft():
    tf = pytest.importorskip("tensorflow")
    cfg = FrontendConfig(segment_s=1.0)
    x = np.stack([_speechlike(16000, 3), np.concatenate(
        [_speechlike(11000, 4), np.zeros(5000, "float32")])])
    ours = np.asarray(Spectrogram(cfg)(x))
    for c, window_ms in enumerate(cfg.window_ms):
        length = int(window_ms * 16)
        stft = tf.signal.stft(x, frame_length=length, frame_step=160, fft_length=1600,
                              window_fn=tf.signal.hamming_window, pad_end=True)
        assert stft.shape[1] == 100
        power = tf.abs(stft[:, :, :400]).numpy() ** 2
        log_mag = 0.5 * np.log(power + cfg.log_floor ** 2)  # (batch, frames, bins)
        # The same z-score over the frames that hold signal.
        frames = x.shape[1] // 160
        for b in range(2):
            valid = np.array([np.any(np.pad(x[b], (0, length))[t * 160:t * 160 + length])
                              for t in range(frames)])
            v = log_mag[b][valid]
            z = np.where(valid[:, None], (log_mag[b] - v.mean()) / (v.std() + 1e-5), 0.0)
            np.testing.assert_allclose(ours[b, :, :, c], z.T, atol=2e-3)


@pytest.mark.parametrize("mode", ["multires", "colormap"])
def test_converts_to_tflite_builtin_ops_and_matches(mode):
    tf = pytest.importorskip("tensorflow")
    litert = pytest.importorskip("ai_edge_litert.interpreter")
    import keras
    if keras.backend.backend() != "tensorflow":
        pytest.skip("TFLite conversion needs the TensorFlow backend")
    cfg = FrontendConfig(segment_s=0.5, channel_mode=mode)
    inputs = keras.Input((8000,), batch_size=1)
    model = keras.Model(inputs, Spectrogram(cfg)(inputs))
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    # Builtins only: conversion fails if any op would need the Flex delegate.
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    interpreter = litert.Interpreter(model_content=converter.convert())
    interpreter.allocate_tensors()
    x = np.concatenate([_speechlike(6000, 5), np.zeros(2000, "float32")])[None]
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], x)
    interpreter.invoke()
    got = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
    np.testing.assert_allclose(got, np.asarray(model(x)), atol=2e-3)
