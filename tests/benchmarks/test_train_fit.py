"""benchmarks/train_fit.py: a finished fold scored on its training speakers, as the test set is."""

import json

from tests.cli_checks import ROOT, run_python
from tests.run_files import trained_fold_cli

SCRIPT = str(ROOT / "benchmarks" / "train_fit.py")


def test_scores_training_and_test_speakers_of_a_finished_fold(small_demo_corpus, tmp_path):
    out = tmp_path / "run"
    results = trained_fold_cli(small_demo_corpus, out, 2, "--min_tail_s=0.5",
                               "--normalization=speaker", "--validation_speakers=1")

    done = run_python(SCRIPT, f"--run_dir={out}")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    rows = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert [r["fold"] for r in rows] == [2]
    row = rows[0]
    # The test speakers are scored exactly as training scored them.
    assert abs(row["test_ua"] - results["ua"]) < 1e-9 and abs(row["test_wa"] - results["wa"]) < 1e-9
    assert row["test_speakers"] == sorted(results["test_speakers"])
    # The training speakers only: neither the test nor the validation speakers.
    trained = set(row["train_per_speaker"])
    assert trained and not trained & set(results["test_speakers"])
    assert not trained & set(results["validation_speakers"])
    assert all(0.0 <= v <= 1.0 for v in row["train_per_speaker"].values())
    assert 0.0 <= row["train_ua"] <= 1.0
    assert "| 2 |" in done.stdout


def test_a_folder_without_a_finished_fold_is_refused(tmp_path):
    done = run_python(SCRIPT, f"--run_dir={tmp_path}")
    assert done.returncode != 0
    assert f"{tmp_path / 'config.json'} not found" in done.stderr
