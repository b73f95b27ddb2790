"""benchmarks/attention_spread.py: the attention's spread between utterances and genders."""

import pathlib
import subprocess
import sys

import numpy as np
import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "benchmarks"))
import attention_spread  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCRIPT = str(ROOT / "benchmarks" / "attention_spread.py")


def test_figures_against_hand_computed_values():
    attention = np.array([[0.4, 0.6], [0.6, 0.6], [0.5, 0.3], [0.5, 0.5]])
    row = attention_spread.spread(attention, ["F", "F", "M", "M"])
    assert row["utterances"] == 4
    assert row["mean_weight"] == pytest.approx(0.5)
    # Per-row standard deviations over utterances: 0.0707 and 0.1225.
    assert row["sd_between_utterances"] == pytest.approx((np.sqrt(0.005) + np.sqrt(0.015)) / 2)
    assert row["relative_sd"] == pytest.approx(row["sd_between_utterances"] / 0.5)
    # Row means F (0.5, 0.6), M (0.5, 0.4): the largest gap is row 2's 0.2.
    assert row["max_gender_gap"] == pytest.approx(0.2)
    assert row["relative_gender_gap"] == pytest.approx(0.4)
    one_gender = attention_spread.spread(attention, ["M"] * 4)
    assert one_gender["max_gender_gap"] is None and one_gender["relative_gender_gap"] is None


def _fold(run_dir, fold, attention, genders):
    fold_dir = run_dir / f"fold_{fold:02d}"
    fold_dir.mkdir(parents=True)
    np.savez(fold_dir / "test_features.npz", attention=np.asarray(attention, "float32"),
             genders=np.array(genders))


def test_command_prints_a_row_per_fold_and_refuses_a_folder_without_folds(tmp_path):
    _fold(tmp_path / "run", 0, [[0.5, 0.5], [0.5, 0.5]], ["F", "M"])
    _fold(tmp_path / "run", 1, [[0.2, 0.8], [0.6, 0.4]], ["F", "F"])
    done = subprocess.run([sys.executable, SCRIPT, f"--runs={tmp_path / 'run'}"],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    rows = [line for line in done.stdout.splitlines() if line.startswith(f"| {tmp_path}")]
    assert len(rows) == 2
    assert "| 0 | 2 | 0.500 | 0.0000 (0.00%) | 0.0000 (0.00%) |" in rows[0]
    assert "n/a (n/a)" in rows[1]
    empty = tmp_path / "empty"
    empty.mkdir()
    done = subprocess.run([sys.executable, SCRIPT, f"--runs={empty}"],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode != 0
    assert "no fold_NN/test_features.npz" in done.stderr


def test_command_names_a_run_without_attention(tmp_path):
    fold_dir = tmp_path / "backbone" / "fold_00"
    fold_dir.mkdir(parents=True)
    np.savez(fold_dir / "test_features.npz", genders=np.array(["F", "M"]))
    done = subprocess.run([sys.executable, SCRIPT, f"--runs={tmp_path / 'backbone'}"],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode != 0
    assert f"{fold_dir / 'test_features.npz'}: no attention weights" in done.stderr
    assert "Traceback" not in done.stderr
