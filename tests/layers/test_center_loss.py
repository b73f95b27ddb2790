import numpy as np
import pytest

from adarl_tf.layers import CenterLoss
from tests.layer_checks import run_layer_checks


def test_standard_checks(tmp_path):
    x = np.random.default_rng(0).normal(size=(4, 6)).astype("float32")
    run_layer_checks(tmp_path, CenterLoss, {"n_classes": 3, "alpha": 0.5}, x, [(4, 3)],
                     trains=True)


def test_distances_and_masked_loss():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(5, 4)).astype("float32")
    layer = CenterLoss(n_classes=3)
    d = np.asarray(layer(x))
    c = np.asarray(layer.centers)
    np.testing.assert_allclose(d, 0.5 * ((x[:, None] - c[None]) ** 2).sum(-1), rtol=1e-5)
    labels = np.array([0, 2, -1, 1, 2])  # -1: no emotion label, left out.
    expected = np.mean([d[0, 0], d[1, 2], d[3, 1], d[4, 2]])
    np.testing.assert_allclose(float(CenterLoss.loss(d, labels)), expected, rtol=1e-5)
    assert float(CenterLoss.loss(d, np.full(5, -1))) == 0.0


def test_update_follows_wen_et_al():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(6, 4)).astype("float32")
    labels = np.array([0, 0, 1, -1, 0, 1])
    layer = CenterLoss(n_classes=3, alpha=0.5)
    layer.build((None, 4))
    c = np.asarray(layer.centers).copy()
    layer.update_centers(x, labels)
    expected = c.copy()
    for j in range(3):
        members = x[labels == j]
        delta = (len(members) * c[j] - members.sum(0)) / (1 + len(members))
        expected[j] = c[j] - 0.5 * delta
    np.testing.assert_allclose(np.asarray(layer.centers), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(np.asarray(layer.centers)[2], c[2])  # No members: unchanged.
    assert not layer.centers.trainable


@pytest.mark.parametrize("kwargs", [{"n_classes": 0}, {"n_classes": 4, "alpha": 0.0},
                                    {"n_classes": 4, "alpha": 1.5}])
def test_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        CenterLoss(**kwargs)
