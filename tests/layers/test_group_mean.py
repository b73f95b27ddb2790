import keras
import numpy as np
import pytest

from adarl_tf import precise_bn
from adarl_tf.layers import GroupMean
from tests.layer_checks import run_layer_checks


def _numpy(x):
    return keras.ops.convert_to_numpy(x)


def test_standard_checks(tmp_path):
    x = np.random.default_rng(0).normal(size=(4, 5)).astype("float32")
    run_layer_checks(tmp_path, GroupMean, {"group_size": 2, "momentum": 0.5}, x, [(4, 5)])


def test_training_gives_each_group_its_mean_and_inference_the_moving_mean():
    x = np.random.default_rng(1).normal(size=(6, 5)).astype("float32")
    x[3:] += 4.0  # A second "speaker".
    layer = GroupMean(3, momentum=0.25)
    y = _numpy(layer(x, training=True))
    means = x.reshape(2, 3, 5).mean(axis=1)
    np.testing.assert_allclose(y, np.repeat(means, 3, axis=0), atol=1e-6)
    # The moving mean moves towards the groups' average (from its initial 0).
    np.testing.assert_allclose(_numpy(layer.moving_mean), 0.75 * means.mean(0), atol=1e-6)
    other = np.zeros((2, 5), "float32")
    np.testing.assert_allclose(_numpy(layer(other)), np.tile(0.75 * means.mean(0), (2, 1)),
                               atol=1e-6)
    whole = GroupMean(0, momentum=0.0)  # One group: the whole batch.
    np.testing.assert_allclose(_numpy(whole(x, training=True)), np.tile(x.mean(0), (6, 1)),
                               atol=1e-6)


def test_speaker_adaptation_sets_it_to_the_speakers_mean_and_restores_it():
    # Named emotion_*: --speaker_bn's re-estimation (precise_bn) reaches it.
    inputs = keras.Input((3,))
    hidden = keras.layers.Dense(4, name="embed")(inputs)
    model = keras.Model(inputs, GroupMean(8, name="emotion_mean")(hidden))
    speaker = np.random.default_rng(2).normal(size=(10, 3)).astype("float32") + 2.0
    stored = model.predict(speaker, verbose=0)
    with precise_bn.speaker_adapted(model, [speaker[:5], speaker[5:]]):
        inside = model.predict(speaker[:2], verbose=0)
    embedding = model.get_layer("embed")(speaker)
    np.testing.assert_allclose(inside, np.tile(_numpy(embedding).mean(0), (2, 1)), atol=1e-5)
    np.testing.assert_allclose(model.predict(speaker, verbose=0), stored)


def test_center_and_scale_stay_off_and_only_features_are_taken():
    layer = GroupMean(2, center=True, scale=True)
    assert not layer.center and not layer.scale
    with pytest.raises(ValueError, match="batch, features"):
        layer(np.zeros((2, 3, 4), "float32"))
