"""--precision: the model trains under each policy with a float32 frontend, losses, outputs."""

import keras
import numpy as np
import pytest

from adarl_tf import model as model_lib
from adarl_tf import precision
from tests.model_files import TINY as CONFIG


def _batch(n=4):
    rng = np.random.default_rng(0)
    x = (0.1 * rng.standard_normal((n, CONFIG.frontend.segment_samples))).astype("float32")
    y = {"emotion": np.array([0, 1, 2, -1], "int32")[:n], "domain": np.array([0, 1, 0, 1],
                                                                             "int32")[:n]}
    return x, y


@pytest.mark.parametrize("policy", precision.PRECISIONS)
def test_one_step_under_each_policy(policy):
    x, y = _batch()
    keras.utils.set_random_seed(0)
    with precision.dtype_policy(policy):
        model = model_lib.build_model(CONFIG)
        model.compile(optimizer=keras.optimizers.SGD(0.01))
    assert keras.config.dtype_policy().name == "float32"  # Restored after the block.
    assert model.get_layer("spectrogram").compute_dtype == "float32"
    assert model.get_layer("center_loss").compute_dtype == "float32"
    if policy != "float32":
        assert model.get_layer("emotion_unit1").compute_dtype == policy.split("_")[1]
    # Keras wraps the optimizer for float16 only.
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer) == (
        policy == "mixed_float16")
    logs = model.fit(x, y, batch_size=4, epochs=1, verbose=0, shuffle=False).history
    assert np.isfinite(logs["loss"][0])
    out = model.predict(x, verbose=0)
    assert out[model_lib.EMOTION_PROBS].dtype == np.float32
    assert out[model_lib.DOMAIN_PROBS].dtype == np.float32
    np.testing.assert_allclose(out[model_lib.EMOTION_PROBS].sum(-1), 1.0, atol=1e-3)
    # The frontend gives the float32 model's spectrogram under every policy.
    with precision.dtype_policy("float32"):
        reference = model_lib.build_model(CONFIG)
    spec = keras.Model(model.input, model.get_layer("spectrogram").output)
    ref = keras.Model(reference.input, reference.get_layer("spectrogram").output)
    np.testing.assert_allclose(spec.predict(x, verbose=0), ref.predict(x, verbose=0),
                               atol=1e-4)


def test_unknown_policy_is_refused():
    with pytest.raises(ValueError, match="expected one of"):
        with precision.dtype_policy("float8"):
            pass
