"""ASED (Amharic Speech Emotional Dataset) loader: one folder per emotion (no TensorFlow).

Layout, as released (Retta et al.; github.com/wgwangang/ASED_V1)::

    <data_dir>/01Neutral/ 02Fearful/ 03Happy/ 04Sad/ 05Angry/   n1-01-01-01-05.flac

The five fields of a name `xn-yy-aa-gg-bb` (.flac or .wav): emotion letter and
folder number `xn` (n1 neutral, f2 fearful, h3 happy, s4 sad, a5 angry),
sentence yy, repetition aa, gender gg (01 female, 02 male) and speaker bb.
16 kHz mono 16-bit.

Traps of the release: a few files carry the other gender code than the rest
of their speaker's, so a speaker's gender is the majority of its files' codes
and the files that disagree are listed (`Corpus.gender_code_disagreements`);
not every speaker has every emotion; speaker ids are not contiguous; an
emotion letter may be upper case (`S4-04-02-01-29.flac`), so letters are
read case-insensitively.
"""

import collections
import os
import pathlib
import re

from adarl_tf.corpora.corpus import Corpus, checked_utterance

NAME = "ASED"
# Folder -> (the `xn` code its files' names start with, label).
FOLDERS = {"01Neutral": ("n1", "neutral"), "02Fearful": ("f2", "fearful"),
           "03Happy": ("h3", "happy"), "04Sad": ("s4", "sad"), "05Angry": ("a5", "angry")}
CODES = {code: folder for folder, (code, _) in FOLDERS.items()}
LABELS = ("neutral", "happy", "sad", "angry", "fearful")
GENDER_CODES = {"01": "F", "02": "M"}
AUDIO_SUFFIXES = (".flac", ".wav")
_NAME_RE = re.compile(r"^(?P<code>[a-z]\d)-(?P<sentence>\d\d)-(?P<repetition>\d\d)-"
                      r"(?P<gender>\d\d)-(?P<speaker>\d\d)$", re.IGNORECASE)
_HINT = ("point --data_dir at the ASED folder that holds 01Neutral/ 02Fearful/ 03Happy/ "
         "04Sad/ 05Angry/, named as released")


def parse_name(stem):
    """The fields of an ASED file name (without extension), `code` lower-cased, or ValueError."""
    m = _NAME_RE.match(stem)
    if m is None:
        raise ValueError(f"{stem!r} is not an ASED file name; expected xn-yy-aa-gg-bb such as "
                         "n1-01-01-01-05 (emotion code, sentence, repetition, gender, speaker)")
    f = dict(m.groupdict(), code=m["code"].lower())
    if f["code"] not in CODES:
        raise ValueError(f"{stem!r}: unknown emotion code {m['code']!r}; ASED's are "
                         f"{', '.join(CODES)}")
    if f["gender"] not in GENDER_CODES:
        raise ValueError(f"{stem!r}: gender code {f['gender']!r}; expected 01 (female) or "
                         "02 (male)")
    return f


def _check_folders(root):
    """FileNotFoundError / ValueError naming each missing emotion folder and the fix."""
    missing = [f for f in FOLDERS if not (root / f).is_dir()]
    if not missing:
        return
    if len(missing) == len(FOLDERS) and root.name in FOLDERS:
        raise ValueError(f"ASED data_dir {root} is a single emotion's folder; {_HINT} (here "
                         f"probably {root.parent})")
    others = [d for d in root.iterdir() if d.is_dir() and d.name not in FOLDERS]
    problems, renames = [], 0
    for folder in missing:
        # A near miss (02fearful, 02_Fearful, Fearful) is worth naming: renaming is the fix.
        near = [d.name for d in others
                if d.name[:2] == folder[:2] or folder[2:].lower() in d.name.lower()]
        renames += bool(near)
        problems.append(f"{root / folder} not found" + (
                f" ({near[0]} looks like it: rename it to {folder})" if near else ""))
    if len(missing) == len(FOLDERS) and not renames:
        inside = [d for d in others if (d / "01Neutral").is_dir()]
        raise FileNotFoundError(f"no ASED emotion folders in {root}; {_HINT}" + (
                f" (here probably {inside[0]})" if inside else ""))
    raise FileNotFoundError(f"ASED data_dir {root}: {'; '.join(problems)}; {_HINT}")


def _ignored(name):
    """macOS debris (`._*`, `.DS_Store`) and README files: not corpus files."""
    return name.startswith(".") or name.lower().startswith("readme")


def majority_genders(speaker_codes):
    """{speaker: "F" or "M"}, the majority over (speaker, gender) pairs; a tie is left out."""
    votes = collections.defaultdict(collections.Counter)
    for speaker, gender in speaker_codes:
        votes[speaker][gender] += 1
    return {s: "F" if c["F"] > c["M"] else "M" for s, c in votes.items() if c["F"] != c["M"]}


def load_ased(data_dir):
    """Reads ASED into a `Corpus` with its five labels; speakers in id order.

    Args:
        data_dir: str or path. The folder that holds the five emotion folders.

    Returns:
        A `Corpus` (`emotions` = `LABELS`). Names that do not parse, a code
        that contradicts its folder and a second copy of a recording are in
        `skipped`; other files in the emotion folders in `unlabelled_wavs`.

    Raises:
        FileNotFoundError / ValueError: no such folder, or an emotion folder
            missing or misnamed.
    """
    root = pathlib.Path(os.path.abspath(os.path.expanduser(str(data_dir))))
    if not root.is_dir():
        raise FileNotFoundError(f"ASED data_dir {root} does not exist or is not a folder; "
                                f"{_HINT}")
    _check_folders(root)
    skipped, other, found, seen = [], [], [], {}
    for folder, (code, label) in FOLDERS.items():
        for path in sorted((root / folder).iterdir()):
            if not path.is_file() or _ignored(path.name):
                continue
            if path.suffix.lower() not in AUDIO_SUFFIXES:
                other.append(str(path))
                continue
            try:
                f = parse_name(path.stem)
            except ValueError as e:
                skipped.append({"path": str(path), "reason": f"{e}; rename or remove it"})
                continue
            if f["code"] != code:
                home = CODES[f["code"]]
                skipped.append({"path": str(path), "reason": (
                        f"emotion code {f['code']} ({FOLDERS[home][1]}) in the name but the "
                        f"file is in {folder}; move it to {home}/ or correct its name")})
                continue
            # Both formats are accepted, so a recording may be there twice.
            key = path.stem.lower()
            if key in seen:
                skipped.append({"path": str(path), "reason": (
                        f"the same recording as {seen[key]} (same name in another format or "
                        "case); remove one of them")})
                continue
            seen[key] = str(path)
            found.append((path, f, label))

    genders = majority_genders((f["speaker"], GENDER_CODES[f["gender"]]) for _, f, _ in found)
    utterances, disagreements = [], []
    for path, f, label in found:
        speaker = f["speaker"]
        if speaker not in genders:
            skipped.append({"path": str(path), "reason": (
                    f"speaker {speaker} has as many files coded 01 (female) as 02 (male), so "
                    "its gender is unknown; correct the gender code in the wrong names")})
            continue
        if GENDER_CODES[f["gender"]] != genders[speaker]:
            disagreements.append(str(path))
        meta = {"corpus": NAME, "sentence": f["sentence"], "repetition": f["repetition"]}
        utt = checked_utterance(skipped, path.stem, path, speaker, genders[speaker], label, meta)
        if utt is not None:
            utterances.append(utt)
    if not utterances:
        first = f"; first skipped: {skipped[0]['path']}: {skipped[0]['reason']}" \
            if skipped else ""
        raise ValueError(f"no usable ASED audio files under {root}{first}")
    speakers = sorted({u.speaker for u in utterances}, key=int)
    utterances.sort(key=lambda u: (int(u.speaker), u.path))
    return Corpus(name=NAME, utterances=utterances, speakers=speakers, skipped=skipped,
                  unlabelled_wavs=other, speaker_genders={s: genders[s] for s in speakers},
                  gender_code_disagreements=disagreements, emotions=LABELS)
