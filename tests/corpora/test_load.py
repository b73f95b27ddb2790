"""Several corpora in one run, `--domain`, extra domain-only data."""

import pathlib

import pytest

from adarl_tf.config import DataConfig
from adarl_tf.corpora import load
from tests.corpora.layouts import make_cremad, make_emodb, make_manifest


@pytest.fixture
def two(tmp_path):
    return (make_emodb(tmp_path / "emodb", speakers=("03", "08")),
            make_cremad(tmp_path / "crema", actors=((1001, "Male", 30), (1002, "Female", 40))))


def test_two_corpora_prefix_speakers_and_give_a_corpus_domain(two):
    emo, crema = two
    corpus = load.load_corpus(DataConfig(dataset="emodb,cremad",
                                         data_dir=f"{emo},{crema}", domain="corpus"))
    assert corpus.speakers == ["EmoDB/03", "EmoDB/08", "CREMA-D/1001", "CREMA-D/1002"]
    assert corpus.domain_values == ("CREMA-D", "EmoDB")
    assert corpus.emotions == ("neutral", "happy", "sad", "angry")
    assert corpus.excluded_labels["EmoDB:boredom"] == 4
    assert len(corpus.fold_list()) == 4
    full = load.load_corpus(DataConfig(dataset="emodb,cremad", data_dir=f"{emo},{crema}",
                                       emotions="all"))
    assert full.emotions == ("neutral", "happy", "sad", "angry", "fearful", "disgust",
                             "boredom")


def test_data_dir_count_must_match(two):
    with pytest.raises(ValueError, match="lists 2 corpora .* but --data_dir lists 1"):
        load.load_corpus(DataConfig(dataset="emodb,cremad", data_dir=str(two[0])))
    with pytest.raises(ValueError, match="--domain=corpus: every utterance .* has "
                                         "corpus='EmoDB'"):
        load.load_corpus(DataConfig(dataset="emodb", data_dir=str(two[0]), domain="corpus"))


def test_extra_domain_data_trains_only(two, tmp_path):
    emo, _ = two
    extra = make_manifest(tmp_path / "extra" / "x.tsv", [
            {"audio": (pathlib.Path(f"a{i}.wav"), 1.0, 22050, 1), "speaker": f"x{i % 2}",
             "gender": "FM"[i % 2], "emotion": "happy"} for i in range(4)], sep="\t")
    corpus = load.load_corpus(DataConfig(dataset="emodb", data_dir=str(emo),
                                         extra_domain_data=str(extra)))
    domain_only = [u for u in corpus.utterances if u.label is None]
    assert len(domain_only) == 4  # The manifest's labels are ignored: domain-only.
    assert {u.speaker for u in domain_only} == {"extra/x0", "extra/x1"}
    assert corpus.speakers == ["03", "08"]  # Never tested.
    assert all(s in ("03", "08") for f in corpus.fold_list() for s in f)
    assert corpus.report()["n_domain_only"] == 4
