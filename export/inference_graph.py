"""The inference graph: the serving model rewritten with batch norm folded, branches merged.

`MultiScaleConv` computes `AvgPool(ReLU(BN(concat(conv_a(x), conv_b(x)))))`.
The converter does not fold a BN that follows a concatenation, so the TFLite
graph kept, per unit, a CONCATENATION, a MUL and an ADD over the full-size
maps (400 x 300 x 32 floats in unit 1, twice per segment for two trunks):
memory-bound passes that cost more than their arithmetic suggests (timings:
BUILD.md, "Inference graph timings").

At inference BN is a fixed per-channel affine map, so for each branch
`BN(conv_k(x)) = conv_k'(x) + b'` with `k' = k * gamma / sqrt(var + eps)` and
`b' = beta - mean * gamma / sqrt(var + eps)`, restricted to that branch's
channels. The branches then become one convolution: with "same" padding, a
3 x 3 kernel equals a 5 x 5 kernel holding it at its centre (zeros around),
so the folded kernels are stacked along the output channels of one kernel of
the largest size, and the concatenation disappears:

    AvgPool(ReLU(conv_ab'(x) + b_ab'))

More multiplications (25 taps for the 3 x 3 half), but one pass and a GEMM
twice as wide, which pays on the large maps of the first units. The
spectrogram is swapped for `framed_spectrogram.FramedSpectrogram` (the DFT as
one matrix product).

`fuse(serving, layout="int8")` builds the graph the full-integer model is
converted from, shaped for XNNPACK's int8 kernels (`tflite.py` has the
whole picture):

* 2 x 2 average pools become depthwise convolutions with constant 1/4
  weights (the same numbers): XNNPACK has no int8 AVERAGE_POOL_2D, so each
  ran on TFLite's own kernel between two delegate partitions. Larger pools
  (unit 4's 6 x 6 on a small map) stay pools: cheaper there.
* Units that read the same few-channel tensor (the first unit of both
  trunks reads the 3-channel spectrogram) become one convolution whose
  input is the spectrogram with its frequency taps moved into channels
  (pad, 5 shifted slices, concatenation: 15 channels) and a 1 x 5 kernel;
  XNNPACK's int8 convolution pads every tap's channels to a multiple of its
  vector width, so a 3-channel 5 x 5 convolution wasted most of its work
  (slower in int8 than in float32).

Every form computes the model's numbers (up to float rounding); the exported
graphs are checked against the unfused Keras model on the test speaker
(`parity.json`), and `tests/export` compares each layout with the model.
"""

import keras
import numpy as np
from keras import ops

from adarl_tf.export import framed_spectrogram
from adarl_tf.layers import MultiScaleConv, Spectrogram

LAYOUTS = ("float", "int8")
# Pools of at most this many cells run as depthwise convolutions in the int8 layout.
DEPTHWISE_POOL_MAX_CELLS = 4
# Units reading a tensor of at most this many channels get the frequency taps
# as channels in the int8 layout (the spectrogram has 1 or 3).
FEW_CHANNELS = 4


def _folded_kernel(unit):
    """The unit's branches with BN folded, as one kernel and bias.

    Returns:
        `(kernel (kh, kw, cin, filters * branches), bias)`, float32, with
        each branch centred in the largest kernel size ("same" padding puts
        tap `i` of a size-`k` kernel at offset `i - (k - 1) // 2`).
    """
    bn = unit.batch_norm
    gamma = np.asarray(bn.gamma) if bn.scale else 1.0
    beta = np.asarray(bn.beta) if bn.center else 0.0
    scale = gamma / np.sqrt(np.asarray(bn.moving_variance) + bn.epsilon)
    shift = beta - np.asarray(bn.moving_mean) * scale
    n = unit.filters * len(unit.convs)
    scale, shift = np.broadcast_to(scale, (n,)), np.broadcast_to(shift, (n,))
    kh = max(k[0] for k in unit.kernel_sizes)
    kw = max(k[1] for k in unit.kernel_sizes)
    cin = np.asarray(unit.convs[0].kernel).shape[2]
    kernel = np.zeros((kh, kw, cin, n), np.float32)
    for i, conv in enumerate(unit.convs):
        part = slice(i * unit.filters, (i + 1) * unit.filters)
        k = np.asarray(conv.kernel) * scale[part]  # (h, w, cin, f) * (f,)
        top, left = (kh - 1) // 2 - (k.shape[0] - 1) // 2, (kw - 1) // 2 - (k.shape[1] - 1) // 2
        kernel[top:top + k.shape[0], left:left + k.shape[1], :, part] = k
    return kernel, np.asarray(shift, np.float32)


def _pool_layer(pool_size, depthwise, name="pool"):
    """Average pooling (stride = size, "valid"), or the same as a depthwise conv."""
    if not depthwise:
        return keras.layers.AveragePooling2D(pool_size, strides=pool_size, name=name)
    cells = pool_size[0] * pool_size[1]
    return keras.layers.DepthwiseConv2D(
        pool_size, strides=pool_size, use_bias=False, name=name,
        depthwise_initializer=keras.initializers.Constant(1.0 / cells))


class FusedMultiScaleConv(keras.layers.Layer):
    """A trained `MultiScaleConv` as one convolution with BN folded in; inference only.

    Args:
        unit: the trained `MultiScaleConv`.
        depthwise_pool: bool. Average pooling as a depthwise convolution
            (same numbers; XNNPACK has it in int8). Defaults to False.
        **kwargs: base layer arguments (`name` defaults to the unit's).

    Call arguments:
        inputs: `(batch, freq, time, channels)` feature maps.

    Output shape:
        as `unit`'s.
    """

    def __init__(self, unit, depthwise_pool=False, **kwargs):
        kwargs.setdefault("name", unit.name)
        super().__init__(**kwargs)
        self._folded = _folded_kernel(unit)
        kernel = self._folded[0]
        self.output_channels = kernel.shape[-1]
        self.conv = keras.layers.Conv2D(self.output_channels, kernel.shape[:2],
                                        padding="same", activation="relu", name="conv")
        self.pool = _pool_layer(unit.pool_size, depthwise_pool)
        self.pool_size = tuple(unit.pool_size)

    def build(self, input_shape):
        self.conv.build(input_shape)
        self.conv.set_weights(list(self._folded))
        b, f, t, _ = input_shape
        self.pool.build((b, f, t, self.output_channels))

    def call(self, inputs):
        return self.pool(self.conv(inputs))

    def compute_output_shape(self, input_shape):
        b, f, t, _ = input_shape
        pf, pt = self.pool_size
        return (b, None if f is None else f // pf, None if t is None else t // pt,
                self.output_channels)


class JointMultiScaleConv(keras.layers.Layer):
    """Trained units that read one few-channel tensor, as one int8-friendly convolution.

    The frequency taps of the kernel are moved into channels: the input is
    padded along frequency as "same" padding would, `kh` shifted copies are
    concatenated on the channel axis (tap-major), and one `(1, kw)`
    convolution with every unit's folded filters computes all units at once;
    then ReLU, the (shared) pool, and one output per unit.

    Args:
        units: list of trained `MultiScaleConv` with the same kernel sizes
            and pool size, all applied to the same tensor.
        depthwise_pool: bool. As in `FusedMultiScaleConv`.
        **kwargs: base layer arguments.

    Call arguments:
        inputs: `(batch, freq, time, channels)`.

    Returns:
        A list with each unit's output, in the order of `units`.
    """

    def __init__(self, units, depthwise_pool=False, **kwargs):
        super().__init__(**kwargs)
        if len({(tuple(u.kernel_sizes), tuple(u.pool_size)) for u in units}) != 1:
            raise ValueError("units joined into one convolution need equal kernel and pool "
                             f"sizes; got {[(u.name, u.kernel_sizes, u.pool_size) for u in units]}")
        folded = [_folded_kernel(u) for u in units]
        kernel = np.concatenate([k for k, _ in folded], axis=-1)  # (kh, kw, cin, n)
        kh, kw, cin, n = kernel.shape
        # Channel i * cin + c of the shifted input is channel c at frequency tap i.
        self._folded = (kernel.transpose(1, 0, 2, 3).reshape(1, kw, kh * cin, n),
                        np.concatenate([b for _, b in folded]))
        self.splits = np.cumsum([k.shape[-1] for k, _ in folded])[:-1].tolist()
        self.taps = kh
        self.pool_size = tuple(units[0].pool_size)
        self.conv = keras.layers.Conv2D(n, (1, kw), padding="same", activation="relu",
                                        name="conv")
        self.pool = _pool_layer(self.pool_size, depthwise_pool)

    def build(self, input_shape):
        b, f, t, c = input_shape
        self.conv.build((b, f, t, c * self.taps))
        self.conv.set_weights(list(self._folded))
        self.pool.build((b, f, t, self._folded[0].shape[-1]))

    def call(self, inputs):
        f = inputs.shape[1]
        top = (self.taps - 1) // 2
        padded = ops.pad(inputs, [[0, 0], [top, self.taps - 1 - top], [0, 0], [0, 0]])
        shifted = ops.concatenate([padded[:, i:i + f] for i in range(self.taps)], axis=-1)
        y = self.pool(self.conv(shifted))
        bounds = [0] + self.splits + [y.shape[-1]]
        return [y[..., a:b] for a, b in zip(bounds[:-1], bounds[1:])]


def _depthwise_pool(unit, int8):
    """Whether `unit`'s pool runs as a depthwise convolution in this layout."""
    return int8 and unit.pool_size[0] * unit.pool_size[1] <= DEPTHWISE_POOL_MAX_CELLS


def _inbound_tensor(layer):
    return layer._inbound_nodes[0].input_tensors[0]


def fuse(serving, layout="float"):
    """The serving model with every `MultiScaleConv` rewritten; other layers shared.

    Args:
        serving: functional `keras.Model` (from `runners.serving_model`).
        layout: str. "float": BN folded, branches merged (every float
            format). "int8": also 2 x 2 pools as depthwise convolutions and
            the units reading a few-channel tensor joined (the graph the
            full-integer model is converted from).

    Returns:
        A functional `keras.Model` with the same inputs and outputs.
    """
    if layout not in LAYOUTS:
        raise ValueError(f"layout={layout!r}; expected one of {LAYOUTS}")
    int8 = layout == "int8"
    units = [layer for layer in serving.layers if isinstance(layer, MultiScaleConv)]
    # int8: units that read the same few-channel tensor, by that tensor.
    groups = {}
    if int8:
        for unit in units:
            x = _inbound_tensor(unit)
            if x.shape[-1] <= FEW_CHANNELS:
                groups.setdefault(id(x), []).append(unit)
    originals, joint_outputs = {}, {}

    def clone(layer):
        if isinstance(layer, Spectrogram):
            return framed_spectrogram.framed(layer)
        if not isinstance(layer, MultiScaleConv):
            return layer
        rewritten = FusedMultiScaleConv(layer, depthwise_pool=_depthwise_pool(layer, int8))
        originals[id(rewritten)] = layer
        return rewritten

    def call(layer, *args, **kwargs):
        unit = originals.get(id(layer))
        group = None if unit is None else groups.get(id(_inbound_tensor(unit)))
        if group is None:
            return layer(*args, **kwargs)
        key = id(group)
        if key not in joint_outputs:
            joint = JointMultiScaleConv(
                group, depthwise_pool=_depthwise_pool(unit, int8),
                name="_".join(u.name for u in group) + "_joint")
            joint_outputs[key] = joint(args[0])
        return joint_outputs[key][group.index(unit)]

    return keras.models.clone_model(serving, clone_function=clone, call_function=call)
