"""benchmarks/rescore.py: finished folds scored again under another scoring cut."""

import json

import numpy as np
import pytest

from adarl_tf import protocol
from adarl_tf.config import DataConfig
from adarl_tf.corpora.load import load_corpus
from adarl_tf.fold_result import FoldResult
from adarl_tf.pipelines import plan
from tests.cli_checks import ROOT, run_python
from tests.run_files import trained_fold_cli

SCRIPT = str(ROOT / "benchmarks" / "rescore.py")


def test_a_finished_fold_scored_with_every_tail(small_demo_corpus, tmp_path):
    out = tmp_path / "run"
    results = trained_fold_cli(small_demo_corpus, out, 1, "--min_tail_s=0.9", "--tail=overlap")

    done = run_python(SCRIPT, f"--run_dir={out}", "--min_tail_s=0")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    rows = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert [r["fold"] for r in rows] == [1]
    row = rows[0]
    # The run's own cut gives what training recorded.
    assert row["reproduced"] and abs(row["ua"] - results["ua"]) < 1e-6
    assert row["segments"] == results["n_test_segments"]
    # The other cut's windows: one more for every test utterance whose tail the
    # run's 0.9 s shortest tail dropped.
    corpus = load_corpus(DataConfig(dataset="demo", data_dir=str(small_demo_corpus)))
    test = [u for u in corpus.utterances if u.speaker in protocol.fold_speakers(corpus, 1)]
    cut = plan.Cut(16000, 0, "overlap")
    assert row["rescored_segments"] == int(plan.counts(test, cut).sum())
    dropped = [u for u in test if u.samples_16k > 16000 and 0 < u.samples_16k % 16000 < 14400]
    assert dropped and row["rescored_segments"] == row["segments"] + len(dropped)
    assert 0.0 <= row["rescored_ua"] <= 1.0
    assert "1 folds: UA" in done.stdout and "with min_tail_s=0.0, paired" in done.stdout
    assert "own scoring reproduces results.json on 1 of 1 folds" in done.stdout
    assert np.isclose(float(done.stdout.split("-> ")[1].split()[0]), row["rescored_ua"],
                      atol=5e-4)

    # Asking for the run's own cut compares nothing.
    done = run_python(SCRIPT, f"--run_dir={out}", "--min_tail_s=0.9", "--tail=overlap")
    assert done.returncode != 0 and ("own scoring (min_tail_s=0.9, tail=overlap, "
                                     "speaker_bn=False)") in done.stderr

    # --out_dir: the rescored fold as a run folder the other benchmarks read; the run untouched.
    before = (out / "fold_01" / "results.json").read_bytes()
    rescored = tmp_path / "whole"
    done = run_python(SCRIPT, f"--run_dir={out}", "--min_tail_s=0", f"--out_dir={rescored}")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert (out / "fold_01" / "results.json").read_bytes() == before
    written = FoldResult.load(rescored / "fold_01")
    assert written.ua == row["rescored_ua"] and written.wa == row["rescored_wa"]
    assert written.n_test_segments == row["rescored_segments"]
    assert written.config["data"]["min_tail_s"] == 0.0
    assert written.extra["recorded_ua"] == results["ua"]
    assert written.extra["rescored_from"] == str(out / "fold_01")
    assert len(written.y_true) == len(test)
    assert json.loads((rescored / "config.json").read_text())["data"]["min_tail_s"] == 0.0
    assert not (rescored / "fold_01" / "model.keras").exists()
    # The ensemble benchmark scores it like any run: one member gives its own UA.
    done = run_python(str(ROOT / "benchmarks" / "ensemble.py"), f"--members={rescored}")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    member = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert member[0]["ua"] == pytest.approx(row["rescored_ua"])

    # Nothing already written is overwritten: a folder with results, or the run itself.
    for target, message in ((rescored, "already holds fold_01"), (out, "is the run itself")):
        done = run_python(SCRIPT, f"--run_dir={out}", "--min_tail_s=0", f"--out_dir={target}")
        assert done.returncode != 0 and message in done.stderr, done.stderr[-2000:]
    assert (out / "fold_01" / "results.json").read_bytes() == before


def test_a_fold_trained_with_speaker_bn_scored_again_without(small_demo_corpus, tmp_path):
    # main --speaker_bn scores the test speakers with their own BN statistics, and
    # says that it read their audio; rescoring the run its own way reproduces that.
    out = tmp_path / "run"
    results = trained_fold_cli(small_demo_corpus, out, 1, "--speaker_bn")
    assert results["uses_test_speaker_audio"] is True
    assert results["config"]["data"]["speaker_bn"] is True
    stored = tmp_path / "stored"
    done = run_python(SCRIPT, f"--run_dir={out}", "--nospeaker_bn", f"--out_dir={stored}")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    row = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")][0]
    assert row["reproduced"] and row["rescored_segments"] == row["segments"]
    assert "with speaker_bn=False, paired" in done.stdout
    written = FoldResult.load(stored / "fold_01")
    assert written.ua == row["rescored_ua"]
    assert written.uses_test_speaker_audio is False
    assert written.config["data"]["speaker_bn"] is False


def test_a_folder_without_a_run_is_refused(tmp_path):
    done = run_python(SCRIPT, f"--run_dir={tmp_path}", "--min_tail_s=0")
    assert done.returncode != 0
    assert f"{tmp_path / 'config.json'} not found" in done.stderr
