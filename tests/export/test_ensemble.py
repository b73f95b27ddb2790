"""Export of an ensemble: the same fold of several runs, averaged in one graph."""

import dataclasses
import json
import re
import subprocess
import sys
import types

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
pytest.importorskip("ai_edge_litert.interpreter")
keras = pytest.importorskip("keras")
if keras.backend.backend() != "tensorflow":
    pytest.skip("export needs the TensorFlow backend", allow_module_level=True)

from adarl_tf import evaluation, fold_files, recognizer, speaker_norm
from adarl_tf.config import DataConfig, ExperimentConfig
from adarl_tf.export import ensemble, exporter, runners, tflite
from tests.model_files import SPEAKER
from tests.run_files import trained_fold

# The second member: segment normalisation and no domain head, so the ensemble
# mixes a speaker_stats member with one that ignores them, and averages the
# domain probabilities of one member only.
SEGMENT_BACKBONE = dataclasses.replace(
    SPEAKER, variant="backbone",
    frontend=dataclasses.replace(SPEAKER.frontend, normalization="segment"))


@pytest.fixture(scope="module")
def backbone_fold_dir(small_demo_corpus, tmp_path_factory):
    return trained_fold(SEGMENT_BACKBONE, small_demo_corpus,
                        tmp_path_factory.mktemp("backbone_run"), tail="overlap")


def test_an_ensemble_exports_its_members_mean_in_every_format(speaker_fold_dir,
                                                                backbone_fold_dir):
    members = [speaker_fold_dir, backbone_fold_dir]
    out = speaker_fold_dir.parent / "ensemble"
    card = ensemble.export_ensemble(members, out_dir=out)
    for name in ("saved_model/saved_model.pb", "model_float32.tflite", "model_float16.tflite",
                 "model_dynamic_int8.tflite", "parity.json", "model_card.json", "labels.txt",
                 "pooled_profile.json"):
        assert (out / name).exists(), name
    assert not (out / "model_int8.tflite").exists()

    # Parity against the members' own Keras models, averaged.
    parity = json.loads((out / "parity.json").read_text())
    assert parity["passed"]
    for figures in (parity["formats"], parity["formats_with_pooled_stats"]):
        assert set(figures) == {"keras", "saved_model", "tflite", "tflite_fp16",
                                "tflite_dynamic"}
        for fmt in ("saved_model", "tflite"):
            assert figures[fmt]["same_class_share"] == 1.0, fmt
            assert figures[fmt]["max_abs_prob_diff"] < 1e-4, fmt
    assert parity["utterance_signature_max_abs_diff"] < 1e-4
    # The reference is the ensemble benchmarks/ensemble.py scores: the mean of the
    # members' saved test probabilities gives the same WA and UA.
    results = [json.loads((d / "results.json").read_text()) for d in members]
    read = [fold_files.read_probabilities(d / "predictions.csv", r["labels"])
            for d, r in zip(members, results)]
    assert read[0][0] == read[1][0]  # The same utterances in the same order.
    scores = evaluation.classification_scores(read[0][1], np.mean([r[2] for r in read], 0),
                                              len(results[0]["labels"]))
    assert parity["formats"]["keras"]["ua"] == pytest.approx(scores["ua"])
    assert card["fold_ua"] == parity["formats"]["keras"]["ua"]
    assert card["fold_wa"] == pytest.approx(scores["wa"])

    # The card: both members, the outputs, the second input, no full-integer entry.
    on_disk = json.loads((out / "model_card.json").read_text())
    assert on_disk["fold_ua"] == card["fold_ua"]
    assert [m["variant"] for m in card["members"]] == ["adarl", "backbone"]
    assert [m["normalization"] for m in card["members"]] == ["speaker", "segment"]
    assert [m["fold_ua"] for m in card["members"]] == [r["ua"] for r in results]
    assert set(card["outputs"]) == {"emotion_probs", "domain_probs"}
    assert card["speaker_stats"]["shape"] == ["batch", 2, 16, 1]
    assert "int8" not in card and card["labels"] == results[0]["labels"]
    assert (out / "labels.txt").read_text().split() == card["labels"]

    # A segment through each file: the members' mean (emotions: both; gender: the
    # ADARL member alone), speaker_stats reaching the speaker-normalised member only.
    model_a = runners.KerasRunner(speaker_fold_dir / "model.keras")
    model_b = runners.KerasRunner(backbone_fold_dir / "model.keras")
    pooled = speaker_norm.load_profile(out / "pooled_profile.json", SPEAKER.frontend)
    np.testing.assert_array_equal(pooled, model_a.pooled_stats())
    stats = np.stack([pooled, pooled + np.float32(0.5)])  # Not the pooled ones: they matter.
    segments = (0.1 * np.random.default_rng(0).standard_normal((2, 16000))).astype(np.float32)
    a, b = model_a(segments, stats), model_b(segments)
    expected = {"emotion_probs": (a["emotion_probs"] + b["emotion_probs"]) / 2,
                "domain_probs": a["domain_probs"]}
    assert not np.allclose(a["emotion_probs"], b["emotion_probs"], atol=1e-3)
    for fmt, name in card["files"].items():
        runner = runners.load_runner(out / name["path"])
        assert runner.stats_shape == (2, 16, 1), fmt
        got = runner(segments, stats)
        for key, want in expected.items():
            atol = 1e-5 if fmt in ("saved_model", "tflite") else 5e-2
            np.testing.assert_allclose(got[key], want, atol=atol, err_msg=f"{fmt} {key}")
        if fmt != "saved_model":
            tflite.check_builtin_only((out / name["path"]).read_bytes())

    # predict and adarl_tf.load read the folder as a single fold's export.
    info = recognizer.model_metadata(out / "model_float32.tflite")
    assert info.labels == tuple(card["labels"]) and info.tail == "overlap"
    assert info.frontend.normalization == "speaker"


def _member(tmp_path, name, fold=1, speaker="Ses01M", labels=("neutral", "happy"), **data):
    config = ExperimentConfig(model=SPEAKER, data=DataConfig(**data))
    result = types.SimpleNamespace(fold=fold, test_speaker=speaker, labels=list(labels),
                                   domain_labels=["F", "M"])
    return tmp_path / name, result, config, None


@pytest.mark.parametrize("change,message", [
    ({"fold": 2}, "fold 2"), ({"speaker": "Ses02F"}, "test speaker 'Ses02F'"),
    ({"labels": ("neutral", "sad")}, "classes"), ({"tail": "overlap"}, "tail 'overlap'"),
    ({"min_tail_s": 0.25}, "min_tail_s 0.25")])
def test_members_that_cannot_share_one_input_and_output_are_refused(tmp_path, change,
                                                                    message):
    first = _member(tmp_path, "a")
    with pytest.raises(exporter.ExportError,
                       match=re.escape(f"{tmp_path / 'b'}: {message}") + ".* has"):
        ensemble.check_members([first, _member(tmp_path, "b", **change)])
    ensemble.check_members([first, _member(tmp_path, "b")])  # The same: accepted.


def test_speaker_members_must_share_a_frontend_and_an_ensemble_needs_two(tmp_path):
    first = _member(tmp_path, "a")
    _, result, config, _ = first

    def with_frontend(**frontend):
        model = dataclasses.replace(SPEAKER, frontend=dataclasses.replace(SPEAKER.frontend,
                                                                          **frontend))
        return tmp_path / "b", result, dataclasses.replace(config, model=model), None

    with pytest.raises(exporter.ExportError, match="different frontends.*one speaker_stats"):
        ensemble.check_members([first, with_frontend(n_mels=32)])
    # A segment-normalised member takes no statistics: its frontend may differ.
    ensemble.check_members([first, with_frontend(n_mels=32, normalization="segment")])
    with pytest.raises(exporter.ExportError, match="at least two"):
        ensemble.check_members([first])


def test_single_fold_formats_are_refused_before_anything_is_read(tmp_path):
    with pytest.raises(exporter.ExportError, match="tflite_int8 and onnx: one fold at a time"):
        ensemble.export_ensemble([tmp_path / "a", tmp_path / "b"], formats=["tflite_int8"])
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("formats,message", [
    ([], "results.json not found"),  # Not refused: an ensemble's own default formats.
    (["--formats=tflite_int8"], "one fold at a time")])
def test_the_command_exports_an_ensemble_from_several_run_dirs(tmp_path, formats, message):
    # A subprocess: the command's flags would clash with other entry points' in this one.
    proc = subprocess.run([sys.executable, "-m", "adarl_tf.export",
                           f"--run_dir={tmp_path / 'a'},{tmp_path / 'b'}", *formats],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stderr[-2000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and message in last


def test_one_speakers_statistics_go_into_one_folds_export_only(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "adarl_tf.export",
                           f"--run_dir={tmp_path / 'a'},{tmp_path / 'b'}",
                           "--speaker_bn_files=anna.wav"], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode != 0 and "give one --run_dir" in proc.stderr, proc.stderr[-2000:]
    assert not list(tmp_path.iterdir())
