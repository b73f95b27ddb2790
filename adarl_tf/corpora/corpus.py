"""What every corpus loader returns: utterances with speaker, gender and label.

Loaders never import TensorFlow: they read folder trees and label files and
hand a `Corpus` to the input pipeline (`adarl_tf.pipelines`) or to tests.
"""

import dataclasses
import os
import wave
from typing import Optional

import numpy as np

# The paper's four classes, in the order used for class indices everywhere
# (logits, confusion matrices, predictions.csv columns).
EMOTIONS = ("neutral", "happy", "sad", "angry")
# Domain values for the paper's domain, gender, in index order.
GENDERS = ("F", "M")


@dataclasses.dataclass(frozen=True)
class Utterance:
    """One labelled recording.

    Attributes:
        name: utterance id, unique within the corpus (e.g. `Ses01F_impro01_F000`).
        path: absolute path of the 16 kHz mono WAV file.
        speaker: speaker id (e.g. `Ses01F`); folds are built from it.
        gender: `"F"` or `"M"`, the domain label of the paper.
        label: emotion name from `EMOTIONS`, or None for domain-only data.
        duration_s: length in seconds, read from the WAV header.
    """

    name: str
    path: str
    speaker: str
    gender: str
    label: Optional[str]
    duration_s: float


@dataclasses.dataclass
class Corpus:
    """Utterances kept, what was left out and why, and the speaker order.

    Attributes:
        name: human-readable corpus name; reports print it verbatim (the demo
            corpus calls itself "synthetic demo corpus").
        utterances: the utterances kept, in a stable order.
        speakers: speaker ids in fold order (fold `i` tests `speakers[i]`).
        skipped: `{"path": ..., "reason": ...}` for every file or label line that
            was not used, so nothing disappears silently.
        excluded_labels: counts of labelled utterances outside the class set
            (e.g. `{"fru": 1849}`), kept apart from `skipped` since they are not
            errors.
        unlabelled_wavs: paths of audio files that no label line names; not
            errors (nothing to train on), counted in the report.
        speaker_genders: {speaker: gender} for speakers that may have no
            utterance left (a fold emptied by the filters keeps its index).
    """

    name: str
    utterances: list
    speakers: list
    skipped: list = dataclasses.field(default_factory=list)
    excluded_labels: dict = dataclasses.field(default_factory=dict)
    unlabelled_wavs: list = dataclasses.field(default_factory=list)
    speaker_genders: dict = dataclasses.field(default_factory=dict)

    def gender_of(self, speaker):
        if speaker in self.speaker_genders:
            return self.speaker_genders[speaker]
        for utt in self.utterances:
            if utt.speaker == speaker:
                return utt.gender
        raise KeyError(speaker)

    def empty_speakers(self):
        """Speakers in the fold order with no emotion-labelled utterance left."""
        labelled = {u.speaker for u in self.utterances if u.label is not None}
        return [s for s in self.speakers if s not in labelled]

    def counts(self):
        """{speaker: {label: n}} over the kept utterances, labels in EMOTIONS order."""
        counts = {s: {e: 0 for e in EMOTIONS} for s in self.speakers}
        for utt in self.utterances:
            if utt.label is not None:
                counts[utt.speaker][utt.label] += 1
        return counts

    def report(self):
        """The JSON-ready data report (`data_report.json`)."""
        return {
                "corpus": self.name,
                "n_utterances": len(self.utterances),
                "counts": self.counts(),
                "label_totals": {
                        e: sum(1 for u in self.utterances if u.label == e) for e in EMOTIONS
                },
                "speakers": [
                        {"id": s, "gender": self.gender_of(s), "fold": i,
                         "n_utterances": sum(1 for u in self.utterances if u.speaker == s)}
                        for i, s in enumerate(self.speakers)
                ],
                "empty_folds": [self.speakers.index(s) for s in self.empty_speakers()],
                "duration_s": _duration_stats(self.utterances),
                "excluded_labels": dict(sorted(self.excluded_labels.items())),
                # Not errors: audio that no label line names (first few listed).
                "unlabelled_wavs": {"count": len(self.unlabelled_wavs),
                                    "first": sorted(self.unlabelled_wavs)[:10]},
                "skipped": list(self.skipped),
        }


def _duration_stats(utterances):
    """Shortest, median and longest utterance, and how many are under 0.5 s.

    Very short files are kept (one zero-padded segment) and very long ones
    are cut into many segments; the extremes are here so neither goes
    unnoticed.
    """
    durations = np.array([u.duration_s for u in utterances], dtype="float64")
    if not len(durations):
        return {}
    return {"min": round(float(durations.min()), 3),
            "median": round(float(np.median(durations)), 3),
            "max": round(float(durations.max()), 3),
            "n_shorter_than_0.5": int(np.sum(durations < 0.5)),
            "total_hours": round(float(durations.sum()) / 3600, 3)}


# A file whose every sample is within this many steps of 0 (16-bit: -90 dBFS)
# is silent: its spectrogram is all floor, so a label on it is noise.
SILENCE_PEAK = 1
# The smallest header a PCM WAV can have: RIFF (12) + fmt (24) + data (8) bytes.
_MIN_HEADER_BYTES = 44
# IEEE-float WAVs (format 3) are what NaN or infinite samples come in.
_FLOAT_FORMAT = "unknown format: 3"


def check_wav(path, sample_rate=16000, check_silence=True):
    """Checks one WAV file; returns (duration_s, None) or (None, reason).

    Reads the header, compares the file size with what the header promises
    (a copy cut short), and, with `check_silence`, reads samples until the
    first one that is not silent: a normal file costs a few kilobytes, only a
    silent one is read to its end. The reason names the problem and the fix,
    so that it can go straight into `data_report.json` and the warning
    printed for skipped files.

    What is accepted on purpose: very short files (one zero-padded segment,
    see `DataConfig.min_tail_s`) and very long ones (cut into segments; a
    10-minute file is 19 MB). NaN or infinite samples cannot occur in the
    16-bit PCM accepted here; float WAVs, which can hold them, are rejected
    with the conversion to use.
    """
    path = str(path)
    try:
        size = os.path.getsize(path)
    except FileNotFoundError:
        return None, "file not found; restore it from the corpus release or remove its label line"
    except OSError as e:
        return None, f"cannot be read ({e.strerror}); check the file's permissions"
    if size == 0:
        return None, "empty file (0 bytes), probably an interrupted copy; copy it again"
    try:
        with wave.open(path, "rb") as f:
            rate, channels = f.getframerate(), f.getnchannels()
            width, frames = f.getsampwidth(), f.getnframes()
            if (rate, channels, width) == (sample_rate, 1, 2) and frames and check_silence \
                    and size >= _MIN_HEADER_BYTES + 2 * frames:
                silent = _is_silent(f)
            else:
                silent = False
    except (wave.Error, EOFError, OSError) as e:
        detail = str(e) or "the header is cut short"
        if detail == _FLOAT_FORMAT:
            return None, ("32-bit float WAV (it may hold NaN or infinite samples), expected "
                          "16-bit PCM; convert it (e.g. `sox in.wav -b 16 -e signed-integer "
                          "out.wav`)")
        return None, (f"not a readable PCM WAV file ({detail}); re-encode it as 16-bit PCM "
                      "WAV (e.g. `sox in -b 16 -e signed-integer out.wav`) or copy it again")
    if rate != sample_rate:
        return None, (f"sample rate {rate} Hz, expected {sample_rate} Hz; resample it "
                      f"(e.g. `sox in.wav -r {sample_rate} out.wav`)")
    if channels != 1:
        return None, (f"{channels} channels, expected mono; mix it down "
                      "(e.g. `sox in.wav -c 1 out.wav`)")
    if width != 2:
        return None, (f"{8 * width}-bit samples, expected 16-bit PCM; convert it "
                      "(e.g. `sox in.wav -b 16 out.wav`)")
    if frames == 0:
        return None, "no audio samples (empty data chunk); export the recording again"
    if size < _MIN_HEADER_BYTES + 2 * frames:
        held = max(size - _MIN_HEADER_BYTES, 0) / (2 * rate)
        return None, (f"truncated: the header promises {frames / rate:.2f} s of audio but the "
                      f"file ends after at most {held:.2f} s; copy it again")
    if silent:
        return None, (f"silent: every sample is within {SILENCE_PEAK} step(s) of 0, so there "
                      "is nothing to learn from; check the recording or remove its label line")
    return frames / rate, None


def _is_silent(wav_file):
    """True if no 16-bit sample of an open `wave` reader exceeds `SILENCE_PEAK`.

    Reads growing blocks and stops at the first loud one: normal recordings
    are decided by their first 1,024 samples.
    """
    block = 1024
    while True:
        data = wav_file.readframes(block)
        if not data:
            return True
        samples = np.frombuffer(data[:len(data) // 2 * 2], dtype="<i2")
        if np.any((samples > SILENCE_PEAK) | (samples < -SILENCE_PEAK)):
            return False
        block = min(block * 4, 1 << 20)
