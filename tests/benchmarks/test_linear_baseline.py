"""benchmarks/linear_baseline.py: features, and a run over a corpus's folds."""

import importlib.util
import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from adarl_tf.config import DataConfig
from adarl_tf.corpora.load import load_corpus

ROOT = pathlib.Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("linear_baseline",
                                               ROOT / "benchmarks" / "linear_baseline.py")
baseline = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(baseline)


def test_filterbank_covers_the_band_with_unit_peaks():
    fb = baseline.mel_filterbank()
    assert fb.shape == (baseline.N_MELS, 257)
    # Every band holds at least one bin near its peak (narrow low bands fall between bins).
    assert np.all(fb >= 0) and np.all(fb.max(1) > 0.5) and np.all(fb.max(1) <= 1.0)
    # Band centres rise with the band index.
    assert np.all(np.diff(fb.argmax(1)) >= 0)


def test_features_ignore_leading_silence():
    rng = np.random.default_rng(0)
    speech = rng.normal(scale=0.1, size=16000).astype("float32")
    fb = baseline.mel_filterbank()
    plain = baseline.utterance_features(speech, fb)
    padded = baseline.utterance_features(np.concatenate([np.zeros(4000, "float32"), speech]), fb)
    assert plain.shape == (4 * baseline.N_MELS,)
    # The silent frames fall below the energy cut: the band means barely move.
    np.testing.assert_allclose(padded[:baseline.N_MELS], plain[:baseline.N_MELS], atol=0.3)


def test_speaker_normalisation_uses_each_speakers_own_statistics():
    rng = np.random.default_rng(0)
    speakers = np.repeat(["a", "b", "test"], [5, 7, 4])
    offset, scale = {"a": 0.0, "b": 5.0, "test": -3.0}, {"a": 1.0, "b": 4.0, "test": 0.5}
    features = np.stack([rng.normal(offset[s], scale[s], size=3) for s in speakers])
    out = baseline.speaker_normalise(features, speakers)
    for s in ("a", "b", "test"):
        x = features[speakers == s]
        np.testing.assert_allclose(out[speakers == s], (x - x.mean(0)) / x.std(0))
        np.testing.assert_allclose(out[speakers == s].mean(0), 0, atol=1e-12)
        np.testing.assert_allclose(out[speakers == s].std(0), 1)
    # The test speaker's rows depend on its own utterances only.
    moved = features.copy()
    moved[speakers != "test"] += 100.0
    np.testing.assert_array_equal(baseline.speaker_normalise(moved, speakers)[speakers == "test"],
                                  out[speakers == "test"])


def test_random_gain_moves_the_features_as_scaling_the_audio_does():
    rng = np.random.default_rng(0)
    speech = rng.normal(scale=0.1, size=16000).astype("float32")
    fb = baseline.mel_filterbank()
    plain = baseline.utterance_features(speech, fb)
    gained = baseline.random_gain(plain[None], 6.0, np.random.default_rng(1))[0]
    shift = (gained - plain)[baseline.LEVEL_COLUMNS]
    # One shift for every level column, within +-6 dB, and nothing else moved.
    np.testing.assert_allclose(shift, shift[0], atol=1e-12)
    assert 0 < abs(shift[0]) <= 6.0 * np.log(10) / 10
    others = np.setdiff1d(np.arange(plain.size), baseline.LEVEL_COLUMNS)
    np.testing.assert_array_equal(gained[others], plain[others])
    # The reference: the features of the waveform scaled by the same gain.
    gain_db = shift[0] * 10 / np.log(10)
    scaled = baseline.utterance_features(speech * 10 ** (gain_db / 20), fb)
    np.testing.assert_allclose(gained, scaled, atol=1e-3)


def test_gained_training_rows_keep_the_unscaled_speaker_statistics():
    rng = np.random.default_rng(0)
    speakers = np.repeat(["a", "b"], [6, 4])
    features = rng.normal(size=(10, 4 * baseline.N_MELS)) + (speakers == "b")[:, None] * 3.0
    labels = np.arange(10) % 3
    x, y = baseline._gained_training_rows(features, speakers, labels, "speaker", 6.0)
    assert x.shape == (baseline.GAIN_COPIES * 10, features.shape[1])
    np.testing.assert_array_equal(y, np.tile(labels, baseline.GAIN_COPIES))
    clean = baseline.speaker_normalise(features, speakers)
    std = {s: features[speakers == s].std(0) for s in ("a", "b")}
    for copy in np.split(x, baseline.GAIN_COPIES):
        moved = (copy - clean) * np.stack([std[s] for s in speakers])
        # The level columns move by the row's gain over its speaker's own spread; a
        # gain is not divided out by statistics of the gained rows themselves.
        level = moved[:, baseline.LEVEL_COLUMNS]
        np.testing.assert_allclose(level, level[:, :1].repeat(level.shape[1], 1), atol=1e-9)
        assert np.all(np.abs(level[:, 0]) <= 6.0 * np.log(10) / 10) and np.any(level[:, 0] != 0)
        others = np.setdiff1d(np.arange(features.shape[1]), baseline.LEVEL_COLUMNS)
        np.testing.assert_allclose(moved[:, others], 0, atol=1e-9)
    # Globally normalised rows are the gained features themselves (the scaler follows).
    x, _ = baseline._gained_training_rows(features, speakers, labels, "global", 6.0)
    np.testing.assert_allclose(np.split(x, baseline.GAIN_COPIES)[0][:, others],
                               features[:, others])


def test_evaluate_scores_the_folds_asked_for(small_demo_corpus):
    data = DataConfig(dataset="demo", data_dir=str(small_demo_corpus),
                      protocol="speaker_kfold", n_folds=3)
    corpus = load_corpus(data)
    results = baseline.evaluate(corpus, ("global", "speaker"), folds=[1])
    for normalization, folds in results.items():
        assert [f["fold"] for f in folds] == [1]
        assert folds[0]["test_speaker"] == "+".join(corpus.fold_list()[1])
        assert folds[0]["uses_test_speaker_audio"] == (normalization == "speaker")
        assert len(folds[0]["y_true"]) == len(folds[0]["y_pred"]) > 0
    # The demo speakers' F0 ranges do not overlap: the global features tell the gender
    # (chance 0.5).
    assert results["global"][0]["domain_accuracy"] > 0.75
    assert results["speaker"][0]["domain_accuracy"] is None
    assert all(f[0]["train_gain_db"] == 0.0 for f in results.values())
    with pytest.raises(ValueError, match="folds 0..2"):
        baseline.evaluate(corpus, folds=[3])
    with pytest.raises(ValueError, match="train_gain_db=-1"):
        baseline.evaluate(corpus, train_gain_db=-1)
    gained = baseline.evaluate(corpus, ("speaker",), folds=[1], train_gain_db=6.0)["speaker"][0]
    assert gained["train_gain_db"] == 6.0
    assert gained["y_true"] == results["speaker"][0]["y_true"]


def test_gender_floor_needs_both_genders_and_known_labels():
    rng = np.random.default_rng(0)
    genders = np.array(["F", "M"] * 20, dtype=object)
    x = rng.normal(size=(40, 3)) + (genders == "M")[:, None] * 4.0
    test = np.arange(40) >= 30
    assert baseline._gender_floor(x, genders, test, c=1.0) == 1.0
    one_gender = genders.copy()
    one_gender[~test] = "F"
    assert baseline._gender_floor(x, one_gender, test, c=1.0) is None
    unknown = genders.copy()
    unknown[0] = None
    assert baseline._gender_floor(x, unknown, test, c=1.0) is None


@pytest.mark.parametrize("normalization", ["global", "speaker"])
def test_runs_every_fold_of_a_corpus(small_demo_corpus, normalization):
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "linear_baseline.py"), "--dataset=demo",
         f"--data_dir={small_demo_corpus}", "--protocol=speaker_kfold", "--n_folds=2",
         f"--normalization={normalization}", "--train_gain_db=3"],
        capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    rows = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    assert [r["fold"] for r in rows] == [0, 1]
    assert all(0.0 <= r["ua"] <= 1.0 and r["n_test"] > 0 for r in rows)
    if normalization == "global":
        assert all(0.0 <= r["gender_accuracy"] <= 1.0 for r in rows)
        assert "; gender " in out.stdout
    else:
        assert all(r["gender_accuracy"] is None for r in rows)
        assert "; gender" not in out.stdout
    assert all(r["uses_test_speaker_audio"] == (normalization == "speaker") for r in rows)
    assert "linear baseline" in out.stdout and "2 folds (speaker_kfold)" in out.stdout
    assert "training gains up to 3 dB" in out.stdout
    assert all(r["train_gain_db"] == 3.0 for r in rows)
    assert ("uses the test speakers' unlabelled audio" in out.stdout) == (
        normalization == "speaker")
