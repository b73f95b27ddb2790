import numpy as np
import pytest
from sklearn.metrics import balanced_accuracy_score

from adarl_tf.metrics import BalancedAccuracy


def test_matches_scikit_learn_over_batches():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 4, size=50)
    labels[labels == 2] = 3  # A class without examples is left out of the mean.
    probs = rng.random((50, 4))
    metric = BalancedAccuracy(4)
    for start in range(0, 50, 16):
        metric.update_state(labels[start:start + 16], probs[start:start + 16])
    expected = balanced_accuracy_score(labels, probs.argmax(-1))
    assert float(metric.result()) == pytest.approx(expected, rel=1e-6)
    metric.reset_state()
    assert float(metric.result()) == 0.0


def test_ignores_unlabelled_samples():
    metric = BalancedAccuracy(2)
    metric.update_state(np.array([0, 0, 1, -1]),
                        np.array([[0.9, 0.1], [0.2, 0.8], [0.3, 0.7], [1.0, 0.0]]))
    assert float(metric.result()) == pytest.approx(0.75)
    assert BalancedAccuracy.from_config(metric.get_config()).n_classes == 2
