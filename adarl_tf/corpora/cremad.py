"""CREMA-D loader: `AudioWAV/` plus `VideoDemographics.csv` (no TensorFlow).

Layout (SPEC section 8)::

    <data_dir>/AudioWAV/<actor>_<sentence>_<EMO>_<level>.wav   e.g. 1001_DFA_ANG_XX.wav
    <data_dir>/VideoDemographics.csv   ActorID, Age, Sex, Race, Ethnicity

91 actors (1001-1091), emotions ANG DIS FEA HAP NEU SAD, levels LO MD HI XX
(unspecified). An actor's sex, age, race and ethnicity come from the CSV and
are usable as domains (`--domain=age_group` etc.).
"""

import csv
import os
import pathlib
import re

from adarl_tf.corpora.corpus import Corpus, checked_utterance

NAME = "CREMA-D"
EMOTION_CODES = {"ANG": "angry", "DIS": "disgust", "FEA": "fearful", "HAP": "happy",
                 "NEU": "neutral", "SAD": "sad"}
LABELS = ("neutral", "happy", "sad", "angry", "fearful", "disgust")
LEVELS = {"LO": "low", "MD": "medium", "HI": "high", "XX": "unspecified"}
DEMOGRAPHICS = "VideoDemographics.csv"
_NAME_RE = re.compile(r"^(?P<actor>\d{4})_(?P<sentence>[A-Z]{3})_(?P<emotion>[A-Z]{3})_"
                      r"(?P<level>[A-Z]{2})$")
_SEX = {"male": "M", "female": "F", "m": "M", "f": "F"}
_HINT = "point --data_dir at the CREMA-D folder that holds AudioWAV/ and VideoDemographics.csv"


def age_group(age):
    """'20-29', '30-39', ... for an age in years (a coarse domain), '' if unknown."""
    try:
        a = int(float(age))
    except (TypeError, ValueError):
        return ""
    return f"{a // 10 * 10}-{a // 10 * 10 + 9}"


def read_demographics(path):
    """{actor id: {"gender", "age", "age_group", "race", "ethnicity"}} from the CSV."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    needed = {"ActorID", "Sex"}
    if not rows or not needed <= set(rows[0]):
        have = ", ".join(rows[0]) if rows else "no rows"
        raise ValueError(f"{path}: expected columns ActorID, Age, Sex, Race, Ethnicity "
                         f"(have {have}); use the file from the CREMA-D release")
    people = {}
    for row in rows:
        actor = str(row["ActorID"]).strip()
        people[actor] = {"gender": _SEX.get(str(row["Sex"]).strip().lower(), ""),
                         "age": str(row.get("Age", "")).strip(),
                         "age_group": age_group(row.get("Age")),
                         "race": str(row.get("Race", "")).strip(),
                         "ethnicity": str(row.get("Ethnicity", "")).strip()}
    return people


def load_cremad(data_dir):
    """Reads CREMA-D into a `Corpus` with its six labels; speakers in actor order."""
    root = pathlib.Path(os.path.abspath(os.path.expanduser(str(data_dir))))
    if not root.is_dir():
        raise FileNotFoundError(f"CREMA-D data_dir {root} does not exist; {_HINT}")
    if root.name == "AudioWAV" and not (root / "AudioWAV").is_dir():
        raise ValueError(f"CREMA-D data_dir {root} is the AudioWAV folder itself; {_HINT} "
                         f"(here probably {root.parent})")
    wav_dir, demo_path = root / "AudioWAV", root / DEMOGRAPHICS
    if not wav_dir.is_dir():
        raise FileNotFoundError(f"no AudioWAV folder in {root}; {_HINT}")
    if not demo_path.is_file():
        raise FileNotFoundError(f"{demo_path} not found: the actors' sex and age are in it; "
                                "copy it from the CREMA-D release (top folder) next to AudioWAV/")
    people = read_demographics(demo_path)
    utterances, skipped = [], []
    for path in sorted(wav_dir.iterdir()):
        if not path.is_file() or path.name.startswith(".") or path.suffix.lower() != ".wav":
            continue
        m = _NAME_RE.match(path.stem)
        if m is None or m["emotion"] not in EMOTION_CODES or m["level"] not in LEVELS:
            skipped.append({"path": str(path), "reason": (
                    "not a CREMA-D file name; expected <actor>_<sentence>_<EMO>_<level> such "
                    f"as 1001_DFA_ANG_XX (emotions {', '.join(EMOTION_CODES)}, levels "
                    f"{', '.join(LEVELS)}); rename or remove it")})
            continue
        person = people.get(m["actor"])
        if person is None or not person["gender"]:
            skipped.append({"path": str(path), "reason": (
                    f"actor {m['actor']} has no row (or no Sex) in {demo_path}; add it")})
            continue
        meta = {"corpus": NAME, "sentence": m["sentence"], "level": LEVELS[m["level"]],
                **{k: person[k] for k in ("age", "age_group", "race", "ethnicity")}}
        utt = checked_utterance(skipped, path.stem, path, m["actor"], person["gender"],
                                EMOTION_CODES[m["emotion"]], meta)
        if utt is not None:
            utterances.append(utt)
    if not utterances:
        first = f"; first skipped: {skipped[0]['path']}: {skipped[0]['reason']}" \
            if skipped else ""
        raise ValueError(f"no usable CREMA-D files in {wav_dir}{first}")
    speakers = sorted({u.speaker for u in utterances})
    return Corpus(name=NAME, utterances=utterances, speakers=speakers, skipped=skipped,
                  speaker_genders={s: people[s]["gender"] for s in speakers}, emotions=LABELS)
