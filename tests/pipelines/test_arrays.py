"""The numpy pipeline: the tf.data pipeline's segments, labels, counts and seeds."""

import numpy as np
import pytest

from adarl_tf.config import FrontendConfig
from adarl_tf.corpora import demo, iemocap
from adarl_tf.pipelines import arrays, pipeline_module, rules

FRONTEND = FrontendConfig(segment_s=1.0, max_freq_hz=2000.0)
MIN_TAIL_S = 0.5


@pytest.fixture(scope="module")
def utterances(small_demo_corpus):
    corpus = iemocap.load_iemocap(small_demo_corpus, name=demo.DEMO_CORPUS_NAME)
    return corpus.utterances[:24]


def _epochs(ds, steps, n_epochs):
    batches = list(ds)
    assert len(batches) == steps * n_epochs
    return [batches[e * steps:(e + 1) * steps] for e in range(n_epochs)]


def _flat(batches):
    x = np.concatenate([np.asarray(b[0]) for b in batches])
    e = np.concatenate([np.asarray(b[1]["emotion"]) for b in batches])
    d = np.concatenate([np.asarray(b[1]["domain"]) for b in batches])
    return x, e, d


def _sorted_rows(x, e, d):
    """Segments with their labels in a canonical order (the pipelines shuffle differently)."""
    rows = np.concatenate([x, e[:, None], d[:, None]], axis=1)
    return rows[np.lexsort(rows[:, ::-1].T)]


def test_cut_segments_follows_count_segments():
    for n in (0, 3, 10, 16, 25, 31):
        segs = rules.cut_segments(np.arange(1, n + 1, dtype="float32"), 10, 5)
        assert len(segs) == rules.count_segments(n, 10, 5)
        flat = segs.ravel()
        assert np.array_equal(flat[:min(n, flat.size)], np.arange(1, min(n, flat.size) + 1))
        assert not flat[min(n, flat.size):].any()  # Zero padding only after the audio.


def test_epochs_are_seeded_per_epoch_and_resume_replays_them(utterances):
    steps = rules.steps_per_epoch(utterances, FRONTEND, MIN_TAIL_S, 8)
    full = _epochs(arrays.training_dataset(utterances, FRONTEND, MIN_TAIL_S, 8, seed=3,
                                           epochs=3), steps, 3)
    resumed = _epochs(arrays.training_dataset(utterances, FRONTEND, MIN_TAIL_S, 8, seed=3,
                                              first_epoch=1, epochs=3), steps, 2)
    for a, b in zip(full[1:], resumed):
        assert all(np.array_equal(p[0], q[0]) for p, q in zip(a, b))
    x0, _, _ = _flat(full[0])
    x1, _, _ = _flat(full[1])
    assert not np.array_equal(x0, x1)  # A new order every epoch ...
    assert np.array_equal(_sorted_rows(*_flat(full[0])), _sorted_rows(*_flat(full[1])))
    assert all(len(b[0]) == 8 for b in full[0][:-1]) and 0 < len(full[0][-1][0]) <= 8


def test_same_segments_and_labels_as_tf_data(utterances):
    pytest.importorskip("tensorflow")
    from adarl_tf.pipelines import segments
    steps = rules.steps_per_epoch(utterances, FRONTEND, MIN_TAIL_S, 8)
    tf_epoch = _epochs(segments.training_dataset(utterances, FRONTEND, MIN_TAIL_S, 8,
                                                 seed=0, epochs=1), steps, 1)[0]
    np_epoch = _epochs(arrays.training_dataset(utterances, FRONTEND, MIN_TAIL_S, 8,
                                               seed=0, epochs=1), steps, 1)[0]
    a, b = _sorted_rows(*_flat(tf_epoch)), _sorted_rows(*_flat(np_epoch))
    assert a.shape == b.shape
    np.testing.assert_allclose(a, b, atol=1e-6)
    # Evaluation: the same segments in the same (utterance) order.
    tf_eval = np.concatenate([np.asarray(x) for x in segments.evaluation_dataset(
        utterances, FRONTEND, MIN_TAIL_S, 8)])
    np.testing.assert_allclose(
        arrays.evaluation_dataset(utterances, FRONTEND, MIN_TAIL_S, 8), tf_eval, atol=1e-6)


def test_pipeline_module_choice():
    assert pipeline_module("numpy") is arrays
    with pytest.raises(ValueError, match="expected one of"):
        pipeline_module("torch")
