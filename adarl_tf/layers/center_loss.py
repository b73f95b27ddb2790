"""Center loss (Wen et al. 2016) on the 64-d deep feature (paper Eq. 8)."""

import keras
from keras import ops

from adarl_tf.distribute import cross_replica_sum


@keras.saving.register_keras_serializable(package="adarl_tf")
class CenterLoss(keras.layers.Layer):
    """Class centres of a feature, and each sample's distance to every centre.

    The layer's output, `0.5 * ||x_i - c_j||^2` for every class `j`, lets the
    loss pick the true class's column (`loss()`), so the layer needs no label
    input and the same graph serves inference. The centres are not trained by
    the optimiser: `update_centers()` moves them with Wen et al.'s rule,
    `c_j <- c_j - alpha * sum_i[y_i = j](c_j - x_i) / (1 + n_j)`, once per
    training step, which keeps them stable under the paper's large SGD rate.
    Centres start Xavier-initialised, as in the paper.

    Args:
        n_classes: int. Number of classes (centres).
        alpha: float in (0, 1]. Centre update rate. Defaults to 0.5.
        **kwargs: base layer arguments.

    Call arguments:
        features: deep features.

    Input shape:
        `(batch, dim)`.

    Output shape:
        `(batch, n_classes)`: half squared distances to each centre.

    Example:
        >>> layer = CenterLoss(n_classes=4)
        >>> layer(np.zeros((2, 64), "float32")).shape
        (2, 4)

    Reference:
        Wen et al., "A Discriminative Feature Learning Approach for Deep Face
        Recognition", ECCV 2016.
    """

    def __init__(self, n_classes, alpha=0.5, **kwargs):
        # Distances, the loss and the centre update stay float32 under a
        # mixed-precision policy (squared distances of 64-d features).
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        if int(n_classes) < 1:
            raise ValueError(f"n_classes must be positive; got {n_classes!r}")
        if not 0.0 < float(alpha) <= 1.0:
            raise ValueError(f"alpha must be in (0, 1]; got {alpha!r}")
        self.n_classes = int(n_classes)
        self.alpha = float(alpha)

    def build(self, input_shape):
        # "mean" aggregation: under a tf.distribute strategy every replica
        # computes the same new centres from the whole global batch
        # (`update_centers` sums the class counts and sums over replicas), so
        # the mean of the replicas' values is that value.
        self.centers = self.add_weight(
            name="centers", shape=(self.n_classes, input_shape[-1]),
            initializer="glorot_uniform", trainable=False, aggregation="mean")

    def call(self, features):
        diff = features[:, None, :] - ops.cast(self.centers, features.dtype)[None]
        return 0.5 * ops.sum(diff * diff, axis=-1)

    @staticmethod
    def true_distance(labels, distances):
        """Each sample's distance to the centre of `labels` (class indices >= 0):
        `(batch,)` from this layer's `(batch, n_classes)` output."""
        labels = ops.cast(labels, "int32")
        return ops.take_along_axis(distances, labels[:, None], axis=-1)[:, 0]

    @staticmethod
    def loss(distances, labels):
        """Mean distance to the true centre over the samples with a label.

        Args:
            distances: `(batch, n_classes)`, this layer's output.
            labels: `(batch,)` int class indices; negative means no label.
        """
        labels = ops.cast(labels, "int32")
        mask = ops.cast(labels >= 0, distances.dtype)
        per_sample = CenterLoss.true_distance(ops.maximum(labels, 0), distances) * mask
        return ops.sum(per_sample) / ops.maximum(ops.sum(mask), 1.0)

    def update_centers(self, features, labels):
        """One Wen et al. update from a batch; unlabelled samples (< 0) are ignored."""
        features = ops.stop_gradient(ops.cast(features, "float32"))
        labels = ops.cast(labels, "int32")
        onehot = ops.one_hot(ops.maximum(labels, 0), self.n_classes, dtype="float32")
        onehot = onehot * ops.cast(labels >= 0, "float32")[:, None]
        counts = ops.sum(onehot, axis=0)[:, None]  # (classes, 1)
        sums = ops.matmul(ops.transpose(onehot), features)  # (classes, dim)
        # Over the global batch under tf.distribute (a no-op otherwise).
        counts, sums = cross_replica_sum(counts, sums)
        centers = ops.convert_to_tensor(self.centers)
        delta = (counts * centers - sums) / (1.0 + counts)
        self.centers.assign(centers - self.alpha * delta)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.n_classes)

    def get_config(self):
        config = super().get_config()
        config.update({"n_classes": self.n_classes, "alpha": self.alpha})
        return config
