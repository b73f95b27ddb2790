"""Reading audio files of any sample format, rate and channel count.

Used by the corpus loaders (`probe`: header, length and sample checks) and by
the input pipeline and `predict` (`load_audio`: mono float32 at 16 kHz).
Accepted: WAV with 8/16/24/32-bit integer or 32/64-bit IEEE-float samples
(plain or WAVE_FORMAT_EXTENSIBLE), and FLAC. Channels are averaged; other
rates are resampled with a polyphase anti-aliasing filter
(`scipy.signal.resample_poly`).

WAV headers are parsed here from their RIFF chunks (a few dozen lines)
rather than with the standard library's `wave`, which refuses IEEE-float
files, and rather than with libsndfile, which clamps a truncated data chunk
to what the file holds and so cannot say that a copy was cut short. FLAC is
read with `soundfile` (libsndfile), imported only when a FLAC file comes.
No TensorFlow import.
"""

import dataclasses
import math
import os
import struct

import numpy as np

_WAVE_FORMAT_PCM = 1
_WAVE_FORMAT_IEEE_FLOAT = 3
_WAVE_FORMAT_EXTENSIBLE = 0xFFFE
# The one encoding `tf.audio.decode_wav` reads, at the model's rate: such
# files take the in-graph fast path of the pipeline.
FAST_ENCODING = "pcm16"


class AudioError(ValueError):
    """A file that cannot be read as audio; the message says why."""


# What a header may claim. Real recordings sit well inside these bounds; a
# value outside them is a damaged or hostile header, refused where headers are
# read (training and predict alike), before a byte of samples is touched: a
# 1 Hz rate would turn a 120 KB file into gigabytes once resampled to 16 kHz,
# 65,535 channels into a 0-second utterance.
MIN_RATE_HZ = 4000
MAX_RATE_HZ = 384000
MAX_CHANNELS = 32


def check_format(rate, channels):
    """Raises `AudioError` for a sample rate or channel count no recording has."""
    if not MIN_RATE_HZ <= rate <= MAX_RATE_HZ:
        raise AudioError(f"the header's sample rate, {rate} Hz, is outside {MIN_RATE_HZ}-"
                         f"{MAX_RATE_HZ} Hz, so the header is damaged; re-encode the file "
                         "(e.g. `sox in.wav -r 16000 -b 16 out.wav`)")
    if not 1 <= channels <= MAX_CHANNELS:
        raise AudioError(f"the header's channel count, {channels}, is outside 1-{MAX_CHANNELS}, "
                         "so the header is damaged; re-encode the file as mono "
                         "(e.g. `sox in.wav -c 1 out.wav`)")


@dataclasses.dataclass(frozen=True)
class AudioInfo:
    """What the header of an audio file says.

    Attributes:
        container: "wav" or "flac".
        encoding: "pcm8", "pcm16", "pcm24", "pcm32", "float32", "float64"
            (WAV), or libsndfile's subtype in lower case (FLAC, e.g. "pcm_16").
        sample_rate: hertz.
        channels: channel count.
        frames: samples per channel the header promises.
        available_frames: whole frames the file actually holds (WAV: fewer
            than `frames` when the copy was cut short).
        data_offset: byte offset of the WAV data chunk's samples (0 for FLAC).
        plain_chunks: WAV whose chunks all have even sizes and end exactly at
            the end of the file. `tf.audio.decode_wav` fails on the others
            ("Data too short when trying to read string"): its chunk walk does
            not skip the pad byte after an odd-sized chunk, as in about half
            of RAVDESS's files (a 53,801-byte `_PMX` chunk at the end).
    """

    container: str
    encoding: str
    sample_rate: int
    channels: int
    frames: int
    available_frames: int
    data_offset: int = 0
    plain_chunks: bool = False

    @property
    def duration_s(self):
        return self.frames / self.sample_rate

    @property
    def tf_decodable(self):
        """True if `tf.audio.decode_wav` reads the file (any rate, any channels)."""
        return self.container == "wav" and self.encoding == FAST_ENCODING and self.plain_chunks

    def fast(self, target_rate=16000):
        """True if `tf.audio.decode_wav` reads the file as the model needs it."""
        return self.tf_decodable and (self.sample_rate, self.channels) == (target_rate, 1)


def _wav_info(f, size):
    """`AudioInfo` of an open WAV file, from its RIFF chunk headers only."""
    head = f.read(12)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        raise AudioError("not a WAV file (no RIFF/WAVE header); convert it to WAV or FLAC, "
                         "e.g. `ffmpeg -i in.mp3 out.wav`")
    fmt = None
    odd = False
    while True:
        chunk = f.read(8)
        if len(chunk) < 8:
            raise AudioError("the WAV header is cut short (no data chunk)" if fmt is not None
                             else "the WAV header is cut short (no fmt chunk)")
        chunk_id, chunk_size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
        odd |= bool(chunk_size & 1)
        if chunk_id == b"data":
            if fmt is None:
                raise AudioError("WAV data chunk before the fmt chunk")
            data_offset = f.tell()
            break
        if chunk_id == b"fmt ":
            fmt = f.read(chunk_size)
            if len(fmt) < 16:
                raise AudioError("the WAV header is cut short (fmt chunk)")
            f.seek(chunk_size & 1, 1)
        else:
            f.seek(chunk_size + (chunk_size & 1), 1)  # Chunks are padded to even sizes.
    tag, channels, rate, _, block_align, bits = struct.unpack("<HHIIHH", fmt[:16])
    if tag == _WAVE_FORMAT_EXTENSIBLE and len(fmt) >= 26:
        tag = struct.unpack("<H", fmt[24:26])[0]  # The sub-format GUID starts with it.
    if tag == _WAVE_FORMAT_PCM and bits in (8, 16, 24, 32):
        encoding = f"pcm{bits}"
    elif tag == _WAVE_FORMAT_IEEE_FLOAT and bits in (32, 64):
        encoding = f"float{bits}"
    else:
        raise AudioError(f"unsupported WAV encoding (format tag {tag}, {bits}-bit); "
                         "convert it to 16-bit PCM, e.g. `sox in.wav -b 16 out.wav`")
    check_format(rate, channels)
    frame_bytes = channels * bits // 8
    if block_align and block_align != frame_bytes:
        raise AudioError(f"inconsistent header (block align {block_align}, expected "
                         f"{frame_bytes}); re-encode the file")
    # The chunks after the samples (LIST, bext, ...): headers only, by seeking.
    end = data_offset + chunk_size + (chunk_size & 1)
    while end + 8 <= size:
        f.seek(end)
        tail_size = struct.unpack("<I", f.read(8)[4:])[0]
        odd |= bool(tail_size & 1)
        end += 8 + tail_size + (tail_size & 1)
    return AudioInfo("wav", encoding, rate, channels, chunk_size // frame_bytes,
                     max(size - data_offset, 0) // frame_bytes, data_offset,
                     plain_chunks=not odd and end == size)


def audio_info(path):
    """Reads the header of a WAV or FLAC file.

    Args:
        path: str or path-like.

    Returns:
        `AudioInfo`.

    Raises:
        AudioError: missing, empty, not WAV/FLAC, or an unsupported encoding.
    """
    path = str(path)
    if not os.path.exists(path):
        raise AudioError("file not found")
    if not os.path.isfile(path):
        raise AudioError("not a file")
    size = os.path.getsize(path)
    if size == 0:
        raise AudioError("empty file (0 bytes)")
    with open(path, "rb") as f:
        if f.read(4) == b"fLaC":
            return _flac_info(path)
        f.seek(0)
        return _wav_info(f, size)


def _soundfile():
    try:
        import soundfile
    except ImportError:  # pragma: no cover - soundfile is in every requirements file.
        raise AudioError("reading FLAC needs the soundfile package: pip install soundfile") \
            from None
    return soundfile


def _flac_info(path):
    sf = _soundfile()
    try:
        info = sf.info(path)
    except (RuntimeError, sf.LibsndfileError) as e:
        raise AudioError(f"unreadable FLAC file ({e}); copy it again or re-encode it") from None
    check_format(int(info.samplerate), int(info.channels))
    return AudioInfo("flac", info.subtype.lower(), int(info.samplerate), int(info.channels),
                     int(info.frames), int(info.frames))


def _decode_pcm(raw, encoding):
    """Little-endian sample bytes to float (float32, or float64 for float64 files)."""
    if encoding == "pcm8":  # 8-bit WAV is unsigned, centred on 128.
        return (np.frombuffer(raw, np.uint8).astype(np.float32) - 128.0) / 128.0
    if encoding == "pcm16":
        return np.frombuffer(raw, "<i2").astype(np.float32) / 32768.0
    if encoding == "pcm24":
        b = np.frombuffer(raw, np.uint8).reshape(-1, 3).astype(np.int32)
        v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        v = np.where(v >= 1 << 23, v - (1 << 24), v)  # Sign-extend 24 bits.
        return v.astype(np.float32) / float(1 << 23)
    if encoding == "pcm32":
        return (np.frombuffer(raw, "<i4").astype(np.float64) / float(1 << 31)).astype(
            np.float32)
    if encoding == "float32":
        return np.frombuffer(raw, "<f4").astype(np.float32)
    if encoding == "float64":
        return np.frombuffer(raw, "<f8").astype(np.float64)
    raise AudioError(f"unsupported encoding {encoding}")  # pragma: no cover


def read_audio(path, info=None):
    """Reads a WAV or FLAC file as it is stored.

    Args:
        path: str or path-like.
        info: its `AudioInfo`, if already read.

    Returns:
        `(samples, rate)`: float `(n_frames, n_channels)` (float32; float64
        files stay float64) in [-1, 1] for integer files, and the rate in hertz.
        NaN or infinite samples of a float file are returned as they are.

    Raises:
        AudioError: see `audio_info`; also a file without samples.
    """
    info = info or audio_info(path)
    if info.container == "flac":
        sf = _soundfile()
        try:
            samples, rate = sf.read(str(path), dtype="float32", always_2d=True)
        except (RuntimeError, sf.LibsndfileError) as e:
            raise AudioError(f"unreadable FLAC file ({e}); copy it again or re-encode "
                             "it") from None
    else:
        frames = min(info.frames, info.available_frames)
        width = int(info.encoding[len(info.encoding.rstrip("0123456789")):]) // 8
        with open(path, "rb") as f:
            f.seek(info.data_offset)
            raw = f.read(frames * info.channels * width)
        samples, rate = _decode_pcm(raw, info.encoding).reshape(-1, info.channels), \
            info.sample_rate
    if samples.shape[0] == 0:
        raise AudioError("no audio samples")
    return samples, rate


def resampled_length(n_samples, rate, target_rate):
    """Samples `resample` gives for `n_samples` at `rate`: ceil(n * up / down).

    This is `scipy.signal.resample_poly`'s output length; the pipeline's
    segment counting relies on it, so it is stated once, here.
    """
    if rate == target_rate:
        return int(n_samples)
    g = math.gcd(int(rate), int(target_rate))
    up, down = int(target_rate) // g, int(rate) // g
    return -(-int(n_samples) * up // down)


def resample(waveform, rate, target_rate):
    """Resamples a 1-D waveform with a polyphase anti-aliasing filter.

    Args:
        waveform: float `(n,)` array.
        rate: int. Its sample rate in hertz.
        target_rate: int. The rate wanted.

    Returns:
        float32 `(resampled_length(n, rate, target_rate),)` array.
    """
    if rate == target_rate:
        return np.asarray(waveform, np.float32)
    from scipy import signal  # Imported here: only files at another rate need it.
    g = math.gcd(int(rate), int(target_rate))
    out = signal.resample_poly(np.asarray(waveform, np.float64), target_rate // g, rate // g)
    return out.astype(np.float32)


# Digital silence: a run of at least this many exactly-zero samples (2 ms at
# 16 kHz). Real audio crosses zero only at isolated samples; such runs come
# from editing or gating, and the model would take them for padding.
SILENCE_RUN = 32
# Dither that replaces it: uniform in +-1 LSB of 16-bit audio, ~ -98 dBFS.
DITHER_AMPLITUDE = 2.0 ** -15


def dither_values(n):
    """(n,) float32 dither for samples 0..n-1: a fixed integer hash of the index.

    A hash rather than a random generator: the same values in every process
    and pipeline, with no seed to carry (`speaker_norm` measures its floor on them).
    """
    i = np.arange(n, dtype="int64")
    h = (i * 1103515245 + 12345) % (1 << 31)
    return ((h.astype("float64") / (1 << 30) - 1.0) * DITHER_AMPLITUDE).astype("float32")


def digital_silence(waveform, run=SILENCE_RUN):
    """(n,) bool: samples inside a run of at least `run` exactly-zero samples."""
    zero = np.concatenate([[0], np.cumsum(np.asarray(waveform) == 0)])
    n = len(waveform)
    if n < run:
        return np.zeros(n, bool)
    full = (zero[run:] - zero[:-run]) == run  # window [i, i + run) all zero
    starts = np.concatenate([[0], np.cumsum(full)])
    # Sample j is covered when a full window starts in (j - run, j].
    j = np.arange(n)
    return (starts[np.minimum(j + 1, len(full))] - starts[np.maximum(j - run + 1, 0)]) > 0


def fill_digital_silence(waveform):
    """Replaces digital silence with 1-LSB dither, so that only padding is exactly zero.

    The model takes a frame whose samples are all exactly zero for padding
    and leaves it out of its statistics (`layers/spectrogram.py`); a run of
    zeros inside a recording is quiet audio, not padding. Applied wherever
    audio is decoded, for training, scoring and predict alike.
    """
    waveform = np.asarray(waveform, "float32")
    silent = digital_silence(waveform)
    if not silent.any():
        return waveform
    return np.where(silent, dither_values(len(waveform)), waveform).astype("float32")


def load_audio(path, target_rate=16000):
    """Reads a WAV or FLAC file as mono float32 at `target_rate`, ready for the model.

    Channels are averaged (a stereo mix-down) before resampling, the
    result is clipped to [-1, 1], the range the model saw in training, and
    its digital silence is dithered (`fill_digital_silence`).

    Args:
        path: str or path-like. The file.
        target_rate: int. The model's sample rate. Defaults to 16000.

    Returns:
        float32 `(resampled_length(frames, rate, target_rate),)` array.

    Raises:
        AudioError: see `read_audio`; also NaN or infinite samples.
    """
    samples, rate = read_audio(path)
    return prepare_waveform(samples, rate, target_rate)


def prepare_waveform(samples, rate, target_rate=16000):
    """Samples as stored -> the model's input: mono, resampled, clipped, dithered.

    What `load_audio` does after reading, for audio that is already in
    memory (an app's microphone buffer).

    Args:
        samples: float `(n,)` or `(n, channels)` array in [-1, 1].
        rate: int. Its sample rate in hertz.
        target_rate: int. The model's sample rate. Defaults to 16000.

    Returns:
        float32 `(resampled_length(n, rate, target_rate),)` array.

    Raises:
        AudioError: no samples, NaN or infinite samples, or a bad rate.
    """
    samples = np.asarray(samples)
    if samples.ndim not in (1, 2) or samples.shape[0] == 0:
        raise AudioError(f"expected (n,) or (n, channels) samples, got shape {samples.shape}")
    if not (isinstance(rate, (int, np.integer)) or float(rate).is_integer()) or rate <= 0:
        raise AudioError(f"sample rate {rate!r}: expected a positive whole number of hertz")
    if not MIN_RATE_HZ <= rate <= MAX_RATE_HZ:
        raise AudioError(f"sample rate {rate} Hz: expected {MIN_RATE_HZ}-{MAX_RATE_HZ} Hz")
    if samples.ndim == 2 and not samples.shape[1] <= MAX_CHANNELS:
        raise AudioError(f"{samples.shape[1]} channels: expected (n,) or (n, channels) samples "
                         f"with at most {MAX_CHANNELS} channels (a transposed array?)")
    mono = samples if samples.ndim == 1 else samples.mean(axis=1)
    if not np.all(np.isfinite(mono)):
        raise AudioError("NaN or infinite samples")
    return fill_digital_silence(np.clip(resample(mono, int(rate), target_rate), -1.0, 1.0))


# What neither training nor scoring takes. One set of rules, so that predict
# refuses what the corpus loaders skip (`corpora/corpus.check_audio`), with
# the same reasons.

# Every sample within this many 16-bit steps of 0 (-90 dBFS): a silent file,
# its spectrogram all floor, so a label on it (or a prediction) is noise.
SILENCE_PEAK = 1
# A sample at or beyond this level is at full scale (a 16-bit file's top
# step is 0.99997). The development corpora hold at most 0.03 % such samples
# per file (RAVDESS dev, ASED dev); a file with more than `MAX_CLIPPED_SHARE`
# of them is distorted beyond anything the model learnt from, or a float file
# stored at the wrong scale, which decoding would clip.
CLIP_LEVEL = 0.999
MAX_CLIPPED_SHARE = 0.05


@dataclasses.dataclass
class Levels:
    """Running sample statistics of a file, gathered block by block."""

    n: int = 0
    nonfinite: bool = False
    peak: float = 0.0
    clipped: int = 0

    def add(self, samples):
        samples = np.abs(np.asarray(samples))
        self.n += samples.size
        if not np.all(np.isfinite(samples)):
            self.nonfinite = True
            return
        if samples.size:
            self.peak = max(self.peak, float(samples.max()))
            self.clipped += int(np.count_nonzero(samples >= CLIP_LEVEL))

    def problem(self, encoding):
        """Why samples with these levels can be neither learnt from nor scored, or None."""
        if self.nonfinite:
            return (f"{encoding.replace('float', '')}-bit float WAV with NaN or infinite samples, "
                    "which would poison training and scoring; re-export the recording from its "
                    "source, or remove it")
        if self.peak <= SILENCE_PEAK / 32768.0:
            return (f"silent: every sample is within {SILENCE_PEAK} step(s) of 0, so there is "
                    "nothing to learn from or score; check the recording, or remove it")
        share = self.clipped / max(self.n, 1)
        if share > MAX_CLIPPED_SHARE:
            scale = f" (peak {self.peak:.3g}: stored at the wrong scale?)" if self.peak > 1.001 \
                else ""
            return (f"clipped: {share:.0%} of the samples are at full scale{scale}, distorted "
                    "beyond what the model learns from; record or export it again at a lower "
                    "level, or remove it")
        return None


def sample_levels(samples):
    """`Levels` of samples in memory (any shape)."""
    levels = Levels()
    levels.add(samples)
    return levels


def check_contents(path, info, samples=True):
    """Raises `AudioError` if a readable file cannot be trained on or scored.

    No samples, a copy cut short, and (with `samples`) NaN or infinite,
    silent or clipped samples. The samples are read in blocks: memory stays
    at one block whatever the file's length.
    """
    rate = info.sample_rate
    if info.frames == 0:
        raise AudioError("no audio samples (empty data chunk); export the recording again")
    if info.available_frames < info.frames:
        raise AudioError(f"truncated: the header promises {info.frames / rate:.2f} s of audio "
                         f"but the file ends after {info.available_frames / rate:.2f} s; "
                         "copy it again")
    if samples:
        levels = Levels()
        for block in read_blocks(path, 1 << 18, info):
            levels.add(block)
        reason = levels.problem(info.encoding)
        if reason is not None:
            raise AudioError(reason)


def load_checked(path, target_rate=16000):
    """`load_audio` of a file that training's rules accept (`check_contents`), read once.

    For predict: a file the corpus loaders would skip gets their reason
    instead of a label.

    Raises:
        AudioError: see `audio_info`, `check_contents` and `prepare_waveform`.
    """
    info = audio_info(path)
    check_contents(path, info, samples=False)
    samples, rate = read_audio(path, info)
    reason = sample_levels(samples).problem(info.encoding)  # The rule of `check_contents`.
    if reason is not None:
        raise AudioError(reason)
    return prepare_waveform(samples, rate, target_rate)


def checked_info(path):
    """`audio_info`, then `check_contents`: the header of a file fit to score.

    Raises:
        AudioError: see `audio_info` and `check_contents`.
    """
    info = audio_info(path)
    check_contents(path, info)
    return info


# Long recordings: read and resample in blocks, never the whole file.

def read_blocks(path, block_frames, info=None):
    """Yields a WAV or FLAC file's samples as stored, `block_frames` frames at a time.

    The streaming form of `read_audio`, for recordings too long to hold:
    memory stays at one block whatever the file's length.

    Args:
        path: str or path-like.
        block_frames: int. Frames per block (the last one may be shorter).
        info: its `AudioInfo`, if already read.

    Yields:
        float `(<= block_frames, n_channels)` arrays, as `read_audio` returns.

    Raises:
        AudioError: see `audio_info`; also a file without samples.
    """
    info = info or audio_info(path)
    block_frames = int(block_frames)
    if info.container == "flac":
        sf = _soundfile()
        try:
            with sf.SoundFile(str(path)) as f:
                empty = True
                while True:
                    block = f.read(block_frames, dtype="float32", always_2d=True)
                    if not len(block):
                        break
                    empty = False
                    yield block
        except (RuntimeError, sf.LibsndfileError) as e:
            raise AudioError(f"unreadable FLAC file ({e}); copy it again or re-encode "
                             "it") from None
        if empty:
            raise AudioError("no audio samples")
        return
    frames = min(info.frames, info.available_frames)
    if frames == 0:
        raise AudioError("no audio samples")
    width = int(info.encoding[len(info.encoding.rstrip("0123456789")):]) // 8
    with open(path, "rb") as f:
        f.seek(info.data_offset)
        for start in range(0, frames, block_frames):
            n = min(block_frames, frames - start)
            raw = f.read(n * info.channels * width)
            yield _decode_pcm(raw, info.encoding).reshape(-1, info.channels)


class StreamResampler:
    """`resample` over a signal that comes in blocks, with the whole-signal result.

    Each output block is `resample_poly` of an input stretch that starts on a
    multiple of the down-sampling factor (so output samples fall on the same
    grid as the whole signal's) with `margin` input samples of context on
    each side, wider than the filter's half-length: the output equals the
    whole signal's to float rounding. Memory: one block plus the margins.

    Args:
        rate: int. The input's sample rate in hertz.
        target_rate: int. The rate wanted.
        chunk: int. Input samples resampled per call of `resample_poly`
            (rounded up to a multiple of the down-sampling factor).
    """

    def __init__(self, rate, target_rate, chunk=1 << 16):
        g = math.gcd(int(rate), int(target_rate))
        self.rate, self.target_rate = int(rate), int(target_rate)
        self.up, self.down = self.target_rate // g, self.rate // g
        # resample_poly's filter has 10 * max(up, down) taps each side at the
        # up-sampled rate: that many / up input samples, plus some slack.
        half = -(-10 * max(self.up, self.down) // self.up) + 16
        self.margin = -(-half // self.down) * self.down
        self.chunk = -(-int(chunk) // self.down) * self.down
        self._x = np.zeros(0, np.float64)  # input from global index self._x0 on
        self._x0 = 0
        self._done = 0  # input resampled so far (a multiple of down)

    def _resample(self, start, stop, emit_stop):
        """Output for input [self._done, emit_stop), from input [start, stop)."""
        from scipy import signal
        seg = self._x[start - self._x0:stop - self._x0]
        y = signal.resample_poly(seg, self.up, self.down)
        first = (self._done - start) * self.up // self.down
        last = len(y) if emit_stop is None else (emit_stop - start) * self.up // self.down
        return y[first:last].astype(np.float32)

    def push(self, x):
        """Takes the next input samples (1-D); returns the output ready so far."""
        if self.up == self.down:
            return np.asarray(x, np.float32)
        self._x = np.concatenate([self._x, np.asarray(x, np.float64)])
        outs = []
        end = self._x0 + len(self._x)
        while end - self._done >= self.chunk + self.margin:
            start = max(self._done - self.margin, 0)
            stop = self._done + self.chunk
            outs.append(self._resample(start, stop + self.margin, stop))
            self._done = stop
            keep = self._done - self.margin - self._x0
            if keep > 0:
                self._x, self._x0 = self._x[keep:], self._x0 + keep
        return np.concatenate(outs) if outs else np.zeros(0, np.float32)

    def flush(self):
        """The rest of the output, once the input has ended."""
        if self.up == self.down:
            return np.zeros(0, np.float32)
        end = self._x0 + len(self._x)
        if end <= self._done:
            return np.zeros(0, np.float32)
        out = self._resample(max(self._done - self.margin, 0), end, None)
        self._done = end
        return out


def stream_audio(path, target_rate=16000, block_s=30.0, info=None):
    """Yields a file as the model's input in blocks: mono, resampled, clipped.

    `load_audio` in pieces of about `block_s` seconds, for recordings too long
    to hold; digital silence is not dithered here (the caller dithers what it
    cuts, e.g. each window of a timeline).

    Args:
        path: str or path-like.
        target_rate: int. The model's sample rate. Defaults to 16000.
        block_s: float. Seconds read per block.
        info: its `AudioInfo`, if already read.

    Yields:
        float32 1-D arrays; together `resampled_length(frames, rate,
        target_rate)` samples.

    Raises:
        AudioError: see `read_blocks`; also NaN or infinite samples.
    """
    info = info or audio_info(path)
    resampler = StreamResampler(info.sample_rate, target_rate)
    for block in read_blocks(path, max(int(block_s * info.sample_rate), 1), info):
        mono = block.mean(axis=1)
        if not np.all(np.isfinite(mono)):
            raise AudioError("NaN or infinite samples")
        out = resampler.push(mono)
        if len(out):
            yield np.clip(out, -1.0, 1.0)
    out = resampler.flush()
    if len(out):
        yield np.clip(out, -1.0, 1.0)
