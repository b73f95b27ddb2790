"""Precise BN: statistics re-estimated over given batches, nothing else changed."""

import keras
import numpy as np
import pytest

from adarl_tf import precise_bn
from adarl_tf.layers import SpecAugment


def _dense_bn(momentum=0.9):
    inputs = keras.Input((4,))
    hidden = keras.layers.Dense(3, name="dense")(inputs)
    outputs = keras.layers.BatchNormalization(momentum=momentum, name="bn")(hidden)
    return keras.Model(inputs, outputs)


def test_statistics_are_the_mean_of_the_batch_statistics():
    model = _dense_bn()
    rng = np.random.default_rng(0)
    batches = [rng.normal(loc=i, scale=1 + i, size=(8, 4)).astype("float32") for i in range(3)]
    kernel = keras.ops.convert_to_numpy(model.get_layer("dense").kernel).copy()
    assert precise_bn.recalibrate(model, batches) == 3
    bn = model.get_layer("bn")
    hidden = [b @ kernel + keras.ops.convert_to_numpy(model.get_layer("dense").bias)
              for b in batches]
    np.testing.assert_allclose(keras.ops.convert_to_numpy(bn.moving_mean),
                               np.mean([h.mean(0) for h in hidden], axis=0), rtol=1e-5,
                               atol=1e-5)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(bn.moving_variance),
                               np.mean([h.var(0) for h in hidden], axis=0), rtol=1e-4)
    # Only the statistics moved; the layer keeps its training momentum.
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(model.get_layer("dense").kernel),
                                  kernel)
    assert bn.momentum == 0.9


def test_spec_augment_is_held_off_and_restored():
    inputs = keras.Input((16, 20, 1))
    masked = SpecAugment(time_masks=2, time_mask_frames=8, freq_masks=2, freq_mask_bins=6,
                         seed=1, name="spec_augment")(inputs)
    outputs = keras.layers.BatchNormalization(name="bn")(masked)
    model = keras.Model(inputs, outputs)
    batch = np.random.default_rng(1).normal(size=(4, 16, 20, 1)).astype("float32")
    precise_bn.recalibrate(model, [batch])
    bn = model.get_layer("bn")
    # The unmasked input's variance: with masks the filled bands would shrink it.
    np.testing.assert_allclose(keras.ops.convert_to_numpy(bn.moving_variance),
                               [batch.var()], rtol=1e-4)
    layer = model.get_layer("spec_augment")
    assert (layer.time_masks, layer.freq_masks) == (2, 2)


def test_a_failing_batch_leaves_the_statistics_as_they_were():
    model = _dense_bn(momentum=0.5)
    bn = model.get_layer("bn")
    before = keras.ops.convert_to_numpy(bn.moving_mean).copy()
    good = np.ones((8, 4), "float32")
    with pytest.raises(Exception):
        precise_bn.recalibrate(model, [good, np.ones((8, 5), "float32")])
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(bn.moving_mean), before)
    assert bn.momentum == 0.5


def test_no_batches_change_nothing():
    model = _dense_bn()
    assert precise_bn.recalibrate(model, []) == 0
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(model.get_layer("bn").moving_variance), np.ones(3))


def test_batches_of_an_array_and_a_dataset():
    segments = np.arange(10 * 3, dtype="float32").reshape(10, 3)
    batches = precise_bn.batches_of(segments, batch_size=4, max_batches=2)
    assert [len(b) for b in batches] == [4, 4]
    np.testing.assert_array_equal(batches[1], segments[4:8])
    assert [len(b) for b in precise_bn.batches_of(segments, 4, 9)] == [4, 4, 2]
    tf = pytest.importorskip("tensorflow")
    dataset = tf.data.Dataset.from_tensor_slices(segments).batch(4)
    assert [len(b) for b in precise_bn.batches_of(dataset, 4, 2)] == [4, 4]
