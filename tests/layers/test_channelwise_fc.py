import numpy as np
import pytest

from adarl_tf.layers import ChannelwiseFC
from tests.layer_checks import run_layer_checks


def test_standard_checks(tmp_path):
    x = np.random.default_rng(0).normal(size=(3, 8, 6)).astype("float32")
    run_layer_checks(tmp_path, ChannelwiseFC, {"use_bias": True}, x, [(3, 6)])


def test_each_channel_has_its_own_weights():
    x = np.random.default_rng(1).normal(size=(2, 8, 64)).astype("float32")
    layer = ChannelwiseFC()
    y = np.asarray(layer(x))
    w = np.asarray(layer.kernel)
    assert w.shape == (8, 64)  # Table 1: 64 x FC(8, 1), no bias.
    assert len(layer.weights) == 1
    np.testing.assert_allclose(y, np.einsum("bfc,fc->bc", x, w), rtol=1e-5, atol=1e-6)
    # Changing one channel's input changes only that channel's output.
    x2 = x.copy()
    x2[:, :, 5] += 1.0
    changed = np.abs(np.asarray(layer(x2)) - y).max(axis=0) > 1e-6
    assert changed.tolist() == [c == 5 for c in range(64)]


def test_rejects_wrong_rank():
    with pytest.raises(ValueError, match="freq, channels"):
        ChannelwiseFC()(np.ones((2, 8, 6, 4), "float32"))
