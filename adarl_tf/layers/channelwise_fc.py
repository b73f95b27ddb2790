"""The channel-wise fully connected layer of the emotion head (Eq. 2)."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="adarl_tf")
class ChannelwiseFC(keras.layers.Layer):
    """Each channel gets its own weight vector over the frequency rows.

    `y_k = w_k . x[:, k]`: channel `k` has a weight vector `w_k` as long as
    the frequency axis and gives one value, so 64 channels of 8 rows become 64
    values (paper Table 1: "CFC 64 x FC(8, 1)"). It mixes frequency
    information within a channel but never across channels.

    Args:
        use_bias: bool. Add a bias per channel (the paper has none).
            Defaults to False.
        kernel_initializer: initializer of the weights. Defaults to
            `"glorot_uniform"`.
        **kwargs: base layer arguments.

    Input shape:
        `(batch, freq, channels)`, e.g. `(batch, 8, 64)` after time pooling.

    Output shape:
        `(batch, channels)`.

    Example:
        >>> ChannelwiseFC()(np.ones((2, 8, 64), "float32")).shape
        (2, 64)
    """

    def __init__(self, use_bias=False, kernel_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

    def build(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(f"expected (batch, freq, channels); got {input_shape}")
        _, freq, channels = input_shape
        self.kernel = self.add_weight(name="kernel", shape=(freq, channels),
                                      initializer=self.kernel_initializer)
        self.bias = (self.add_weight(name="bias", shape=(channels,), initializer="zeros")
                     if self.use_bias else None)

    def call(self, inputs):
        outputs = ops.sum(inputs * self.kernel, axis=1)
        if self.bias is not None:
            outputs = outputs + self.bias
        return outputs

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2])

    def get_config(self):
        config = super().get_config()
        config.update({
            "use_bias": self.use_bias,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
        })
        return config
