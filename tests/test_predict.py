"""`python -m adarl_tf.predict`: any WAV, every model format, bad files reported."""

import json
import subprocess
import sys
import wave

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
pytest.importorskip("ai_edge_litert.interpreter")
keras = pytest.importorskip("keras")
if keras.backend.backend() != "tensorflow":
    pytest.skip("export needs the TensorFlow backend", allow_module_level=True)

from adarl_tf import model as model_lib
from adarl_tf import predict
from adarl_tf.config import FrontendConfig, ModelConfig
from adarl_tf.export import serving, tflite

# An untrained tiny model: predict only has to run it the same way in every format.
TINY = ModelConfig(frontend=FrontendConfig(segment_s=1.0, max_freq_hz=2000.0),
                   trunk_filters=(4, 4, 4, 8))


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    out = tmp_path_factory.mktemp("models")
    keras.utils.set_random_seed(0)
    model = model_lib.build_model(TINY)
    model.save(out / "model.keras")
    serving.write_saved_model(model, out / "saved_model", min_tail_samples=16000)
    (out / "model_float32.tflite").write_bytes(
        tflite.convert(out / "saved_model", "float32"))
    return {"keras": out / "model.keras", "saved_model": out / "saved_model",
            "tflite": out / "model_float32.tflite"}


@pytest.fixture(scope="module")
def stereo_44k(tmp_path_factory):
    """7.3 s of a gliding two-tone signal, 44.1 kHz, 16-bit stereo."""
    rate, n = 44100, int(7.3 * 44100)
    t = np.arange(n) / rate
    left = 0.3 * np.sin(2 * np.pi * (200 + 30 * t) * t)
    right = 0.2 * np.sin(2 * np.pi * 900 * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 2 * t))
    path = tmp_path_factory.mktemp("audio") / "clip.wav"
    with wave.open(str(path), "wb") as f:
        f.setnchannels(2)
        f.setsampwidth(2)
        f.setframerate(rate)
        f.writeframes((np.stack([left, right], 1) * 32767).astype("<i2").tobytes())
    return path


def test_every_format_scores_a_44k_stereo_file_alike(models, stereo_44k):
    results = {fmt: predict.predict_files(path, [str(stereo_44k)])[0]
               for fmt, path in models.items()}
    for fmt, r in results.items():
        assert "error" not in r, (fmt, r)
        # No model card or results.json beside these: the training tail policy
        # (1 s) applies, so 7.3 s gives 7 one-second segments (0.3 s tail dropped).
        assert r["n_segments"] == 7 and r["duration_s"] == pytest.approx(7.3, abs=1e-3)
        assert list(r["probabilities"]) == ["neutral", "happy", "sad", "angry"]
        assert sum(r["probabilities"].values()) == pytest.approx(1.0, abs=1e-4)
        assert r["label"] == max(r["probabilities"], key=r["probabilities"].get)
    ref = np.array(list(results["keras"]["probabilities"].values()))
    for fmt in ("saved_model", "tflite"):
        got = np.array(list(results[fmt]["probabilities"].values()))
        np.testing.assert_allclose(got, ref, atol=1e-4)
    assert "clip.wav" in predict.format_table(list(results.values()))


def test_min_tail_override(models, stereo_44k):
    (r,) = predict.predict_files(models["tflite"], [str(stereo_44k)], min_tail_s=0.25)
    assert r["n_segments"] == 8


def test_cli_reports_bad_files_and_scores_the_rest(models, stereo_44k, tmp_path):
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    text = tmp_path / "notes.wav"
    text.write_text("not audio")
    missing = tmp_path / "missing.wav"
    proc = subprocess.run(
        [sys.executable, "-m", "adarl_tf.predict", f"--model={models['tflite']}", "--json",
         str(empty), str(stereo_44k), str(missing), str(text)],
        capture_output=True, text=True)
    assert proc.returncode == 1, proc.stderr
    errors = [l for l in proc.stderr.splitlines() if l.startswith("error: ")]
    assert errors == [f"error: {empty}: empty file (0 bytes)",
                      f"error: {missing}: file not found",
                      f"error: {text}: not a WAV file (no RIFF/WAVE header); convert it to "
                      "WAV or FLAC, e.g. `ffmpeg -i in.mp3 out.wav`"]
    scored = json.loads(proc.stdout)
    assert [r["file"] for r in scored] == [str(empty), str(stereo_44k), str(missing),
                                           str(text)]
    assert scored[1]["n_segments"] == 7 and "error" in scored[0]


def test_model_card_supplies_labels_and_tail(models, tmp_path):
    card = tmp_path / "model_card.json"
    card.write_text(json.dumps({"labels": ["a", "b", "c", "d"], "sample_rate_hz": 16000,
                                "min_tail_s": 0.5}))
    assert predict.model_metadata(tmp_path / "model_int8.tflite") == (
        ("a", "b", "c", "d"), 16000, 0.5)
    assert predict.model_metadata(models["tflite"])[2] == 1.0
