"""Nothing is unpickled from user-supplied files, and Keras files load in safe mode."""

import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
# Code that reads what users hand it: models, checkpoints, audio, run folders.
SOURCES = sorted(p for d in ("adarl_tf", "pipelines", "export") for p in (ROOT / d).rglob("*.py"))
UNSAFE = {
    r"\bimport pickle\b|\bfrom pickle\b|\bcloudpickle\b|\bdill\b": "pickle",
    r"allow_pickle\s*=\s*True": "np.load(allow_pickle=True)",
    r"safe_mode\s*=\s*False": "Keras load_model(safe_mode=False)",
    r"enable_unsafe_deserialization": "Keras unsafe deserialisation",
    r"\bjoblib\.load\b|\btorch\.load\b|\bpd\.read_pickle\b": "a pickle-based loader",
}


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_unpickling(path):
    text = path.read_text(encoding="utf-8")
    found = [what for pattern, what in UNSAFE.items() if re.search(pattern, text)]
    assert not found, f"{path.relative_to(ROOT)} uses {found}"
