"""The optimiser and learning-rate schedules: the paper's, and the whole-run cosine."""

import keras
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
