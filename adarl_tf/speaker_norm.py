"""Speaker normalisation: per-speaker statistics of the log spectrogram, and profiles.

With `FrontendConfig.normalization="speaker"` the model normalises each
frequency row of each log spectrogram with the mean and standard deviation of
that row over the speaker's speech frames: the speaker's voice and recording
chain, the largest nuisance "domain" of the task, are divided out before the
network sees the input. The statistics are an input of the model
(`model.SPEAKER_STATS`), shape `frontend.stats_shape` = (mean | std, row,
spectrogram), never learnt weights:

  * training and scoring (`training.py`): every speaker's statistics come
    from that speaker's own audio, computed once per fold; never from labels.
    Training speakers use their training utterances; validation and test
    speakers their own utterances. Scores made this way use the test
    speakers' unlabelled audio (transductive, as many SER papers do); the
    results say so (`results.json` `uses_test_speaker_audio`).
  * inference (`predict`): a profile, the statistics of one person made from
    a few recordings (`--enrol`), saved as a small JSON file; without one, the
    pooled statistics of the training speakers, kept in the model
    (`Spectrogram.pooled_stats`).

Speech frames: frames that hold audio (not padding) and whose power is
within `SPEECH_RANGE_DB` of the utterance's loudest frame, so leading and
trailing silence do not drag the mean down, and `FLOOR_MARGIN_DB` above
dithered digital silence, so a silent recording has none. No TensorFlow import.
"""

import dataclasses
import json

import numpy as np

from adarl_tf.config import FrontendConfig

PROFILE_FORMAT = "adarl_tf.speaker_profile"
PROFILE_VERSION = 1
SPEECH_RANGE_DB = 40.0
# ... and at least this far above the frame power of 1-LSB dither (what decoded
# digital silence becomes), so that a silent recording has no speech at all.
FLOOR_MARGIN_DB = 20.0
# A profile needs this much speech: with less, the per-row statistics of a
# 400-row spectrogram are too noisy to normalise with.
MIN_SPEECH_S = 3.0
# An export folder's profile of the training speakers' pooled statistics: the default
# of a speaker-normalised model (`export/exporter.py` writes it, `recognizer.py` reads it).
POOLED_PROFILE = "pooled_profile.json"
_BATCH = 32  # Segments per frontend call.


class ProfileError(ValueError):
    """A speaker profile that cannot be used; the message names the file and the fix."""


_FIX = "make it again with `python -m adarl_tf.predict --model=<this model> --enrol ...`"


@dataclasses.dataclass
class Moments:
    """Running sums over speech frames, per (row, spectrogram): merge, then `stats`."""

    total: np.ndarray  # (rows, spectrograms) float64 sums
    squares: np.ndarray
    counts: np.ndarray  # (spectrograms,) speech frames: windows differ at the edges

    @classmethod
    def zeros(cls, frontend):
        shape = frontend.stats_shape[1:]
        return cls(np.zeros(shape), np.zeros(shape), np.zeros(shape[1:], "int64"))

    def __add__(self, other):
        return Moments(self.total + other.total, self.squares + other.squares,
                       self.counts + other.counts)

    @property
    def frames(self):
        """Speech frames (of the first window)."""
        return int(self.counts[0])

    def speech_seconds(self, frontend):
        return self.frames * frontend.hop_ms * 1e-3

    def stats(self):
        """(2, rows, spectrograms) float32: mean, then standard deviation."""
        n = np.maximum(self.counts, 1)
        mean = self.total / n
        std = np.sqrt(np.maximum(self.squares / n - mean * mean, 0.0))
        return np.stack([mean, std]).astype("float32")


_FRONTENDS = {}


def _frontend(frontend):
    """(model, floor_db) for `frontend`: the model maps (_BATCH, samples) to (log
    magnitudes, masks), per window stacked; floor_db is the speech floor above dither.

    A `keras.Model` so that `predict_on_batch` compiles it once for the fixed
    batch shape under any backend (eager calls were much slower under JAX; BUILD.md).
    """
    key = json.dumps(dataclasses.asdict(frontend), sort_keys=True)
    if key not in _FRONTENDS:
        import keras
        from keras import ops

        from adarl_tf.layers import Spectrogram

        class LogFrames(keras.Model):
            def __init__(self):
                super().__init__()
                self.spectrogram = Spectrogram(
                    dataclasses.replace(frontend, normalization="segment"))
                self.spectrogram.build((None, frontend.segment_samples))

            def call(self, waveform):
                out = self.spectrogram.log_spectrograms(waveform)
                return (ops.stack([log for log, _ in out], -1),
                        ops.stack([mask[..., 0] for _, mask in out], -1))

        model = LogFrames()
        from adarl_tf.audio import dither_values
        dither = np.tile(dither_values(frontend.segment_samples)[None], (_BATCH, 1))
        logs, _ = model.predict_on_batch(dither)
        floor_db = float(np.median(_power_db(np.asarray(logs, "float64"))))
        _FRONTENDS[key] = (model, floor_db + FLOOR_MARGIN_DB)
    return _FRONTENDS[key]


def _power_db(logs):
    """(..., frames, rows, spectrograms) log magnitudes -> (..., frames, spectrograms) dB."""
    return 10.0 * np.log10(np.exp(2.0 * logs).sum(axis=-2))


def _segments(waveform, segment_samples):
    """The whole waveform as zero-padded segments (every sample, once)."""
    k = max(-(-len(waveform) // segment_samples), 1)
    out = np.zeros(k * segment_samples, "float32")
    out[:len(waveform)] = waveform
    return out.reshape(k, segment_samples)


def waveform_moments(waveforms, frontend):
    """`Moments` of the speech frames of some waveforms (16 kHz float32 arrays)."""
    moments = Moments.zeros(frontend)
    chunk = []
    for w in waveforms:
        chunk.append(_segments(np.asarray(w, "float32"), frontend.segment_samples))
        if sum(len(c) for c in chunk) >= _BATCH:
            moments = moments + _chunk_moments(chunk, frontend)
            chunk = []
    return moments + _chunk_moments(chunk, frontend) if chunk else moments


def _chunk_moments(cut, frontend):
    """`Moments` of a few utterances, each given as its (k, samples) segments."""
    segments = np.concatenate(cut)
    n = len(segments)
    padded = np.zeros((-(-n // _BATCH) * _BATCH, segments.shape[1]), "float32")
    padded[:n] = segments
    model, floor_db = _frontend(frontend)
    outs = [model.predict_on_batch(padded[i:i + _BATCH]) for i in range(0, len(padded), _BATCH)]
    # (segments, frames, rows, spectrograms) and (segments, frames, spectrograms).
    logs = np.concatenate([np.asarray(o[0]) for o in outs])[:n].astype("float64")
    masks = np.concatenate([np.asarray(o[1]) for o in outs])[:n] > 0
    power_db = _power_db(logs)  # Frame power (rows summed), per spectrogram.
    moments = Moments.zeros(frontend)
    start = 0
    for k in (len(c) for c in cut):
        x, db, mask = logs[start:start + k], power_db[start:start + k], masks[start:start + k]
        start += k
        if not mask.any():
            continue
        loudest = np.where(mask, db, -np.inf).max(axis=(0, 1))
        speech = mask & (db >= np.maximum(loudest - SPEECH_RANGE_DB, floor_db))
        w = speech[:, :, None, :]
        moments.total += (x * w).sum(axis=(0, 1))
        moments.squares += (x * x * w).sum(axis=(0, 1))
        moments.counts += speech.sum(axis=(0, 1))
    return moments


def speaker_moments(utterances, frontend, decode):
    """{speaker: Moments} over each speaker's utterances; `decode(u)` gives a waveform."""
    by_speaker = {}
    for u in utterances:
        by_speaker.setdefault(u.speaker, []).append(u)
    return {speaker: waveform_moments([decode(u) for u in utts], frontend)
            for speaker, utts in sorted(by_speaker.items())}


def fold_statistics(groups, frontend, decode):
    """Per-speaker statistics for a fold, and the training speakers' pooled ones.

    Args:
        groups: dict name -> utterances, e.g. {"train": ..., "validation": ...,
            "test": ...}; each speaker's statistics come from its utterances in
            the one group it belongs to (the protocol keeps speakers apart).
            The group "train" gives the pooled statistics.
        frontend: FrontendConfig.
        decode: callable, utterance -> 16 kHz float32 waveform.

    Returns:
        (table {speaker: (2, rows, spectrograms) float32}, pooled array).
    """
    table, pooled = {}, Moments.zeros(frontend)
    for name, utterances in groups.items():
        for speaker, moments in speaker_moments(utterances, frontend, decode).items():
            if moments.frames == 0:
                raise ValueError(f"speaker {speaker!r} has no speech frames in its "
                                 f"{name} utterances; leave the speaker out")
            table[speaker] = moments.stats()
            if name == "train":
                pooled = pooled + moments
    return table, pooled.stats()


def per_utterance(utterances, table):
    """(n, 2, rows, spectrograms) float32: each utterance's speaker's statistics."""
    return np.stack([table[u.speaker] for u in utterances]).astype("float32")


def make_profile(waveforms, frontend, sources=()):
    """A profile dict from one person's recordings (at least `MIN_SPEECH_S` of speech)."""
    moments = waveform_moments(waveforms, frontend)
    seconds = moments.speech_seconds(frontend)
    if seconds < MIN_SPEECH_S:
        what = ", ".join(map(str, sources)) or "the recordings"
        raise ProfileError(f"{what}: {seconds:.1f} s of speech found, a profile needs at "
                           f"least {MIN_SPEECH_S:.0f} s; enrol more or longer recordings "
                           "of the speaker")
    return profile_dict(moments.stats(), frontend, round(seconds, 2), sources)


def profile_dict(stats, frontend, speech_seconds, sources):
    """A profile's content: `stats` (2, rows, spectrograms) for `frontend`.

    `speech_seconds` is None where it is not known (the pooled statistics
    that export writes from a model's `pooled_stats`).
    """
    return {"format": PROFILE_FORMAT, "version": PROFILE_VERSION,
            "frontend": dataclasses.asdict(frontend), "speech_seconds": speech_seconds,
            "sources": [str(s) for s in sources],
            "stats": np.asarray(stats, "float32").tolist()}


def save_profile(profile, path):
    from adarl_tf import files
    files.write_json(path, profile)


def load_profile(path, frontend):
    """The (2, rows, spectrograms) statistics of the profile at `path`, checked for `frontend`.

    Raises:
        ProfileError: unreadable, not a profile, or made for another frontend.
    """
    try:
        with open(path, encoding="utf-8") as f:
            profile = json.load(f)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ProfileError(f"{path}: not a readable speaker profile ({e}); {_FIX}") from None
    return check_profile(profile, frontend, path)


def check_profile(profile, frontend, path="the profile"):
    """The (2, rows, spectrograms) statistics of a profile dict, checked for `frontend`.

    Args:
        profile: a profile's content (`profile_dict`, `make_profile`).
        frontend: FrontendConfig of the model.
        path: what to call the profile in messages (its file).

    Raises:
        ProfileError: not a profile, or made for another frontend.
    """
    fix = _FIX
    if not isinstance(profile, dict) or profile.get("format") != PROFILE_FORMAT:
        raise ProfileError(f"{path}: not a speaker profile (no \"format\": "
                           f"\"{PROFILE_FORMAT}\"); {fix}")
    if profile.get("version") != PROFILE_VERSION:
        raise ProfileError(f"{path}: a speaker profile of version {profile.get('version')!r}, "
                           f"this adarl_tf reads version {PROFILE_VERSION}; {fix}")
    try:
        made_for = FrontendConfig.from_dict(profile["frontend"])
        stats = np.asarray(profile["stats"], "float32")
        seconds = profile["speech_seconds"]
        seconds = None if seconds is None else float(seconds)
    except (KeyError, TypeError, ValueError) as e:
        raise ProfileError(f"{path}: a damaged speaker profile ({e}); {fix}") from None
    if seconds is not None and not seconds >= MIN_SPEECH_S:
        raise ProfileError(f"{path}: made from {seconds:.1f} s of speech, a profile needs at "
                           f"least {MIN_SPEECH_S:.0f} s; {fix} with more or longer recordings")
    wanted = dataclasses.replace(frontend, normalization="speaker")
    made_for = dataclasses.replace(made_for, normalization="speaker")
    if made_for != wanted:
        differ = [k for k in dataclasses.asdict(wanted)
                  if getattr(made_for, k) != getattr(wanted, k)]
        raise ProfileError(f"{path}: made for another frontend ({', '.join(differ)} "
                           f"differ from this model's); {fix}")
    if stats.shape != frontend.stats_shape or not np.all(np.isfinite(stats)) \
            or np.any(stats[1] <= 0):
        raise ProfileError(f"{path}: statistics of shape {stats.shape}, expected "
                           f"{frontend.stats_shape} with finite values and positive "
                           f"standard deviations; {fix}")
    return stats
