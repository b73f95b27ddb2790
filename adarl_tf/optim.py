"""The optimiser and its learning-rate schedule, a function of `TrainConfig`.

Two recipes:
  * the paper's (SPEC §5): SGD, `learning_rate` multiplied by `lr_decay` after
    every epoch (`schedule="epoch_decay"`). Its shape is tied to the corpus
    size: IEMOCAP's ~110 steps per epoch; on a corpus of a few hundred
    utterances the rate has decayed away after a few dozen steps.
  * a whole-run shape (`schedule="cosine"`): linear warm-up from 0 over
    `warmup_fraction` of all the run's steps, then cosine decay to 0 at the
    last step. Expressed in fractions of the run, so it is the same curve for
    any corpus size and any number of epochs; `optimizer="adamw"` beside SGD.

Both are Keras schedules of `optimizer.iterations`, which the per-epoch
checkpoint saves, so a resumed fold continues on the same curve.
No TensorFlow import here.
"""

import keras

from adarl_tf.config import TrainConfig


def learning_rate_schedule(train: TrainConfig, steps_per_epoch: int):
    """The `keras.optimizers.schedules.LearningRateSchedule` of `train`."""
    if train.schedule == "epoch_decay":
        # The paper's schedule: the rate is multiplied by `lr_decay` after every epoch.
        return keras.optimizers.schedules.ExponentialDecay(
            train.learning_rate, decay_steps=steps_per_epoch, decay_rate=train.lr_decay,
            staircase=True)
    total = max(int(train.epochs) * int(steps_per_epoch), 1)
    warmup = int(round(train.warmup_fraction * total))
    if warmup == 0:
        return keras.optimizers.schedules.CosineDecay(train.learning_rate,
                                                      decay_steps=total)
    # CosineDecay's warm-up goes linearly from initial_learning_rate (0) to
    # warmup_target in warmup_steps, then decays over decay_steps.
    return keras.optimizers.schedules.CosineDecay(
        0.0, decay_steps=total - warmup, warmup_target=train.learning_rate,
        warmup_steps=warmup)


def build_optimizer(train: TrainConfig, steps_per_epoch: int):
    """SGD or AdamW on `learning_rate_schedule`, with decoupled weight decay.

    With `ema_momentum` the optimiser also keeps the weights' moving average
    (Keras' `use_ema`); `ema_callback` decides when the model holds it.
    """
    schedule = learning_rate_schedule(train, steps_per_epoch)
    ema = dict(use_ema=True, ema_momentum=train.ema_momentum) if train.ema_momentum else {}
    if train.optimizer == "adamw":
        return keras.optimizers.AdamW(schedule, weight_decay=train.weight_decay, **ema)
    return keras.optimizers.SGD(schedule, momentum=train.momentum,
                                weight_decay=train.weight_decay, **ema)


class _ResumableSwapEMAWeights(keras.callbacks.SwapEMAWeights):
    """`SwapEMAWeights(swap_on_epoch=True)` that knows where a resumed fold stands.

    The callback swaps the averaged weights into the model at every epoch end
    and back at the next epoch's start, so an epoch checkpoint (saved at the
    epoch end) holds the averaged weights in the model and the raw ones in the
    optimiser's average slots. A fold resumed from it must swap back before it
    trains on; Keras' callback only knows its own swaps, hence the flag.
    """

    def __init__(self, resumed):
        super().__init__(swap_on_epoch=True)
        self._ema_weights_in_model = bool(resumed)


def ema_callback(train: TrainConfig, resumed: bool):
    """The callback that puts the moving average in the model between epochs
    (None without `ema_momentum`); it must come before every callback that
    scores or saves the model (training.fold_callbacks)."""
    if not train.ema_momentum:
        return None
    return _ResumableSwapEMAWeights(resumed)
