"""benchmarks/linear_baseline.py: features, and a run over a corpus's folds."""

import importlib.util
import json
import pathlib
import subprocess
import sys

import numpy as np

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


def test_runs_every_fold_of_a_corpus(small_demo_corpus):
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "linear_baseline.py"), "--dataset=demo",
         f"--data_dir={small_demo_corpus}", "--protocol=speaker_kfold", "--n_folds=2"],
        capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    rows = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    assert [r["fold"] for r in rows] == [0, 1]
    assert all(0.0 <= r["ua"] <= 1.0 and r["n_test"] > 0 for r in rows)
    assert "linear baseline" in out.stdout and "2 folds (speaker_kfold)" in out.stdout
