"""The multi-scale convolution unit of the paper's trunks (Eq. 10)."""

import keras
from keras import ops

from adarl_tf.layers.ghost_batch_norm import GhostBatchNorm


@keras.saving.register_keras_serializable(package="adarl_tf")
class MultiScaleConv(keras.layers.Layer):
    """Parallel convolutions of two kernel sizes, concatenated, then BN, ReLU, pool.

    `F_l = AvgPool(ReLU(BN([w_1 * F_{l-1}, w_2 * F_{l-1}])))`. The convolutions
    carry no bias since the batch normalisation that follows removes it.

    Args:
        filters: int. Filters of each convolution branch; the unit outputs
            `filters * len(kernel_sizes)` channels.
        kernel_sizes: sequence of (freq, time) kernel sizes, one per branch.
            Defaults to `((3, 3), (5, 5))` (SPEC §3: the OCR lost the second).
        pool_size: (freq, time) average pooling size, also its stride.
            Defaults to `(2, 2)`.
        bn_momentum: float. Moving-average momentum of the batch
            normalisation. Defaults to 0.9.
        kernel_initializer: initializer of the convolutions. Defaults to
            `"glorot_uniform"` (Xavier, as in the paper).
        bn_group_size: int. In training, the batch normalisation normalises
            consecutive groups of this many samples apart (`GhostBatchNorm`);
            0, the default: the whole batch.
        **kwargs: base layer arguments.

    Call arguments:
        inputs: feature maps.
        training: bool. Whether batch normalisation uses batch statistics.

    Input shape:
        `(batch, freq, time, channels)`.

    Output shape:
        `(batch, freq // pool_f, time // pool_t, filters * len(kernel_sizes))`.

    Example:
        >>> unit = MultiScaleConv(16, pool_size=(2, 2))
        >>> unit(np.zeros((1, 400, 300, 3), "float32")).shape
        (1, 200, 150, 32)
    """

    def __init__(self, filters, kernel_sizes=((3, 3), (5, 5)), pool_size=(2, 2),
                 bn_momentum=0.9, kernel_initializer="glorot_uniform", bn_group_size=0,
                 **kwargs):
        super().__init__(**kwargs)
        if int(filters) <= 0:
            raise ValueError(f"filters must be positive; got {filters!r}")
        if len(kernel_sizes) < 1:
            raise ValueError(f"kernel_sizes needs at least one size; got {kernel_sizes!r}")
        self.filters = int(filters)
        self.kernel_sizes = tuple(tuple(k) for k in kernel_sizes)
        self.pool_size = tuple(pool_size)
        self.bn_momentum = float(bn_momentum)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bn_group_size = int(bn_group_size)
        self.convs = [
            keras.layers.Conv2D(self.filters, k, padding="same", use_bias=False,
                                kernel_initializer=self.kernel_initializer,
                                dtype=self.dtype_policy, name=f"conv_{k[0]}x{k[1]}")
            for k in self.kernel_sizes
        ]
        self.batch_norm = GhostBatchNorm(
            self.bn_group_size, momentum=self.bn_momentum, dtype=self.dtype_policy,
            name="batch_norm")
        self.pool = keras.layers.AveragePooling2D(
            self.pool_size, strides=self.pool_size, dtype=self.dtype_policy, name="pool")

    def build(self, input_shape):
        for conv in self.convs:
            conv.build(input_shape)
        concat_shape = tuple(input_shape[:-1]) + (self.filters * len(self.convs),)
        self.batch_norm.build(concat_shape)
        self.pool.build(concat_shape)

    def call(self, inputs, training=None):
        x = ops.concatenate([conv(inputs) for conv in self.convs], axis=-1)
        x = ops.relu(self.batch_norm(x, training=training))
        return self.pool(x)

    def compute_output_shape(self, input_shape):
        b, f, t, _ = input_shape
        pf, pt = self.pool_size
        return (b, None if f is None else f // pf, None if t is None else t // pt,
                self.filters * len(self.kernel_sizes))

    def get_config(self):
        config = super().get_config()
        config.update({
            "filters": self.filters,
            "kernel_sizes": [list(k) for k in self.kernel_sizes],
            "pool_size": list(self.pool_size),
            "bn_momentum": self.bn_momentum,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "bn_group_size": self.bn_group_size,
        })
        return config
