"""Ablation presets, TensorBoard helpers and console progress (no training here)."""

import io
import pathlib

import pytest
from absl import app, flags
from absl.testing import flagsaver

from adarl_tf import flags as run_flags
from adarl_tf.config import ExperimentConfig, ModelConfig

FLAGS = flags.FLAGS
CONFIGS = pathlib.Path(__file__).resolve().parents[1] / "configs"


@pytest.mark.parametrize("variant", ["adarl", "backbone", "domain_invariant"])
def test_preset_is_the_paper_recipe(variant):
    with flagsaver.flagsaver():
        FLAGS(["adarl_tf.main", f"--flagfile={CONFIGS / f'{variant}.cfg'}", "--fold=all"])
        config = run_flags.config_from_flags()
        assert FLAGS.fold == "all"
    paper = ExperimentConfig(model=ModelConfig(variant=variant))
    assert config.model == paper.model
    assert config.train == paper.train
    assert (config.train.learning_rate, config.train.lr_decay, config.train.weight_decay,
            config.train.batch_size, config.train.epochs) == (0.2, 0.7, 4e-5, 32, 50)
    assert (config.model.domain_loss_weight, config.model.emotion_loss_weight,
            config.model.center_loss_weight) == (1.0, 1.0, 0.5)
    assert (config.data.dataset, config.data.iemocap_subset, config.data.merge_excited) == (
        "iemocap", "improvised", False)
    header = (CONFIGS / f"{variant}.cfg").read_text().splitlines()[0]
    assert header.startswith("# Reproduces") and "Table 3" in header


def test_profile_batch_flag():
    assert run_flags.profile_batch("0") == 0
    assert run_flags.profile_batch("5") == 5
    assert run_flags.profile_batch("5,8") == (5, 8)
    for bad in ("x", "8,5", "1,2,3", "-1"):
        with pytest.raises(app.UsageError, match="profile_batch"):
            run_flags.profile_batch(bad)


def test_run_progress_estimates_the_time_left():
    pytest.importorskip("tensorflow")
    from adarl_tf import monitoring
    stream = io.StringIO()
    progress = monitoring.RunProgress(n_folds=3, epochs=4, stream=stream)
    assert progress.seconds_left(0) is None
    progress.epoch_seconds = [10.0, 10.0]
    # Fold 1 of 3 after 2 epochs: 2 epochs left here and 8 in the two folds after.
    assert progress.seconds_left(2) == pytest.approx(100.0)
    callback = progress.callback(fold=4, test_speaker="Ses03F")
    callback.on_train_begin()
    callback.on_epoch_begin(2)
    assert "[fold 1/3: fold 4, test speaker Ses03F] epoch 3/4" in stream.getvalue()
    assert "0:01:40 left" in stream.getvalue()
