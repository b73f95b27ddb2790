"""The robust recipe's training cut counted in plain Python, and class weights (no TensorFlow)."""

import numpy as np
import pytest

from adarl_tf.config import FrontendConfig, TrainConfig
from adarl_tf.corpora.corpus import Utterance
from adarl_tf.pipelines import crops

RATE = 16000
FRONTEND = FrontendConfig(segment_s=0.5)
L = FRONTEND.segment_samples


def _utterances(lengths, labels):
    return [Utterance(f"u{i}", f"/nowhere/u{i}.wav", f"spk{i % 2}", "FM"[i % 2], label, n / RATE)
            for i, (n, label) in enumerate(zip(lengths, labels))]


@pytest.mark.parametrize("n,hop,min_tail,expected", [
    (L, L, 0, 1), (L - 1, L, 0, 1), (2 * L, L, 0, 2), (2 * L + 10, L, 100, 2),
    (2 * L + 100, L, 100, 3), (2 * L, L // 2, 0, 3), (2 * L + 1, L // 2, 0, 4),
    (2 * L + 1, L // 2, 2, 3)])
def test_count_crops(n, hop, min_tail, expected):
    assert crops.count_crops(n, L, hop, min_tail) == expected


def test_segment_counts_and_steps_follow_the_rule():
    utts = _utterances([L // 2, 2 * L + 100, 3 * L], ["sad", "happy", "sad"])
    train = TrainConfig(train_hop_s=0.25, random_crop=True)
    hop, tail = round(0.25 * RATE), round(0.2 * RATE)
    expected = [crops.count_crops(u.samples_16k, L, hop, tail) for u in utts]
    assert list(crops.segment_counts(utts, FRONTEND, 0.2, train)) == expected
    assert crops.steps_per_epoch(utts, FRONTEND, 0.2, 4, train) == -(-sum(expected) // 4)
    # Without crops or a hop, the paper's cut.
    assert list(crops.segment_counts(utts, FRONTEND, 0.2, TrainConfig(gain_db=3.0))) == [1, 2, 3]


def test_class_weights_are_balanced_over_training_segments():
    labels = ["neutral"] * 6 + ["happy"] * 2 + [None]
    utts = _utterances([L] * 8 + [2 * L], labels)
    weights = crops.class_weights(utts, FRONTEND, 0.2, TrainConfig(), n_classes=4)
    # n / (k n_c) with n = 8 labelled segments, k = 2 classes present; absent: 0.
    np.testing.assert_allclose(weights, [8 / (2 * 6), 8 / (2 * 2), 0.0, 0.0], rtol=1e-6)
