import numpy as np
import pytest

from adarl_tf.layers import MultiScaleConv
from tests.layer_checks import run_layer_checks


def test_standard_checks(tmp_path):
    x = np.random.default_rng(0).normal(size=(2, 24, 18, 3)).astype("float32")
    run_layer_checks(tmp_path, MultiScaleConv,
                     {"filters": 4, "kernel_sizes": [[3, 3], [5, 5]], "pool_size": [2, 2]},
                     x, [(2, 12, 9, 8)])


def test_branches_are_concatenated_then_pooled():
    # 3 branches of 2 filters -> 6 channels; 6x6 pooling floors 50x37 to 8x6 (Table 1, unit 4).
    layer = MultiScaleConv(2, kernel_sizes=((3, 3), (5, 5), (10, 2)), pool_size=(6, 6))
    y = layer(np.ones((1, 50, 37, 32), "float32"))
    assert tuple(y.shape) == (1, 8, 6, 6)
    assert [c.kernel_size for c in layer.convs] == [(3, 3), (5, 5), (10, 2)]


def test_outputs_are_relu_averages():
    layer = MultiScaleConv(3, pool_size=(2, 2))
    y = np.asarray(layer(np.random.default_rng(1).normal(size=(2, 8, 8, 1)).astype("float32")))
    assert (y >= 0).all()


@pytest.mark.parametrize("kwargs", [{"filters": 0}, {"filters": 4, "kernel_sizes": ()}])
def test_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        MultiScaleConv(**kwargs)
