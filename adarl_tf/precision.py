"""Mixed precision: the Keras dtype policy a model is built under.

`--precision=mixed_bfloat16` or `mixed_float16` runs the convolutions and
dense layers in 16-bit floats with float32 variables. What stays float32
whatever the policy (the layers carry `dtype="float32"`): the `Spectrogram`
frontend (its log and z-score lose too much in 16 bits), the `CenterLoss`
distances and centres, the two softmax outputs; the losses cast to float32
(`model._mixed_mean`, `CenterLoss.loss`). For float16, Keras'
`Model.compile` wraps the optimizer in a `LossScaleOptimizer` itself
(`auto_scale_loss=True`, its default, for a "mixed_float16" model), so small
gradients do not underflow; bfloat16 has float32's range and needs no scaling.

No TensorFlow import: the policy is Keras', for every backend.
"""

import contextlib

import keras

PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")


@contextlib.contextmanager
def dtype_policy(precision):
    """Sets Keras' global dtype policy to `precision` inside the block, then restores it.

    Build the model inside: layers take the policy in force when they are
    created. The previous policy comes back afterwards, so that one process
    (a test session, several folds) can build models under different policies.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision={precision!r}; expected one of {PRECISIONS}")
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(precision)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)
