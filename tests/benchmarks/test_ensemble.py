"""benchmarks/ensemble.py: runs' class probabilities averaged fold by fold, and its refusals."""

import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest
from sklearn import metrics

from adarl_tf.corpora.corpus import EMOTIONS
from tests.run_files import fake_fold

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCRIPT = str(ROOT / "benchmarks" / "ensemble.py")
LABELS = [0, 1, 2, 3]
# Each member is right on two of four utterances; their mean is right on three.
PROBS_A = np.array([[.6, .4, 0, 0], [.6, .4, 0, 0], [0, 0, .9, .1], [0, 0, .55, .45]])
PROBS_B = np.array([[.3, .7, 0, 0], [.1, .9, 0, 0], [0, 0, .2, .8], [0, 0, .1, .9]])


def _member(path, probs, folds=(0,), order=(0, 1, 2, 3), names=None, domain=None):
    names = names or [f"u{i}" for i in range(4)]
    rows = list(order)
    for fold in folds:
        fake_fold(path, fold, [LABELS[i] for i in order],
                  [int(probs[i].argmax()) for i in order], probs=probs[rows],
                  names=[names[i] for i in order],
                  domain=None if domain is None else (domain[0][rows], domain[1][rows]))
    return path


def _run(*args):
    done = subprocess.run([sys.executable, SCRIPT, *args], capture_output=True, text=True,
                          timeout=300, cwd=ROOT)
    rows = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    return done, rows


def test_mean_of_members_probabilities_scored_per_fold(tmp_path):
    a = _member(tmp_path / "a", PROBS_A, folds=(0, 1))
    # Rows in another order: the ensemble pairs utterances by name, not by row.
    b = _member(tmp_path / "b", PROBS_B, order=(3, 1, 0, 2))
    done, rows = _run(f"--members={a},{b}")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    # Fold 1 is not in b: left out, and said so.
    assert [r["fold"] for r in rows] == [0]
    assert "fold 1 left out" in done.stdout and str(b) in done.stdout
    mean = (PROBS_A + PROBS_B) / 2
    assert rows[0]["ua"] == pytest.approx(metrics.balanced_accuracy_score(LABELS,
                                                                           mean.argmax(1)))
    assert rows[0]["ua"] == pytest.approx(0.75)
    assert rows[0]["members_ua"] == pytest.approx([0.5, 0.5])


def test_gender_accuracy_of_the_mean_domain_probabilities(tmp_path):
    genders = np.array([0, 1, 1, 0])
    # a is right on u0, u1, u3; b on u1, u2; their mean on u0, u1, u2, u3 but u3 (0.45).
    dom_a = np.array([[.9, .1], [.4, .6], [.6, .4], [.55, .45]])
    dom_b = np.array([[.3, .7], [.2, .8], [.1, .9], [.35, .65]])
    a = _member(tmp_path / "a", PROBS_A, domain=(dom_a, genders))
    b = _member(tmp_path / "b", PROBS_B, order=(3, 1, 0, 2), domain=(dom_b, genders))
    done, rows = _run(f"--members={a},{b}")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    mean = (dom_a + dom_b) / 2
    assert rows[0]["domain_accuracy"] == pytest.approx(np.mean(mean.argmax(1) == genders))
    assert rows[0]["domain_accuracy"] == pytest.approx(0.75)
    assert "| 0.750 / 0.750 |" in done.stdout
    # A member without domain probabilities (a backbone): no gender figure at all.
    c = _member(tmp_path / "c", PROBS_B)
    done, rows = _run(f"--members={a},{c}")
    assert done.returncode == 0 and rows[0]["domain_accuracy"] is None
    assert "| n/a |" in done.stdout


def test_against_pairs_two_ensembles_and_plus_joins_folders(tmp_path):
    a0 = _member(tmp_path / "a0", PROBS_A, folds=(0,))
    a1 = _member(tmp_path / "a1", PROBS_A, folds=(1,))
    b = _member(tmp_path / "b", PROBS_B, folds=(0, 1))
    done, rows = _run(f"--members={a0}+{a1},{b}", f"--against={b}")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert [(r["ensemble"], r["fold"]) for r in rows] == \
        [("members", 0), ("members", 1), ("against", 0), ("against", 1)]
    assert "members - against: UA +0.250 +- 0.000 (standard error over 2 paired folds" in \
        done.stdout


def test_against_also_pairs_the_members_own_ua_averaged_and_member_by_member(tmp_path):
    # Members right on 2 and on 4 of 4 utterances (UA 0.5 and 1.0, averaged 0.75), against
    # one run at 0.5: +0.25 per fold, whatever the ensembles' own UA.
    a = _member(tmp_path / "a", PROBS_A, folds=(0, 1))
    right = _member(tmp_path / "right", np.eye(4), folds=(0, 1))
    b = _member(tmp_path / "b", PROBS_B, folds=(0, 1))
    done, rows = _run(f"--members={a},{right}", f"--against={b}")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert [r["members_ua"] for r in rows if r["ensemble"] == "members"] == [[0.5, 1.0]] * 2
    assert ("members' own UA averaged, members - against: UA +0.250 +- 0.000 (standard error "
            "over 2 paired folds; per fold +0.250, +0.250)") in done.stdout
    assert "seed by seed" not in done.stdout  # Two members against one run: no pairs.
    # As many runs against: member 1 (UA 0.5) against run 1 (0.5) +0, member 2 (1.0)
    # against run 2 (0.5) +0.5, and the spread of those two means.
    done, _ = _run(f"--members={a},{right}", f"--against={b},{b}")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert ("members - against seed by seed: +0.000 +- 0.000 (member 1), +0.500 +- 0.000 "
            "(member 2); the seeds' means spread 0.354 (standard deviation over 2 seeds), "
            "positive for 1 of 2") in done.stdout


def test_against_pairs_each_class_recall_over_the_folds_that_test_it(tmp_path):
    # a predicts [0, 0, 2, 2], b [1, 1, 3, 3] for truth [0, 1, 2, 3]: a is right on neutral
    # and sad only, b on happy and angry only.
    a = _member(tmp_path / "a", PROBS_A)
    b = _member(tmp_path / "b", PROBS_B)
    # Fold 1 tests no angry utterance: its angry recall is undefined, not 0, and left out.
    labels_1 = [0, 1, 2, 2]
    fake_fold(a, 1, labels_1, [0, 0, 2, 2], probs=PROBS_A)
    fake_fold(b, 1, labels_1, [0, 1, 3, 3], probs=np.eye(4)[[0, 1, 3, 3]])
    done, _ = _run(f"--members={a}", f"--against={b}")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    # neutral: a 1, 1; b 0, 1. happy: a 0, 0; b 1, 1. sad: a 1, 1; b 0, 0. angry: fold 0 only.
    assert "| neutral | 1.000 | 0.500 | +0.500 +- 0.500 | 2 |" in done.stdout
    assert "| happy | 0.000 | 1.000 | -1.000 +- 0.000 | 2 |" in done.stdout
    assert "| sad | 1.000 | 0.000 | +1.000 +- 0.000 | 2 |" in done.stdout
    assert "| angry | 0.000 | 1.000 | -1.000 +- n/a | 1 |" in done.stdout


@pytest.mark.parametrize("change, message", [
    ({"names": ["x0", "u1", "u2", "u3"]}, "scored different test utterances"),
    ({"folds": (0,), "joined": True}, "fold 0 is in both"),
])
def test_refuses_runs_that_do_not_match(tmp_path, change, message):
    a = _member(tmp_path / "a", PROBS_A)
    b = _member(tmp_path / "b", PROBS_B, names=change.get("names"))
    members = f"{a}+{b}" if change.get("joined") else f"{a},{b}"
    done, _ = _run(f"--members={members}")
    assert done.returncode != 0 and message in done.stderr, done.stderr[-2000:]


def test_predictions_without_probabilities_are_refused_with_the_fix(tmp_path):
    fake_fold(tmp_path / "old", 0, LABELS, LABELS)  # No p_ columns (an older run).
    done, _ = _run(f"--members={tmp_path / 'old'},{tmp_path / 'old'}")
    assert done.returncode != 0
    assert "no column p_neutral" in done.stderr and "--overwrite" in done.stderr


def test_a_damaged_test_features_file_is_refused_with_the_fix(tmp_path):
    a = _member(tmp_path / "a", PROBS_A, domain=(np.ones((4, 2)) / 2, np.zeros(4, int)))
    (a / "fold_00" / "test_features.npz").write_bytes(b"not an archive" * 10)
    done, _ = _run(f"--members={a},{a}")
    assert done.returncode != 0 and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert "test_features.npz" in done.stderr and "--overwrite" in done.stderr


def test_a_probability_that_is_not_finite_is_refused(tmp_path):
    broken = PROBS_B.copy()
    broken[2, 0] = np.nan
    a = _member(tmp_path / "a", PROBS_A)
    b = _member(tmp_path / "b", broken)
    done, _ = _run(f"--members={a},{b}")
    assert done.returncode != 0 and "not finite" in done.stderr, done.stderr[-2000:]


def _trained_on(run, cpu):
    """Marks every fold of `run` as trained on `cpu` (results.json's versions.cpu)."""
    for path in run.glob("fold_*/results.json"):
        results = json.loads(path.read_text())
        path.write_text(json.dumps(dict(results, versions={"cpu": cpu})))
    return run


def test_against_refuses_runs_trained_on_different_cpus_unless_allowed(tmp_path):
    a = _trained_on(_member(tmp_path / "a", PROBS_A), "Xeon (avx512f)")
    b = _trained_on(_member(tmp_path / "b", PROBS_B), "EPYC (avx2)")
    done, _ = _run(f"--members={a}", f"--against={b}")
    assert done.returncode != 0 and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert "2 kinds of CPU (EPYC (avx2); Xeon (avx512f))" in done.stderr
    assert done.stdout == ""  # Refused before any figure is printed.
    assert "--allow_mixed_cpus" in done.stderr
    done, _ = _run(f"--members={a}", f"--against={b}", "--allow_mixed_cpus")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "trained on: EPYC (avx2); Xeon (avx512f)" in done.stdout
    # One kind, or a run older than the record (which cannot be checked): paired, and said.
    old = _member(tmp_path / "old", PROBS_B)
    done, _ = _run(f"--members={a}", f"--against={old}")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "trained on: CPU not recorded; Xeon (avx512f)" in done.stdout
    # Members alone are an ensemble, not a pairing: their CPUs are not checked.
    done, _ = _run(f"--members={a},{b}")
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.mark.parametrize("change, message", [
    ({"test_speaker": "S9"}, "differ in test_speaker ('S0' against 'S9')"),
    ({"labels": EMOTIONS[::-1]}, "differ in labels"),  # The same classes in another order.
    ({"protocol_id": "speaker_kfold-3"}, "differ in protocol_id"),
    ({"names": ["x0", "u1", "u2", "u3"]}, "scored different test utterances"),
])
def test_against_refuses_a_fold_that_is_not_the_same_test_set(tmp_path, change, message):
    a = _member(tmp_path / "a", PROBS_A)
    b = _member(tmp_path / "b", PROBS_B, names=change.get("names"))
    fields = {k: v for k, v in change.items() if k != "names"}  # results.json's; not mutated.
    path = b / "fold_00" / "results.json"
    path.write_text(json.dumps(dict(json.loads(path.read_text()), **fields)))
    done, _ = _run(f"--members={a}", f"--against={b}")
    assert done.returncode != 0 and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert f"fold 0: {a} and {b} " in done.stderr and message in done.stderr, done.stderr[-2000:]
    assert "pair runs of" in done.stderr and done.stdout == ""
