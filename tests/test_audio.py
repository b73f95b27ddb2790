"""Reading WAV files of any sample format, rate and channel count."""

import struct
import wave

import numpy as np
import pytest

from adarl_tf import audio

RATE = 22050


def _signal(n, channels):
    t = np.arange(n) / RATE
    left = 0.5 * np.sin(2 * np.pi * 440 * t)
    return np.stack([left, -0.25 * np.ones(n)][:channels], axis=1)


def _write_pcm(path, x, width, rate=RATE):
    if width == 1:
        raw = np.clip(np.round(x * 128 + 128), 0, 255).astype(np.uint8).tobytes()
    elif width == 3:
        v = np.round(x * (2 ** 23 - 1)).astype(np.int32).reshape(-1)
        raw = b"".join(int(s).to_bytes(3, "little", signed=True) for s in v)
    else:
        dtype = {2: "<i2", 4: "<i4"}[width]
        raw = np.round(x * (2 ** (8 * width - 1) - 1)).astype(dtype).tobytes()
    with wave.open(str(path), "wb") as f:
        f.setnchannels(x.shape[1])
        f.setsampwidth(width)
        f.setframerate(rate)
        f.writeframes(raw)


def _write_float(path, x, rate=RATE):
    data = x.astype("<f4").tobytes()
    channels = x.shape[1]
    fmt = struct.pack("<HHIIHH", 3, channels, rate, rate * 4 * channels, 4 * channels, 32)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + \
        b"fact" + struct.pack("<II", 4, len(x)) + b"data" + struct.pack("<I", len(data)) + data
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)


@pytest.mark.parametrize("width,tol", [(1, 1e-2), (2, 1e-4), (3, 1e-6), (4, 1e-8)])
def test_integer_pcm_of_every_width(tmp_path, width, tol):
    x = _signal(2000, 2)
    _write_pcm(tmp_path / "a.wav", x, width)
    samples, rate = audio.read_wav(tmp_path / "a.wav")
    assert rate == RATE and samples.shape == (2000, 2) and samples.dtype == np.float32
    np.testing.assert_allclose(samples, x, atol=tol)


def test_float32_wav(tmp_path):
    x = _signal(1000, 1)
    _write_float(tmp_path / "f.wav", x)
    samples, rate = audio.read_wav(tmp_path / "f.wav")
    assert rate == RATE
    np.testing.assert_array_equal(samples, x.astype(np.float32))


def test_load_audio_mixes_down_and_resamples(tmp_path):
    x = _signal(RATE, 2)  # 1 s of 440 Hz in the left channel, a DC offset in the right.
    _write_pcm(tmp_path / "s.wav", x, 2)
    y = audio.load_audio(tmp_path / "s.wav", 16000)
    assert y.shape == (16000,) and y.dtype == np.float32
    # Mix-down: (sine - 0.25) / 2; the tone stays at 440 Hz after resampling.
    spectrum = np.abs(np.fft.rfft(y[2000:14000] - y[2000:14000].mean()))
    assert abs(np.argmax(spectrum) * 16000 / 12000 - 440) < 2
    assert y[2000:14000].mean() == pytest.approx(-0.125, abs=1e-3)
    assert np.abs(y).max() <= 1.0


@pytest.mark.parametrize("content,match", [
    (None, "file not found"), (b"", "empty file"), (b"hello, not audio", "not a WAV file"),
    (b"RIFF\x10\x00\x00\x00WAVEfmt ", "WAV"),
])
def test_bad_files_raise_audio_error_with_reason(tmp_path, content, match):
    path = tmp_path / "bad.wav"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(audio.AudioError, match=match):
        audio.load_audio(path)
