"""Atomic writes: a failure mid-write leaves the old file (or none), never a torn one."""

import json
import os
import stat

import pytest

from adarl_tf import files


class Crash(Exception):
    pass


def test_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "results.json"
    files.write_json(target, {"wa": 0.5})
    with pytest.raises(Crash):
        with files.atomic_path(target) as tmp:
            tmp.write_text('{"wa": 0.')  # Half written...
            raise Crash()  # ...and interrupted.
    assert json.loads(target.read_text()) == {"wa": 0.5}
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]


def test_first_write_that_fails_leaves_nothing(tmp_path):
    with pytest.raises(Crash):
        with files.atomic_path(tmp_path / "summary.md"):
            raise Crash()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name, suffix", [("model.keras", ".keras"),
                                          ("epoch_003.weights.h5", ".weights.h5"),
                                          ("test_features.npz", ".npz"),
                                          ("labels", "")])
def test_temporary_keeps_every_suffix(tmp_path, name, suffix):
    # Keras refuses `save_weights` to a name that does not end in .weights.h5.
    with files.atomic_path(tmp_path / name) as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(".")
        assert tmp.name.endswith(suffix) and tmp.name != name
        tmp.write_text("x")
    assert (tmp_path / name).read_text() == "x"


def test_atomic_dir_replaces_a_folder_whole(tmp_path):
    target = tmp_path / "saved_model"
    with files.atomic_dir(target) as tmp:
        (tmp / "a.pb").write_text("old")
    with pytest.raises(Crash):
        with files.atomic_dir(target) as tmp:
            (tmp / "a.pb").write_text("new, half")
            raise Crash()
    assert (target / "a.pb").read_text() == "old"
    with files.atomic_dir(target) as tmp:
        (tmp / "b.pb").write_text("new")
    assert sorted(p.name for p in target.iterdir()) == ["b.pb"]
    assert [p.name for p in tmp_path.iterdir()] == ["saved_model"]


@pytest.mark.parametrize("umask", [0o022, 0o002, 0o077])
def test_outputs_get_the_umask_permissions_not_the_temporarys(tmp_path, umask):
    # mkstemp/mkdtemp create 0600/0700: renamed as is, results were private to
    # their owner on a shared machine whatever the umask.
    old = os.umask(umask)
    try:
        files.write_json(tmp_path / "results.json", {"wa": 0.5})
        files.write_csv(tmp_path / "predictions.csv", ["a"], [[1]])
        with files.atomic_dir(tmp_path / "saved_model") as tmp:
            (tmp / "saved_model.pb").write_bytes(b"x")
    finally:
        os.umask(old)
    for name, mode in (("results.json", 0o666), ("predictions.csv", 0o666),
                       ("saved_model", 0o777)):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == mode & ~umask, name
