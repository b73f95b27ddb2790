"""The wheel installs one top-level name, `adarl_tf`; pipelines/ and export/ live under it.

Also the code's shape: no function longer than `MAX_FUNCTION_LINES`.
"""

import ast
import pathlib
import subprocess
import sys
import zipfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
# A function longer than this is split into named steps (docstring and decorators count).
MAX_FUNCTION_LINES = 80


def test_wheel_has_no_generic_top_level_names(tmp_path):
    pytest.importorskip("setuptools")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(tmp_path), str(ROOT)], check=True, capture_output=True)
    (wheel,) = tmp_path.glob("adarl_tf-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert top_level == {"adarl_tf"}
    assert "adarl_tf/pipelines/plan.py" in names
    assert "adarl_tf/export/__init__.py" in names
    assert not any(n.startswith(("pipelines/", "export/", "tests/")) for n in names)


def test_pipelines_and_export_import_under_the_package_namespace():
    import adarl_tf.export
    import adarl_tf.pipelines
    assert adarl_tf.pipelines.__name__ == "adarl_tf.pipelines"
    assert pathlib.Path(adarl_tf.export.__file__).parent.name == "export"


def test_no_function_is_longer_than_80_lines():
    too_long = []
    for folder in ("adarl_tf", "export", "pipelines"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    first = min([node.lineno] + [d.lineno for d in node.decorator_list])
                    lines = node.end_lineno - first + 1
                    if lines > MAX_FUNCTION_LINES:
                        too_long.append(f"{path.relative_to(ROOT)}:{first} {node.name} "
                                        f"({lines} lines)")
    assert not too_long, "split into named steps: " + "; ".join(too_long)
