"""benchmarks/rescore.py: finished folds scored again under another scoring cut."""

import dataclasses
import json
import pathlib
import sys

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
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "benchmarks"))
import rescore  # noqa: E402


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

    # Groups larger than a speaker's utterances: the run's own scoring, again.
    grouped = tmp_path / "grouped"
    done = run_python(SCRIPT, f"--run_dir={out}", "--speaker_bn_recordings=1000",
                      f"--out_dir={grouped}")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    row = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")][0]
    assert row["reproduced"] and row["rescored_ua"] == pytest.approx(row["ua"], abs=1e-6)
    assert "with speaker_bn_recordings=1000, paired +0.000" in done.stdout
    assert FoldResult.load(grouped / "fold_01").extra["speaker_bn_recordings"] == 1000
    for flags, message in ((("--speaker_bn_recordings=0",), "at least 1"),
                           (("--nospeaker_bn", "--speaker_bn_recordings=2"), "add --speaker_bn")):
        done = run_python(SCRIPT, f"--run_dir={out}", *flags)
        assert done.returncode != 0 and message in done.stderr, done.stderr[-2000:]


def test_groups_split_each_speaker_and_are_scored_each_alone(small_demo_corpus):
    from adarl_tf import training
    from adarl_tf.corpora import demo, iemocap
    from tests.model_files import build
    from tests.test_numpy_fold import TINY
    corpus = iemocap.load_iemocap(small_demo_corpus, name=demo.DEMO_CORPUS_NAME)
    first, second = corpus.speakers[:2]
    test = [u for u in corpus.utterances if u.speaker in (first, second)][:12]
    # Every utterance once, in its place; groups of at most 5 of one speaker; seeded.
    renamed = rescore.in_groups(test, 5, seed=3)
    assert [r.name for r in renamed] == [u.name for u in test]
    assert all(r.speaker.split("#")[0] == u.speaker for r, u in zip(renamed, test))
    sizes = {}
    for r in renamed:
        sizes[r.speaker] = sizes.get(r.speaker, 0) + 1
    assert max(sizes.values()) == 5 and sum(sizes.values()) == len(test)
    assert [r.speaker for r in rescore.in_groups(test, 5, seed=3)] == \
        [r.speaker for r in renamed]
    # Groups of one: each utterance adapted to alone, as predict_utterances does with it
    # by itself (the reference); the labels and speakers scored are the utterances' own.
    model = build(TINY.model)
    adapted = dataclasses.replace(TINY, data=dataclasses.replace(TINY.data, speaker_bn=True))
    result = rescore.scored_in_groups(model, test, adapted, corpus, None, 1, seed=0)
    alone = np.concatenate([training.predict_utterances(model, [u], adapted, 8)
                            ["emotion_probs"] for u in test])
    np.testing.assert_allclose(result.outputs["emotion_probs"], alone, rtol=1e-5, atol=1e-6)
    together = training.predict_utterances(model, test, adapted, 8)["emotion_probs"]
    assert not np.allclose(alone, together, atol=1e-4)


def test_a_folder_without_a_run_is_refused(tmp_path):
    done = run_python(SCRIPT, f"--run_dir={tmp_path}", "--min_tail_s=0")
    assert done.returncode != 0
    assert f"{tmp_path / 'config.json'} not found" in done.stderr
