"""Gradient reversal for the domain-invariant (adversarial) ablation."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="adarl_tf")
class GradientReversal(keras.layers.Layer):
    """Identity forward; multiplies the gradient by `-scale` backward.

    Placed between the emotion features and a domain classifier, it trains
    the classifier to find the domain while pushing the features to hide it
    (Ganin & Lempitsky 2015; the paper's Fig. 1a "domain-invariant model").

    Args:
        scale: float. Gradient reversal factor (lambda). Defaults to 1.0.
        **kwargs: base layer arguments.

    Input shape:
        Any.

    Output shape:
        Same as the input.

    Example:
        >>> GradientReversal(scale=0.5)(np.ones((2, 3), "float32")).shape
        (2, 3)
    """

    def __init__(self, scale=1.0, **kwargs):
        super().__init__(**kwargs)
        self.scale = float(scale)

    def call(self, inputs):
        scale = self.scale

        @ops.custom_gradient
        def reverse(x):
            def grad(*args, upstream=None):
                if upstream is None:
                    (upstream,) = args
                return ops.negative(upstream) * scale

            return ops.copy(x), grad

        return reverse(inputs)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config["scale"] = self.scale
        return config
