"""Shared by the command-line tests (predict, timeline): how a refused input must look."""


def one_error(capsys, code, want_code, *parts):
    """`command` returned `want_code` and printed one error line holding `parts`."""
    err = capsys.readouterr().err
    assert code == want_code, err
    lines = [line for line in err.splitlines() if line]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert all(p in lines[0] for p in parts), (lines[0], parts)
