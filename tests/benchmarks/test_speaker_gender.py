"""benchmarks/speaker_gender.py: the gender head judged per utterance and per test speaker."""

import pathlib
import subprocess
import sys

import numpy as np
import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "benchmarks"))
import speaker_gender  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCRIPT = str(ROOT / "benchmarks" / "speaker_gender.py")


def test_figures_against_hand_counted_values():
    # Speaker a (F = 0): 2 of 3 utterances right, mean probability of F 0.6 -> right.
    # Speaker b (M = 1): 1 of 3 right, mean probability of M 0.4 -> wrong.
    # Speaker c (M): 0 of 2 right (its tie goes to index 0, F), mean of M 0.45 -> wrong.
    probs = np.array([[0.9, 0.1], [0.8, 0.2], [0.1, 0.9],
                      [0.9, 0.1], [0.6, 0.4], [0.3, 0.7],
                      [0.6, 0.4], [0.5, 0.5]])
    labels = [0, 0, 0, 1, 1, 1, 1, 1]
    speakers = ["a", "a", "a", "b", "b", "b", "c", "c"]
    row = speaker_gender.judge(probs, labels, speakers)
    assert row["utterances"] == 8
    assert row["utterance_accuracy"] == pytest.approx(3 / 8)
    assert row["speakers"] == 3 and row["speakers_right"] == 1
    assert row["speaker_accuracy"] == pytest.approx(1 / 3)
    assert row["wrong"] == {"b": pytest.approx(1 / 3, abs=1e-4), "c": 0.0}


def test_soft_vote_can_overrule_the_majority_of_utterances():
    # Two hesitant errors and one confident hit: the mean probability keeps the label.
    row = speaker_gender.judge([[0.45, 0.55], [0.45, 0.55], [0.99, 0.01]], [0, 0, 0], ["s"] * 3)
    assert row["utterance_accuracy"] == pytest.approx(1 / 3)
    assert row["speakers_right"] == 1 and row["wrong"] == {}


def _fold(run_dir, fold, **arrays):
    fold_dir = run_dir / f"fold_{fold:02d}"
    fold_dir.mkdir(parents=True)
    np.savez(fold_dir / "test_features.npz", **{k: np.asarray(v) for k, v in arrays.items()})
    return fold_dir / "test_features.npz"


def test_command_prints_each_fold_and_the_speakers_over_all_folds(tmp_path):
    run = tmp_path / "run"
    _fold(run, 0, domain_probs=np.float32([[0.9, 0.1], [0.2, 0.8]]), domain_labels=[0, 1],
          speakers=["01", "02"])
    _fold(run, 1, domain_probs=np.float32([[0.3, 0.7], [0.4, 0.6]]), domain_labels=[0, 0],
          speakers=["03", "03"])
    done = subprocess.run([sys.executable, SCRIPT, f"--runs={run}"],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    rows = [line for line in done.stdout.splitlines() if line.startswith(f"| {run} |")]
    assert rows[0] == f"| {run} | 0 | 2 | 1.000 | 2 of 2 | none |"
    assert rows[1] == f"| {run} | 1 | 2 | 0.000 | 0 of 1 | 03 (0.00) |"
    assert rows[2] == f"| {run} | mean | | 0.500 (mean over folds) | 2 of 3 (0.667) | |"


def test_command_refuses_a_run_without_a_gender_head_or_without_folds(tmp_path):
    path = _fold(tmp_path / "backbone", 0, domain_labels=[0], speakers=["01"])
    done = subprocess.run([sys.executable, SCRIPT, f"--runs={tmp_path / 'backbone'}"],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode != 0
    assert f"{path}: no domain_probs" in done.stderr
    assert "Traceback" not in done.stderr
    (tmp_path / "empty").mkdir()
    done = subprocess.run([sys.executable, SCRIPT, f"--runs={tmp_path / 'empty'}"],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode != 0
    assert "no fold_NN/test_features.npz" in done.stderr
