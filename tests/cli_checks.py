"""Shared by the command-line tests (predict, timeline, the benchmarks): how a refused input
must look, and a command run as a subprocess."""

import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


def run_python(*args, timeout=600):
    """`python <args>` (a script or `-m module`) from the repository root, output captured."""
    return subprocess.run([sys.executable, *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)


def one_error(capsys, code, want_code, *parts):
    """`command` returned `want_code` and printed one error line holding `parts`."""
    err = capsys.readouterr().err
    assert code == want_code, err
    lines = [line for line in err.splitlines() if line]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert all(p in lines[0] for p in parts), (lines[0], parts)
