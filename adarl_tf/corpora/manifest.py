"""Any labelled speech, listed in a CSV or TSV manifest (no TensorFlow).

Columns (header row required; `.tsv` files, or a header with tabs, are
tab-separated, others comma-separated):

  path      required. The audio file (WAV or FLAC, any rate and channel
            count), relative to the manifest's folder or absolute.
  speaker   required. Speaker id; folds are built from it.
  emotion   optional. The label; empty = domain-only data (trains the
            domain head, never tested). Without the column every row is
            domain-only.
  gender    optional. F/M (also female/male); needed for --domain=gender.
  corpus    optional. The corpus a row comes from (default: the manifest's
            file name); with several values, speaker ids are prefixed with it
            so that two corpora's "spk1" stay apart.
  session   optional. For --protocol=loso_session.
  name      optional. Utterance id (default: the path without extension).
  any other column is metadata usable as `--domain=<column>`.
"""

import codecs
import csv
import io
import os
import pathlib

from adarl_tf.corpora import labels as labels_lib
from adarl_tf.corpora.corpus import Corpus, checked_utterance

REQUIRED = ("path", "speaker")
_GENDER = {"f": "F", "female": "F", "w": "F", "woman": "F", "m": "M", "male": "M",
           "man": "M"}


def _dialect(path, header_line):
    if path.suffix.lower() == ".tsv" or "\t" in header_line:
        return "\t"
    return ","


_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"))
_TO_UTF8 = "save it as UTF-8 (e.g. `iconv -f latin1 -t utf-8 in.csv > out.csv`)"


def _text(path):
    """The manifest's text: UTF-8, or UTF-8/UTF-16 with a byte-order mark."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ValueError(f"manifest {path} cannot be read ({e.strerror}); check its "
                         "permissions") from None
    encoding = next((e for bom, e in _BOMS if data.startswith(bom)), "utf-8")
    if encoding == "utf-8" and b"\x00" in data:
        raise ValueError(f"manifest {path} holds NUL bytes (UTF-16 without a byte-order "
                         f"mark?); {_TO_UTF8}")
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as e:
        raise ValueError(f"manifest {path} is not {encoding} text (byte 0x{data[e.start]:02x} "
                         f"at offset {e.start}); {_TO_UTF8}") from None
    return text


def read_rows(path):
    """(header, [(line number, row dict)]) of a manifest, columns lower-cased.

    Refuses what would lose data silently: a column named twice (the last
    would win), a row with more values than the header has columns, and a
    stray quote that swallows the lines after it.
    """
    text = _text(path)
    reader = csv.reader(io.StringIO(text, newline=""),
                        delimiter=_dialect(path, text.partition("\n")[0]))
    rows, line = [], 1
    try:
        header = [h.strip().lower() for h in next(reader, [])]
        for fields in reader:
            first, line = line + 1, reader.line_num
            if any("\n" in v or "\r" in v for v in fields):
                raise ValueError(f"manifest {path} line {first}: a quote (\") opens a value "
                                 f"that runs on to line {line}; remove the stray quote or "
                                 "close it")
            if any(v.strip() for v in fields[len(header):]):
                raise ValueError(f"manifest {path} line {first} has {len(fields)} values but "
                                 f"the header {len(header)} columns; quote a value that holds "
                                 "the separator")
            if any(v.strip() for v in fields):
                rows.append((first, {h: v.strip() for h, v in zip(header, fields) if h}))
    except csv.Error as e:
        raise ValueError(f"manifest {path} line {reader.line_num}: {e}; look for a stray "
                         "quote (\") there or above it") from None
    if not any(header):
        raise ValueError(f"manifest {path} is empty; it needs a header row with at least "
                         "the columns path and speaker (and usually emotion)")
    twice = sorted({h for h in header if h and header.count(h) > 1})
    if twice:
        raise ValueError(f"manifest {path}: column {', '.join(twice)} appears more than once "
                         "in the header; keep one column of each name (rename or delete "
                         "the others)")
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise ValueError(f"manifest {path} has no {', '.join(missing)} column (its columns: "
                         f"{', '.join(header)}); add a header row with path, speaker and "
                         "emotion columns (see README 'Corpora')")
    return header, rows


def _gender(row):
    return _GENDER.get(row.get("gender", "").lower(), row.get("gender", ""))


def check_speakers(path, rows):
    """Refuses speaker ids that differ only by case or spacing, and a speaker with two genders.

    Either way one person would be counted as two (and could sit on both sides
    of a fold), or two people as one.
    """
    spelling, genders = {}, {}
    for line, row in rows:
        speaker, corpus = row.get("speaker", ""), row.get("corpus", "")
        if not speaker:
            continue
        key = (corpus, "".join(speaker.split()).casefold())
        other, other_line = spelling.setdefault(key, (speaker, line))
        if other != speaker:
            raise ValueError(f"manifest {path}: speaker ids {other!r} (line {other_line}) and "
                             f"{speaker!r} (line {line}) differ only by case or spacing; "
                             "write one person's id the same way on every line")
        gender = _gender(row)
        other, other_line = genders.setdefault((corpus, speaker), (gender, line))
        if gender and other and gender != other:
            raise ValueError(f"manifest {path}: speaker {speaker!r} is {other} on line "
                             f"{other_line} but {gender} on line {line}; give each speaker "
                             "one gender")
        if not other:
            genders[(corpus, speaker)] = (gender, line)


def load_manifest(manifest_path, domain_only=False):
    """Reads a manifest into a `Corpus`.

    Args:
        manifest_path: str or path. The CSV/TSV file.
        domain_only: bool. Ignore the emotion column (every row domain-only),
            for `--extra_domain_data`.

    Returns:
        A `Corpus`: labels as written (lower-cased), `emotions` the labels
        found in `labels.CANONICAL` order, speakers in order of first
        appearance among labelled rows; rows with a missing file, a bad file,
        or no speaker are in `skipped` with the line number.

    Raises:
        FileNotFoundError: no manifest. ValueError: missing columns, or no
            usable row.
    """
    path = pathlib.Path(os.path.abspath(os.path.expanduser(str(manifest_path))))
    if not path.is_file():
        raise FileNotFoundError(f"manifest {path} not found; give the CSV/TSV file itself "
                                "in --data_dir (or --extra_domain_data)")
    header, rows = read_rows(path)
    check_speakers(path, rows)
    has_corpus = "corpus" in header
    corpora = {r.get("corpus") or path.stem for _, r in rows}
    prefix = has_corpus and len(corpora) > 1
    base = path.parent
    utterances, skipped, genders = [], [], {}
    extra_cols = [c for c in header if c not in ("path", "speaker", "emotion", "gender", "name")]
    for line, row in rows:
        where = f"{path.name} line {line}"
        if not row.get("path"):
            skipped.append({"path": str(path), "reason": f"{where}: empty path; fill it in or "
                                                          "delete the line"})
            continue
        if not row.get("speaker"):
            skipped.append({"path": str(path), "reason": f"{where}: empty speaker; every row "
                                                          "needs one (folds are per speaker)"})
            continue
        # realpath, not resolve(): a symlink loop is then one skipped file, not a crash.
        audio_path = os.path.realpath(base / os.path.expanduser(row["path"]))
        corpus_name = row.get("corpus") or path.stem
        speaker = f"{corpus_name}/{row['speaker']}" if prefix else row["speaker"]
        gender = _gender(row)
        label = None if domain_only else (row.get("emotion") or "").lower() or None
        meta = {c: row.get(c, "") for c in extra_cols}
        meta["corpus"] = corpus_name
        name = row.get("name") or os.path.splitext(row["path"])[0]
        utt = checked_utterance(skipped, name, audio_path, speaker, gender, label, meta,
                                context=where)
        if utt is None:
            continue
        utterances.append(utt)
        if gender:
            genders.setdefault(speaker, gender)
    if not utterances:
        first = f"; first skipped: {skipped[0]['path']}: {skipped[0]['reason']}" \
            if skipped else ""
        raise ValueError(f"no usable rows in manifest {path}{first}")
    names = [u.name for u in utterances]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise ValueError(f"manifest {path}: utterance name {dup!r} appears twice; give a "
                         "unique name column or distinct paths")
    speakers = list(dict.fromkeys(u.speaker for u in utterances if u.label is not None))
    found = {u.label for u in utterances if u.label is not None}
    emotions = labels_lib.ordered(found)
    return Corpus(name=path.stem if not has_corpus else " + ".join(sorted(corpora)),
                  utterances=utterances, speakers=speakers, skipped=skipped,
                  speaker_genders=genders, emotions=emotions)
