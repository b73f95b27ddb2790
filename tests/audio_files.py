"""Small synthetic audio files in every format the loaders accept (for tests).

Tones with a little noise (never silent), written with the standard
library's `wave` (integer PCM), by hand (IEEE float, which `wave` cannot
write) or with soundfile (FLAC).
"""

import struct
import wave

import numpy as np


def tone(seconds, rate, channels=1, freq=220.0, seed=0):
    """float64 (n, channels) in [-0.5, 0.5]: a tone plus noise, one phase per channel."""
    n = int(round(seconds * rate))
    t = np.arange(n) / rate
    rng = np.random.default_rng(seed)
    cols = [0.4 * np.sin(2 * np.pi * freq * (1 + 0.1 * c) * t) + 0.05 * rng.standard_normal(n)
            for c in range(channels)]
    return np.clip(np.stack(cols, axis=1), -0.5, 0.5)


def write_pcm(path, x, rate, width=2):
    """Integer PCM WAV of `width` bytes per sample from float (n, channels) in [-1, 1]."""
    x = np.asarray(x, np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if width == 1:
        raw = np.clip(np.round(x * 127 + 128), 0, 255).astype(np.uint8).tobytes()
    elif width == 3:
        v = np.round(x * (2 ** 23 - 1)).astype("<i4").reshape(-1)
        raw = np.stack([v & 255, (v >> 8) & 255, (v >> 16) & 255], 1).astype(np.uint8).tobytes()
    else:
        dtype = {2: "<i2", 4: "<i4"}[width]
        raw = np.round(x * (2 ** (8 * width - 1) - 1)).astype(dtype).tobytes()
    with wave.open(str(path), "wb") as f:
        f.setnchannels(x.shape[1])
        f.setsampwidth(width)
        f.setframerate(rate)
        f.writeframes(raw)
    return path


def write_float(path, x, rate, bits=32):
    """IEEE-float WAV (format tag 3), which can hold NaN and infinity."""
    x = np.asarray(x, np.float64)
    if x.ndim == 1:
        x = x[:, None]
    data = x.astype("<f4" if bits == 32 else "<f8").tobytes()
    channels, width = x.shape[1], bits // 8
    fmt = struct.pack("<HHIIHH", 3, channels, rate, rate * width * channels, width * channels,
                      bits)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + \
        b"fact" + struct.pack("<II", 4, len(x)) + b"data" + struct.pack("<I", len(data)) + data
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    return path


def write_flac(path, x, rate):
    import soundfile
    soundfile.write(str(path), np.asarray(x, np.float64), rate, format="FLAC",
                    subtype="PCM_16")
    return path


def write_speech_like(path, seconds=1.2, rate=16000, channels=1, seed=0, freq=220.0):
    """A 16-bit PCM file: the default for corpus layouts."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_pcm(path, tone(seconds, rate, channels, freq=freq, seed=seed), rate)


def append_chunk(path, chunk_id, payload):
    """Appends a RIFF chunk (padded to an even size, as the format requires) and fixes
    the RIFF size; an odd-sized payload makes a file like half of RAVDESS's."""
    data = bytearray(path.read_bytes())
    data += chunk_id + struct.pack("<I", len(payload)) + payload + b"\0" * (len(payload) & 1)
    data[4:8] = struct.pack("<I", len(data) - 8)
    path.write_bytes(bytes(data))
    return path


def set_header(path, rate=None, channels=None):
    """Overwrites the sample rate and/or channel count in a WAV's fmt chunk (which
    `wave` writes first, at byte 20): a damaged or hostile header over intact samples."""
    data = bytearray(path.read_bytes())
    assert data[12:16] == b"fmt ", "expects the fmt chunk first"
    if channels is not None:
        data[22:24] = struct.pack("<H", channels)
    if rate is not None:
        data[24:28] = struct.pack("<I", rate)
    path.write_bytes(bytes(data))
    return path
