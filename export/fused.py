"""Inference-only rewrite of the trunks: batch norm folded into the convolutions.

`MultiScaleConv` computes `AvgPool(ReLU(BN(concat(conv_a(x), conv_b(x)))))`.
The converter does not fold a BN that follows a concatenation, so the TFLite
graph kept, per unit, a CONCATENATION, a MUL and an ADD over the full-size
maps (400 x 300 x 32 floats in unit 1, twice per segment for two trunks):
memory-bound passes that cost more than their arithmetic suggests.

At inference BN is a fixed per-channel affine map, so for each branch
`BN(conv_k(x)) = conv_k'(x) + b'` with `k' = k * gamma / sqrt(var + eps)` and
`b' = beta - mean * gamma / sqrt(var + eps)`, restricted to that branch's
channels; ReLU fuses into the convolution, and average pooling commutes with
the concatenation (it is per channel), so the pooled branches are
concatenated at a quarter of the size:

    concat(AvgPool(ReLU(conv_a'(x) + b_a')), AvgPool(ReLU(conv_b'(x) + b_b')))

Only the exporter uses this; the exported graphs are checked against the
unfused Keras model on the test speaker (`parity.json`).
"""

import keras
import numpy as np
from keras import ops

from adarl_tf.layers import MultiScaleConv


class FusedMultiScaleConv(keras.layers.Layer):
    """A trained `MultiScaleConv` with its BN folded in; inference only.

    Args:
        unit: the trained `MultiScaleConv`.
        **kwargs: base layer arguments (`name` defaults to the unit's).

    Call arguments:
        inputs: `(batch, freq, time, channels)` feature maps.

    Output shape:
        as `unit`'s.
    """

    def __init__(self, unit, **kwargs):
        kwargs.setdefault("name", unit.name)
        super().__init__(**kwargs)
        bn = unit.batch_norm
        gamma = np.asarray(bn.gamma) if bn.scale else 1.0
        beta = np.asarray(bn.beta) if bn.center else 0.0
        scale = gamma / np.sqrt(np.asarray(bn.moving_variance) + bn.epsilon)
        shift = beta - np.asarray(bn.moving_mean) * scale
        scale = np.broadcast_to(scale, (unit.filters * len(unit.convs),))
        shift = np.broadcast_to(shift, scale.shape)
        self.convs, self._folded = [], []
        for i, conv in enumerate(unit.convs):
            part = slice(i * unit.filters, (i + 1) * unit.filters)
            kernel = np.asarray(conv.kernel) * scale[part]  # (kh, kw, cin, f) * (f,)
            self._folded.append((kernel.astype("float32"), shift[part].astype("float32")))
            self.convs.append(keras.layers.Conv2D(
                unit.filters, conv.kernel_size, padding="same", activation="relu",
                name=conv.name))
        self.pool = keras.layers.AveragePooling2D(unit.pool_size, strides=unit.pool_size,
                                                  name="pool")
        self.output_channels = unit.filters * len(unit.convs)

    def build(self, input_shape):
        for conv, weights in zip(self.convs, self._folded):
            conv.build(input_shape)
            conv.set_weights(list(weights))

    def call(self, inputs):
        return ops.concatenate([self.pool(conv(inputs)) for conv in self.convs], axis=-1)

    def compute_output_shape(self, input_shape):
        b, f, t, _ = input_shape
        pf, pt = self.pool.pool_size
        return (b, None if f is None else f // pf, None if t is None else t // pt,
                self.output_channels)


def fuse(serving):
    """The serving model with every `MultiScaleConv` folded; other layers shared.

    Args:
        serving: functional `keras.Model` (from `runners.serving_model`).

    Returns:
        A functional `keras.Model` with the same inputs and outputs.
    """
    def clone(layer):
        return FusedMultiScaleConv(layer) if isinstance(layer, MultiScaleConv) else layer

    return keras.models.clone_model(serving, clone_function=clone)
