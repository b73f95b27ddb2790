"""Training-time metrics that Keras does not ship, backend-neutral (keras.ops only)."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="adarl_tf")
class BalancedAccuracy(keras.metrics.Metric):
    """Unweighted accuracy (UA): the mean per-class recall of argmax predictions.

    Accumulates a confusion matrix over the batches it sees, so that the UA of
    an epoch's training segments reaches the logs beside Keras' plain accuracy
    (WA). Classes without examples are left out of the mean, as in
    scikit-learn's `balanced_accuracy_score`; labels < 0 (no label) are ignored.

    Args:
        n_classes: int. Number of classes.
        name: str. Metric name. Defaults to "balanced_accuracy".
        dtype: dtype of the result. Defaults to float32.

    Example:
        >>> m = BalancedAccuracy(2)
        >>> m.update_state([0, 0, 1, -1], [[0.9, 0.1], [0.2, 0.8], [0.3, 0.7], [1, 0]])
        >>> float(m.result())  # (1/2 + 1) / 2
        0.75
    """

    def __init__(self, n_classes, name="balanced_accuracy", dtype=None):
        super().__init__(name=name, dtype=dtype)
        if int(n_classes) < 1:
            raise ValueError(f"n_classes must be positive; got {n_classes!r}")
        self.n_classes = int(n_classes)
        self.confusion = self.add_variable(
            shape=(self.n_classes, self.n_classes), initializer="zeros",
            dtype="float32", name="confusion")

    def update_state(self, labels, probs, sample_weight=None):
        n = self.n_classes
        labels = ops.cast(ops.reshape(labels, (-1,)), "int32")
        predicted = ops.cast(ops.argmax(probs, axis=-1), "int32")
        weight = ops.cast(labels >= 0, "float32")
        if sample_weight is not None:
            weight = weight * ops.cast(ops.reshape(sample_weight, (-1,)), "float32")
        cells = ops.one_hot(ops.maximum(labels, 0) * n + predicted, n * n, dtype="float32")
        counts = ops.sum(cells * weight[:, None], axis=0)
        self.confusion.assign(self.confusion + ops.reshape(counts, (n, n)))

    def result(self):
        support = ops.sum(self.confusion, axis=1)
        present = ops.cast(support > 0, "float32")
        recall = ops.diagonal(self.confusion) / ops.maximum(support, 1.0)
        return ops.sum(recall * present) / ops.maximum(ops.sum(present), 1.0)

    def reset_state(self):
        self.confusion.assign(ops.zeros((self.n_classes, self.n_classes), "float32"))

    def get_config(self):
        return {"n_classes": self.n_classes, "name": self.name, "dtype": self.dtype}
