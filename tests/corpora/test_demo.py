"""Tests of the synthetic demo corpus: IEMOCAP layout, determinism, cues, cache."""

import functools
import json
import pathlib
import re
import wave

import numpy as np
import pytest

from adarl_tf.corpora import demo

_MAIN_LINE = re.compile(r"^\[(\d+\.\d+) - (\d+\.\d+)\]\t(\S+)\t(\w+)\t\[")
_CLASS_CODES = {"neu": "neutral", "hap": "happy", "sad": "sad", "ang": "angry"}
_PER_EMOTION = 2


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """A small corpus (2 utterances per speaker and class), shared by the tests."""
    root = tmp_path_factory.mktemp("demo") / "corpus"
    assert demo.generate_demo_corpus(root, seed=0, utterances_per_emotion=_PER_EMOTION) == root
    return root


def _read_wav(path):
    """Returns (rate, channels, sample width, int16 samples)."""
    with wave.open(str(path), "rb") as f:
        data = np.frombuffer(f.readframes(f.getnframes()), dtype="<i2")
        return f.getframerate(), f.getnchannels(), f.getsampwidth(), data


def _wavs(root):
    return sorted(root.glob("Session*/sentences/wav/*/*.wav"))


def _main_lines(root):
    """{utterance name: (label, label file, start, end)} from all EmoEvaluation files."""
    lines = {}
    for label_file in sorted(root.glob("Session*/dialog/EmoEvaluation/*.txt")):
        for line in label_file.read_text(encoding="utf-8").splitlines():
            if line.startswith("["):
                match = _MAIN_LINE.match(line)
                assert match, f"{label_file.name}: malformed main line {line!r}"
                start, end, name, label = match.groups()
                assert name not in lines, f"{name} labelled twice"
                lines[name] = (label, label_file, float(start), float(end))
    return lines


def _speaker(name):
    # The speaker's gender is the last token's first letter, not the letter
    # after SesNN (that one names the dialog's mocap actor).
    return name[:5] + name.rsplit("_", 1)[1][0]


def _f0(samples, rate=16000):
    """Median f0 over the loudest frames, by autocorrelation (simple on purpose)."""
    x = samples / 32768.0
    frame, hop = 640, 320
    starts = np.arange(0, len(x) - frame, hop)
    frames = np.stack([x[s:s + frame] for s in starts])
    rms = np.sqrt(np.mean(frames ** 2, axis=1))
    voiced = frames[rms > 0.3 * rms.max()]
    voiced = voiced - voiced.mean(axis=1, keepdims=True)
    spectrum = np.fft.rfft(voiced * np.hanning(frame), 2 * frame)
    ac = np.fft.irfft(np.abs(spectrum) ** 2)[:, :frame]
    low, high = rate // 400, rate // 70
    lags = []
    for row in ac[:, low:high]:
        # The first lag near the maximum: later peaks at 2T, 3T are as tall.
        lags.append(low + int(np.argmax(row > 0.85 * row.max())))
    return float(np.median(rate / np.array(lags)))


def test_iemocap_layout(corpus):
    sessions = sorted(p.name for p in corpus.iterdir() if p.is_dir())
    assert sessions == [f"Session{i}" for i in range(1, 6)]
    readme = " ".join((corpus / "README.txt").read_text().split())
    assert "synthetic demo corpus in IEMOCAP's layout" in readme
    assert "not real speech" in readme
    for session in sessions:
        labels = sorted((corpus / session / "dialog" / "EmoEvaluation").glob("*.txt"))
        wav_dirs = sorted(p for p in (corpus / session / "sentences" / "wav").iterdir())
        assert labels and [p.stem for p in labels] == [p.name for p in wav_dirs]
        for label_file in labels:
            assert re.fullmatch(rf"Ses0{session[-1]}[FM]_impro\d\d[ab]?", label_file.stem)
            lines = label_file.read_text(encoding="utf-8").split("\n")
            assert lines[0] == "% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]"
            assert lines[1] == ""


def test_wav_format_and_levels(corpus):
    durations, peaks = [], []
    for path in _wavs(corpus):
        rate, channels, width, data = _read_wav(path)
        assert (rate, channels, width) == (16000, 1, 2), path.name
        durations.append(len(data) / rate)
        peaks.append(np.abs(data.astype(np.int32)).max() / 32768.0)
    durations, peaks = np.array(durations), np.array(peaks)
    assert durations.min() >= 1.0 and durations.max() <= 5.5
    # The pipeline cuts 3 s segments: both short and multi-segment utterances.
    assert 0.35 <= np.mean(durations > 3.0) <= 0.55
    assert peaks.max() < 0.99, "clipped or nearly clipped"
    assert peaks.min() >= 0.24, "nearly silent file"
    assert 0.3 <= np.median(peaks) <= 0.7


def test_synthesis_is_finite():
    voices = {v.speaker: v for v in demo._voices(0)}
    for plan in demo._plan_session(0, 1, 1):
        samples = demo._synthesize(plan, voices[f"Ses01{plan.gender}"], 0)
        assert samples.shape == (plan.n_samples,)
        assert np.all(np.isfinite(samples)) and np.abs(samples).max() <= 0.95 + 1e-9


def test_label_lines_match_wav_files(corpus):
    lines = _main_lines(corpus)
    wavs = {p.stem: p for p in _wavs(corpus)}
    assert set(lines) == set(wavs)
    for name, (label, label_file, start, end) in lines.items():
        # The WAV sits in the folder of the dialog whose file labels it.
        assert wavs[name].parent.name == label_file.stem == name.rsplit("_", 1)[0]
        assert end - start == pytest.approx(len(_read_wav(wavs[name])[3]) / 16000, abs=2e-4)
    labels = [label for label, *_ in lines.values()]
    assert set(labels) <= set(_CLASS_CODES) | {"fru", "xxx", "exc"}
    others = sum(label not in _CLASS_CODES for label in labels)
    # Present, so a loader's exclusion path runs, but a small share.
    assert 10 <= others <= 20 and others / len(labels) < 0.25
    per_speaker = {}
    for name, (label, *_) in lines.items():
        if label in _CLASS_CODES:
            per_speaker.setdefault(_speaker(name), []).append(label)
    for speaker_labels in per_speaker.values():
        assert sorted(speaker_labels) == sorted(list(_CLASS_CODES) * _PER_EMOTION)


def test_annotator_lines_follow_main_lines(corpus):
    text = (corpus / "Session1" / "dialog" / "EmoEvaluation" / "Ses01F_impro01.txt").read_text()
    blocks = text.split("\n\n")[1:-1]
    assert blocks
    for block in blocks:
        main, *annotators = block.split("\n")
        assert _MAIN_LINE.match(main)
        assert annotators and all(re.match(r"^[AC]-[EF]\d:\t", a) for a in annotators)


def test_ten_speakers_and_both_genders_in_every_dialog(corpus):
    names = list(_main_lines(corpus))
    speakers = sorted({_speaker(n) for n in names})
    assert speakers == [f"Ses0{s}{g}" for s in range(1, 6) for g in "FM"]
    by_dialog = {}
    for name in names:
        by_dialog.setdefault(name.rsplit("_", 1)[0], set()).add(name.rsplit("_", 1)[1][0])
    assert all(genders == {"F", "M"} for genders in by_dialog.values()), by_dialog
    # The dialog letter and the speaker letter differ for about half the names.
    assert any(n[5] != n.rsplit("_", 1)[1][0] for n in names)


def test_iemocap_loader_reads_it(corpus):
    iemocap = pytest.importorskip("adarl_tf.corpora.iemocap")
    loaded = iemocap.load_iemocap(corpus, name=demo.DEMO_CORPUS_NAME)
    assert loaded.name == "synthetic demo corpus"
    assert len(loaded.speakers) == 10 and not loaded.skipped
    assert len(loaded.utterances) == 10 * 4 * _PER_EMOTION
    assert sum(loaded.excluded_labels.values()) > 0


def _tree_bytes(root):
    return {str(p.relative_to(root)): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_same_bytes_other_seed_differs(tmp_path):
    def generate(folder, seed):
        return _tree_bytes(demo.generate_demo_corpus(
                tmp_path / folder, seed=seed, utterances_per_emotion=1))

    first, second, other = generate("a", 3), generate("b", 3), generate("c", 4)
    assert first == second
    wavs = [k for k in first if k.endswith(".wav") and k in other]
    assert wavs and all(first[k] != other[k] for k in wavs)


def test_utterance_audio_does_not_depend_on_generation_order():
    voices = {v.speaker: v for v in demo._voices(0)}
    plans = demo._plan_session(0, 2, 1)
    forward = [demo._synthesize(p, voices[f"Ses02{p.gender}"], 0) for p in plans]
    backward = [demo._synthesize(p, voices[f"Ses02{p.gender}"], 0) for p in plans[::-1]][::-1]
    assert all(np.array_equal(a, b) for a, b in zip(forward, backward))


def test_rejects_non_empty_root(tmp_path):
    (tmp_path / "x.txt").write_text("x")
    with pytest.raises(ValueError, match="not an empty folder"):
        demo.generate_demo_corpus(tmp_path)


def test_voice_and_emotion_cues(corpus):
    """Mean f0: F > M, happy > neutral > sad per speaker; angry louder than sad."""
    stats = {}
    for name, (label, *_) in _main_lines(corpus).items():
        if label not in _CLASS_CODES:
            continue
        path = next(corpus.glob(f"Session*/sentences/wav/{name.rsplit('_', 1)[0]}/{name}.wav"))
        data = _read_wav(path)[3]
        rms = float(np.sqrt(np.mean((data / 32768.0) ** 2)))
        stats.setdefault((_speaker(name), label), []).append((_f0(data), rms))
    mean = {key: np.mean(values, axis=0) for key, values in stats.items()}
    speakers = sorted({speaker for speaker, _ in mean})
    neutral_f0 = {s: mean[(s, "neu")][0] for s in speakers}
    assert min(f for s, f in neutral_f0.items() if s.endswith("F")) > max(
            f for s, f in neutral_f0.items() if s.endswith("M"))
    for s in speakers:
        f0 = {label: mean[(s, label)][0] for label in _CLASS_CODES}
        assert f0["hap"] > f0["neu"] > f0["sad"], (s, f0)
        assert mean[(s, "ang")][1] > mean[(s, "sad")][1], s


def test_default_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("ADARL_TF_CACHE", str(tmp_path / "cache"))
    assert demo.default_cache_dir() == tmp_path / "cache"
    monkeypatch.delenv("ADARL_TF_CACHE")
    assert demo.default_cache_dir() == pathlib.Path.home() / ".cache" / "adarl_tf"


@pytest.fixture
def small_generation(monkeypatch):
    """Makes `ensure_demo_corpus` generate a tiny corpus and counts the calls."""
    calls = []
    real = functools.partial(demo.generate_demo_corpus, utterances_per_emotion=1)

    def generate(root, seed=0):
        calls.append(root)
        return real(root, seed=seed)

    monkeypatch.setattr(demo, "generate_demo_corpus", generate)
    return calls


def test_ensure_demo_corpus_generates_once(tmp_path, small_generation):
    path = demo.ensure_demo_corpus(cache_dir=tmp_path, seed=5)
    assert path == tmp_path / f"demo_corpus_v{demo.DEMO_VERSION}_seed5"
    marker = json.loads((path / "COMPLETE").read_text())
    assert marker["version"] == demo.DEMO_VERSION and marker["seed"] == 5
    assert marker["n_utterances"] == len(_wavs(path)) > 0
    assert "not real recordings" in marker["note"]
    # Nothing but the corpus is left in the cache: no partial folders.
    assert [p.name for p in tmp_path.iterdir()] == [path.name]
    mtime = (path / "COMPLETE").stat().st_mtime_ns

    assert demo.ensure_demo_corpus(cache_dir=tmp_path, seed=5) == path
    assert len(small_generation) == 1
    assert (path / "COMPLETE").stat().st_mtime_ns == mtime


def test_ensure_demo_corpus_regenerates_without_marker(tmp_path, small_generation):
    path = demo.ensure_demo_corpus(cache_dir=tmp_path, seed=0)
    (path / "COMPLETE").unlink()
    (path / "leftover.txt").write_text("from an interrupted copy")
    assert demo.ensure_demo_corpus(cache_dir=tmp_path, seed=0) == path
    assert len(small_generation) == 2
    assert (path / "COMPLETE").is_file() and not (path / "leftover.txt").exists()


def test_interrupted_generation_leaves_nothing(tmp_path, monkeypatch):
    def broken(root, seed=0):
        (pathlib.Path(root) / "Session1").mkdir()
        raise KeyboardInterrupt

    monkeypatch.setattr(demo, "generate_demo_corpus", broken)
    with pytest.raises(KeyboardInterrupt):
        demo.ensure_demo_corpus(cache_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []
