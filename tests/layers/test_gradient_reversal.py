import keras
import numpy as np

from adarl_tf.layers import GradientReversal
from tests.layer_checks import run_layer_checks


def _gradient(fn, x):
    """d sum(fn(x)) / dx on the active backend."""
    backend = keras.backend.backend()
    if backend == "jax":
        import jax
        return np.asarray(jax.grad(lambda v: fn(v).sum())(x))
    if backend == "tensorflow":
        import tensorflow as tf
        v = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(v)
            y = tf.reduce_sum(fn(v))
        return tape.gradient(y, v).numpy()
    raise NotImplementedError(backend)


def test_standard_checks(tmp_path):
    x = np.random.default_rng(0).normal(size=(2, 5)).astype("float32")
    run_layer_checks(tmp_path, GradientReversal, {"scale": 0.5}, x, [(2, 5)])


def test_identity_forward_reversed_backward():
    x = np.random.default_rng(1).normal(size=(3, 4)).astype("float32")
    layer = GradientReversal(scale=0.3)
    np.testing.assert_array_equal(np.asarray(layer(x)), x)
    # d/dx sum(2 * grl(x)) = -0.3 * 2 everywhere.
    grad = _gradient(lambda v: 2.0 * layer(v), x)
    np.testing.assert_allclose(grad, np.full_like(x, -0.6), rtol=1e-6)
