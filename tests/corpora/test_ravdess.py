"""RAVDESS layout: names, speech/song, genders, label sets, any rate and stereo."""

import json

import pytest
from absl.testing import flagsaver

from adarl_tf import main as main_lib
from adarl_tf.config import DataConfig
from adarl_tf.corpora import load, ravdess
from tests.audio_files import write_speech_like

pytestmark = pytest.mark.usefixtures("parsed_flags")


def make_ravdess(root, actors=(1, 2, 3, 4), song=True, rate=48000):
    """Every speech emotion x 2 statements per actor (one stereo), and song files."""
    for a in actors:
        d = root / f"Actor_{a:02d}"
        for emotion in range(1, 9):
            for statement in (1, 2):
                name = f"03-01-{emotion:02d}-01-{statement:02d}-01-{a:02d}.wav"
                write_speech_like(d / name, seconds=0.6, rate=rate, seed=a * 100 + emotion,
                                  channels=2 if (emotion, statement) == (5, 2) else 1)
        if song:
            for emotion in (1, 2, 3, 4, 5, 6):
                write_speech_like(d / f"03-02-{emotion:02d}-01-01-01-{a:02d}.wav",
                                  seconds=0.6, rate=rate, seed=a * 10 + emotion)
        # A video file: not audio, counted under unlabelled_wavs, never fatal.
        (d / f"01-01-01-01-01-01-{a:02d}.mp4").write_bytes(b"\x00")
    return root


@pytest.fixture
def root(tmp_path):
    return make_ravdess(tmp_path / "ravdess")


def test_speech_only_by_default(root):
    corpus = ravdess.load_ravdess(root)
    assert corpus.speakers == ["Actor_01", "Actor_02", "Actor_03", "Actor_04"]
    assert {s: corpus.gender_of(s) for s in corpus.speakers} == {
            "Actor_01": "M", "Actor_02": "F", "Actor_03": "M", "Actor_04": "F"}
    assert len(corpus.utterances) == 4 * 16
    assert corpus.excluded_labels == {"song (add --ravdess_song)": 24}
    assert {u.meta["vocal_channel"] for u in corpus.utterances} == {"speech"}
    assert corpus.emotions == ravdess.LABELS
    # 48 kHz: not the in-graph fast path; 0.6 s -> 9,600 samples at 16 kHz.
    assert {u.fast_decode for u in corpus.utterances} == {False}
    assert {u.n_samples for u in corpus.utterances} == {9600}
    assert len(corpus.unlabelled_wavs) == 4  # The .mp4 files.


def test_song_behind_the_flag(root):
    corpus = ravdess.load_ravdess(root, include_song=True)
    assert len(corpus.utterances) == 4 * (16 + 6)
    assert not corpus.excluded_labels
    song = [u for u in corpus.utterances if u.meta["vocal_channel"] == "song"]
    assert {u.label for u in song} == {"neutral", "calm", "happy", "sad", "angry", "fearful"}


def test_default_set_is_the_four_classes_and_the_rest_is_counted(root):
    corpus = load.load_corpus(DataConfig(dataset="ravdess", data_dir=str(root)))
    assert corpus.emotions == ("neutral", "happy", "sad", "angry")
    assert len(corpus.utterances) == 4 * 8
    excluded = corpus.excluded_labels
    assert {k: excluded[k] for k in ("calm", "fearful", "disgust", "surprised")} == {
            "calm": 8, "fearful": 8, "disgust": 8, "surprised": 8}
    full = load.load_corpus(DataConfig(dataset="ravdess", data_dir=str(root), emotions="all",
                                       include_song=True))
    assert full.emotions == ravdess.LABELS and len(full.utterances) == 4 * 22


def test_bad_names_are_skipped_with_the_reason(root):
    write_speech_like(root / "Actor_01" / "03-01-09-01-01-01-01.wav")  # Emotion 09.
    write_speech_like(root / "Actor_01" / "03-01-01-01-01-01-02.wav")  # Actor 02's file.
    write_speech_like(root / "Actor_01" / "take1.wav")
    reasons = {e["path"].rsplit("/", 1)[1]: e["reason"]
               for e in ravdess.load_ravdess(root).skipped}
    assert "out of range" in reasons["03-01-09-01-01-01-01.wav"]
    assert "move it to its actor's folder" in reasons["03-01-01-01-01-01-02.wav"]
    assert "not a RAVDESS file name" in reasons["take1.wav"]


def test_actor_folder_given_instead_of_the_root(root):
    with pytest.raises(ValueError, match="single actor's folder"):
        ravdess.load_ravdess(root / "Actor_01")
    with pytest.raises(FileNotFoundError, match="no Actor_XX folders"):
        ravdess.load_ravdess(root.parent)


@pytest.mark.parametrize("song,n", [(False, 64), (True, 88)])
def test_dry_run_counts_speakers_and_genders(root, tmp_path, song, n, capsys):
    out = tmp_path / "out"
    with flagsaver.flagsaver(dataset="ravdess", data_dir=str(root), out_dir=str(out),
                             dry_run=True, emotions="all", ravdess_song=song):
        main_lib.main(["adarl_tf.main"])
    report = json.loads((out / "data_report.json").read_text())
    assert report["n_utterances"] == n
    assert [(s["id"], s["gender"], s["fold"]) for s in report["speakers"]] == [
            ("Actor_01", "M", 0), ("Actor_02", "F", 1), ("Actor_03", "M", 2),
            ("Actor_04", "F", 3)]
    assert report["emotions"] == list(ravdess.LABELS)
    assert report["folds"][2] == {"fold": 2, "test_speakers": ["Actor_03"]}
    assert "4 speakers (2 F, 2 M)" in capsys.readouterr().out
