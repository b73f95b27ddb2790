"""Timelines: window times, speech marking on a file with silences, read in blocks,
CSV/JSON schema, the plot, and each bad input (one line, non-zero exit, nothing written)."""

import csv
import io
import json
import subprocess
import sys

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
pytest.importorskip("ai_edge_litert.interpreter")
keras = pytest.importorskip("keras")
if keras.backend.backend() != "tensorflow":
    pytest.skip("export needs the TensorFlow backend", allow_module_level=True)

import adarl_tf
from adarl_tf import audio, predict, timeline
from adarl_tf.config import DataConfig
from tests import model_files
from tests.audio_files import tone, write_pcm
from tests.cli_checks import one_error

RATE = 16000
# Tone (speech) and near-silence (noise at -80 dBFS), seconds: 2 on, 3 off, 2 on, 1.5 off.
PLAN = ((2.0, True), (3.0, False), (2.0, True), (1.5, False))
HOP = 0.5
# 1 s windows every 0.5 s over 8.5 s: speech where at least 10 % of the window is tone.
WANT_SPEECH = [True] * 4 + [False] * 5 + [True] * 5 + [False] * 2


def _signal(rate=RATE, gain=1.0, plan=PLAN):
    rng = np.random.default_rng(0)
    parts = []
    for seconds, on in plan:
        n = int(round(seconds * rate))
        if on:
            parts.append(tone(seconds, rate, seed=len(parts))[:, 0])
        else:
            parts.append(1e-4 * rng.standard_normal(n))
    return gain * np.concatenate(parts)


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    built = model_files.build(model_files.TINY, head_gain=30.0)
    return model_files.export_folder(built, tmp_path_factory.mktemp("export"),
                                     DataConfig(min_tail_s=0.5))["tflite"]


@pytest.fixture(scope="module")
def speech_file(tmp_path_factory):
    return write_pcm(tmp_path_factory.mktemp("audio") / "talk.wav", _signal(), RATE)


def test_window_starts():
    assert timeline.window_starts(10 * RATE, 3 * RATE, RATE) == [i * RATE for i in range(8)]
    # 10.5 s: one more window, ending at the end.
    assert timeline.window_starts(int(10.5 * RATE), 3 * RATE, RATE)[-2:] == [7 * RATE,
                                                                              int(7.5 * RATE)]
    assert timeline.window_starts(3 * RATE, 3 * RATE, RATE) == [0]


def test_windows_times_and_speech_marking(model, speech_file, tmp_path):
    r = adarl_tf.load(model)
    t = r.timeline(speech_file, hop_s=HOP)
    assert t.duration_s == pytest.approx(8.5) and (t.window_s, t.hop_s) == (1.0, HOP)
    assert [(w.start_s, w.end_s) for w in t.windows] == [(i * HOP, i * HOP + 1.0)
                                                          for i in range(16)]
    assert [w.speech for w in t.windows] == WANT_SPEECH
    for w in t.windows:
        assert (w.probabilities is None) == (not w.speech) and (w.label is None) == (not w.speech)
        if w.speech:
            assert sum(w.probabilities) == pytest.approx(1.0, abs=1e-4)
            assert w.label == t.labels[int(np.argmax(w.probabilities))]
    assert t.windows[0].speech_share == 1.0 and t.windows[5].speech_share == 0.0
    # Each speech window is scored as predict_waveform scores its samples.
    wave = audio.load_audio(speech_file)
    for w in t.speech_windows()[::3]:
        cut = wave[int(w.start_s * RATE):int(w.end_s * RATE)]
        np.testing.assert_allclose(w.probabilities,
                                   list(r.predict_waveform(cut, RATE).probabilities.values()),
                                   atol=1e-5)
    # The rule is relative to the file's level: 40 dB quieter, the same marking;
    # at 44.1 kHz, the same windows.
    quiet = write_pcm(tmp_path / "quiet.wav", _signal(gain=0.01), RATE)
    assert [w.speech for w in r.timeline(quiet, hop_s=HOP).windows] == WANT_SPEECH
    other_rate = write_pcm(tmp_path / "44k.wav", _signal(rate=44100), 44100)
    t44 = r.timeline(other_rate, hop_s=HOP)
    assert [w.speech for w in t44.windows] == WANT_SPEECH
    np.testing.assert_allclose([w.probabilities for w in t44.speech_windows()],
                               [w.probabilities for w in t.speech_windows()], atol=0.05)


def test_read_in_blocks_never_whole(model, speech_file, monkeypatch):
    r = adarl_tf.load(model)
    whole = r.timeline(speech_file, hop_s=HOP)

    def refuse(*args, **kwargs):
        raise AssertionError("a timeline must not read the whole file")

    monkeypatch.setattr(audio, "read_audio", refuse)
    monkeypatch.setattr(audio, "load_audio", refuse)
    small = timeline.score_file(r, speech_file, HOP, block_s=0.37)
    assert small == whole


def test_memory_does_not_grow_with_the_file(model, tmp_path):
    import tracemalloc
    r = adarl_tf.load(model)
    peaks = {}
    for seconds in (30, 240):
        path = write_pcm(tmp_path / f"{seconds}.wav",
                         np.tile(_signal(), seconds // 8 + 1)[:seconds * RATE], RATE)
        tracemalloc.start()
        try:
            t = timeline.score_file(r, path, 1.0, block_s=5.0)
            peaks[seconds] = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert len(t.windows) == seconds
    # Blocks of 5 s and a batch of windows (~5 MB), whatever the length: the 240 s file
    # holds 15 MB of float32 samples.
    assert peaks[240] < 1.2 * peaks[30] and peaks[240] < 8e6, peaks


def _csv(text):
    return list(csv.reader(io.StringIO(text)))


def test_cli_writes_csv_json_and_the_plot(model, speech_file, tmp_path, capsys):
    out, plot = tmp_path / "t.csv", tmp_path / "t.png"
    assert predict.command(model, [str(speech_file)], timeline_of=True, hop_s=HOP, out=str(out),
                           plot=str(plot)) == 0
    rows = _csv(out.read_text())
    labels = list(model_files.LABELS)
    assert rows[0] == ["start_s", "end_s", "speech", "speech_share", "label", *labels]
    assert len(rows) == 17 and [r[2] for r in rows[1:]] == [str(int(s)) for s in WANT_SPEECH]
    assert rows[1][:2] == ["0.000", "1.000"] and rows[16][:2] == ["7.500", "8.500"]
    silent_row, speech_row = rows[1 + 5], rows[1]
    assert silent_row[4:] == [""] * (1 + len(labels))
    assert speech_row[4] in labels and sum(map(float, speech_row[5:])) == pytest.approx(1, 1e-4)
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"wrote {out}" in capsys.readouterr().err

    # JSON: printed to stdout, read back into the same timeline.
    assert predict.command(model, [str(speech_file)], timeline_of=True, hop_s=HOP,
                           as_json=True) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["format"] == timeline.TIMELINE_FORMAT and doc["version"] == 1
    assert doc["labels"] == labels and doc["window_s"] == 1.0 and doc["hop_s"] == HOP
    assert set(doc["windows"][0]) == {"start_s", "end_s", "speech", "speech_share", "label",
                                      "probabilities"}
    assert doc["windows"][5]["probabilities"] is None
    assert list(doc["windows"][0]["probabilities"]) == labels
    api = adarl_tf.load(model).timeline(speech_file, hop_s=HOP)
    assert timeline.Timeline.from_dict(doc) == api
    # CSV to stdout by default, hop 1 s.
    assert predict.command(model, [str(speech_file)], timeline_of=True) == 0
    assert len(_csv(capsys.readouterr().out)) == 1 + 9  # 0..7 s, then 7.5 s.


def test_the_plot_shades_the_speech_regions(model, speech_file):
    t = adarl_tf.load(model).timeline(speech_file, hop_s=HOP)
    ax = timeline.timeline_figure(t).axes[0]
    spans = [p.get_x() for p in ax.patches]
    assert len(spans) == 2  # The two talking stretches.
    assert [line.get_label() for line in ax.get_lines()] == list(t.labels)



def test_bad_inputs_are_one_line_and_write_nothing(model, speech_file, tmp_path, capsys):
    out, plot = tmp_path / "t.csv", tmp_path / "t.png"
    out.write_text("an earlier timeline\n")
    silent = write_pcm(tmp_path / "silent.wav", np.zeros(3 * RATE), RATE)
    hiss = write_pcm(tmp_path / "hiss.wav", 1e-4 * np.random.default_rng(1).standard_normal(
        3 * RATE), RATE)
    short = write_pcm(tmp_path / "short.wav", tone(0.6, RATE)[:, 0], RATE)
    mp3 = tmp_path / "talk.mp3"
    mp3.write_bytes(b"ID3\x03\x00" + bytes(200))
    missing = tmp_path / "missing.wav"
    cases = [(silent, "silent: every sample is within 1 step(s) of 0"),
             (hiss, "no speech found"),
             (short, "0.60 s long, shorter than one window (1 s"),
             (mp3, "not a WAV file"), (missing, "file not found")]
    for path, message in cases:
        code = predict.command(model, [str(path)], timeline_of=True, out=str(out),
                               plot=str(plot))
        one_error(capsys, code, 1, f"error: {path}: ", message)
        assert out.read_text() == "an earlier timeline\n" and not plot.exists()
        assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    empty = tmp_path / "no_model"
    empty.mkdir()
    one_error(capsys, predict.command(str(empty), [str(speech_file)], timeline_of=True), 2,
               f"error: {empty}: a folder without a model")
    usage = [({"hop_s": 0.0, "timeline_of": True}, "--hop_s=0.0: expected a positive"),
             ({"plot": str(plot)}, "--plot needs --timeline"),
             ({"timeline_of": True, "paths": [str(speech_file)] * 2}, "takes one file, got 2")]
    for kwargs, message in usage:
        paths = kwargs.pop("paths", [str(speech_file)])
        one_error(capsys, predict.command(model, paths, **kwargs), 2, message)


def test_cli_process_no_speech(model, tmp_path):
    silent = write_pcm(tmp_path / "silent.wav", 1e-4 * np.random.default_rng(1).standard_normal(
        2 * RATE), RATE)  # Hiss: not silent by training's rule, but no window of speech.
    out = tmp_path / "t.json"
    proc = subprocess.run([sys.executable, "-m", "adarl_tf.predict", f"--model={model}",
                           "--timeline", "--json", f"--out={out}", str(silent)],
                          capture_output=True, text=True)
    assert proc.returncode == 1 and proc.stdout == "" and not out.exists()
    assert proc.stderr.strip().splitlines()[-1].startswith(f"error: {silent}: no speech found")
    assert "Traceback" not in proc.stderr
