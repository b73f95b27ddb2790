"""Builds an IEMOCAP-shaped folder tree from the real public metadata.

IEMOCAP's audio cannot be shipped, but its utterance names, majority labels
and durations are public (`shared/data/iemocap_metadata.jsonl`, 5,531
utterances labelled neu/hap/exc/sad/ang). This module writes a tree with those
real names and labels in the real EmoEvaluation line format, tiny synthetic
WAVs in place of the audio, and the traps of the real archives, so that loader
and pipeline tests run against the corpus's actual quirks:

- `._<dialog>.txt` (AppleDouble) and `.DS_Store` files in `EmoEvaluation/`, in
  a wav folder and at the root. The `._` file holds a label line that relabels
  the first turn of the dialog (`Ses01F_impro01_F000`, neutral, as angry in
  the full tree) and sorts before the real file, so a loader that reads it
  gets a wrong label and a duplicate.
- `Categorical/`, `Attribute/` and `Self-evaluation/` sub-folders with
  per-annotator files in their own formats, each also holding one main-format
  label line for an utterance that exists nowhere else (`BAIT_NAMES`, WAVs
  written), so a loader that recurses into them counts extra utterances.
- With `extra_labels`, a few label lines outside the four classes
  (`EXTRA_UTTERANCES`: fru, xxx, sur) with WAVs, to exercise exclusion.

The tree built from the full metadata is otherwise clean: no missing or
corrupt WAVs and no duplicates; tests that need those damage a copy built
with `limit_sessions`.

Usage (other tests)::

    from tests.iemocap_fixture import build_iemocap_tree
    data_dir = build_iemocap_tree(tmp_path)  # .../IEMOCAP_full_release

or the session-scoped `iemocap_tree` fixture of `tests/conftest.py`.
"""

import collections
import io
import json
import math
import os
import pathlib
import struct
import wave

SAMPLE_RATE = 16000
# Extra labelled utterances outside the four classes: (name, label). The
# scripted one shows that `excluded_labels` counts only the chosen subset.
EXTRA_UTTERANCES = (
        ("Ses01F_impro01_F900", "fru"),
        ("Ses01F_impro01_M901", "xxx"),
        ("Ses03M_impro05a_F902", "sur"),
        ("Ses05M_script01_1b_M903", "fru"),
)
# Main-format lines hidden in the EmoEvaluation sub-folders of the first session
# built (dialog `<first improvised dialog>`), one per sub-folder, label neu.
BAIT_INDICES = {"Categorical": "F950", "Attribute": "F951", "Self-evaluation": "F952"}

# Words the annotators' `C-*` lines use for each label code.
_CATEGORY = {
        "neu": "Neutral state", "hap": "Happiness", "exc": "Excited", "sad": "Sadness",
        "ang": "Anger", "fru": "Frustration", "sur": "Surprise", "fea": "Fear",
        "dis": "Disgust", "oth": "Other", "xxx": "Frustration; Anger",
}
# Plausible [valence, activation, dominance] per label; the loader ignores them.
_VAD = {
        "neu": (2.5, 2.5, 2.5), "hap": (4.0, 3.0, 3.0), "exc": (3.5, 3.5, 3.0),
        "sad": (2.0, 2.0, 2.5), "ang": (1.5, 4.0, 4.0), "fru": (2.0, 3.5, 3.5),
        "sur": (3.0, 3.5, 2.5), "xxx": (2.5, 3.0, 3.0),
}
# A different tone per label, so a smoke test can in principle tell them apart.
_TONE_HZ = {"neu": 220.0, "hap": 440.0, "exc": 440.0, "sad": 330.0, "ang": 550.0}
_HEADER = "% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]\n\n"
# First bytes of a real AppleDouble file ("Mac OS X" resource header).
_APPLEDOUBLE = b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        \x00\x02" + b"\x00" * 24


def shared_dir():
    """The project's `shared/` folder: `$ADARL_SHARED_DIR` or `<repo>/../shared`."""
    env = os.environ.get("ADARL_SHARED_DIR")
    if env:
        return pathlib.Path(env)
    return pathlib.Path(__file__).resolve().parents[2] / "shared"


def default_metadata_path():
    return shared_dir() / "data" / "iemocap_metadata.jsonl"


def require_metadata(metadata_path=None):
    """Returns the metadata path, or skips the calling test if it is absent."""
    import pytest  # Only tests call this; the builder itself needs no pytest.

    path = pathlib.Path(metadata_path or default_metadata_path())
    if not path.is_file():
        pytest.skip(f"IEMOCAP metadata not found at {path}; set ADARL_SHARED_DIR to the "
                    "folder holding data/iemocap_metadata.jsonl")
    return path


def read_metadata(metadata_path=None):
    """[(name, label code, length_s)] from the EmoBox jsonl, in file order."""
    path = pathlib.Path(metadata_path or default_metadata_path())
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                row = json.loads(line)
                rows.append((row["key"].removeprefix("iemocap-"), row["emo"], float(row["length"])))
    return rows


def _wav_bytes(seconds, hz):
    """A quiet 16 kHz 16-bit mono tone, as the bytes of a whole WAV file."""
    n = max(1, round(seconds * SAMPLE_RATE))
    samples = [round(1000 * math.sin(2 * math.pi * hz * i / SAMPLE_RATE)) for i in range(n)]
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        # "<": WAV data is little-endian whatever the host.
        w.writeframes(struct.pack(f"<{n}h", *samples))
    return buf.getvalue()


def _session_of(name):
    # `Ses{SS}` always opens a name, so the session digits sit at a fixed place
    # (unlike the speaker letter).
    return int(name[3:5])


def _dialog_of(name):
    return name.rsplit("_", 1)[0]


def _turn_order(name):
    # Real files list turns in time order, F and M interleaved: F000, M000, F001...
    last = name.rsplit("_", 1)[1]
    return int(last[1:]), last[0]


def _block(name, code, start, end):
    """One utterance's lines: the majority line, annotators' lines, blank line."""
    v, a, d = _VAD.get(code, (2.5, 2.5, 2.5))
    category = _CATEGORY.get(code, "Other")
    lines = [
            f"[{start:.4f} - {end:.4f}]\t{name}\t{code}\t[{v:.4f}, {a:.4f}, {d:.4f}]",
            f"C-E1:\t{category};\t()",
            f"C-E2:\t{category};\t()",
            "C-F1:\tNeutral state;\t(curious)",
            f"A-E3:\tval {round(v)}; act {round(a)}; dom  {round(d)};\t()",
            f"A-F1:\tval {round(v)}; act {round(a)}; dom  {round(d)};\t()",
    ]
    return "\n".join(lines) + "\n\n"


def _label_file_text(turns):
    """EmoEvaluation text for [(name, code, length_s)], times consistent with lengths."""
    parts, t = [_HEADER], 1.0
    for name, code, length in turns:
        parts.append(_block(name, code, t, t + length))
        t += length + 0.5  # a pause between turns, as in a dialog
    return "".join(parts)


def build_iemocap_tree(root, metadata_path=None, seconds=0.05, extra_labels=True,
                       limit_sessions=None):
    """Writes an IEMOCAP-shaped tree under `root` and returns its corpus root.

    Args:
        root: str or path. Parent folder; the tree goes in
            `root/IEMOCAP_full_release`, which is returned.
        metadata_path: str or path. The EmoBox jsonl. Defaults to
            `shared/data/iemocap_metadata.jsonl` (see `shared_dir`).
        seconds: float. Length of every synthetic WAV; the label files still
            carry the real lengths. Defaults to 0.05 (the whole corpus then
            writes in about a second).
        extra_labels: bool. Add `EXTRA_UTTERANCES` (labels fru, xxx, sur).
            Defaults to True.
        limit_sessions: iterable of int. Only these sessions (e.g. `(1, 2)`).
            Defaults to all five.

    Returns:
        The `IEMOCAP_full_release` folder, ready for `load_iemocap`.

    Raises:
        FileNotFoundError: if the metadata file is missing.
        ValueError: if `seconds` is not positive or `limit_sessions` names no
            session of the metadata.
    """
    if not seconds > 0:
        raise ValueError(f"seconds={seconds!r} must be positive")
    path = pathlib.Path(metadata_path or default_metadata_path())
    if not path.is_file():
        raise FileNotFoundError(f"IEMOCAP metadata not found at {path}; set ADARL_SHARED_DIR")
    rows = read_metadata(path)
    if extra_labels:
        rows += [(name, code, 2.0) for name, code in EXTRA_UTTERANCES]
    if limit_sessions is not None:
        wanted = set(limit_sessions)
        rows = [r for r in rows if _session_of(r[0]) in wanted]
        if not rows:
            raise ValueError(f"limit_sessions={limit_sessions!r} names no session of {path}")

    data_dir = pathlib.Path(root) / "IEMOCAP_full_release"
    dialogs = collections.defaultdict(list)
    for row in rows:
        dialogs[_dialog_of(row[0])].append(row)

    # One WAV per tone, built once: writing 5,531 files is then pure file I/O.
    blobs = {}
    for dialog, turns in sorted(dialogs.items()):
        session_dir = data_dir / f"Session{_session_of(dialog)}"
        labels_dir = session_dir / "dialog" / "EmoEvaluation"
        wav_dir = session_dir / "sentences" / "wav" / dialog
        labels_dir.mkdir(parents=True, exist_ok=True)
        wav_dir.mkdir(parents=True, exist_ok=True)
        turns.sort(key=lambda r: _turn_order(r[0]))
        (labels_dir / f"{dialog}.txt").write_text(_label_file_text(turns), encoding="utf-8")
        for name, code, _ in turns:
            hz = _TONE_HZ.get(code, 660.0)
            if hz not in blobs:
                blobs[hz] = _wav_bytes(seconds, hz)
            (wav_dir / f"{name}.wav").write_bytes(blobs[hz])

    improvised = sorted(d for d in dialogs if "_impro" in d)
    first_dialog = (improvised or sorted(dialogs))[0]
    first_session = data_dir / f"Session{_session_of(first_dialog)}"
    _write_traps(data_dir, first_session, first_dialog, dialogs[first_dialog], blobs)
    return data_dir


def _write_traps(data_dir, session_dir, dialog, turns, blobs):
    """macOS litter and annotator sub-folders, as found in real archives."""
    labels_dir = session_dir / "dialog" / "EmoEvaluation"
    wav_dir = session_dir / "sentences" / "wav" / dialog
    neutral_wav = blobs.get(_TONE_HZ["neu"]) or next(iter(blobs.values()))

    # AppleDouble companion of the label file: binary header, then a label line
    # that relabels a real utterance, so reading it changes the counts.
    name, code, _ = turns[0]
    wrong = "neu" if code == "ang" else "ang"
    bait_line = f"[1.0000 - 2.0000]\t{name}\t{wrong}\t[1.5000, 4.0000, 4.0000]\n"
    (labels_dir / f"._{dialog}.txt").write_bytes(_APPLEDOUBLE + b"\n" + bait_line.encode())
    for folder in (data_dir, session_dir, labels_dir, wav_dir):
        (folder / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1" + b"\x00" * 32)
    (data_dir / f"._{session_dir.name}").write_bytes(_APPLEDOUBLE)
    (wav_dir / f"._{turns[0][0]}.wav").write_bytes(_APPLEDOUBLE)

    # Per-annotator files in their real formats, plus one main-format bait line.
    first = turns[0][0]
    formats = {
            "Categorical": (f"{dialog}_e2_cat.txt", f"{first} :Neutral state; ()\n"),
            "Attribute": (f"{dialog}_e3_atr.txt", f"{first} :act 2; val 3; dom  2;  ()\n"),
            "Self-evaluation": (f"{dialog}_e5_sel.txt", f"{first} :val 3; act 2; dom 2;\n"),
    }
    for folder, (file_name, text) in formats.items():
        bait = f"{dialog}_{BAIT_INDICES[folder]}"
        sub = labels_dir / folder
        sub.mkdir(exist_ok=True)
        (sub / file_name).write_text(
                text + f"[3.0000 - 4.0000]\t{bait}\tneu\t[2.5000, 2.5000, 2.5000]\n",
                encoding="utf-8")
        (sub / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
        (wav_dir / f"{bait}.wav").write_bytes(neutral_wav)
