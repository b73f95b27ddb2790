"""`python -m adarl_tf.predict`: any WAV, every model format, bad files reported, speaker
profiles (enrol, score with one or with the pooled statistics, bad profiles)."""

import json
import shutil
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
from adarl_tf import predict, speaker_norm
from adarl_tf.config import DataConfig, ExperimentConfig, FrontendConfig
from adarl_tf.export import exporter, runners, serving, tflite
from tests import model_files
from tests.audio_files import tone, write_pcm
from tests.cli_checks import one_error

# Untrained tiny models: predict only has to run them the same way in every format.
TINY, SPEAKER = model_files.TINY, model_files.SPEAKER


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


def test_predict_refuses_what_training_skips(models, stereo_44k, tmp_path, capsys):
    """Class 6 of the hostile-input issue: a file the corpus loaders would skip gets no
    label: the same rules (`audio.check_contents`), the same reason, exit status 1."""
    from adarl_tf.corpora.corpus import check_audio
    from tests.audio_files import set_header, write_float
    good = tone(2.0, 16000)
    truncated = write_pcm(tmp_path / "cut.wav", good, 16000)
    truncated.write_bytes(truncated.read_bytes()[:3000])
    bad = [write_pcm(tmp_path / "silent.wav", np.zeros((32000, 1)), 16000),
           truncated,
           write_pcm(tmp_path / "clipped.wav", np.clip(good * 20, -1, 1), 16000),
           write_float(tmp_path / "scale.wav", good * 100, 16000),
           write_float(tmp_path / "nan.wav", np.where(np.arange(32000)[:, None] == 7, np.nan,
                                                     good), 16000),
           set_header(write_pcm(tmp_path / "1hz.wav", good, 16000), rate=1),
           set_header(write_pcm(tmp_path / "channels.wav", good, 16000), channels=65535)]
    for model in (models["tflite"], models["keras"]):
        code = predict.command(str(model), [str(p) for p in bad] + [str(stereo_44k)],
                               as_json=True)
        out, err = capsys.readouterr()
        assert code == 1 and "Traceback" not in err
        errors = [l for l in err.splitlines() if l.startswith("error: ")]
        assert len(errors) == len(bad)
        for path, line in zip(bad, errors):
            assert line.startswith(f"error: {path}: ")
            # Training's reason for the same file holds predict's whole message.
            assert line[len(f"error: {path}: "):] in check_audio(path)[1]
        scored = json.loads(out)
        assert [("error" in r) for r in scored] == [True] * len(bad) + [False]


def test_model_card_supplies_labels_and_tail(models, tmp_path):
    card = tmp_path / "model_card.json"
    card.write_text(json.dumps({"labels": ["a", "b", "c", "d"], "sample_rate_hz": 16000,
                                "min_tail_s": 0.5}))
    assert predict.model_metadata(tmp_path / "model_int8.tflite") == predict.ModelInfo(
        ("a", "b", "c", "d"), 16000, 0.5, "pad", None)
    assert predict.model_metadata(models["tflite"]).min_tail_s == 1.0


def _voice(path, seconds, freq, seed, gain=1.0):
    return write_pcm(path, gain * tone(seconds, 16000, freq=freq, seed=seed), 16000)


@pytest.fixture(scope="module")
def voices(tmp_path_factory):
    """Recordings of one speaker ("anna") and of the model's "training speakers"."""
    d = tmp_path_factory.mktemp("voices")
    return {"enrol": [_voice(d / "anna_1.wav", 2.0, 220.0, 1), _voice(d / "anna_2.wav", 2.0,
                                                                       230.0, 2)],
            "clip": _voice(d / "anna_clip.wav", 2.7, 225.0, 3),
            "short": _voice(d / "short.wav", 1.5, 220.0, 4),
            "silent": write_pcm(d / "silent.wav", np.zeros((32000, 1)), 16000),
            "training": [_voice(d / f"train_{i}.wav", 2.0, 120.0 * (i + 1), 10 + i, 0.3)
                         for i in range(3)]}


@pytest.fixture(scope="module")
def speaker_models(voices, tmp_path_factory):
    """An untrained speaker-normalised model in every format, with what export writes
    beside it: model_card.json (tail "overlap") and pooled_profile.json."""
    from adarl_tf.audio import load_audio
    out = tmp_path_factory.mktemp("speaker_models")
    keras.utils.set_random_seed(0)
    model = model_lib.build_model(SPEAKER)
    head = model.get_layer("emotion_probs")
    head.kernel.assign(head.kernel * 30.0)  # Decided classes: a changed input shows.
    frontend = SPEAKER.frontend
    pooled = speaker_norm.make_profile([load_audio(p) for p in voices["training"]], frontend)
    model.get_layer("spectrogram").pooled_stats.assign(np.asarray(pooled["stats"]))
    model.save(out / "model.keras")
    serving.write_saved_model(model, out / "saved_model", min_tail_samples=8000,
                              tail="overlap")
    (out / "model_float32.tflite").write_bytes(tflite.convert(out / "saved_model", "float32"))
    config = ExperimentConfig(model=SPEAKER, data=DataConfig(min_tail_s=0.5, tail="overlap"))
    (out / "model_card.json").write_text(json.dumps({
        "labels": ["neutral", "happy", "sad", "angry"], "sample_rate_hz": 16000,
        "min_tail_s": 0.5, "config": config.to_dict()}))
    exporter.write_pooled_profile(model, out, "the test's training speakers")
    return {"keras": out / "model.keras", "saved_model": out / "saved_model",
            "tflite": out / "model_float32.tflite"}


def _profile(speaker_models, voices, path):
    assert predict.command(speaker_models["keras"], [str(p) for p in voices["enrol"]],
                           enrol_files=True, profile_out=str(path)) == 0
    return path


def _probs(result):
    return np.array(list(result["probabilities"].values()))


def test_enrol_then_every_format_scores_with_the_profile(speaker_models, voices, tmp_path,
                                                         capsys):
    profile = _profile(speaker_models, voices, tmp_path / "anna.json")
    assert capsys.readouterr().out.startswith(f"wrote {profile}: 4.")
    saved = json.loads(profile.read_text())
    assert saved["sources"] == [str(p) for p in voices["enrol"]]
    stats = speaker_norm.load_profile(profile, SPEAKER.frontend)
    assert stats.shape == (2, 16, 1)
    # A profile made with an exported model is the same file: the frontend, not the
    # weights or the format, decides the statistics.
    assert predict.command(speaker_models["tflite"], [str(p) for p in voices["enrol"]],
                           enrol_files=True, profile_out=str(tmp_path / "again.json")) == 0
    assert json.loads((tmp_path / "again.json").read_text())["stats"] == saved["stats"]

    clip = str(voices["clip"])
    scored = {fmt: predict.predict_files(path, [clip], profile=str(profile))[0]
              for fmt, path in speaker_models.items()}
    assert "pooled" not in capsys.readouterr().err
    for fmt, r in scored.items():
        assert r["speaker_stats"] == str(profile), fmt
        assert r["label"] == scored["keras"]["label"], fmt
        np.testing.assert_allclose(_probs(r), _probs(scored["keras"]), atol=1e-4)
    # The profile is what the model normalised with: the pooled statistics differ.
    pooled = predict.predict_files(speaker_models["keras"], [clip])[0]
    assert np.abs(_probs(pooled) - _probs(scored["keras"])).max() > 1e-2


def test_without_a_profile_the_pooled_statistics_are_used_and_said_once(
        speaker_models, voices, capsys):
    clip = str(voices["clip"])
    runs = {}
    for fmt in ("keras", "tflite"):
        assert predict.command(speaker_models[fmt], [clip, clip], as_json=True) == 0
        out = capsys.readouterr()
        assert [line for line in out.err.splitlines() if "pooled" in line] == [
            predict.POOLED_NOTE], fmt
        runs[fmt] = json.loads(out.out)
        assert [r["speaker_stats"] for r in runs[fmt]] == ["pooled", "pooled"]
    # pooled_profile.json beside the export holds the Keras layer's statistics.
    np.testing.assert_allclose(_probs(runs["tflite"][0]), _probs(runs["keras"][0]), atol=1e-4)


def test_the_tail_rule_comes_from_the_model_card(speaker_models, voices):
    from adarl_tf.audio import load_audio
    (r,) = predict.predict_files(speaker_models["saved_model"], [str(voices["clip"])])
    assert r["n_segments"] == 3  # 2.7 s, 1 s segments, a 0.7 s tail >= min_tail_s 0.5.
    runner = runners.load_runner(speaker_models["keras"])
    wave, pooled = load_audio(voices["clip"]), runner.pooled_stats()
    want = {tail: runners.score_utterance(runner, wave, 8000, pooled, tail)["emotion_probs"]
            for tail in ("pad", "overlap")}
    np.testing.assert_allclose(_probs(r), want["overlap"], atol=1e-4)
    assert np.abs(want["overlap"] - want["pad"]).max() > 1e-3


def _bad_profile(tmp_path, name, content):
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path



def test_bad_profiles_are_one_line_errors(speaker_models, voices, tmp_path, capsys):
    good = json.loads(_profile(speaker_models, voices, tmp_path / "anna.json").read_text())
    capsys.readouterr()
    other = speaker_norm.make_profile(
        [np.asarray(tone(4.0, 16000)[:, 0], "float32")],
        FrontendConfig(segment_s=1.0, max_freq_hz=4000.0, bin_spacing_hz=31.25, scale="mel",
                       n_mels=24, channel_mode="mono", single_window_ms=25.0))
    cases = {
        "other_frontend.json": (other, "made for another frontend (n_mels differ"),
        "cut.json": (dict(good, stats=good["stats"][:1]), "statistics of shape (1, 16, 1)"),
        "little_speech.json": (dict(good, speech_seconds=1.2),
                               "made from 1.2 s of speech, a profile needs at least 3 s"),
        "newer.json": (dict(good, version=99), "version 99"),
        "damaged.json": ('{"format": "adarl_tf.speaker_profile", "stats": [1', "not a "
                         "readable speaker profile"),
        "list.json": ([1, 2], "not a speaker profile"),
    }
    clip = str(voices["clip"])
    for name, (content, message) in cases.items():
        path = _bad_profile(tmp_path, name, content)
        for fmt in ("keras", "tflite"):
            code = predict.command(speaker_models[fmt], [clip], profile=str(path))
            one_error(capsys, code, 2, f"error: {path}: ", message, "--enrol")
    missing = tmp_path / "missing.json"
    one_error(capsys, predict.command(speaker_models["keras"], [clip], profile=str(missing)),
               2, f"error: {missing}: not a readable speaker profile")
    # An exported file taken away from what the exporter wrote beside it.
    alone = tmp_path / "alone"
    alone.mkdir()
    model = shutil.copy(speaker_models["tflite"], alone)
    one_error(capsys, predict.command(model, [clip]), 2, f"error: {model}: no model_card.json")
    shutil.copy(speaker_models["tflite"].parent / "model_card.json", alone)
    one_error(capsys, predict.command(model, [clip]), 2,
               f"error: {alone / 'pooled_profile.json'}: not found", "--profile")


def test_bad_enrolment_is_refused_and_writes_no_profile(speaker_models, voices, tmp_path,
                                                        capsys):
    out = tmp_path / "p.json"
    short, silent = str(voices["short"]), str(voices["silent"])
    code = predict.command(speaker_models["keras"], [short], enrol_files=True,
                           profile_out=str(out))
    one_error(capsys, code, 2, f"error: {short}: 1.5 s of speech found", "at least 3 s",
               "enrol more or longer recordings")
    code = predict.command(speaker_models["tflite"], [str(voices["enrol"][0]), silent],
                           enrol_files=True, profile_out=str(out))
    one_error(capsys, code, 1, f"error: {silent}: silent: every sample", "check the recording")
    assert not out.exists()
    code = predict.command(speaker_models["keras"], [short], enrol_files=True)
    one_error(capsys, code, 2, "--enrol needs --profile_out")


def test_a_segment_normalised_model_refuses_a_profile(models, speaker_models, voices,
                                                      tmp_path, capsys):
    profile = _profile(speaker_models, voices, tmp_path / "anna.json")
    capsys.readouterr()
    for fmt, path in models.items():
        code = predict.command(path, [str(voices["clip"])], profile=str(profile))
        one_error(capsys, code, 2, f"error: {path}: ", "normalises each segment",
                   "drop --profile")
    code = predict.command(models["keras"], [str(p) for p in voices["enrol"]],
                           enrol_files=True, profile_out=str(tmp_path / "x.json"))
    one_error(capsys, code, 2, "normalises each segment")


def test_cli_reports_a_bad_profile_in_one_line(speaker_models, voices, tmp_path):
    bad = _bad_profile(tmp_path, "bad.json", "{not json")
    proc = subprocess.run(
        [sys.executable, "-m", "adarl_tf.predict", f"--model={speaker_models['tflite']}",
         f"--profile={bad}", str(voices["clip"])], capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.strip().splitlines()[-1].startswith(f"error: {bad}: not a readable")
    assert "Traceback" not in proc.stderr


def test_a_model_trained_per_speaker_is_said_to_lose_accuracy_one_file_at_a_time(
        models, tmp_path, capsys):
    import dataclasses
    model = model_files.build(dataclasses.replace(TINY, speaker_bn_group=4))
    paths = model_files.export_folder(model, tmp_path / "export", formats=("tflite",))
    clip = str(write_pcm(tmp_path / "long.wav", tone(20.0, 16000), 16000))

    def notes(model_path, files=(clip, clip), **flags):
        assert predict.command(str(model_path), list(files), **flags) == 0
        err = capsys.readouterr().err.splitlines()
        return err.count(predict.ONE_AT_A_TIME_NOTE)

    assert notes(paths["keras"]) == 1 and notes(paths["tflite"]) == 1  # Once per run.
    assert notes(paths["keras"], [clip], timeline_of=True, out=str(tmp_path / "t.csv")) == 1
    assert notes(paths["keras"], speaker_bn=True) == 0  # Scored as training scores.
    assert notes(models["keras"]) == 0  # Trained on whole batches.
    # An export with one speaker's statistics baked in holds what --speaker_bn would set.
    card_path = tmp_path / "export" / "model_card.json"
    card = json.loads(card_path.read_text())
    card_path.write_text(json.dumps(dict(card, speaker_bn={"windows": 20})))
    assert notes(paths["tflite"]) == 0
