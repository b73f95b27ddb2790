"""What every corpus loader returns: utterances with speaker, gender and label.

Loaders never import TensorFlow: they read folder trees and label files and
hand a `Corpus` to the input pipeline (`adarl_tf.pipelines`) or to tests.
"""

import dataclasses
import wave
from typing import Optional

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
    """

    name: str
    utterances: list
    speakers: list
    skipped: list = dataclasses.field(default_factory=list)
    excluded_labels: dict = dataclasses.field(default_factory=dict)

    def gender_of(self, speaker):
        for utt in self.utterances:
            if utt.speaker == speaker:
                return utt.gender
        raise KeyError(speaker)

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
                        {"id": s, "gender": self.gender_of(s), "fold": i}
                        for i, s in enumerate(self.speakers)
                ],
                "excluded_labels": dict(sorted(self.excluded_labels.items())),
                "skipped": list(self.skipped),
        }


def check_wav(path, sample_rate=16000):
    """Reads a WAV header; returns (duration_s, None) or (None, reason).

    The reason names the problem and the fix, so that it can go straight into
    `data_report.json` and the warning printed for skipped files.
    """
    try:
        with wave.open(str(path), "rb") as f:
            rate, channels = f.getframerate(), f.getnchannels()
            width, frames = f.getsampwidth(), f.getnframes()
    except FileNotFoundError:
        return None, "file not found"
    except (wave.Error, EOFError, OSError) as e:
        return None, f"not a readable PCM WAV file ({e}); re-encode it as 16-bit PCM WAV"
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
        return None, "no audio samples (empty file)"
    return frames / rate, None
