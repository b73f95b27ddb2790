import numpy as np

from adarl_tf.layers import SpecAugment
from tests.layer_checks import run_layer_checks


def _x(seed=0, shape=(4, 40, 30, 3)):
    return np.random.default_rng(seed).normal(size=shape).astype("float32") + 5.0


def test_standard_checks(tmp_path):
    run_layer_checks(tmp_path, SpecAugment,
                     {"time_masks": 1, "time_mask_frames": 5, "freq_masks": 1,
                      "freq_mask_bins": 6, "seed": 1}, _x(), [(4, 40, 30, 3)])


def test_identity_at_inference():
    x = _x()
    layer = SpecAugment(2, 10, 2, 10, seed=0)
    np.testing.assert_array_equal(np.asarray(layer(x)), x)
    np.testing.assert_array_equal(np.asarray(layer(x, training=False)), x)


def test_masks_bands_with_the_segment_mean_when_training():
    x = _x()
    layer = SpecAugment(time_masks=1, time_mask_frames=8, freq_masks=1, freq_mask_bins=8,
                        seed=3)
    changed_any = False
    for _ in range(5):
        y = np.asarray(layer(x, training=True))
        changed = y != x
        changed_any |= changed.any()
        # A band covers every channel alike, and masked values are the segment mean.
        assert (changed == changed[..., :1]).all()
        mean = x.mean(axis=(1, 2), keepdims=True)
        np.testing.assert_allclose(np.where(changed, y, mean), np.broadcast_to(mean, y.shape),
                                   rtol=1e-5)
        for b in range(x.shape[0]):
            rows = changed[b, :, :, 0].all(axis=1).sum()
            cols = changed[b, :, :, 0].all(axis=0).sum()
            assert rows <= 8 and cols <= 8  # Bands no wider than the limits.
    assert changed_any


def test_seeded_layers_draw_the_same_masks():
    x = _x()
    a = np.asarray(SpecAugment(2, 10, 2, 10, seed=7)(x, training=True))
    b = np.asarray(SpecAugment(2, 10, 2, 10, seed=7)(x, training=True))
    np.testing.assert_array_equal(a, b)
