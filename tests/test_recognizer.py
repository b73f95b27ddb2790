"""`adarl_tf.load`: every format and an export folder score alike; waveforms, files,
timelines, enrolment and profiles; a path without a model is refused in one line."""

import dataclasses
import json

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
pytest.importorskip("ai_edge_litert.interpreter")
keras = pytest.importorskip("keras")
if keras.backend.backend() != "tensorflow":
    pytest.skip("export needs the TensorFlow backend", allow_module_level=True)

import adarl_tf
from adarl_tf import predict, recognizer, speaker_norm
from adarl_tf.audio import load_audio
from adarl_tf.config import DataConfig
from tests import model_files
from tests.audio_files import tone, write_pcm

FORMATS = ("saved_model", "tflite", "onnx")


def _has_onnx():
    try:
        import onnxruntime  # noqa: F401
        import tf2onnx  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    """The paper's kind of model, tail rule "overlap", laid out as the exporter does."""
    model = model_files.build(model_files.TINY, head_gain=30.0)
    formats = FORMATS if _has_onnx() else FORMATS[:2]
    return model_files.export_folder(model, tmp_path_factory.mktemp("export"),
                                     DataConfig(min_tail_s=0.5, tail="overlap"), formats)


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """3.7 s at 22.05 kHz, stereo."""
    return write_pcm(tmp_path_factory.mktemp("audio") / "clip.wav",
                     tone(3.7, 22050, channels=2, seed=1), 22050)


def _probs(p):
    return np.array(list(p.probabilities.values()))


def test_every_format_and_the_folder_score_a_file_alike(export, clip):
    folder = export["keras"].parent
    loaded = {fmt: adarl_tf.load(path) for fmt, path in export.items()}
    loaded["folder"] = adarl_tf.load(folder)
    # The folder's default is its float32 TFLite file (parity-gated), the rest by name.
    assert loaded["folder"].model_path == export["tflite"]
    assert adarl_tf.load(folder, format="saved_model").format == "saved_model"
    ref = loaded["keras"].predict_file(clip)
    assert ref.n_segments == 4  # 3.7 s: a 0.7 s tail >= min_tail_s 0.5 (model card).
    assert ref.duration_s == pytest.approx(3.7, abs=1e-3)
    assert list(ref.probabilities) == model_files.LABELS and ref.speaker_stats is None
    for fmt, r in loaded.items():
        assert r.labels == tuple(model_files.LABELS) and r.segment_s == 1.0, fmt
        p = r.predict_file(clip)
        assert p.label == ref.label, fmt
        np.testing.assert_allclose(_probs(p), _probs(ref), atol=1e-4, err_msg=fmt)
    assert sorted(f for f in loaded) == sorted(["folder", "keras", *(
        f for f in FORMATS if f in export)])


def test_waveform_file_and_command_line_agree(export, clip):
    import soundfile
    r = adarl_tf.load(export["tflite"])
    samples, rate = soundfile.read(str(clip), dtype="float32", always_2d=True)
    by_file, by_wave = r.predict_file(clip), r.predict_waveform(samples, rate)
    assert by_wave == by_file
    # 1-D samples at the model's rate: the same as the file made at that rate.
    mono16 = load_audio(clip)
    np.testing.assert_allclose(_probs(r.predict_waveform(mono16, 16000)), _probs(by_file),
                               atol=1e-6)
    (cli,) = predict.predict_files(export["tflite"], [str(clip)])
    assert cli == {"file": str(clip), **by_file.to_dict()}


def test_predict_waveform_refuses_bad_samples(export):
    from adarl_tf.audio import AudioError
    r = adarl_tf.load(export["keras"])
    for samples, rate, message in [(np.zeros(0), 16000, "shape (0,)"),
                                   (np.zeros((2, 2, 2)), 16000, "shape (2, 2, 2)"),
                                   (np.full(100, np.nan), 16000, "NaN"),
                                   (np.ones(100), 0, "sample rate 0"),
                                   (np.ones(100), 1, "1 Hz: expected 4000-384000 Hz"),
                                   (np.zeros(16000), 16000, "silent: every sample"),
                                   (np.sign(np.sin(np.arange(16000.0))), 16000,
                                    "clipped: 100% of the samples")]:
        with pytest.raises(AudioError, match=message.replace("(", r"\(").replace(")", r"\)")):
            r.predict_waveform(samples, rate)


def test_timeline_on_every_format(export, tmp_path):
    path = write_pcm(tmp_path / "long.wav", tone(4.5, 16000, seed=3), 16000)
    runs = {fmt: adarl_tf.load(p).timeline(path, hop_s=0.5) for fmt, p in export.items()}
    ref = runs["keras"]
    assert [w.start_s for w in ref.windows] == [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5]
    for fmt, t in runs.items():
        assert [w.label for w in t.windows] == [w.label for w in ref.windows], fmt
        np.testing.assert_allclose([w.probabilities for w in t.windows],
                                   [w.probabilities for w in ref.windows], atol=1e-4)


@pytest.fixture(scope="module")
def speaker_export(tmp_path_factory):
    d = tmp_path_factory.mktemp("speaker_audio")
    training = [load_audio(write_pcm(d / f"t{i}.wav", 0.3 * tone(2.0, 16000, freq=120.0 * (i + 1),
                                                                 seed=10 + i), 16000))
                for i in range(3)]
    model = model_files.build(model_files.SPEAKER, head_gain=30.0)
    model_files.set_pooled(model, training)
    paths = model_files.export_folder(model, tmp_path_factory.mktemp("speaker_export"),
                                      DataConfig(min_tail_s=0.5, tail="overlap"),
                                      FORMATS if _has_onnx() else FORMATS[:2])
    voices = [write_pcm(d / f"anna_{i}.wav", tone(2.0, 16000, freq=220.0 + 10 * i, seed=i),
                        16000) for i in range(2)]
    return paths, voices, write_pcm(d / "anna_clip.wav", tone(2.7, 16000, freq=225.0, seed=3),
                                    16000)


def test_enrol_and_profiles_through_the_api(speaker_export, tmp_path):
    paths, voices, clip = speaker_export
    pooled = {fmt: adarl_tf.load(p) for fmt, p in paths.items()}
    assert {r.speaker_stats_source for r in pooled.values()} == {"pooled"}
    anna = pooled["tflite"].enrol(voices)
    assert anna["format"] == speaker_norm.PROFILE_FORMAT and anna["speech_seconds"] >= 3.0
    saved = tmp_path / "anna.json"
    speaker_norm.save_profile(anna, saved)
    ref = pooled["keras"].with_profile(anna).predict_file(clip)
    assert ref.speaker_stats == "profile"
    for fmt, r in pooled.items():
        for scored in (r.with_profile(anna), r.with_profile(saved),
                       adarl_tf.load(paths[fmt], profile=saved)):
            p = scored.predict_file(clip)
            np.testing.assert_allclose(_probs(p), _probs(ref), atol=1e-4, err_msg=fmt)
        # with_profile leaves the recognizer it came from as it was.
        assert r.speaker_stats_source == "pooled"
    assert adarl_tf.load(paths["keras"], profile=saved).predict_file(clip).speaker_stats == \
        str(saved)
    # The profile changes the scores (the pooled statistics differ).
    assert np.abs(_probs(pooled["keras"].predict_file(clip)) - _probs(ref)).max() > 1e-2
    # And the timeline scores with it too.
    t = pooled["keras"].with_profile(anna).timeline(clip, hop_s=1.0)
    assert t.speaker_stats == "profile"


def test_enrol_names_every_bad_recording(speaker_export, tmp_path):
    paths, voices, _ = speaker_export
    silent = write_pcm(tmp_path / "silent.wav", np.zeros((32000, 1)), 16000)
    missing = tmp_path / "missing.wav"
    with pytest.raises(recognizer.EnrolError) as e:
        adarl_tf.load(paths["keras"]).enrol([voices[0], silent, missing])
    assert [x["file"] for x in e.value.errors] == [str(silent), str(missing)]
    with pytest.raises(speaker_norm.ProfileError, match="a profile needs at least 3 s"):
        adarl_tf.load(paths["keras"]).enrol(voices[:1])


def test_a_segment_normalised_model_refuses_a_profile(export, speaker_export):
    anna = adarl_tf.load(speaker_export[0]["keras"]).enrol(speaker_export[1])
    with pytest.raises(recognizer.PredictError, match="normalises each segment"):
        adarl_tf.load(export["tflite"], profile=anna)
    with pytest.raises(speaker_norm.ProfileError, match="not a speaker profile"):
        adarl_tf.load(speaker_export[0]["keras"], profile={"stats": [1]})


def test_paths_without_a_model_are_refused(export, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(recognizer.PredictError, match="a folder without a model"):
        adarl_tf.load(empty)
    gone = tmp_path / "gone"
    gone.mkdir()
    (gone / "model_card.json").write_text(json.dumps({"files": {"tflite": {
        "path": "model_float32.tflite"}}}))
    with pytest.raises(recognizer.PredictError, match="an export folder without a model file"):
        adarl_tf.load(gone)
    with pytest.raises(recognizer.PredictError, match=r"no 'tflite_int8' model .* holds "):
        adarl_tf.load(export["keras"].parent, format="tflite_int8")
    with pytest.raises(ValueError, match="unknown model format '.txt'"):
        adarl_tf.load(_touch(tmp_path / "m.txt"))


def _touch(path):
    path.write_text("x")
    return path


def test_a_tflite_or_onnx_model_runs_without_tensorflow(export, clip):
    """`import adarl_tf` and a LiteRT or ONNX Runtime model load neither Keras nor
    TensorFlow (an app's memory: BUILD.md, "Timeline")."""
    import subprocess
    import sys
    for fmt in ("tflite", "onnx"):
        if fmt not in export:
            continue
        code = (f"import sys, adarl_tf; r = adarl_tf.load({str(export[fmt])!r}); "
                f"r.predict_file({str(clip)!r}); r.timeline({str(clip)!r}); "
                "print(sorted({m.split('.')[0] for m in sys.modules} & {'tensorflow', 'keras'}))")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert out.stdout.strip() == "[]", (fmt, out.stdout, out.stderr[-2000:])


def test_labels_that_do_not_fit_the_model_are_refused(export, clip, tmp_path, capsys):
    import shutil
    model = shutil.copy(export["tflite"], tmp_path)
    card = json.loads((export["keras"].parent / "model_card.json").read_text())
    card["labels"] = card["labels"] + ["fearful"]
    (tmp_path / "model_card.json").write_text(json.dumps(card))
    with pytest.raises(recognizer.PredictError, match="scores 4 classes but the files beside "
                       "it name 5"):
        adarl_tf.load(model).predict_file(clip)
    for timeline_of in (False, True):
        assert predict.command(model, [str(clip)], timeline_of=timeline_of) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert err[-1].startswith(f"error: {model}: the model scores 4 classes")


def test_a_speakers_recordings_score_together_as_training_scores_a_test_speaker(
        export, small_demo_corpus):
    # predict_speaker against training's --speaker_bn on the same recordings (the
    # reference): the same windows, batches and statistics, so the same probabilities.
    from adarl_tf import training
    from adarl_tf.config import ExperimentConfig, TrainConfig
    from adarl_tf.corpora import demo, iemocap
    corpus = iemocap.load_iemocap(small_demo_corpus, name=demo.DEMO_CORPUS_NAME)
    # Two demo speakers' recordings (46 windows of 1 s), taken as one person's: the
    # reference scores them as one speaker too.
    utterances = [dataclasses.replace(u, speaker="anna") for u in corpus.utterances
                  if u.speaker in corpus.speakers[:2]]
    r = adarl_tf.load(export["keras"])
    alone = [_probs(r.predict_file(u.path)) for u in utterances]
    scored = r.predict_speaker([u.path for u in utterances])

    model = keras.saving.load_model(export["keras"])
    config = ExperimentConfig(model=model.model_config, train=TrainConfig(pipeline="numpy"),
                              data=DataConfig(min_tail_s=0.5, tail="overlap", speaker_bn=True))
    reference = training.predict_utterances(model, utterances, config, 8)
    np.testing.assert_allclose([_probs(p) for p in scored], reference["emotion_probs"],
                               rtol=1e-4, atol=1e-5)
    windows = int(reference["n_segments"])
    assert [p.n_segments for p in scored] == list(reference["segment_counts"])
    assert {p.speaker_bn_windows for p in scored} == {windows}
    assert scored[0].to_dict()["speaker_bn_windows"] == windows
    # Adapting moves the scores, and the model's own statistics are back afterwards.
    assert np.abs(np.array([_probs(p) for p in scored]) - alone).max() > 1e-3
    np.testing.assert_allclose([_probs(r.predict_file(u.path)) for u in utterances], alone,
                               rtol=1e-6, atol=1e-7)


def test_scoring_a_speaker_together_refuses_exports_and_too_few_windows(
        export, small_demo_corpus, clip, tmp_path, capsys):
    from adarl_tf.corpora import demo, iemocap
    corpus = iemocap.load_iemocap(small_demo_corpus, name=demo.DEMO_CORPUS_NAME)
    paths = [str(u.path) for u in corpus.utterances if u.speaker in corpus.speakers[:2]]
    with pytest.raises(recognizer.PredictError, match="tflite model holds as constants; give "
                       "the fold's model.keras"):
        adarl_tf.load(export["tflite"]).predict_speaker(paths)
    short = write_pcm(tmp_path / "short.wav", tone(2.0, 16000), 16000)
    with pytest.raises(recognizer.PredictError, match=r"1 recording\(s\) give 2 window\(s\) of "
                       r"1 s; .* at least 16 \(fewer score no better"):
        adarl_tf.load(export["keras"]).predict_speaker([short])
    # The command line: a bad file is named, left out of the statistics, the rest scored
    # as if it had not been given; exit status 1.
    silent = write_pcm(tmp_path / "silent.wav", np.zeros((32000, 1)), 16000)
    status = predict.command(str(export["keras"]), paths[:2] + [str(silent)] + paths[2:],
                             as_json=True, speaker_bn=True)
    out = capsys.readouterr()
    assert status == 1 and f"error: {silent}: " in out.err
    printed = json.loads(out.out)
    assert [e["file"] for e in printed] == paths[:2] + [str(silent)] + paths[2:]
    assert "error" in printed[2]
    good = adarl_tf.load(export["keras"]).predict_speaker(paths)
    for entry, p in zip(printed[:2] + printed[3:], good):
        assert entry["label"] == p.label
        assert entry["speaker_bn_windows"] == p.speaker_bn_windows
        np.testing.assert_allclose(list(entry["probabilities"].values()), _probs(p), atol=2e-6)
    for flags, message in (({"timeline_of": True}, "makes no timeline"),
                           ({"enrol_files": True, "profile_out": "p.json"}, "makes no profile")):
        assert predict.command(str(export["keras"]), [str(clip)], speaker_bn=True,
                               **flags) == 2
        assert message in capsys.readouterr().err
    assert predict.command(str(export["tflite"]), paths, speaker_bn=True) == 2
    assert "holds as constants" in capsys.readouterr().err
