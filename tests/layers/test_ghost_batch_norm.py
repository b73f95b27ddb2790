import keras
import numpy as np
import pytest

from adarl_tf.layers import GhostBatchNorm, MultiScaleConv
from tests.layer_checks import run_layer_checks


def _numpy(x):
    return keras.ops.convert_to_numpy(x)


def test_standard_checks(tmp_path):
    x = np.random.default_rng(0).normal(size=(4, 3, 5)).astype("float32")
    run_layer_checks(tmp_path, GhostBatchNorm, {"group_size": 2, "momentum": 0.5}, x, [(4, 3, 5)])


def test_each_group_is_normalised_with_its_own_statistics():
    rng = np.random.default_rng(1)
    x = (rng.normal(size=(6, 3, 4, 5)) * rng.uniform(1, 4, size=(6, 1, 1, 1))
         + rng.normal(size=(6, 1, 1, 1)) * 5).astype("float32")
    bn = GhostBatchNorm(3, momentum=0.25, epsilon=1e-3)
    y = _numpy(bn(x, training=True))
    groups = x.reshape(2, 3, 3, 4, 5)
    mean = groups.mean(axis=(1, 2, 3), keepdims=True)
    var = groups.var(axis=(1, 2, 3), keepdims=True)
    np.testing.assert_allclose(y, ((groups - mean) / np.sqrt(var + 1e-3)).reshape(x.shape),
                               atol=1e-5)
    # The moving statistics move towards the groups' average, not the batch's.
    np.testing.assert_allclose(_numpy(bn.moving_mean), 0.75 * mean.reshape(2, 5).mean(0),
                               atol=1e-5)
    np.testing.assert_allclose(_numpy(bn.moving_variance),
                               0.25 + 0.75 * var.reshape(2, 5).mean(0), atol=1e-5)
    assert np.abs(x.reshape(-1, 5).var(0) - var.reshape(2, 5).mean(0)).max() > 0.5


@pytest.mark.parametrize("training", [False, True])
def test_group_size_zero_and_inference_are_batch_normalization(training):
    x = np.random.default_rng(2).normal(size=(4, 6)).astype("float32") * 2 + 3
    plain = keras.layers.BatchNormalization(momentum=0.5)
    ghost = GhostBatchNorm(0 if training else 2, momentum=0.5)
    for layer in (plain, ghost):
        layer.build(x.shape)
        layer.moving_mean.assign(np.full(6, 1.5, "float32"))
    np.testing.assert_allclose(_numpy(ghost(x, training=training)),
                               _numpy(plain(x, training=training)), atol=1e-6)
    np.testing.assert_allclose(_numpy(ghost.moving_mean), _numpy(plain.moving_mean), atol=1e-6)


def test_multi_scale_conv_groups_its_batch_norm():
    x = np.random.default_rng(3).normal(size=(4, 8, 8, 1)).astype("float32")
    x[2:] = x[2:] * 5 + 7  # A second "speaker", louder and offset.
    unit = MultiScaleConv(2, pool_size=(1, 1), bn_group_size=2)
    assert unit.batch_norm.group_size == 2
    assert MultiScaleConv.from_config(unit.get_config()).bn_group_size == 2
    together, apart = _numpy(unit(x, training=True)), _numpy(unit(x[2:], training=True))
    np.testing.assert_allclose(together[2:], apart, atol=1e-4)  # Normalised alone.


def test_rejects_a_negative_group():
    with pytest.raises(ValueError, match="group_size"):
        GhostBatchNorm(-1)
