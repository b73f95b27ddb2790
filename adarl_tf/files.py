"""Writing results so that an interruption never leaves a half-written file.

Every file is written under a temporary name in the same folder and renamed
into place (`os.replace` is atomic on POSIX and Windows), so a reader sees the
old file or the new one, never a torn one.
"""

import contextlib
import csv
import json
import os
import pathlib
import tempfile


@contextlib.contextmanager
def atomic_path(path):
    """Yields a temporary path beside `path`; renames it to `path` on success.

    The temporary name keeps the final suffix, since some writers (Keras'
    `model.save`) insist on it.
    """
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        yield pathlib.Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_text(path, text):
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path, obj):
    write_text(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


def write_csv(path, header, rows):
    with atomic_path(path) as tmp:
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(header)
            writer.writerows(rows)
