"""Emotion over time in a long recording: windows, speech marking, CSV/JSON, a plot.

  python -m adarl_tf.predict --model=M --timeline --hop_s=1.0 --plot=t.png meeting.wav

A timeline scores one model segment (`segment_s`, the window) every `hop_s`
seconds; the last window ends at the end of the file. Each window is scored
as `Recognizer.predict_waveform` scores its samples (one segment, so no tail
rule), with the recognizer's speaker statistics. Windows without speech are
marked and not scored.

Speech: an energy rule (`SpeechRule`), relative to the file's own level so
that it holds for quiet and loud recordings alike. BUILD.md ("Timeline")
says why not a VAD package. It tells speech from silence and quiet
background, not from loud non-speech sound (music, a fan): such windows are
scored as speech.

Memory stays bounded: the file is read twice in blocks (`audio.read_blocks`),
never whole: once at its own rate for the frame levels (one float per 20 ms
frame is kept), once resampled (`audio.stream_audio`) to cut and score the
speech windows. Only the scores of the windows are kept.
"""

import dataclasses
import math
from typing import Optional, Tuple

import numpy as np

TIMELINE_FORMAT = "adarl_tf.timeline"
TIMELINE_VERSION = 1
_BATCH = 16  # Windows per runner call.


class TimelineError(ValueError):
    """A recording that gives no timeline; the message says why."""


@dataclasses.dataclass(frozen=True)
class SpeechRule:
    """Which windows hold speech: frames near the file's speech level, enough of them."""

    frame_ms: float = 20.0  # Frame of the level measure (RMS of the mono mix).
    reference_percentile: float = 99.0  # The file's speech level: this percentile of frame
    # levels (a click or a cough, under 1 % of the frames, does not set it).
    range_db: float = 35.0  # Speech frames: within this many dB of that level,
    floor_dbfs: float = -65.0  # and above this absolute level (dB re full scale).
    min_speech_share: float = 0.1  # A window holds speech if this share of its frames do.


@dataclasses.dataclass(frozen=True)
class Window:
    """One window of a timeline.

    Attributes:
        start_s, end_s: float. Its place in the file, seconds.
        speech: bool. Whether it holds speech (`SpeechRule`).
        speech_share: float. Share of its frames that are speech.
        label: str or None. The most probable class; None without speech.
        probabilities: tuple of floats (the timeline's `labels` order) or
            None: not scored, no speech.
    """

    start_s: float
    end_s: float
    speech: bool
    speech_share: float
    label: Optional[str] = None
    probabilities: Optional[Tuple[float, ...]] = None


@dataclasses.dataclass(frozen=True)
class Timeline:
    """A file's timeline; writes and reads its JSON and CSV forms.

    Attributes:
        file: str. The recording.
        labels: tuple of class names.
        duration_s: float. The recording's length at the model's rate.
        window_s, hop_s: float. Window length (the model's segment) and step.
        speaker_stats: str or None. See `recognizer.Prediction`.
        rule: `SpeechRule` used.
        windows: tuple of `Window`.
    """

    file: str
    labels: Tuple[str, ...]
    duration_s: float
    window_s: float
    hop_s: float
    speaker_stats: Optional[str]
    rule: SpeechRule
    windows: Tuple[Window, ...]

    def to_dict(self):
        """The JSON form (`--timeline --json`)."""
        return {
            "format": TIMELINE_FORMAT, "version": TIMELINE_VERSION, "file": self.file,
            "labels": list(self.labels), "duration_s": round(self.duration_s, 3),
            "window_s": self.window_s, "hop_s": self.hop_s,
            "speaker_stats": self.speaker_stats, "speech_rule": dataclasses.asdict(self.rule),
            "windows": [{"start_s": w.start_s, "end_s": w.end_s, "speech": w.speech,
                         "speech_share": w.speech_share, "label": w.label,
                         "probabilities": None if w.probabilities is None else
                         {l: p for l, p in zip(self.labels, w.probabilities)}}
                        for w in self.windows]}

    @classmethod
    def from_dict(cls, d):
        """Reads `to_dict`'s form back.

        Raises:
            TimelineError: not a timeline, or another version.
        """
        if not isinstance(d, dict) or d.get("format") != TIMELINE_FORMAT:
            raise TimelineError(f"not a timeline (no \"format\": \"{TIMELINE_FORMAT}\")")
        if d.get("version") != TIMELINE_VERSION:
            raise TimelineError(f"a timeline of version {d.get('version')!r}; this adarl_tf "
                                f"reads version {TIMELINE_VERSION}")
        labels = tuple(d["labels"])
        windows = tuple(Window(w["start_s"], w["end_s"], w["speech"], w["speech_share"],
                               w["label"], None if w["probabilities"] is None else
                               tuple(w["probabilities"][l] for l in labels))
                        for w in d["windows"])
        return cls(d["file"], labels, d["duration_s"], d["window_s"], d["hop_s"],
                   d["speaker_stats"], SpeechRule(**d["speech_rule"]), windows)

    def csv_header(self):
        return ["start_s", "end_s", "speech", "speech_share", "label", *self.labels]

    def csv_rows(self):
        """One row per window: speech 1/0; label and probabilities empty without speech."""
        for w in self.windows:
            probs = [""] * len(self.labels) if w.probabilities is None else \
                [f"{p:.6f}" for p in w.probabilities]
            yield [f"{w.start_s:.3f}", f"{w.end_s:.3f}", int(w.speech),
                   f"{w.speech_share:.3f}", w.label or "", *probs]

    def speech_windows(self):
        return [w for w in self.windows if w.speech]


def window_starts(n_samples, window, hop):
    """Start samples of the windows of an `n_samples` signal (n_samples >= window).

    Every `hop` samples while a whole window fits, and one more ending at the
    end of the signal if the last one stops short of it.
    """
    starts = list(range(0, n_samples - window + 1, hop))
    if starts[-1] + window < n_samples:
        starts.append(n_samples - window)
    return starts


def frame_levels(path, rule, info, block_s=30.0):
    """dB (re full scale) RMS level of each whole `rule.frame_ms` frame of the mono mix.

    Read in blocks of about `block_s` seconds at the file's own rate; returns
    float32, one per frame.
    """
    from adarl_tf.audio import AudioError, read_blocks
    frame = max(int(round(info.sample_rate * rule.frame_ms / 1000.0)), 1)
    levels, carry = [], np.zeros(0, np.float64)
    frames_per_block = max(int(round(block_s * 1000.0 / rule.frame_ms)), 1)
    for block in read_blocks(path, frame * frames_per_block, info):
        mono = np.concatenate([carry, block.mean(axis=1, dtype=np.float64)])
        if not np.all(np.isfinite(mono)):
            raise AudioError("NaN or infinite samples")
        whole = len(mono) // frame * frame
        power = np.mean(np.square(mono[:whole]).reshape(-1, frame), axis=1)
        levels.append((10.0 * np.log10(np.maximum(power, 1e-12))).astype(np.float32))
        carry = mono[whole:]
    return np.concatenate(levels) if levels else np.zeros(0, np.float32)


def speech_frames(levels, rule):
    """(frames,) bool: the frames `rule` takes for speech."""
    if not len(levels):
        return np.zeros(0, bool)
    reference = float(np.percentile(levels, rule.reference_percentile))
    return levels >= max(reference - rule.range_db, rule.floor_dbfs)


def speech_share(speech, start_s, end_s, frame_ms):
    """Share of the whole frames within [start_s, end_s) that are speech."""
    first = int(math.ceil(start_s * 1000.0 / frame_ms - 1e-9))
    last = min(int(math.floor(end_s * 1000.0 / frame_ms + 1e-9)), len(speech))
    return float(speech[first:last].mean()) if last > first else 0.0


def score_file(recognizer, path, hop_s=1.0, rule=SpeechRule(), block_s=30.0):
    """The `Timeline` of a file (see the module docstring).

    Args:
        recognizer: `recognizer.Recognizer`.
        path: str or path-like. WAV or FLAC.
        hop_s: float. Seconds between window starts (> 0).
        rule: `SpeechRule`.
        block_s: float. Seconds of audio read at a time.

    Returns:
        `Timeline`.

    Raises:
        ValueError: hop_s <= 0.
        adarl_tf.audio.AudioError, OSError: the file cannot be read, or
            training's rules refuse it (`audio.check_contents`).
        TimelineError: shorter than one window, or no window holds speech.
    """
    from adarl_tf.audio import (
        AudioError,
        checked_info,
        fill_digital_silence,
        resampled_length,
        stream_audio,
    )
    if not hop_s > 0:
        raise ValueError(f"hop_s={hop_s!r}: expected a positive number of seconds")
    info = checked_info(path)  # Training's rules (truncated, silent, clipped, ...) first.
    rate = recognizer.sample_rate_hz
    window, hop = recognizer.runner.segment_samples, max(int(round(hop_s * rate)), 1)
    n = resampled_length(info.frames, info.sample_rate, rate)
    if n < window:
        raise TimelineError(f"{n / rate:.2f} s long, shorter than one window "
                            f"({window / rate:g} s, the model's segment); score it with "
                            "predict without --timeline")
    # Pass 1: which windows hold speech.
    speech = speech_frames(frame_levels(path, rule, info, block_s), rule)
    starts = window_starts(n, window, hop)
    shares = [speech_share(speech, s / rate, (s + window) / rate, rule.frame_ms) for s in starts]
    flags = [share >= rule.min_speech_share for share in shares]
    if not any(flags):
        raise TimelineError(
            "no speech found (no window has " f"{rule.min_speech_share:.0%} of its frames "
            f"within {rule.range_db:g} dB of the file's level and above "
            f"{rule.floor_dbfs:g} dBFS); nothing to score")
    # Pass 2: cut the speech windows from the resampled stream and score them.
    todo = [s for s, f in zip(starts, flags) if f]
    probs, batch = [], []
    buf, buf0, i = np.zeros(0, np.float32), 0, 0
    for block in stream_audio(path, rate, block_s, info):
        buf = np.concatenate([buf, block])
        while i < len(todo) and todo[i] + window <= buf0 + len(buf):
            cut = buf[todo[i] - buf0:todo[i] - buf0 + window]
            batch.append(fill_digital_silence(cut))
            i += 1
            if len(batch) == _BATCH:
                probs.append(recognizer.score_windows(batch))
                batch = []
        # Keep from the next window's start (all of it if that is not read yet).
        keep_from = len(buf) if i == len(todo) else min(todo[i] - buf0, len(buf))
        buf, buf0 = buf[keep_from:], buf0 + keep_from
    if i < len(todo):
        raise AudioError("the file ended before its header said")  # pragma: no cover
    if batch:
        probs.append(recognizer.score_windows(batch))
    scored = iter(np.concatenate(probs))
    windows = []
    for s, f, share in zip(starts, flags, shares):
        p = next(scored) if f else None
        windows.append(Window(
            round(s / rate, 3), round((s + window) / rate, 3), f, round(share, 3),
            None if p is None else recognizer.labels[int(np.argmax(p))],
            None if p is None else tuple(round(float(x), 6) for x in p)))
    return Timeline(str(path), tuple(recognizer.labels), n / rate, window / rate, float(hop_s),
                    recognizer.speaker_stats_source, rule, tuple(windows))


def timeline_figure(timeline):
    """Class probabilities over time (window centres), speech regions shaded.

    Each speech window shades `hop_s` around its centre; windows without
    speech leave gaps in the lines. Returns a matplotlib `Figure` (Agg, no
    pyplot).
    """
    from matplotlib.figure import Figure
    fig = Figure(figsize=(max(6.0, min(timeline.duration_s / 20.0, 24.0)), 3.5), dpi=100)
    ax = fig.add_subplot()
    centres = np.array([(w.start_s + w.end_s) / 2 for w in timeline.windows])
    probs = np.array([w.probabilities if w.probabilities is not None
                      else [np.nan] * len(timeline.labels) for w in timeline.windows])
    half = min(timeline.hop_s, timeline.window_s) / 2
    spans = []
    for c, w in zip(centres, timeline.windows):
        if not w.speech:
            continue
        lo, hi = max(c - half, 0.0), min(c + half, timeline.duration_s)
        if spans and lo <= spans[-1][1] + 1e-9:
            spans[-1][1] = hi
        else:
            spans.append([lo, hi])
    for k, (lo, hi) in enumerate(spans):
        ax.axvspan(lo, hi, color="0.9", zorder=0, label="speech" if k == 0 else None)
    for j, label in enumerate(timeline.labels):
        ax.plot(centres, probs[:, j], marker="." if len(centres) < 200 else None,
                linewidth=1.2, label=label)
    ax.set_xlim(0.0, timeline.duration_s)
    ax.set_ylim(0.0, 1.0)
    ax.set_xlabel("time (s), window centres")
    ax.set_ylabel("probability")
    ax.set_title(f"{timeline.file}: {timeline.window_s:g} s windows every "
                 f"{timeline.hop_s:g} s", fontsize=9)
    ax.legend(loc="upper right", fontsize=7, ncol=len(timeline.labels) + 1)
    fig.tight_layout()
    return fig


def write(timeline, out=None, as_json=False, plot=None):
    """Writes a timeline (CSV, or JSON) to `out` and its plot to `plot`, each atomically.

    Everything is rendered before anything is written. Returns the CSV or
    JSON text when `out` is None (the caller prints it).
    """
    import csv
    import io
    import json

    from adarl_tf import files
    if as_json:
        text = json.dumps(timeline.to_dict(), indent=2) + "\n"
    else:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(timeline.csv_header())
        writer.writerows(timeline.csv_rows())
        text = buffer.getvalue()
    png = None
    if plot is not None:
        from adarl_tf.plots import figure_to_png
        png = figure_to_png(timeline_figure(timeline))
    if png is not None:
        with files.atomic_path(plot) as tmp:
            tmp.write_bytes(png)
    if out is None:
        return text
    files.write_text(out, text)
    return None
