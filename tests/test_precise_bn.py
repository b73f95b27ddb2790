"""Precise BN: statistics re-estimated over given batches, nothing else changed."""

import keras
import numpy as np
import pytest

from adarl_tf import precise_bn
from adarl_tf.layers import GhostBatchNorm, SpecAugment


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


def test_speaker_groups_are_held_off_and_restored():
    # Training's runs of one speaker (--speaker_bn_group) are not what a
    # recalibration batch holds: its statistics are the whole batch's.
    inputs = keras.Input((3,))
    model = keras.Model(inputs, GhostBatchNorm(2, name="bn")(inputs))
    batch = np.array([[0, 0, 0], [2, 2, 2], [10, 10, 10], [14, 14, 14]], "float32")
    precise_bn.recalibrate(model, [batch])
    bn = model.get_layer("bn")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(bn.moving_variance),
                               [batch[:, 0].var()] * 3, rtol=1e-5)
    assert bn.group_size == 2


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


def _two_norms():
    inputs = keras.Input((4,))
    hidden = keras.layers.Dense(3, name="dense")(inputs)
    first = keras.layers.BatchNormalization(name="first_bn")(hidden)
    reaching = keras.layers.Dense(2, name="second_dense")(first)
    outputs = keras.layers.BatchNormalization(name="second_bn")(reaching)
    return keras.Model(inputs, outputs)


def test_recalibrating_some_norms_runs_the_others_on_their_stored_statistics():
    model = _two_norms()
    first, second = model.get_layer("first_bn"), model.get_layer("second_bn")
    first.moving_mean.assign(np.array([1.0, -2.0, 0.5], "float32"))
    first.moving_variance.assign(np.array([4.0, 0.25, 1.0], "float32"))
    batch = np.random.default_rng(2).normal(loc=3.0, size=(16, 4)).astype("float32")
    assert precise_bn.recalibrate(model, [batch], [second]) == 1
    # The first BN kept its statistics and normalised with them (inference mode),
    # as it will when the model is scored; the second took what then reached it.
    np.testing.assert_allclose(keras.ops.convert_to_numpy(first.moving_mean), [1.0, -2.0, 0.5])
    reaching = keras.Model(model.inputs, model.get_layer("second_dense").output).predict(
        batch, verbose=0)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(second.moving_mean),
                               reaching.mean(0), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(second.moving_variance),
                               reaching.var(0), rtol=1e-3)
    assert first.trainable and second.trainable


def _statistics(norms):
    return [(keras.ops.convert_to_numpy(n.moving_mean).copy(),
             keras.ops.convert_to_numpy(n.moving_variance).copy()) for n in norms]


def test_speaker_adapted_reestimates_the_emotion_pathway_only_and_restores_it():
    from adarl_tf import model as model_lib
    from tests.model_files import TINY, build
    model = build(TINY)
    emotion = precise_bn.emotion_norms(model)
    names = sorted(n.path.split("/")[0] for n in emotion)
    # The emotion trunk's four units and the deep feature's BN; not the domain pathway.
    assert names == ["emotion_bn", "emotion_unit1", "emotion_unit2", "emotion_unit3",
                     "emotion_unit4"]
    every = precise_bn._norms(precise_bn._sublayers(model))
    assert len(every) > len(emotion)  # The domain trunk's units and its head's BN.
    rng = np.random.default_rng(3)
    speaker = (0.3 * rng.normal(size=(24, TINY.frontend.segment_samples))).astype("float32")
    before = model.predict(speaker, verbose=0)
    stored = _statistics(every)
    with precise_bn.speaker_adapted(model, [speaker]):
        inside = model.predict(speaker, verbose=0)
        # The deep feature, normalised with the speaker's own statistics, is centred
        # over the speaker's windows, of variance v / (v + epsilon) (its BN has no
        # scale): the statistics are those of what reaches the BN when it is scored.
        features = inside[model_lib.DEEP_FEATURES]
        np.testing.assert_allclose(features.mean(0), 0.0, atol=1e-3)
        feature_bn = model.get_layer("emotion_bn")
        variance = keras.ops.convert_to_numpy(feature_bn.moving_variance)
        np.testing.assert_allclose(features.var(0), variance / (variance + feature_bn.epsilon),
                                   rtol=1e-2, atol=1e-4)
        for norm, (mean, _), now in zip(every, stored, _statistics(every)):
            adapted = any(norm is e for e in emotion)
            assert np.array_equal(mean, now[0]) != adapted, norm.path
        # The domain pathway is untouched: its statistics (above) and its gender output.
        np.testing.assert_allclose(inside[model_lib.DOMAIN_PROBS],
                                   before[model_lib.DOMAIN_PROBS], rtol=1e-5, atol=1e-6)
        assert not np.allclose(inside[model_lib.EMOTION_PROBS], before[model_lib.EMOTION_PROBS])
    for (mean, variance), now in zip(stored, _statistics(every)):
        np.testing.assert_array_equal(mean, now[0])
        np.testing.assert_array_equal(variance, now[1])
    assert all(n.trainable for n in every)
    # An error inside the block restores them too.
    with pytest.raises(RuntimeError):
        with precise_bn.speaker_adapted(model, [speaker]):
            raise RuntimeError("scoring failed")
    for (mean, _), now in zip(stored, _statistics(every)):
        np.testing.assert_array_equal(mean, now[0])
