"""IEMOCAP loader: EmoEvaluation label files to a `Corpus` (no TensorFlow).

Layout of the release (`IEMOCAP_full_release/`)::

    Session{1..5}/dialog/EmoEvaluation/<dialog>.txt       label files
    Session{1..5}/sentences/wav/<dialog>/<utterance>.wav  16 kHz mono PCM

Traps this module handles on purpose (SPEC section 7):

- The letter after `SesNN` in a dialog name says which actor wore the
  motion-capture markers, not who speaks. The speaker's gender is the first
  letter of the last `_` token of the utterance name; fixed character indices
  break on `Ses03M_impro05a/05b/08a/08b` and `Ses05M_script01_1b`.
- `EmoEvaluation/` has sub-folders (`Categorical/`, `Attribute/`,
  `Self-evaluation/`) whose `.txt` files are per-annotator ratings in other
  formats; only the files directly in `EmoEvaluation/` are read.
- Archives copied through macOS carry `._*` (AppleDouble) and `.DS_Store`
  files; they are ignored.
"""

import dataclasses
import os
import pathlib
import re

from adarl_tf.corpora.corpus import EMOTIONS, Corpus, Utterance, utterance_from_check
from adarl_tf.corpora.corpus import check_audio as check_audio_file

# LOSO fold order: session-major, the female speaker of a session before the
# male one. Fold `i` tests `SPEAKER_ORDER[i]` and trains on the other nine.
SPEAKER_ORDER = (
        "Ses01F", "Ses01M", "Ses02F", "Ses02M", "Ses03F",
        "Ses03M", "Ses04F", "Ses04M", "Ses05F", "Ses05M",
)

# IEMOCAP label codes of the paper's four classes. `exc` (excited) is mapped
# to happy only with `merge_excited=True`; the paper keeps it out.
LABEL_CODES = {"neu": "neutral", "hap": "happy", "sad": "sad", "ang": "angry"}
# Every majority-label code of the release; others are typos or another
# corpus's labels and are reported as skipped, not silently excluded.
KNOWN_CODES = ("ang", "dis", "exc", "fea", "fru", "hap", "neu", "oth", "sad", "sur", "xxx")
SUBSETS = ("improvised", "scripted", "all")
# Every code as a class name of `labels.CANONICAL` (`--emotions=all` and
# custom sets); `xxx` (no majority) is never a class.
CODE_NAMES = {"neu": "neutral", "hap": "happy", "exc": "excited", "sad": "sad",
              "ang": "angry", "fru": "frustrated", "fea": "fearful", "dis": "disgust",
              "sur": "surprised", "oth": "other"}

# `Ses{SS}{D}_{impro|script}{NN}[a|b][_{k}[b]]_{S}{III}`, e.g.
# `Ses01F_impro01_F000`, `Ses03M_impro05a_F000`, `Ses05M_script01_1b_M011`.
# Used to validate names only; the speaker comes from the last `_` token.
_NAME_RE = re.compile(
        r"^Ses(?P<session>\d{2})[FM]_(?P<kind>impro|script)\d{2}[a-z]?"
        r"(?:_\d+[a-z]?)?_[FM]\d{3}$")
# Main label line: `[6.2901 - 8.2357]<TAB>name<TAB>label<TAB>[v, a, d]`.
# Annotator lines (`C-E2:`, `A-E3:` ...) and the `%` header never start with
# `[`, so anchoring on it is what separates the majority label from them.
_LABEL_LINE_RE = re.compile(
        r"^\[\s*(?P<start>[\d.]+)\s*-\s*(?P<end>[\d.]+)\s*\]\s+"
        r"(?P<name>\S+)\s+(?P<label>\S+)\s+\[.*\]\s*$")
_SESSION_DIR_RE = re.compile(r"^Session(?P<n>\d+)$")
_ROOT_HINT = "point --data_dir at the folder that holds Session1 ... Session5"


def parse_utterance_name(name):
    """Splits an IEMOCAP utterance name into session, dialog, speaker and gender.

    Args:
        name: utterance name, e.g. `Ses03M_impro05a_F000`.

    Returns:
        A dict with `session` (int), `dialog` (e.g. `Ses03M_impro05a`),
        `speaker` (e.g. `Ses03F`), `gender` (`"F"` or `"M"`) and `improvised`
        (bool).

    Raises:
        ValueError: if `name` does not follow the IEMOCAP naming pattern.
    """
    match = _NAME_RE.match(name) if isinstance(name, str) else None
    if match is None:
        raise ValueError(
                f"{name!r} is not an IEMOCAP utterance name; expected "
                "Ses{SS}{F|M}_{impro|script}{NN}[a|b][_{k}[b]]_{F|M}{III}, "
                "e.g. 'Ses01F_impro01_F000' or 'Ses05M_script01_1b_M011'")
    dialog, last = name.rsplit("_", 1)
    # The speaker is in the last token; the letter after SesNN is only the
    # mocap-marker actor of the dialog (differs for about half the names).
    gender = last[0]
    return {
            "session": int(match.group("session")),
            "dialog": dialog,
            "speaker": f"Ses{match.group('session')}{gender}",
            "gender": gender,
            "improvised": match.group("kind") == "impro",
    }


def in_subset(info, subset):
    """Whether a parsed utterance name (`parse_utterance_name`) is in `--iemocap_subset`."""
    if subset == "all":
        return True
    return info["improvised"] == (subset == "improvised")


def _is_hidden(path):
    # `._*` AppleDouble files and `.DS_Store` both start with a dot.
    return path.name.startswith(".")


def _session_dirs(data_dir):
    """The `SessionN` folders under `data_dir`, sorted by N, checked for labels."""
    if not data_dir.exists():
        raise FileNotFoundError(
                f"IEMOCAP data_dir {data_dir} does not exist; {_ROOT_HINT} "
                "(usually IEMOCAP_full_release)")
    if not data_dir.is_dir():
        raise ValueError(f"IEMOCAP data_dir {data_dir} is a file, not a folder; {_ROOT_HINT}")
    # A session folder given instead of the root: it has `dialog/` itself.
    if _SESSION_DIR_RE.match(data_dir.name) or (data_dir / "dialog").is_dir():
        raise ValueError(
                f"IEMOCAP data_dir {data_dir} is a single session folder; {_ROOT_HINT} "
                f"(here probably {data_dir.parent})")
    sessions = []
    for child in data_dir.iterdir():
        match = _SESSION_DIR_RE.match(child.name)
        if match and child.is_dir() and not _is_hidden(child):
            sessions.append((int(match.group("n")), child))
    if not sessions:
        # Commonly the folder one level above the release was given.
        below = [
                c for c in sorted(data_dir.iterdir())
                if c.is_dir() and not _is_hidden(c) and (c / "Session1").is_dir()]
        hint = f" (did you mean {below[0]}?)" if below else ""
        raise FileNotFoundError(
                f"no Session1 ... Session5 folders in IEMOCAP data_dir {data_dir}; "
                f"{_ROOT_HINT}{hint}")
    sessions.sort()
    for _, session_dir in sessions:
        labels_dir = session_dir / "dialog" / "EmoEvaluation"
        if not labels_dir.is_dir():
            raise FileNotFoundError(
                    f"{labels_dir} not found: every IEMOCAP SessionN folder keeps its "
                    f"label files in dialog/EmoEvaluation; re-extract {session_dir.name} "
                    f"from the release, or move the incomplete folder out of {data_dir}")
    return [d for _, d in sessions]


def _label_lines(labels_dir):
    """Yields (label_file, line_number, match or None) for lines starting with `[`."""
    # Only files directly in EmoEvaluation/: its sub-folders hold single
    # annotators' ratings in other formats.
    files = sorted(
            p for p in labels_dir.iterdir()
            if p.is_file() and p.suffix == ".txt" and not _is_hidden(p))
    for label_file in files:
        # errors="replace": a stray non-UTF-8 byte must not abort the whole
        # corpus; the line it is on simply fails the pattern and is reported.
        with open(label_file, encoding="utf-8", errors="replace") as f:
            for number, line in enumerate(f, start=1):
                # lstrip also drops a UTF-8 byte-order mark left by an editor.
                line = line.strip().lstrip("\ufeff")
                if line.startswith("["):
                    yield label_file, number, _LABEL_LINE_RE.match(line)


def load_iemocap(data_dir, subset="improvised", merge_excited=False, name="IEMOCAP",
                 check_audio=True, codes=None):
    """Reads IEMOCAP's majority labels and WAV headers into a `Corpus`.

    Args:
        data_dir: str or path. The release root, the folder that holds
            `Session1` ... `Session5`. A subset of the sessions is allowed; the
            corpus then has only their speakers.
        subset: str. `"improvised"` (the paper's set), `"scripted"` or `"all"`.
            Defaults to `"improvised"`.
        merge_excited: bool. Map `exc` to happy, as many later papers do; the
            paper does not. Defaults to False.
        name: str. Stored in `Corpus.name`. Defaults to `"IEMOCAP"`.
        check_audio: bool. Read every WAV header with `check_audio`; a missing or
            unusable file goes to `Corpus.skipped`. With False no audio file is
            touched and `duration_s` is 0.0. Defaults to True.
        codes: dict or None. {label code: class name} of the codes kept, e.g.
            `CODE_NAMES` for every label; overrides the four classes and
            `merge_excited`. The corpus's `emotions` are its class names in
            first-seen order.

    Returns:
        A `Corpus`: utterances sorted by (SPEAKER_ORDER, name), `speakers` in
        SPEAKER_ORDER restricted to the sessions found (a speaker left without
        utterances keeps its fold index), `excluded_labels` counting the
        subset's labelled utterances outside the four classes, `skipped` for
        missing, corrupt, truncated or silent WAVs, duplicates, unknown label
        codes and bad label lines, and `unlabelled_wavs` (with `check_audio`).

    Raises:
        ValueError: bad `subset`, `data_dir` is a session folder or a file, or
            nothing is left after the filters.
        FileNotFoundError: `data_dir` missing, without `SessionN` folders, or a
            session without `dialog/EmoEvaluation`.
    """
    if subset not in SUBSETS:
        raise ValueError(f"subset={subset!r} is not one of {', '.join(SUBSETS)}")
    data_dir = pathlib.Path(os.path.abspath(os.path.expanduser(str(data_dir))))
    if codes is None:
        codes = dict(LABEL_CODES, exc="happy") if merge_excited else LABEL_CODES
        classes = EMOTIONS
    else:
        classes = tuple(dict.fromkeys(codes.values()))
    scan = _Scan()
    session_dirs = _session_dirs(data_dir)
    for session_dir in session_dirs:
        for label_file, number, match in _label_lines(session_dir / "dialog" / "EmoEvaluation"):
            _read_label_line(scan, session_dir, label_file, number, match, subset, codes, name,
                             check_audio)
    if not scan.kept:
        skipped = scan.skipped
        first = f"; first skipped: {skipped[0]['path']}: {skipped[0]['reason']}" if skipped else ""
        raise ValueError(
                f"no {subset} utterances with labels {', '.join(classes)} left in IEMOCAP "
                f"data_dir {data_dir} ({scan.n_lines} labelled in the subset, excluded labels "
                f"{dict(sorted(scan.excluded.items()))}, {len(skipped)} skipped{first}); check "
                "the subset (--iemocap_subset) and that sentences/wav/ holds the WAV files")
    rank = {s: i for i, s in enumerate(SPEAKER_ORDER)}
    utterances = sorted(scan.kept.values(), key=lambda u: (rank[u.speaker], u.name))
    # Both speakers of every session found keep their fold index even when the
    # filters (subset, skipped files) leave one of them empty: fold 3 means
    # Ses02M whatever else is missing. Training such a fold fails with the
    # reason (`protocol.split_fold`); it is listed under `empty_folds`.
    sessions = {int(d.name[len("Session"):]) for d in session_dirs}
    present = {u.speaker for u in utterances}
    speakers = [s for s in SPEAKER_ORDER if int(s[3:5]) in sessions or s in present]
    unlabelled = _unlabelled_wavs(session_dirs, scan.named) if check_audio else []
    return Corpus(
            name=name,
            utterances=utterances,
            speakers=speakers,
            skipped=scan.skipped,
            excluded_labels=scan.excluded,
            unlabelled_wavs=unlabelled,
            speaker_genders={s: s[-1] for s in speakers},
            emotions=classes,
    )


@dataclasses.dataclass
class _Scan:
    """What the label files gave so far."""

    kept: dict = dataclasses.field(default_factory=dict)  # utterance name -> Utterance
    # utterance name -> label file that labelled it first
    first_seen: dict = dataclasses.field(default_factory=dict)
    # every utterance a valid label line names, in any subset
    named: set = dataclasses.field(default_factory=set)
    skipped: list = dataclasses.field(default_factory=list)
    excluded: dict = dataclasses.field(default_factory=dict)  # label code -> count
    n_lines: int = 0  # label lines of the subset


def _read_label_line(scan, session_dir, label_file, number, match, subset, codes, name,
                     check_audio):
    """Adds one label line to `scan`: its utterance kept, excluded or skipped with the reason."""
    where = f"{label_file.name} line {number}"

    def skip(path, reason):
        scan.skipped.append({"path": str(path), "reason": reason})

    if match is None:
        return skip(label_file, f"{where}: malformed label line; expected "
                                "'[start - end]<TAB>name<TAB>label<TAB>[v, a, d]'")
    utt_name, code = match.group("name"), match.group("label")
    try:
        info = parse_utterance_name(utt_name)
    except ValueError as e:
        return skip(label_file, f"{where}: {e}")
    scan.named.add(utt_name)
    if not in_subset(info, subset):
        return None
    scan.n_lines += 1
    if utt_name in scan.first_seen:
        return skip(label_file, f"{where}: duplicate utterance {utt_name}, already labelled in "
                                f"{scan.first_seen[utt_name]}; kept the first label")
    scan.first_seen[utt_name] = label_file
    if info["speaker"] not in SPEAKER_ORDER:
        return skip(label_file, f"{where}: speaker {info['speaker']} of {utt_name} is not one "
                                "of IEMOCAP's 10 speakers (Ses01..Ses05)")
    if code not in KNOWN_CODES:
        return skip(label_file, f"{where}: unknown label {code!r} for {utt_name}; IEMOCAP's "
                                f"codes are {', '.join(KNOWN_CODES)}: correct the label line")
    if code not in codes:
        scan.excluded[code] = scan.excluded.get(code, 0) + 1
        return None
    wav = session_dir / "sentences" / "wav" / info["dialog"] / f"{utt_name}.wav"
    meta = {"corpus": name, "session": str(info["session"])}
    if not check_audio:
        scan.kept[utt_name] = Utterance(
                name=utt_name, path=str(wav), speaker=info["speaker"],
                gender=info["gender"], label=codes[code], duration_s=0.0, meta=meta)
        return None
    checked, reason = check_audio_file(wav)
    if reason is not None:
        return skip(wav, f"{reason} (labelled {code} in {where})")
    scan.kept[utt_name] = utterance_from_check(
            utt_name, wav, info["speaker"], info["gender"], codes[code], checked, meta)
    return None


def _unlabelled_wavs(session_dirs, named):
    """WAV files under `sentences/wav/` whose name no label line gives."""
    found = []
    for session_dir in session_dirs:
        wav_dir = session_dir / "sentences" / "wav"
        if not wav_dir.is_dir():
            continue
        for wav in wav_dir.rglob("*.wav"):
            if not _is_hidden(wav) and wav.stem not in named:
                found.append(str(wav))
    return sorted(found)
