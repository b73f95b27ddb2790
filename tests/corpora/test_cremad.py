"""CREMA-D layout: AudioWAV names and VideoDemographics.csv."""

import pytest

from adarl_tf.config import DataConfig
from adarl_tf.corpora import cremad, load
from tests.audio_files import write_speech_like
from tests.corpora.layouts import make_cremad


def test_actors_sex_and_labels(tmp_path):
    corpus = cremad.load_cremad(make_cremad(tmp_path / "crema"))
    assert corpus.speakers == ["1001", "1002", "1003", "1004"]
    assert [corpus.gender_of(s) for s in corpus.speakers] == ["M", "F", "F", "M"]
    assert len(corpus.utterances) == 4 * 6 * 2
    u = corpus.utterances[0]
    assert (u.name, u.label, u.meta["level"], u.meta["age_group"]) == (
            "1001_DFA_ANG_XX", "angry", "unspecified", "50-59")


def test_unknown_actor_and_bad_name_are_skipped(tmp_path):
    root = make_cremad(tmp_path / "crema")
    write_speech_like(root / "AudioWAV" / "1050_DFA_ANG_XX.wav")
    write_speech_like(root / "AudioWAV" / "1001_DFA_BOR_XX.wav")
    reasons = [e["reason"] for e in cremad.load_cremad(root).skipped]
    assert any("actor 1050 has no row" in r for r in reasons)
    assert any("not a CREMA-D file name" in r for r in reasons)


def test_age_group_as_domain_and_missing_csv(tmp_path):
    root = make_cremad(tmp_path / "crema")
    corpus = load.load_corpus(DataConfig(dataset="cremad", data_dir=str(root),
                                         domain="age_group"))
    assert corpus.domain_values == ("20-29", "30-39", "40-49", "50-59")
    (root / "VideoDemographics.csv").unlink()
    with pytest.raises(FileNotFoundError, match="VideoDemographics.csv not found"):
        cremad.load_cremad(root)
    with pytest.raises(ValueError, match="is the AudioWAV folder itself"):
        cremad.load_cremad(root / "AudioWAV")
