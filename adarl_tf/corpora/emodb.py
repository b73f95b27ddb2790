"""EmoDB (Berlin Database of Emotional Speech) loader (no TensorFlow).

Layout: a flat folder of `SSTTTEV.wav` files, either `<data_dir>/wav/` as the
release unpacks or `<data_dir>/` itself, e.g. `03a01Fa.wav`: speaker SS, text
code TTT, emotion letter E, version V (SPEC section 8). Ten actors; their
genders are fixed by the release documentation (`SPEAKER_GENDERS`). 16 kHz
mono 16-bit, 535 files.
"""

import os
import pathlib
import re

from adarl_tf.corpora.corpus import Corpus, checked_utterance

NAME = "EmoDB"
# Letters of the German emotion names: Wut, Langeweile, Ekel, Angst, Freude,
# Trauer, Neutral.
EMOTION_LETTERS = {"W": "angry", "L": "boredom", "E": "disgust", "A": "fearful",
                   "F": "happy", "T": "sad", "N": "neutral"}
LABELS = ("neutral", "happy", "sad", "angry", "fearful", "disgust", "boredom")
SPEAKER_GENDERS = {"03": "M", "08": "F", "09": "F", "10": "M", "11": "M", "12": "M",
                   "13": "F", "14": "F", "15": "M", "16": "F"}
_NAME_RE = re.compile(r"^(?P<speaker>\d\d)(?P<text>[a-z]\d\d)(?P<emotion>[A-Z])(?P<version>[a-z])$")
_HINT = "point --data_dir at the EmoDB folder (the one with wav/) or at wav/ itself"


def parse_name(stem):
    """(speaker, text, emotion name, version) of an EmoDB file name, or ValueError."""
    m = _NAME_RE.match(stem)
    if m is None:
        raise ValueError(f"{stem!r} is not an EmoDB file name; expected SSTTTEV such as "
                         "03a01Fa (speaker, text, emotion letter, version)")
    if m["emotion"] not in EMOTION_LETTERS:
        raise ValueError(f"{stem!r}: unknown emotion letter {m['emotion']!r}; EmoDB's are "
                         f"{', '.join(EMOTION_LETTERS)}")
    return m["speaker"], m["text"], EMOTION_LETTERS[m["emotion"]], m["version"]


def load_emodb(data_dir):
    """Reads EmoDB into a `Corpus` with its seven labels; speakers in id order."""
    root = pathlib.Path(os.path.abspath(os.path.expanduser(str(data_dir))))
    if not root.is_dir():
        raise FileNotFoundError(f"EmoDB data_dir {root} does not exist or is not a folder; "
                                f"{_HINT}")
    wav_dir = root / "wav" if (root / "wav").is_dir() else root
    files = sorted(p for p in wav_dir.iterdir()
                   if p.is_file() and p.suffix.lower() == ".wav" and not p.name.startswith("."))
    if not files:
        raise FileNotFoundError(f"no .wav files in {wav_dir}; {_HINT}")
    utterances, skipped = [], []
    for path in files:
        try:
            speaker, text, label, version = parse_name(path.stem)
        except ValueError as e:
            skipped.append({"path": str(path), "reason": f"{e}; rename or remove it"})
            continue
        if speaker not in SPEAKER_GENDERS:
            skipped.append({"path": str(path), "reason": (
                    f"speaker {speaker} is not one of EmoDB's ten "
                    f"({', '.join(SPEAKER_GENDERS)}); rename or remove it")})
            continue
        utt = checked_utterance(skipped, path.stem, path, speaker, SPEAKER_GENDERS[speaker],
                                label, {"corpus": NAME, "text": text, "version": version})
        if utt is not None:
            utterances.append(utt)
    if not utterances:
        raise ValueError(f"no usable EmoDB files in {wav_dir}; first skipped: "
                         f"{skipped[0]['path']}: {skipped[0]['reason']}")
    speakers = sorted({u.speaker for u in utterances})
    return Corpus(name=NAME, utterances=utterances, speakers=speakers, skipped=skipped,
                  speaker_genders={s: SPEAKER_GENDERS[s] for s in speakers}, emotions=LABELS)
