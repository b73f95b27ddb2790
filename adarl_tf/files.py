"""Writing results so that an interruption never leaves a half-written file.

Every file is written under a temporary name in the same folder, flushed to
disk and renamed into place (`os.replace` is atomic on POSIX and Windows), so
a reader sees the old file or the new one, never a torn one. Folders (a
SavedModel, a checkpoint) get the same treatment with `atomic_dir`. A crash
can leave a `.<name>.*` temporary behind; it is never read under the final
name, and the next successful write of that name does not depend on it.
"""

import contextlib
import csv
import json
import os
import pathlib
import shutil
import tempfile


def _suffix(path):
    # Keras insists on the whole suffix of some names (`x.weights.h5`), so the
    # temporary name keeps every dot-suffix of the final one.
    suffixes = path.suffixes
    return "".join(suffixes) if suffixes and not path.name.startswith(".") else path.suffix


def _umask():
    mask = os.umask(0o22)  # Read by setting it; put back at once.
    os.umask(mask)
    return mask


def _publish(path, mode):
    """Gives `path` the permissions `open` or `mkdir` would: `mode` less the umask."""
    os.chmod(path, mode & ~_umask())


def _fsync(path):
    """Flushes a file's data to disk, so a power cut after the rename cannot leave it empty."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path):
    # Makes the rename itself durable; not possible (nor needed) on Windows.
    if os.name != "posix":
        return
    try:
        _fsync(path)
    except OSError:
        pass


@contextlib.contextmanager
def atomic_path(path):
    """Yields a temporary path beside `path`; renames it to `path` on success.

    The temporary name keeps the final suffixes (`.keras`, `.weights.h5`),
    since some writers (Keras' `model.save`) insist on them. If the body
    raises, the temporary file is removed and `path` is left as it was.
    """
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = _suffix(path)
    stem = path.name[:len(path.name) - len(suffix)] if suffix else path.name
    fd, tmp = tempfile.mkstemp(prefix=f".{stem}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    try:
        yield pathlib.Path(tmp)
        _publish(tmp, 0o666)
        _fsync(tmp)
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


@contextlib.contextmanager
def atomic_dir(path):
    """Yields an empty temporary folder beside `path`; it replaces `path` on success.

    For outputs that are folders. An existing `path` is moved aside first
    and deleted only after the new folder is in place, so between the two
    renames neither name is torn; a crash in that instant leaves the old
    folder under `.<name>.old.*`.
    """
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = pathlib.Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        yield tmp
        _publish(tmp, 0o777)
        for root, _, names in os.walk(tmp):
            for name in names:
                _fsync(os.path.join(root, name))
        old = None
        if path.exists():
            old = pathlib.Path(tempfile.mkdtemp(prefix=f".{path.name}.old.", dir=path.parent))
            os.replace(path, old / path.name)
        os.replace(tmp, path)
        _fsync_dir(path.parent)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


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
