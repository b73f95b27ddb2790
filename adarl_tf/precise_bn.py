"""BatchNorm statistics re-estimated with the epoch's final weights ("precise BN").

Keras' BatchNormalization keeps an exponential moving average of the batch
statistics of past steps. On a small corpus with a high learning rate (the
robust recipe: ~8-10 AdamW steps per epoch) the weights move so far between
steps that this average describes older networks and augmented inputs, not the
model being scored: the training speakers' own utterances, scored in
inference mode, then lose whole classes, and re-estimating the statistics
from clean training segments gives them back (figures: BUILD.md, "BatchNorm
recalibration").

`recalibrate` sets every BatchNormalization's moving mean and variance to the
average of its batch statistics over the given batches (Wu & Johnson 2021,
"Rethinking 'Batch' in BatchNorm", §3: precise BN), by running the model in
training mode with the momentum of the k-th batch set to (k - 1) / k. Only the
BN statistics change: trainable weights are untouched, SpecAugment is held off
(inference inputs are never masked), and each layer's momentum is restored.
`BatchNormRecalibration` does it at every epoch end, before the validation
score and the checkpoint read the model.

`speaker_adapted` does the same for one speaker at scoring time, on the
emotion pathway only (`--speaker_bn`, AdaBN: Li et al. 2018, "Adaptive Batch
Normalization for practical domain adaptation"): the speaker's own windows
give its statistics, the prediction is made, and the stored statistics come
back. No TensorFlow import here.
"""

import contextlib

import keras
import numpy as np

from adarl_tf.layers import GhostBatchNorm, SpecAugment

# Windows per batch when a speaker's BN statistics are estimated (`speaker_adapted`):
# the deep feature's BN sees one value per window, so larger batches estimate it
# better. Training's `--speaker_bn`, `predict --speaker_bn` and the exporter's
# enrolment all batch alike, so one speaker's recordings score alike in each.
ADAPTATION_BATCH = 256


def _sublayers(model):
    # Keras has no public recursive layer walk; `_flatten_layers` is the one
    # Keras itself uses (it reaches the BN inside MultiScaleConv).
    return list(model._flatten_layers(include_self=False, recursive=True))


@contextlib.contextmanager
def _zeroed(layers, cls, *names):
    """Within the block, the attributes `names` of every `cls` layer are 0; after it,
    they are back. Holds SpecAugment's masks off (inference inputs are never masked)
    and `GhostBatchNorm`'s groups (statistics are estimated over whole batches, a
    speaker's or the training sample's; only training lays out runs of one speaker)."""
    saved = [(layer, {n: getattr(layer, n) for n in names}) for layer in layers
             if isinstance(layer, cls)]
    try:
        for layer, _ in saved:
            for n in names:
                setattr(layer, n, 0)
        yield
    finally:
        for layer, values in saved:
            for n, value in values.items():
                setattr(layer, n, value)


def _norms(layers):
    return [layer for layer in layers if isinstance(layer, keras.layers.BatchNormalization)]


def _statistics(norms):
    return [(keras.ops.copy(n.moving_mean), keras.ops.copy(n.moving_variance)) for n in norms]


def _restore(norms, saved):
    for layer, (mean, variance) in zip(norms, saved):
        layer.moving_mean.assign(mean)
        layer.moving_variance.assign(variance)


@contextlib.contextmanager
def _inference_mode(norms):
    # A BatchNormalization that is not trainable normalises with its stored
    # statistics and leaves them alone, even in a training-mode call (Keras 3).
    states = [(layer, layer.trainable) for layer in norms]
    try:
        for layer, _ in states:
            layer.trainable = False
        yield
    finally:
        for layer, trainable in states:
            layer.trainable = trainable


def recalibrate(model, batches, norms=None):
    """Sets every BatchNormalization's statistics to the mean over `batches`.

    Args:
        model: a built Keras model.
        batches: iterable of model inputs (arrays or tensors), e.g. clean
            training segments; never the test speaker's.
        norms: the BatchNormalizations to re-estimate (default: all). The
            others normalise with their stored statistics meanwhile, as they
            will when the model is scored, and keep them.

    Returns:
        The number of batches used (0 leaves the statistics as they were).
    """
    layers = _sublayers(model)
    every = _norms(layers)
    norms = every if norms is None else list(norms)
    momenta = [layer.momentum for layer in norms]
    saved = _statistics(norms)
    count = 0
    try:
        others = [layer for layer in every if not any(layer is n for n in norms)]
        with (_zeroed(layers, SpecAugment, "time_masks", "freq_masks"),
              _zeroed(layers, GhostBatchNorm, "group_size"), _inference_mode(others)):
            for count, batch in enumerate(batches, start=1):
                for layer in norms:
                    # moving = moving * m + batch * (1 - m): the running mean of
                    # the first k batches' statistics.
                    layer.momentum = (count - 1) / count
                model(batch, training=True)
    except BaseException:
        _restore(norms, saved)
        raise
    finally:
        for layer, momentum in zip(norms, momenta):
            layer.momentum = momentum
    return count


def emotion_norms(model):
    """The emotion pathway's BatchNormalizations: those of the layers model.py names
    `emotion_*` (the emotion trunk's units and the deep feature's BN). The domain
    pathway's are left out: telling speakers apart (by gender) is its job, and one
    speaker's statistics would remove exactly that."""
    return [layer for layer in _norms(_sublayers(model))
            if layer.path.split("/")[0].startswith("emotion")]


@contextlib.contextmanager
def speaker_adapted(model, batches):
    """Within the block, the emotion pathway's BN statistics are those of `batches`
    (one speaker's clean windows: `recalibrate` over them); after it, the stored
    statistics are back, whatever happened inside."""
    norms = emotion_norms(model)
    saved = _statistics(norms)
    try:
        recalibrate(model, batches, norms)
        yield
    finally:
        _restore(norms, saved)


def batches_of(segments, batch_size, max_batches):
    """The first `max_batches` batches of `segments` (a tf.data set, an array, or a
    dict of arrays: waveforms with their speakers' statistics)."""
    if isinstance(segments, (np.ndarray, dict)):
        n = len(segments["waveform"]) if isinstance(segments, dict) else len(segments)
        starts = list(range(0, n, batch_size))[:max_batches]
        if isinstance(segments, dict):
            return [{k: v[s:s + batch_size] for k, v in segments.items()} for s in starts]
        return [segments[s:s + batch_size] for s in starts]
    return list(segments.take(max_batches))


class BatchNormRecalibration(keras.callbacks.Callback):
    """Re-estimates the BN statistics at every epoch end (`recalibrate`).

    Put it before every callback that scores or saves the model.

    Args:
        batches: list of input batches, e.g. `batches_of(...)` over a fixed,
            shuffled sample of clean training segments.
    """

    def __init__(self, batches):
        super().__init__()
        self.batches = list(batches)

    def on_epoch_end(self, epoch, logs=None):
        recalibrate(self.model, self.batches)
