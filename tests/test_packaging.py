"""The wheel installs one top-level name, `adarl_tf`; pipelines/ and export/ live under it."""

import pathlib
import subprocess
import sys
import zipfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_wheel_has_no_generic_top_level_names(tmp_path):
    pytest.importorskip("setuptools")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(tmp_path), str(ROOT)], check=True, capture_output=True)
    (wheel,) = tmp_path.glob("adarl_tf-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert top_level == {"adarl_tf"}
    assert "adarl_tf/pipelines/segments.py" in names
    assert "adarl_tf/export/__init__.py" in names
    assert not any(n.startswith(("pipelines/", "export/", "tests/")) for n in names)


def test_pipelines_and_export_import_under_the_package_namespace():
    import adarl_tf.export
    import adarl_tf.pipelines
    assert adarl_tf.pipelines.__name__ == "adarl_tf.pipelines"
    assert pathlib.Path(adarl_tf.export.__file__).parent.name == "export"
