"""The optimiser and learning-rate schedules: the paper's, and the whole-run cosine."""

import keras
import numpy as np
import pytest

from adarl_tf import optim
from adarl_tf.config import TrainConfig


def _lr(schedule, step):
    return float(keras.ops.convert_to_numpy(schedule(step)))


def test_default_is_the_papers_sgd_with_epoch_decay():
    train = TrainConfig()
    opt = optim.build_optimizer(train, steps_per_epoch=10)
    assert isinstance(opt, keras.optimizers.SGD)
    assert opt.weight_decay == pytest.approx(4e-5) and opt.momentum == 0.0
    schedule = optim.learning_rate_schedule(train, 10)
    assert _lr(schedule, 0) == pytest.approx(0.2)
    assert _lr(schedule, 9) == pytest.approx(0.2)  # Staircase: constant within an epoch.
    assert _lr(schedule, 10) == pytest.approx(0.2 * 0.7)
    assert _lr(schedule, 35) == pytest.approx(0.2 * 0.7 ** 3)


def test_cosine_with_warmup_values():
    train = TrainConfig(schedule="cosine", learning_rate=1e-3, epochs=10, warmup_fraction=0.1)
    schedule = optim.learning_rate_schedule(train, steps_per_epoch=20)  # 200 steps, 20 warm-up.
    assert _lr(schedule, 0) == pytest.approx(0.0, abs=1e-9)
    assert _lr(schedule, 10) == pytest.approx(0.5e-3, rel=1e-4)
    assert _lr(schedule, 20) == pytest.approx(1e-3, rel=1e-4)
    assert _lr(schedule, 20 + 90) == pytest.approx(0.5e-3, rel=1e-3)  # Half-way down.
    assert _lr(schedule, 200) == pytest.approx(0.0, abs=1e-8)


def test_cosine_shape_does_not_depend_on_the_corpus_size():
    train = TrainConfig(schedule="cosine", learning_rate=1e-3, epochs=30, warmup_fraction=0.05)
    small, large = (optim.learning_rate_schedule(train, n) for n in (7, 110))
    for fraction in (0.0, 0.03, 0.05, 0.3, 0.5, 0.9, 1.0):
        assert _lr(small, round(fraction * 30 * 7)) == pytest.approx(
            _lr(large, round(fraction * 30 * 110)), abs=2e-5)


def test_cosine_without_warmup_starts_at_the_peak():
    train = TrainConfig(schedule="cosine", learning_rate=0.01, epochs=4)
    schedule = optim.learning_rate_schedule(train, 5)
    assert _lr(schedule, 0) == pytest.approx(0.01)
    assert _lr(schedule, 10) == pytest.approx(0.005, rel=1e-4)


def test_adamw_carries_the_weight_decay():
    train = TrainConfig(optimizer="adamw", weight_decay=1e-2, learning_rate=1e-3,
                        schedule="cosine")
    opt = optim.build_optimizer(train, 10)
    assert isinstance(opt, keras.optimizers.AdamW)
    assert opt.weight_decay == pytest.approx(1e-2)


@pytest.mark.parametrize("field,value", [("optimizer", "adam"), ("schedule", "step"),
                                         ("class_balance", "oversample"),
                                         ("warmup_fraction", 1.0)])
def test_bad_values_are_rejected(field, value):
    with pytest.raises(ValueError, match=field):
        TrainConfig(**{field: value})


def test_early_stopping_needs_validation_speakers():
    with pytest.raises(ValueError, match="test speaker never selects"):
        TrainConfig(early_stopping_patience=3)


def test_ema_momentum_turns_on_the_optimizers_average():
    for name in ("sgd", "adamw"):
        opt = optim.build_optimizer(TrainConfig(optimizer=name, ema_momentum=0.99), 10)
        assert opt.use_ema and opt.ema_momentum == pytest.approx(0.99)
    assert not optim.build_optimizer(TrainConfig(), 10).use_ema
    assert optim.ema_callback(TrainConfig(), resumed=False) is None
    with pytest.raises(ValueError, match="ema_momentum"):
        TrainConfig(ema_momentum=1.0)


class _Weights(keras.callbacks.Callback):
    """The model's kernel after every step, and at every epoch's start and end."""

    def __init__(self):
        super().__init__()
        self.steps, self.begin, self.end = [], [], []

    def _kernel(self):
        return keras.ops.convert_to_numpy(self.model.layers[-1].kernel).copy()

    def on_train_batch_end(self, batch, logs=None):
        self.steps.append(self._kernel())

    def on_epoch_begin(self, epoch, logs=None):
        self.begin.append(self._kernel())

    def on_epoch_end(self, epoch, logs=None):
        self.end.append(self._kernel())


def _fit_tiny(train, callbacks, epochs=3, initial_epoch=0, weights=None):
    """A one-layer regression, 2 steps per epoch of fixed data; its model."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer=optim.build_optimizer(train, steps_per_epoch=2), loss="mse")
    if weights is not None:
        model.optimizer.build(model.trainable_variables)
        model.set_weights(weights[0])
        for var, value in zip(model.optimizer.variables, weights[1]):
            var.assign(value)
    x = np.linspace(-1, 1, 24, dtype="float32").reshape(8, 3)
    y = x @ np.array([[1.0], [-2.0], [0.5]], "float32")
    model.fit(x, y, batch_size=4, epochs=epochs, initial_epoch=initial_epoch, shuffle=False,
              verbose=0, callbacks=[c for c in callbacks if c is not None])
    return model


def test_ema_callback_puts_the_average_in_the_model_between_epochs():
    m = 0.5
    plain = TrainConfig(learning_rate=0.1, lr_decay=1.0)
    raw = _Weights()
    _fit_tiny(plain, [raw])
    # Keras' average: the first step's weights, then m * average + (1 - m) * weights.
    average, expected = None, []
    for w in raw.steps:
        average = w if average is None else m * average + (1 - m) * w
        expected.append(average)

    ema = TrainConfig(learning_rate=0.1, lr_decay=1.0, ema_momentum=m)
    seen = _Weights()
    model = _fit_tiny(ema, [optim.ema_callback(ema, resumed=False), seen])
    # Training itself is untouched: every step's raw weights are the plain run's.
    np.testing.assert_allclose(np.stack(seen.steps), np.stack(raw.steps), rtol=1e-5, atol=1e-6)
    # Every later callback sees the average at the epoch's end, the raw weights
    # again at the next start; the model ends on the average.
    np.testing.assert_allclose(np.stack(seen.end), np.stack(expected[1::2]), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.stack(seen.begin[1:]), np.stack(raw.steps[1:-1:2]),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model.layers[-1].kernel), expected[-1],
                               rtol=1e-5, atol=1e-6)
    assert not np.allclose(expected[-1], raw.steps[-1], atol=1e-4)  # The average differs.


def test_ema_fold_resumed_from_an_epoch_end_trains_on_the_raw_weights():
    # An epoch checkpoint holds the average in the model and the raw weights in
    # the optimiser's slots; the resumed callback must swap them back first.
    ema = TrainConfig(learning_rate=0.1, lr_decay=1.0, ema_momentum=0.5)
    saved = []  # What an epoch checkpoint (the last callback) saves after epoch 1.
    checkpoint = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: saved.append(
        (checkpoint.model.get_weights(),
         [keras.ops.convert_to_numpy(v) for v in checkpoint.model.optimizer.variables])))
    straight = _fit_tiny(ema, [optim.ema_callback(ema, resumed=False), checkpoint])
    state = saved[0]
    finals = {}
    for resumed in (True, False):
        model = _fit_tiny(ema, [optim.ema_callback(ema, resumed=resumed)], initial_epoch=1,
                          weights=state)
        finals[resumed] = keras.ops.convert_to_numpy(model.layers[-1].kernel)
    want = keras.ops.convert_to_numpy(straight.layers[-1].kernel)
    np.testing.assert_allclose(finals[True], want, rtol=1e-5, atol=1e-6)
    assert not np.allclose(finals[False], want, atol=1e-4)  # Without the flag it drifts.
