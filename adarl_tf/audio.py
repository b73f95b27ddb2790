"""Reading audio files of any rate and channel count for `predict`.

The training loaders accept only 16 kHz mono 16-bit WAV (`corpora.check_wav`)
so that the corpus is exactly what the paper used. Predictions, by contrast,
must take whatever a user has: this module reads WAV files with 8/16/24/32-bit
integer or 32-bit float samples, mixes channels down to mono and resamples
to the model's rate with a polyphase filter (`scipy.signal.resample_poly`).

Only the standard library's `wave` module and NumPy parse the file; `wave`
refuses IEEE-float WAV (format tag 3), so float32 files are parsed from their
RIFF chunks here. No TensorFlow import.
"""

import math
import pathlib
import struct
import wave

import numpy as np

_WAVE_FORMAT_PCM = 1
_WAVE_FORMAT_IEEE_FLOAT = 3
_WAVE_FORMAT_EXTENSIBLE = 0xFFFE


class AudioError(ValueError):
    """A file that cannot be read as audio; the message says why."""


def _pcm_to_float(raw, width):
    """Little-endian PCM bytes of `width` bytes per sample to float32 in [-1, 1)."""
    if width == 1:  # 8-bit WAV is unsigned, centred on 128.
        return (np.frombuffer(raw, np.uint8).astype(np.float32) - 128.0) / 128.0
    if width == 2:
        return np.frombuffer(raw, "<i2").astype(np.float32) / 32768.0
    if width == 3:
        b = np.frombuffer(raw, np.uint8).reshape(-1, 3).astype(np.int32)
        v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        v = np.where(v >= 1 << 23, v - (1 << 24), v)  # Sign-extend 24 bits.
        return v.astype(np.float32) / float(1 << 23)
    if width == 4:
        return (np.frombuffer(raw, "<i4").astype(np.float64) / float(1 << 31)).astype(
            np.float32)
    raise AudioError(f"{8 * width}-bit integer samples are not supported")


def _riff_chunks(data):
    """Yields (chunk id, payload) of a RIFF/WAVE byte string."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise AudioError("not a WAV file (no RIFF/WAVE header); convert it to WAV, e.g. "
                         "`ffmpeg -i in.mp3 out.wav`")
    pos = 12
    while pos + 8 <= len(data):
        chunk_id, size = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
        yield chunk_id, data[pos + 8:pos + 8 + size]
        pos += 8 + size + (size & 1)  # Chunks are padded to an even length.


def _read_float_wav(data):
    """(samples (n, channels) float32, rate) of an IEEE-float WAV byte string."""
    fmt = payload = None
    for chunk_id, body in _riff_chunks(data):
        if chunk_id == b"fmt ":
            fmt = body
        elif chunk_id == b"data":
            payload = body
    if fmt is None or payload is None:
        raise AudioError("WAV file without a fmt or data chunk")
    tag, channels, rate, _, _, bits = struct.unpack("<HHIIHH", fmt[:16])
    if tag == _WAVE_FORMAT_EXTENSIBLE and len(fmt) >= 26:
        tag = struct.unpack("<H", fmt[24:26])[0]  # The sub-format GUID starts with it.
    if tag != _WAVE_FORMAT_IEEE_FLOAT or bits not in (32, 64):
        raise AudioError(f"unsupported WAV encoding (format tag {tag}, {bits}-bit); "
                         "convert it to 16-bit PCM, e.g. `sox in.wav -b 16 out.wav`")
    dtype = "<f4" if bits == 32 else "<f8"
    usable = len(payload) - len(payload) % (channels * bits // 8)
    samples = np.frombuffer(payload[:usable], dtype).astype(np.float32)
    return samples.reshape(-1, channels), rate


def read_wav(path):
    """Reads a WAV file as it is stored.

    Args:
        path: str or path-like. The file.

    Returns:
        `(samples, rate)`: float32 `(n_samples, n_channels)` in [-1, 1] and the
        sample rate in hertz.

    Raises:
        AudioError: the file is missing, empty, not WAV, or in an encoding
            that is not supported; the message names the problem.
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise AudioError("file not found" if not path.exists() else "not a file")
    data = path.read_bytes()
    if not data:
        raise AudioError("empty file (0 bytes)")
    try:
        with wave.open(str(path), "rb") as f:
            channels, width, rate = f.getnchannels(), f.getsampwidth(), f.getframerate()
            raw = f.readframes(f.getnframes())
    except wave.Error as e:
        if "unknown format: 3" in str(e) or "unknown format: 65534" in str(e):
            samples, rate = _read_float_wav(data)
        else:
            list(_riff_chunks(data))  # Raises "not a WAV file" for other formats.
            raise AudioError(f"unreadable WAV file ({e}); convert it to 16-bit PCM WAV") \
                from None
    except EOFError:
        raise AudioError("truncated WAV file") from None
    else:
        usable = len(raw) - len(raw) % (channels * width)
        samples = _pcm_to_float(raw[:usable], width).reshape(-1, channels)
    if rate <= 0:
        raise AudioError(f"invalid sample rate {rate}")
    if samples.shape[0] == 0:
        raise AudioError("no audio samples")
    return samples, rate


def resample(waveform, rate, target_rate):
    """Resamples a 1-D waveform with a polyphase anti-aliasing filter.

    Args:
        waveform: float32 `(n,)` array.
        rate: int. Its sample rate in hertz.
        target_rate: int. The rate wanted.

    Returns:
        float32 `(round(n * target_rate / rate),)` array.
    """
    if rate == target_rate:
        return np.asarray(waveform, np.float32)
    from scipy import signal  # Imported here: only files at another rate need it.
    g = math.gcd(int(rate), int(target_rate))
    out = signal.resample_poly(np.asarray(waveform, np.float64), target_rate // g, rate // g)
    return out.astype(np.float32)


def load_audio(path, target_rate=16000):
    """Reads a WAV file as mono float32 at `target_rate`, ready for the model.

    Channels are averaged (a stereo mix-down) before resampling, and the
    result is clipped to [-1, 1], the range the model saw in training.

    Args:
        path: str or path-like. The file.
        target_rate: int. The model's sample rate. Defaults to 16000.

    Returns:
        float32 `(n_samples,)` array.

    Raises:
        AudioError: see `read_wav`.
    """
    samples, rate = read_wav(path)
    mono = samples.mean(axis=1)
    return np.clip(resample(mono, rate, target_rate), -1.0, 1.0)
