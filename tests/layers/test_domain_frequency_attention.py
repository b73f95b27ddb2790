import numpy as np
import pytest

from adarl_tf.layers import DomainFrequencyAttention
from tests.layer_checks import run_layer_checks


def _maps(seed, shape=(2, 8, 6, 5)):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def test_standard_checks(tmp_path):
    run_layer_checks(tmp_path, DomainFrequencyAttention, {"units": 4},
                     [_maps(0), _maps(1)], [(2, 8, 6, 5), (2, 8)])


def test_matches_equations_4_and_5():
    domain, emotion = _maps(2), _maps(3)
    layer = DomainFrequencyAttention(units=4)
    rescaled, attention = [np.asarray(t) for t in layer([domain, emotion])]
    w1, b1 = [np.asarray(v) for v in layer.squeeze.weights]
    w2, b2 = [np.asarray(v) for v in layer.excite.weights]
    profile = domain.mean(axis=2).mean(axis=2)  # Time pooling, then channel pooling.
    expected = 1 / (1 + np.exp(-(np.maximum(profile @ w1 + b1, 0) @ w2 + b2)))
    np.testing.assert_allclose(attention, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(rescaled, emotion * expected[:, :, None, None],
                               rtol=1e-5, atol=1e-6)
    assert ((attention > 0) & (attention < 1)).all()
    assert w1.shape == (8, 4) and w2.shape == (4, 8)  # Table 1: FC(8, 4), FC(4, 8).


def test_rejects_mismatched_frequency_rows():
    with pytest.raises(ValueError, match="frequency rows"):
        DomainFrequencyAttention()([_maps(0), _maps(1, (2, 7, 6, 5))])
