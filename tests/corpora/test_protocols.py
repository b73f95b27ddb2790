"""Folds: speaker-disjoint, every labelled speaker tested exactly once."""

import pytest

from adarl_tf import protocol
from adarl_tf.config import DataConfig
from adarl_tf.corpora import load
from adarl_tf.corpora.corpus import Corpus, Utterance


def _corpus(n_speakers, sizes=None, session=True):
    utts = []
    for s in range(n_speakers):
        for k in range((sizes or {}).get(s, 3)):
            meta = {"session": str(s // 2 + 1)} if session else {}
            utts.append(Utterance(f"u{s}_{k}", "x.wav", f"spk{s:02d}", "FM"[s % 2], "sad", 1.0,
                                  meta=meta))
    utts.append(Utterance("extra", "x.wav", "extra/e1", "F", None, 1.0))  # Domain-only.
    return Corpus("c", utts, [f"spk{s:02d}" for s in range(n_speakers)])


def _check_partition(folds, corpus):
    flat = [s for f in folds for s in f]
    assert sorted(flat) == sorted(corpus.speakers)  # Every speaker once...
    assert len(flat) == len(set(flat))  # ...and in one fold only.
    assert "extra/e1" not in flat


def test_loso_and_session():
    corpus = _corpus(6)
    assert protocol.make_folds(corpus, "loso") == [[s] for s in corpus.speakers]
    folds = protocol.make_folds(corpus, "loso_session")
    assert folds == [["spk00", "spk01"], ["spk02", "spk03"], ["spk04", "spk05"]]
    _check_partition(folds, corpus)
    with pytest.raises(ValueError, match="loso_session needs a session"):
        protocol.make_folds(_corpus(4, session=False), "loso_session")


@pytest.mark.parametrize("k", [2, 3, 5])
def test_speaker_kfold_is_balanced_disjoint_and_seeded(k):
    sizes = {i: 2 + (i * 7) % 5 for i in range(23)}
    corpus = _corpus(23, sizes)
    folds = protocol.make_folds(corpus, "speaker_kfold", k, seed=0)
    assert len(folds) == k
    _check_partition(folds, corpus)
    totals = [sum(sizes[int(s[3:])] for s in f) for f in folds]
    assert max(totals) - min(totals) <= max(sizes.values())
    assert folds == protocol.make_folds(corpus, "speaker_kfold", k, seed=0)
    with pytest.raises(ValueError, match="needs 2 to 23 folds"):
        protocol.make_folds(corpus, "speaker_kfold", 24)


def test_iemocap_sessions_through_load(small_demo_corpus):
    corpus = load.load_corpus(DataConfig(dataset="demo", data_dir=str(small_demo_corpus),
                                         protocol="loso_session"))
    assert corpus.fold_list() == [[f"Ses0{i}F", f"Ses0{i}M"] for i in range(1, 6)]
    report = corpus.report()
    assert report["protocol"] == "loso_session"
    assert [s["fold"] for s in report["speakers"]] == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
