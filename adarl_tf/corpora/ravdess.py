"""RAVDESS loader: `Actor_XX/MM-VV-EE-II-SS-RR-AA.wav` to a `Corpus` (no TensorFlow).

The Ryerson Audio-Visual Database of Emotional Speech and Song (SPEC section 8)::

    <data_dir>/Actor_01 ... Actor_24/03-01-05-02-01-02-01.wav

The seven fields of a name: modality (03 audio-only; 01/02 are video files,
not audio), vocal channel (01 speech, 02 song), emotion (01 neutral, 02 calm,
03 happy, 04 sad, 05 angry, 06 fearful, 07 disgust, 08 surprised), intensity
(01 normal, 02 strong), statement (01, 02), repetition (01, 02) and actor
(01-24; odd = male, even = female). The files are 48 kHz 16-bit, a few stereo:
they are resampled and mixed down by the pipeline.

Speech only by default; song (`include_song`) has no disgust or surprised.
Labels are the full names (`LABELS`); `--emotions` picks and maps classes.
"""

import os
import pathlib
import re

from adarl_tf.corpora.corpus import Corpus, check_audio, utterance_from_check

NAME = "RAVDESS"
LABELS = ("neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised")
_EMOTION_CODES = {f"{i + 1:02d}": name for i, name in enumerate(LABELS)}
_CHANNELS = {"01": "speech", "02": "song"}
_INTENSITY = {"01": "normal", "02": "strong"}
_NAME_RE = re.compile(r"^(?P<modality>\d\d)-(?P<channel>\d\d)-(?P<emotion>\d\d)-"
                      r"(?P<intensity>\d\d)-(?P<statement>\d\d)-(?P<repetition>\d\d)-"
                      r"(?P<actor>\d\d)$")
_ACTOR_DIR_RE = re.compile(r"^Actor_(?P<n>\d\d)$")
_HINT = "point --data_dir at the folder that holds Actor_01 ... Actor_24"


def parse_name(stem):
    """The fields of a RAVDESS file name (without `.wav`), or ValueError."""
    m = _NAME_RE.match(stem)
    if m is None:
        raise ValueError(f"{stem!r} is not a RAVDESS file name; expected "
                         "MM-VV-EE-II-SS-RR-AA, e.g. 03-01-05-02-01-02-01")
    f = m.groupdict()
    if f["emotion"] not in _EMOTION_CODES or f["channel"] not in _CHANNELS \
            or f["intensity"] not in _INTENSITY or not 1 <= int(f["actor"]) <= 99:
        raise ValueError(f"{stem!r}: a field is out of range (emotion 01-08, vocal channel "
                         "01/02, intensity 01/02)")
    return f


def speaker_of(actor):
    """(speaker id, gender) of a two-digit actor number: odd male, even female."""
    return f"Actor_{actor}", "M" if int(actor) % 2 else "F"


def load_ravdess(data_dir, include_song=False, check_audio_files=True):
    """Reads a RAVDESS audio folder into a `Corpus` with the 8 full labels.

    Args:
        data_dir: str or path. The folder that holds `Actor_XX/` folders.
        include_song: bool. Also the song files (vocal channel 02).
        check_audio_files: bool. Read every header (`check_audio`); unusable
            files go to `skipped`.

    Returns:
        A `Corpus` (`emotions` = `LABELS`), speakers in actor order.

    Raises:
        FileNotFoundError / ValueError: no such folder, or no Actor_XX folders.
    """
    root = pathlib.Path(os.path.abspath(os.path.expanduser(str(data_dir))))
    actor_dirs = _actor_dirs(root)
    utterances, skipped, excluded, other = [], [], {}, []
    genders = {}
    for actor_dir in actor_dirs:
        for path in sorted(actor_dir.iterdir()):
            if path.name.startswith(".") or not path.is_file():
                continue
            if path.suffix.lower() != ".wav":
                other.append(str(path))
                continue
            try:
                f = parse_name(path.stem)
            except ValueError as e:
                skipped.append({"path": str(path), "reason": f"{e}; rename or remove it"})
                continue
            if f"Actor_{f['actor']}" != actor_dir.name:
                skipped.append({"path": str(path), "reason": (
                        f"actor {f['actor']} in the name but the file is in {actor_dir.name}; "
                        "move it to its actor's folder")})
                continue
            if f["modality"] != "03":
                other.append(str(path))  # Video modalities; audio is 03.
                continue
            channel = _CHANNELS[f["channel"]]
            if channel == "song" and not include_song:
                excluded_key = "song (add --ravdess_song)"
                excluded[excluded_key] = excluded.get(excluded_key, 0) + 1
                continue
            speaker, gender = speaker_of(f["actor"])
            genders[speaker] = gender
            checked = None
            if check_audio_files:
                checked, reason = check_audio(path)
                if reason is not None:
                    skipped.append({"path": str(path), "reason": reason})
                    continue
            meta = {"corpus": NAME, "vocal_channel": channel,
                    "intensity": _INTENSITY[f["intensity"]], "statement": f["statement"],
                    "repetition": f["repetition"]}
            label = _EMOTION_CODES[f["emotion"]]
            if checked is None:
                from adarl_tf.corpora.corpus import Utterance
                utterances.append(Utterance(path.stem, str(path), speaker, gender, label, 0.0,
                                            meta=meta))
            else:
                utterances.append(utterance_from_check(path.stem, path, speaker, gender, label,
                                                       checked, meta))
    if not utterances:
        first = f"; first skipped: {skipped[0]['path']}: {skipped[0]['reason']}" \
            if skipped else ""
        raise ValueError(f"no usable RAVDESS audio files under {root}{first}")
    speakers = sorted(genders, key=lambda s: int(s.split("_")[1]))
    utterances.sort(key=lambda u: (speakers.index(u.speaker), u.name))
    corpus = Corpus(name=NAME, utterances=utterances, speakers=speakers, skipped=skipped,
                    excluded_labels=excluded, unlabelled_wavs=other,
                    speaker_genders=genders, emotions=LABELS)
    return corpus


def _actor_dirs(root):
    """The `Actor_XX/` folders under `root`, in name order.

    Raises:
        FileNotFoundError / ValueError: no such folder, or no Actor_XX folders.
    """
    if not root.is_dir():
        raise FileNotFoundError(f"RAVDESS data_dir {root} does not exist or is not a "
                                f"folder; {_HINT}")
    actor_dirs = sorted(d for d in root.iterdir() if d.is_dir() and _ACTOR_DIR_RE.match(d.name))
    if not actor_dirs:
        if _ACTOR_DIR_RE.match(root.name):
            raise ValueError(f"RAVDESS data_dir {root} is a single actor's folder; {_HINT} "
                             f"(here probably {root.parent})")
        raise FileNotFoundError(f"no Actor_XX folders in RAVDESS data_dir {root}; {_HINT}")
    return actor_dirs
