"""What every corpus loader returns: utterances with speaker, domain metadata and label.

Loaders never import TensorFlow: they read folder trees and label files and
hand a `Corpus` to the input pipeline (`adarl_tf.pipelines`) or to tests.
A corpus carries its own class set (`Corpus.emotions`) and domain
(`Corpus.domain`, `Corpus.domain_values`); class and domain indices are
positions in those tuples everywhere (logits, confusion matrices,
predictions.csv columns).
"""

import dataclasses
import os
from typing import Optional

import numpy as np

from adarl_tf import audio

# The paper's four classes in index order: IEMOCAP's set, and the "default"
# class set of every corpus (`--emotions=default`), so results compare.
EMOTIONS = ("neutral", "happy", "sad", "angry")
# Domain values for the paper's domain, gender, in index order.
GENDERS = ("F", "M")
# The model's input rate; every file is resampled to it.
TARGET_RATE = 16000


@dataclasses.dataclass(frozen=True)
class Utterance:
    """One recording, labelled or domain-only.

    Attributes:
        name: utterance id, unique within the corpus (e.g. `Ses01F_impro01_F000`).
        path: absolute path of the audio file (WAV or FLAC, any rate).
        speaker: speaker id (e.g. `Ses01F`); folds are built from it.
        gender: `"F"` or `"M"`, the domain label of the paper.
        label: emotion name from the corpus's `emotions`, or None for
            domain-only data.
        duration_s: length in seconds, read from the file header.
        meta: further metadata columns usable as a domain (`--domain`), e.g.
            `{"corpus": "RAVDESS", "session": "1"}`. Values are strings.
        n_samples: samples at 16 kHz the pipeline decodes for this file (after
            resampling: `audio.resampled_length`); None = `duration_s` x 16 kHz.
            Segment counts in plain Python and in the graph both use it.
        fast_decode: True for 16 kHz mono 16-bit PCM WAV, which
            `tf.audio.decode_wav` reads in the graph; anything else goes
            through `audio.load_audio` (or tensorflow-io).
        tf_decodable: `tf.audio.decode_wav` reads the file (16-bit PCM WAV
            without odd-sized chunks, see `audio.AudioInfo.plain_chunks`), at
            whatever rate and channel count.
        source_rate: the file's sample rate in hertz.
        encoding: `<container>/<encoding>` of the file, e.g. "wav/pcm16",
            "wav/float32", "flac/pcm_16" (`audio.AudioInfo`); the pipeline picks
            its decoder by it.
    """

    name: str
    path: str
    speaker: str
    gender: str
    label: Optional[str]
    duration_s: float
    meta: dict = dataclasses.field(default_factory=dict, hash=False, compare=False)
    n_samples: Optional[int] = None
    fast_decode: bool = True
    tf_decodable: bool = True
    source_rate: int = TARGET_RATE
    encoding: str = "wav/pcm16"

    @property
    def samples_16k(self):
        """The 16 kHz sample count the pipeline decodes (see `n_samples`)."""
        if self.n_samples is not None:
            return int(self.n_samples)
        return int(round(self.duration_s * TARGET_RATE))

    def domain_value(self, domain="gender"):
        """The value of metadata column `domain` (`gender` is the field), or None."""
        if domain == "gender":
            return self.gender
        value = self.meta.get(domain)
        return None if value in (None, "") else str(value)

    def domain_index(self, domain, values):
        """Index of this utterance's `domain` value in `values`."""
        value = self.domain_value(domain)
        try:
            return values.index(value)
        except ValueError:
            raise ValueError(f"utterance {self.name} ({self.path}) has {domain}={value!r}, "
                             f"not one of the domain values {list(values)}") from None


@dataclasses.dataclass
class Corpus:
    """Utterances kept, what was left out and why, the class set, domain and folds.

    Attributes:
        name: human-readable corpus name; reports print it verbatim (the demo
            corpus calls itself "synthetic demo corpus").
        utterances: the utterances kept, in a stable order.
        speakers: speaker ids of the emotion-labelled data, in fold order
            (with LOSO, fold `i` tests `speakers[i]`). Speakers of domain-only
            data are not listed: they are never tested.
        skipped: `{"path": ..., "reason": ...}` for every file or label line that
            was not used, so nothing disappears silently.
        excluded_labels: counts of labelled utterances outside the class set
            (e.g. `{"fru": 1849}`), kept apart from `skipped` since they are not
            errors.
        unlabelled_wavs: paths of audio files that no label line names; not
            errors (nothing to train on), counted in the report.
        speaker_genders: {speaker: gender} for speakers that may have no
            utterance left (a fold emptied by the filters keeps its index).
        gender_code_disagreements: paths of files whose own gender code (in
            the name) disagrees with their speaker's gender, which is used
            instead (ASED: a speaker's gender is its files' majority). Not
            errors; listed in the report so the codes can be checked.
        emotions: class names in index order.
        domain: the metadata column that is the domain ("gender" by default).
        domain_values: the domain's values in index order.
        folds: lists of test speakers, one per fold; None = one fold per
            speaker in `speakers` order (leave one speaker out).
        protocol: how `folds` was built ("loso", "loso_session", "speaker_kfold").
    """

    name: str
    utterances: list
    speakers: list
    skipped: list = dataclasses.field(default_factory=list)
    excluded_labels: dict = dataclasses.field(default_factory=dict)
    unlabelled_wavs: list = dataclasses.field(default_factory=list)
    speaker_genders: dict = dataclasses.field(default_factory=dict)
    gender_code_disagreements: list = dataclasses.field(default_factory=list)
    emotions: tuple = EMOTIONS
    domain: str = "gender"
    domain_values: tuple = GENDERS
    folds: Optional[list] = None
    protocol: str = "loso"

    def gender_of(self, speaker):
        if speaker in self.speaker_genders:
            return self.speaker_genders[speaker]
        for utt in self.utterances:
            if utt.speaker == speaker:
                return utt.gender
        raise KeyError(speaker)

    def fold_list(self):
        """Test speakers of every fold, as lists (LOSO when `folds` is None)."""
        if self.folds is None:
            return [[s] for s in self.speakers]
        return [list(f) for f in self.folds]

    def domain_index(self, utterance):
        """The utterance's index in `domain_values`."""
        return utterance.domain_index(self.domain, self.domain_values)

    def empty_speakers(self):
        """Speakers in the fold order with no emotion-labelled utterance left."""
        labelled = {u.speaker for u in self.utterances if u.label is not None}
        return [s for s in self.speakers if s not in labelled]

    def empty_folds(self):
        """Indices of folds whose test speakers have no labelled utterance left."""
        empty = set(self.empty_speakers())
        return [i for i, f in enumerate(self.fold_list()) if all(s in empty for s in f)]

    def counts(self):
        """{speaker: {label: n}} over the kept labelled utterances, labels in class order."""
        counts = {s: {e: 0 for e in self.emotions} for s in self.speakers}
        for utt in self.utterances:
            if utt.label is not None:
                counts.setdefault(utt.speaker, {e: 0 for e in self.emotions})
                counts[utt.speaker][utt.label] += 1
        return counts

    def report(self):
        """The JSON-ready data report (`data_report.json`)."""
        fold_of = {s: i for i, f in enumerate(self.fold_list()) for s in f}
        labelled = [u for u in self.utterances if u.label is not None]
        domain_only = [u for u in self.utterances if u.label is None]
        domain_counts = {v: 0 for v in self.domain_values}
        for u in self.utterances:
            v = u.domain_value(self.domain)
            domain_counts[v] = domain_counts.get(v, 0) + 1
        return {
                "corpus": self.name,
                "n_utterances": len(self.utterances),
                "n_labelled": len(labelled),
                "n_domain_only": len(domain_only),
                "emotions": list(self.emotions),
                "counts": self.counts(),
                "label_totals": {
                        e: sum(1 for u in labelled if u.label == e) for e in self.emotions
                },
                "domain": self.domain,
                "domain_values": list(self.domain_values),
                "domain_counts": domain_counts,
                "protocol": self.protocol,
                "speakers": [
                        {"id": s, "gender": self.gender_of(s), "fold": fold_of.get(s),
                         "n_utterances": sum(1 for u in self.utterances if u.speaker == s)}
                        for s in self.speakers
                ],
                "folds": [{"fold": i, "test_speakers": f}
                          for i, f in enumerate(self.fold_list())],
                "domain_only_speakers": sorted({u.speaker for u in domain_only}),
                "empty_folds": self.empty_folds(),
                "duration_s": _duration_stats(self.utterances),
                "excluded_labels": dict(sorted(self.excluded_labels.items())),
                # Not errors: audio that no label line names (first few listed).
                "unlabelled_wavs": {"count": len(self.unlabelled_wavs),
                                    "first": sorted(self.unlabelled_wavs)[:10]},
                # Not errors: files whose gender code is not their speaker's (used).
                "gender_code_disagreements": sorted(self.gender_code_disagreements),
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


@dataclasses.dataclass(frozen=True)
class AudioCheck:
    """What `check_audio` found out about a usable file."""

    duration_s: float
    n_samples: int  # At 16 kHz, after resampling (`audio.resampled_length`).
    fast_decode: bool  # 16 kHz mono 16-bit PCM WAV that `tf.audio.decode_wav` reads.
    info: audio.AudioInfo


def check_audio(path, check_silence=True, target_rate=TARGET_RATE):
    """Checks one audio file; returns (`AudioCheck`, None) or (None, reason).

    Any readable WAV (8/16/24/32-bit integer, 32/64-bit float, any rate and
    channel count) or FLAC is accepted. Reads the header, compares the file
    size with what the header promises (a copy cut short) and, with
    `check_silence`, the samples, read in blocks: NaN or infinite, silent or
    clipped (`audio.check_contents`, the rules `predict` applies too). The
    reason names the problem and the fix, so that it can go straight into
    `data_report.json` and the warning printed for skipped files.

    What is accepted on purpose: very short files (one zero-padded segment,
    see `DataConfig.min_tail_s`) and very long ones (cut into segments).
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
        info = audio.audio_info(path)
    except audio.AudioError as e:
        return None, (f"not a readable WAV or FLAC file ({e}); re-encode it as 16-bit PCM "
                      "WAV (e.g. `sox in -b 16 -e signed-integer out.wav`) or copy it again")
    except OSError as e:
        return None, f"cannot be read ({e.strerror}); check the file's permissions"
    try:
        audio.check_contents(path, info, samples=check_silence)
    except audio.AudioError as e:  # The rules predict applies too; their reasons name the fix.
        return None, str(e)
    rate = info.sample_rate
    n_samples = audio.resampled_length(info.frames, rate, target_rate)
    return AudioCheck(info.frames / rate, n_samples, info.fast(target_rate), info), None


def utterance_from_check(name, path, speaker, gender, label, checked, meta=None):
    """An `Utterance` with the duration, 16 kHz length and decode path of a check."""
    return Utterance(name=name, path=str(path), speaker=speaker, gender=gender, label=label,
                     duration_s=checked.duration_s, meta=dict(meta or {}),
                     n_samples=checked.n_samples, fast_decode=checked.fast_decode,
                     tf_decodable=checked.info.tf_decodable,
                     source_rate=checked.info.sample_rate,
                     encoding=f"{checked.info.container}/{checked.info.encoding}")


def checked_utterance(skipped, name, path, speaker, gender, label, meta=None, context=""):
    """`check_audio` then `utterance_from_check`; None (and a `skipped` entry) if unusable.

    `context` (e.g. "manifest line 12") is added to the reason.
    """
    checked, reason = check_audio(path)
    if reason is not None:
        skipped.append({"path": str(path), "reason": f"{reason} ({context})" if context
                        else reason})
        return None
    return utterance_from_check(name, path, speaker, gender, label, checked, meta)
