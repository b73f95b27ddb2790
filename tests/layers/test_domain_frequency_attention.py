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


def test_zero_excite_starts_uniform():
    # "uniform" start (ModelConfig.attention_init): 0.5 for every row and input.
    layer = DomainFrequencyAttention(units=4, excite_initializer="zeros")
    domain, emotion = _maps(4), _maps(5)
    rescaled, attention = [np.asarray(t) for t in layer([domain, emotion])]
    np.testing.assert_allclose(attention, 0.5)
    np.testing.assert_allclose(rescaled, 0.5 * emotion, rtol=1e-6)
    restored = DomainFrequencyAttention.from_config(layer.get_config())
    assert restored.get_config()["excite_initializer"]["class_name"] == "Zeros"


def test_standardized_profile_matches_batch_norm_in_training():
    layer = DomainFrequencyAttention(units=4, standardize_profile=True)
    domain, emotion = _maps(6, (5, 8, 6, 5)), _maps(7, (5, 8, 6, 5))
    _, attention = [np.asarray(t) for t in layer([domain, emotion], training=True)]
    profile = domain.mean(axis=(2, 3))
    z = (profile - profile.mean(0)) / np.sqrt(profile.var(0) + 1e-3)  # Keras' epsilon.
    w1, b1 = [np.asarray(v) for v in layer.squeeze.weights]
    w2, b2 = [np.asarray(v) for v in layer.excite.weights]
    expected = 1 / (1 + np.exp(-(np.maximum(z @ w1 + b1, 0) @ w2 + b2)))
    np.testing.assert_allclose(attention, expected, rtol=1e-4, atol=1e-5)
    # Inference reads the moving statistics, which one step moved towards the batch's.
    moving_mean = np.asarray(layer.profile_norm.moving_mean)
    np.testing.assert_allclose(moving_mean, 0.01 * profile.mean(0), rtol=1e-4, atol=1e-6)


def test_standard_checks_with_every_option(tmp_path):
    run_layer_checks(tmp_path, DomainFrequencyAttention,
                     {"units": 3, "excite_initializer": "zeros", "train_domain_maps": False,
                      "standardize_profile": True, "momentum": 0.9},
                     [_maps(0), _maps(1)], [(2, 8, 6, 5), (2, 8)])


def test_reads_an_embedding_in_place_of_the_pooled_profile():
    # ModelConfig.attention_input="embedding": a (batch, dims) domain input is the profile.
    embedding, emotion = _maps(8, (3, 10)), _maps(9, (3, 8, 6, 5))
    layer = DomainFrequencyAttention(units=4)
    rescaled, attention = [np.asarray(t) for t in layer([embedding, emotion])]
    w1, b1 = [np.asarray(v) for v in layer.squeeze.weights]
    w2, b2 = [np.asarray(v) for v in layer.excite.weights]
    assert w1.shape == (10, 4) and w2.shape == (4, 8)
    expected = 1 / (1 + np.exp(-(np.maximum(embedding @ w1 + b1, 0) @ w2 + b2)))
    np.testing.assert_allclose(attention, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(rescaled, emotion * expected[:, :, None, None],
                               rtol=1e-5, atol=1e-6)


def test_standard_checks_with_an_embedding(tmp_path):
    run_layer_checks(tmp_path, DomainFrequencyAttention, {"units": 3, "standardize_profile": True},
                     [_maps(0, (2, 10)), _maps(1)], [(2, 8, 6, 5), (2, 8)])


def test_rejects_a_domain_input_of_another_rank():
    with pytest.raises(ValueError, match="embedding"):
        DomainFrequencyAttention()([_maps(0, (2, 8, 6)), _maps(1)])
