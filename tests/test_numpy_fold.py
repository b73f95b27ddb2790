"""A fold end to end with the numpy pipeline: what runs under JAX without TensorFlow.

CI (.ci/run) runs this file with KERAS_BACKEND=jax in an environment without
TensorFlow; under TensorFlow it checks the numpy pipeline with that backend.
"""

import json

import keras

from adarl_tf import training
from adarl_tf.config import (DataConfig, ExperimentConfig, FrontendConfig, ModelConfig,
                             TrainConfig)
from adarl_tf.corpora import demo, iemocap
from adarl_tf.pipelines import tensorflow_available

TINY = ExperimentConfig(
    model=ModelConfig(frontend=FrontendConfig(segment_s=1.0, max_freq_hz=2000.0),
                      trunk_filters=(4, 4, 4, 8)),
    train=TrainConfig(epochs=1, batch_size=8, pipeline="numpy"),
    data=DataConfig(min_tail_s=0.5))


def test_fold_trains_scores_and_saves_with_numpy_batches(small_demo_corpus, tmp_path):
    corpus = iemocap.load_iemocap(small_demo_corpus, name=demo.DEMO_CORPUS_NAME)
    results = training.train_and_evaluate(TINY, corpus, 2, tmp_path, verbose=0)
    fold_dir = tmp_path / "fold_02"
    written = json.loads((fold_dir / "results.json").read_text())
    assert written["pipeline"] == "arrays" and written["epochs_completed"] == 1
    assert written["versions"]["backend"] == keras.backend.backend()
    assert 0.0 <= written["wa"] <= 1.0 and results["n_test_utterances"] == 8
    assert len(written["history"]["loss"]) == 1
    assert len(written["history"]["test_speaker_ua"]) == 1  # The monitor needs no TF.
    assert (fold_dir / "predictions.csv").is_file() and (fold_dir / "test_features.npz").is_file()
    assert keras.saving.load_model(fold_dir / "model.keras").model_config == TINY.model
    # TensorBoard files only where TensorFlow is.
    assert (fold_dir / "logs").exists() == tensorflow_available()
    assert not (fold_dir / "checkpoint").exists()  # Removed once the fold is complete.

