"""A feature replaced by its mean over one speaker's windows."""

import keras
from keras import ops

from adarl_tf.layers.ghost_batch_norm import GhostBatchNorm


@keras.saving.register_keras_serializable(package="adarl_tf")
class GroupMean(GhostBatchNorm):
    """Each sample's feature vector replaced by its mean over a group of samples.

    In training, the batch is read as consecutive groups of `group_size`
    samples (one speaker's windows under `--speaker_bn_group`:
    pipelines/plan.py) and every sample gets its group's mean; the moving mean
    tracks the groups' average. In inference every sample gets the moving mean.

    Why a BatchNormalization (without centre or scale, and returning the mean
    rather than the normalised input): every BN re-estimation then sets its
    statistic as it sets the others' -- precise BN at each epoch end to the
    training sample's mean, `--speaker_bn` at scoring (precise_bn.py) and the
    exporter's enrolment to the mean over one speaker's windows. ADARL's
    attention then reads a speaker property (the domain embedding, whose cue
    is the speaker's gender) from all of the speaker's windows, not one.

    Args:
        group_size: int. Samples per group; the training batch must be a
            multiple of it. 0: the whole batch.
        **kwargs: `keras.layers.BatchNormalization` arguments (momentum, name).
            The input is (batch, features).

    Example:
        >>> mean = GroupMean(2, momentum=0.0)
        >>> x = np.array([[0.], [2.], [10.], [14.]], "float32")
        >>> keras.ops.convert_to_numpy(mean(x, training=True))[:, 0]
        array([ 1.,  1., 12., 12.], dtype=float32)
        >>> keras.ops.convert_to_numpy(mean(x[:1]))[:, 0]  # The groups' average.
        array([6.5], dtype=float32)
    """

    def __init__(self, group_size=0, **kwargs):
        kwargs.update(center=False, scale=False)
        super().__init__(group_size, **kwargs)

    def build(self, input_shape):
        if len(input_shape) != 2:
            raise ValueError(f"GroupMean takes (batch, features); got shape {input_shape}")
        super().build(input_shape)

    def call(self, inputs, training=None, mask=None):
        x = ops.cast(inputs, "float32")
        if training and self.trainable:
            size = self.group_size or ops.shape(x)[0]
            groups = ops.reshape(x, (-1, size, x.shape[-1]))
            mean = ops.mean(groups, axis=1, keepdims=True)
            self._track(self.moving_mean, mean)
            outputs = ops.reshape(ops.broadcast_to(mean, ops.shape(groups)), ops.shape(x))
        else:
            outputs = ops.broadcast_to(ops.cast(self.moving_mean, "float32")[None], ops.shape(x))
        return ops.cast(outputs, self.compute_dtype)
