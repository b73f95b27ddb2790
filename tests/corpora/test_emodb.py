"""EmoDB layout: SSTTTEV names, speaker genders, labels."""

import pytest

from adarl_tf.config import DataConfig
from adarl_tf.corpora import emodb, load
from tests.audio_files import write_speech_like
from tests.corpora.layouts import make_emodb


def test_names_speakers_genders_and_labels(tmp_path):
    corpus = emodb.load_emodb(make_emodb(tmp_path / "emodb"))
    assert corpus.speakers == ["03", "08", "09", "10"]
    assert [corpus.gender_of(s) for s in corpus.speakers] == ["M", "F", "F", "M"]
    assert len(corpus.utterances) == 4 * 7 * 2
    first = corpus.utterances[0]
    assert (first.name, first.label, first.meta["text"]) == ("03a01Aa", "fearful", "a01")
    assert sorted({u.label for u in corpus.utterances}) == sorted(emodb.LABELS)


def test_flat_folder_and_bad_names(tmp_path):
    root = make_emodb(tmp_path / "flat", speakers=("13",), letters="NW", subfolder=False)
    write_speech_like(root / "99a01Wa.wav")
    write_speech_like(root / "03a01Xa.wav")
    write_speech_like(root / "readme.wav")
    corpus = emodb.load_emodb(root)
    assert len(corpus.utterances) == 4 and corpus.speakers == ["13"]
    reasons = sorted(e["reason"] for e in corpus.skipped)
    assert "unknown emotion letter 'X'" in reasons[0]
    assert "speaker 99 is not one of EmoDB's ten" in reasons[2]
    assert "not an EmoDB file name" in reasons[1]


def test_default_classes_count_the_rest(tmp_path):
    root = make_emodb(tmp_path / "emodb")
    corpus = load.load_corpus(DataConfig(dataset="emodb", data_dir=str(root)))
    assert corpus.emotions == ("neutral", "happy", "sad", "angry")
    assert corpus.excluded_labels == {"boredom": 8, "disgust": 8, "fearful": 8}
    mapped = load.load_corpus(DataConfig(dataset="emodb", data_dir=str(root),
                                         emotions="neutral=neutral+boredom,angry"))
    assert mapped.emotions == ("neutral", "angry")
    assert mapped.report()["label_totals"] == {"neutral": 16, "angry": 8}
    with pytest.raises(ValueError, match="no label 'calm' in the data"):
        load.load_corpus(DataConfig(dataset="emodb", data_dir=str(root), emotions="calm,sad"))


def test_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="EmoDB data_dir"):
        emodb.load_emodb(tmp_path / "nope")
