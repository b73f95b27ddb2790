"""Batch normalisation over consecutive groups of a batch ("ghost" batches)."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="adarl_tf")
class GhostBatchNorm(keras.layers.BatchNormalization):
    """BatchNormalization whose training statistics come from groups of the batch.

    In training, the batch is read as consecutive groups of `group_size`
    samples and each group is normalised with its own mean and variance (ghost
    batch normalisation, Hoffer et al. 2017). The moving statistics take the
    groups' average. In inference, and with `group_size=0`, it is the
    BatchNormalization it subclasses, so exports see a plain BN.

    Here each group is one speaker's windows (`--speaker_bn_group`: the training
    plan lays the batch out so, pipelines/plan.py): the emotion pathway learns on
    features normalised per speaker, as `--speaker_bn` scores a test speaker.

    Args:
        group_size: int. Samples per group; the training batch must be a
            multiple of it. 0: the whole batch (a plain BatchNormalization).
        **kwargs: `keras.layers.BatchNormalization` arguments (`axis` must be
            the last axis).

    Example:
        >>> bn = GhostBatchNorm(2)
        >>> x = np.array([[0.], [2.], [10.], [14.]], "float32")
        >>> np.round(keras.ops.convert_to_numpy(bn(x, training=True))[:, 0], 2)
        array([-1., 1., -1., 1.], dtype=float32)
    """

    def __init__(self, group_size=0, **kwargs):
        super().__init__(**kwargs)
        if int(group_size) < 0:
            raise ValueError(f"group_size must be >= 0; got {group_size!r}")
        if group_size and self.axis != -1:
            raise ValueError(f"GhostBatchNorm normalises the last axis; got axis={self.axis}")
        self.group_size = int(group_size)

    def call(self, inputs, training=None, mask=None):
        if not (training and self.trainable and self.group_size) or mask is not None:
            return super().call(inputs, training=training, mask=mask)
        x = ops.cast(inputs, "float32")
        groups = ops.reshape(x, (-1, self.group_size) + tuple(x.shape[1:]))
        axes = tuple(range(1, len(groups.shape) - 1))  # All but the group and channel axes.
        mean, variance = ops.moments(groups, axes=axes, keepdims=True)
        self._track(self.moving_mean, mean)
        self._track(self.moving_variance, variance)
        outputs = (groups - mean) * ops.rsqrt(variance + self.epsilon)
        if self.scale:
            outputs = outputs * ops.cast(self.gamma, "float32")
        if self.center:
            outputs = outputs + ops.cast(self.beta, "float32")
        return ops.cast(ops.reshape(outputs, ops.shape(x)), self.compute_dtype)

    def _track(self, moving, statistic):
        """Moves a moving statistic towards the groups' average of `statistic` (one
        value per group and channel); what recalibration replaces."""
        average = ops.mean(ops.reshape(statistic, (-1, statistic.shape[-1])), axis=0)
        moving.assign(moving * self.momentum + average * (1.0 - self.momentum))

    def get_config(self):
        return {**super().get_config(), "group_size": self.group_size}
