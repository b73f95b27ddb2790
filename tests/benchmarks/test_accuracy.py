"""benchmarks/accuracy.py: the table's figures, and a smoke run on the demo corpus."""

import importlib.util
import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from tests.run_files import fake_fold

ROOT = pathlib.Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("accuracy_table",
                                               ROOT / "benchmarks" / "accuracy_table.py")
accuracy = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(accuracy)


def _fold(fold, labels, predictions, domain=None):
    wa = float(np.mean([a == b for a, b in zip(labels, predictions)]))
    per_class = [np.mean([p == c for t, p in zip(labels, predictions) if t == c])
                 for c in sorted(set(labels))]
    return {"fold": fold, "test_speaker": f"s{fold}", "wa": wa, "ua": float(np.mean(per_class)),
            "domain_accuracy": domain, "n_test": len(labels), "train_seconds": 60.0,
            "epochs_completed": 3, "selected_epoch": 2, "epoch_selection": "x",
            "y_true": labels, "y_pred": predictions}


def test_summary_means_pools_and_pairs_folds():
    a = [_fold(0, ["sad", "sad", "happy"], ["sad", "happy", "happy"], 1.0),
         _fold(1, ["sad", "happy", "happy", "happy"], ["sad", "happy", "sad", "sad"], 0.5)]
    s = accuracy.summarise(a)
    assert s["n_folds"] == 2
    assert s["ua_mean"] == pytest.approx(np.mean([0.75, (1 + 1 / 3) / 2]))
    assert s["ua_std"] == pytest.approx(np.std([0.75, (1 + 1 / 3) / 2], ddof=1))
    # Pooled over the 7 utterances: sad 2/3, happy 2/4.
    assert s["ua_pooled"] == pytest.approx((2 / 3 + 2 / 4) / 2)
    assert s["wa_pooled"] == pytest.approx(4 / 7)
    assert s["domain_accuracy_mean"] == 0.75 and s["domain_accuracy_min"] == 0.5
    b = [dict(f, ua=f["ua"] - 0.1) for f in a] + [_fold(2, ["sad"], ["sad"])]
    d = accuracy.paired_difference(a, b)
    assert d["n"] == 2 and d["mean"] == pytest.approx(0.1) and d["se"] == pytest.approx(0.0)
    floor = accuracy.summarise([dict(f, domain_accuracy=None) for f in a])
    text = accuracy.table([{"preset": "p", "variant": "adarl", "summary": s},
                           {"preset": "p", "variant": "backbone", "summary": None},
                           {"preset": "p", "variant": "linear floor (per speaker)",
                            "summary": floor, "uses_test_speaker_audio": True}],
                          {"p": d})
    assert "| p | adarl | 2 |" in text and "0.750 / 0.500" in text
    assert "ADARL - backbone UA = +0.100" in text
    assert "| p | linear floor (per speaker) | 2 |" in text and "| n/a |" in text
    assert "uses the test speakers' unlabelled audio" in text


def test_seeds_are_averaged_per_fold_before_pairing():
    # Two seeds of a recipe: the folds both finished, each fold's UA averaged.
    seed0 = [dict(_fold(0, ["sad"], ["sad"]), ua=0.6), dict(_fold(1, ["sad"], ["sad"]), ua=0.4)]
    seed1 = [dict(_fold(0, ["sad"], ["sad"]), ua=0.8), dict(_fold(2, ["sad"], ["sad"]), ua=0.9)]
    assert accuracy.seeds_averaged([seed0, seed1]) == [{"fold": 0, "ua": pytest.approx(0.7)}]
    assert accuracy.seeds_averaged([seed0]) == [{"fold": 0, "ua": 0.6}, {"fold": 1, "ua": 0.4}]
    d = dict(accuracy.paired_difference(seed0, [dict(f, ua=f["ua"] - 0.1) for f in seed0]),
             seeds=[0, 1])
    text = accuracy.table([], {"p": d})
    assert "(standard error over 2 paired folds, seeds 0, 1 averaged per fold;" in text


def _fake_run(out, uas):
    """Fake finished folds with these UA (4 test utterances each: UA in quarters)."""
    for fold, ua in enumerate(uas):
        right = round(ua * 4)
        fake_fold(out, fold, [0, 1, 2, 3], [0, 1, 2, 3][:right] + [0] * (4 - right))


def test_seeds_flag_trains_one_folder_per_seed_and_pairs_their_mean(tmp_path):
    out = tmp_path / "acc"
    cmd = [sys.executable, str(ROOT / "benchmarks" / "accuracy.py"),
           "--presets=" + str(ROOT / "configs" / "adarl_robust.cfg"),
           "--variants=adarl,backbone", "--seeds=0,1", "--nolinear_floor", f"--out_dir={out}"]
    dry = subprocess.run(cmd + ["--dry_run"], capture_output=True, text=True, timeout=120,
                         cwd=ROOT)
    assert dry.returncode == 0, dry.stderr[-2000:]
    commands = [line for line in dry.stdout.splitlines() if line.startswith("$ ")]
    assert [(c.split("--variant=")[1].split()[0], c.split()[-1]) for c in commands] == [
        ("adarl", "--seed=0"), ("adarl", "--seed=1"),
        ("backbone", "--seed=0"), ("backbone", "--seed=1")]
    assert f"--out_dir={out / 'adarl_robust_backbone_seed1'}" in commands[3]
    for bad, message in (("0,x", "give integers"), ("1,1", "repeats a seed")):
        refused = subprocess.run(cmd + [f"--seeds={bad}", f"--out_dir={tmp_path / 'refused'}"],
                                 capture_output=True, text=True, timeout=120, cwd=ROOT)
        assert refused.returncode != 0 and message in refused.stderr, refused.stderr[-2000:]
        assert "Traceback" not in refused.stderr
        assert not (tmp_path / "refused").exists()  # Refused before anything is written.
    # The table from finished folds: ADARL's seeds average 0.75 and 0.5 on folds 0 and 1,
    # the backbone's 0.5 and 0.25.
    for name, uas in (("adarl_seed0", (1.0, 0.5)), ("adarl_seed1", (0.5, 0.5)),
                      ("backbone_seed0", (0.5, 0.25)), ("backbone_seed1", (0.5, 0.25))):
        _fake_run(out / f"adarl_robust_{name}", uas)
    done = subprocess.run(cmd + ["--collect_only"], capture_output=True, text=True,
                          timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    rows = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert [(r["variant"], r["seed"], r["summary"]["ua_mean"]) for r in rows] == [
        ("adarl, seed 0", 0, 0.75), ("adarl, seed 1", 1, 0.5),
        ("backbone, seed 0", 0, 0.375), ("backbone, seed 1", 1, 0.375)]
    assert ("adarl_robust: ADARL - backbone UA = +0.250 +- 0.000 (standard error over 2 paired "
            "folds, seeds 0, 1 averaged per fold; per fold +0.250, +0.250)") in done.stdout
    # Seed by seed: +0.5, +0.25 (seed 0) and +0.0, +0.25 (seed 1); their means' spread.
    assert ("adarl_robust: ADARL - backbone seed by seed: +0.375 +- 0.125 (seed 0), +0.125 +- "
            "0.125 (seed 1); the seeds' means spread 0.177 (standard deviation over 2 seeds), "
            "positive for 2 of 2") in done.stdout


def test_smoke_run_on_the_demo_corpus(small_demo_corpus, tmp_path):
    out = tmp_path / "acc"
    cmd = [sys.executable, str(ROOT / "benchmarks" / "accuracy.py"),
           "--presets=" + str(ROOT / "configs" / "adarl_robust.cfg"),
           "--variants=adarl,backbone", "--dataset=demo", f"--data_dir={small_demo_corpus}",
           "--folds=2", "--epochs=1", "--trunk_filters=4,4,4,8", "--max_freq_hz=2000",
           "--segment_s=1.0", "--batch_size=8", "--main_flags=--min_tail_s=0.5",
           f"--out_dir={out}"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    rows = [json.loads(l) for l in done.stdout.splitlines() if l.startswith("{")]
    assert [(r["preset"], r["variant"]) for r in rows] == [
        ("adarl_robust", "adarl"), ("adarl_robust", "backbone"),
        ("adarl_robust", "linear floor (global)"),
        ("adarl_robust", "linear floor (per speaker, uses test-speaker audio)")]
    # Every row on the folds asked for, with the same test speakers.
    assert all(r["summary"]["folds"] == [2] for r in rows)
    assert len({tuple(r["summary"]["test_speakers"]) for r in rows}) == 1
    assert [r.get("uses_test_speaker_audio") for r in rows] == [None, None, False, True]
    assert rows[0]["summary"]["domain_accuracy_mean"] is not None
    assert rows[1]["summary"]["domain_accuracy_mean"] is None  # No domain head.
    # The global floor's gender column: the same logistic regression fitted on gender;
    # per-speaker features hold no gender cue, so that row has none.
    assert 0.0 <= rows[2]["summary"]["domain_accuracy_mean"] <= 1.0
    assert rows[3]["summary"]["domain_accuracy_mean"] is None
    md = (out / "accuracy.md").read_text()
    assert "| adarl_robust | backbone | 1 |" in md and "ADARL - backbone UA" in md
    assert "| adarl_robust | linear floor (global) | 1 |" in md
    saved = json.loads((out / "accuracy.json").read_text())["rows"]
    assert saved[3]["uses_test_speaker_audio"] and saved[3]["data"]["dataset"] == "demo"
    results = json.loads((out / "adarl_robust_adarl" / "fold_02" / "results.json").read_text())
    # The harness's --epochs over the preset's --train_steps, the last epoch reported.
    assert results["epochs_completed"] == 1
    assert results["epoch_selection"].startswith("last epoch (the test speaker never")
    # --collect_only trains nothing and gives the same table from the folders.
    again = subprocess.run(cmd + ["--collect_only"], capture_output=True, text=True,
                           timeout=120, cwd=ROOT)
    assert again.returncode == 0, again.stderr[-2000:]
    rows_again = [json.loads(l) for l in again.stdout.splitlines() if l.startswith("{")]
    # (The floor is fitted again: its seconds differ.)
    def figures(rows):
        return [{k: v for k, v in r["summary"].items() if k != "train_seconds"} for r in rows]
    assert figures(rows_again) == figures(rows)
    assert (out / "accuracy.md").read_text() == md
    # --nolinear_floor: the network rows only.
    bare = subprocess.run(cmd + ["--collect_only", "--nolinear_floor"], capture_output=True,
                          text=True, timeout=120, cwd=ROOT)
    assert bare.returncode == 0, bare.stderr[-2000:]
    assert "linear floor" not in bare.stdout and "linear floor" not in (
        out / "accuracy.md").read_text()
