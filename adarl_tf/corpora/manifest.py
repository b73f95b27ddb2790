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

import csv
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


def read_rows(path):
    """(header, [(line number, row dict)]) of a manifest, columns lower-cased."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        first = f.readline()
        f.seek(0)
        reader = csv.DictReader(f, delimiter=_dialect(path, first))
        if reader.fieldnames is None:
            raise ValueError(f"manifest {path} is empty; it needs a header row with at least "
                             "the columns path and speaker (and usually emotion)")
        header = [h.strip().lower() for h in reader.fieldnames]
        reader.fieldnames = header
        rows = [(i + 2, {k: (v or "").strip() for k, v in r.items() if k is not None})
                for i, r in enumerate(reader)]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise ValueError(f"manifest {path} has no {', '.join(missing)} column (its columns: "
                         f"{', '.join(header)}); add a header row with path, speaker and "
                         "emotion columns (see README 'Corpora')")
    return header, rows


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
        audio_path = pathlib.Path(os.path.expanduser(row["path"]))
        if not audio_path.is_absolute():
            audio_path = base / audio_path
        corpus_name = row.get("corpus") or path.stem
        speaker = f"{corpus_name}/{row['speaker']}" if prefix else row["speaker"]
        gender = _GENDER.get(row.get("gender", "").lower(), row.get("gender", ""))
        label = None if domain_only else (row.get("emotion") or "").lower() or None
        meta = {c: row.get(c, "") for c in extra_cols}
        meta["corpus"] = corpus_name
        name = row.get("name") or os.path.splitext(row["path"])[0]
        utt = checked_utterance(skipped, name, audio_path.resolve(), speaker, gender, label,
                                meta, context=where)
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
    emotions, _ = labels_lib.resolve("all", found) if found else ((), {})
    return Corpus(name=path.stem if not has_corpus else " + ".join(sorted(corpora)),
                  utterances=utterances, speakers=speakers, skipped=skipped,
                  speaker_genders=genders, emotions=emotions)
