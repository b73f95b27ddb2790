"""A fold end to end with the numpy pipeline: what runs under JAX without TensorFlow.

CI (.ci/run) runs this file with KERAS_BACKEND=jax in an environment without
TensorFlow; under TensorFlow it checks the numpy pipeline with that backend.
"""

import dataclasses
import json

import keras
import numpy as np
import pytest

from adarl_tf import training
from adarl_tf.config import DataConfig, ExperimentConfig, TrainConfig
from adarl_tf.corpora import demo, iemocap
from adarl_tf.pipelines import plan as plan_lib
from adarl_tf.pipelines import tensorflow_available
from tests.model_files import TINY as TINY_MODEL

TINY = ExperimentConfig(
    model=TINY_MODEL,
    train=TrainConfig(epochs=1, batch_size=8, pipeline="numpy"),
    data=DataConfig(min_tail_s=0.5))


def test_fold_trains_scores_and_saves_with_numpy_batches(small_demo_corpus, tmp_path):
    corpus = iemocap.load_iemocap(small_demo_corpus, name=demo.DEMO_CORPUS_NAME)
    results = training.train_and_evaluate(TINY, corpus, 2, tmp_path, verbose=0)
    fold_dir = tmp_path / "fold_02"
    written = json.loads((fold_dir / "results.json").read_text())
    assert written["pipeline"] == "numpy" and written["epochs_completed"] == 1
    assert written["versions"]["backend"] == keras.backend.backend()
    assert written["versions"]["cpu"] == training.cpu_name()  # Runs pair on one kind of CPU.
    assert 0.0 <= written["wa"] <= 1.0 and results.n_test_utterances == 8
    assert len(written["history"]["loss"]) == 1
    assert len(written["history"]["test_speaker_ua"]) == 1  # The monitor needs no TF.
    assert (fold_dir / "predictions.csv").is_file() and (fold_dir / "test_features.npz").is_file()
    # The domain head's utterance probabilities, for ensembles' gender accuracy.
    with np.load(fold_dir / "test_features.npz") as features:
        assert features["domain_probs"].shape == (8, 2)
        np.testing.assert_allclose(features["domain_probs"].sum(1), 1.0, atol=1e-5)
        agree = features["domain_probs"].argmax(1) == features["domain_labels"]
        assert agree.mean() == pytest.approx(written["domain_accuracy"])
    assert keras.saving.load_model(fold_dir / "model.keras").model_config == TINY.model
    # TensorBoard files only where TensorFlow is.
    assert (fold_dir / "logs").exists() == tensorflow_available()
    assert not (fold_dir / "checkpoint").exists()  # Removed once the fold is complete.



def test_robust_fold_trains_with_numpy_augmentation(small_demo_corpus, tmp_path):
    # The robust preset's pieces (configs/adarl_robust.cfg) in the tiny setting:
    # what a GPU run under JAX without TensorFlow trains with.
    corpus = iemocap.load_iemocap(small_demo_corpus, name=demo.DEMO_CORPUS_NAME)
    config = dataclasses.replace(
        TINY,
        # Speaker normalisation (its statistics fed by the numpy pipeline; the
        # presets' option) and tails scored as trained, under JAX too.
        model=dataclasses.replace(TINY.model, time_masks=2, time_mask_frames=10,
                                  freq_masks=2, freq_mask_bins=10,
                                  frontend=dataclasses.replace(TINY.model.frontend,
                                                               normalization="speaker")),
        data=dataclasses.replace(TINY.data, tail="overlap"),
        train=dataclasses.replace(
            TINY.train, epochs=2, optimizer="adamw", learning_rate=1e-3, weight_decay=1e-2,
            schedule="cosine", warmup_fraction=0.05, class_balance="weighted_loss",
            validation_speakers=2, train_hop_s=0.5, random_crop=True,
            speed_factors=(0.9, 1.0, 1.1), gain_db=6.0, noise_snr_db=15.0,
            bn_recalibration_batches=2, mixup_alpha=0.4))
    results = training.train_and_evaluate(config, corpus, 3, tmp_path, verbose=0)
    written = json.loads((tmp_path / "fold_03" / "results.json").read_text())
    assert written["pipeline"] == "numpy" and written["epochs_completed"] == 2
    assert written["normalization"] == "speaker" and written["uses_test_speaker_audio"]
    # Overlapping windows: more training segments than the paper's cut, counted exactly.
    train_utts = [u for u in corpus.utterances if u.speaker not in
                  set(written["validation_speakers"]) | {written["test_speaker"]}]
    assert written["n_train_segments"] == int(plan_lib.counts(
        train_utts, training.training_cut(config)).sum())
    assert written["n_train_segments"] > int(plan_lib.counts(
        train_utts, training.scoring_cut(config)).sum())
    assert len(written["history"]["val_ua"]) == 2
    assert "test speaker never used" in written["epoch_selection"]
    assert np.isfinite(written["history"]["loss"]).all()
    assert 0.0 <= results.ua <= 1.0 and results.n_test_utterances == 8


def test_speaker_bn_scores_each_speaker_with_its_own_statistics(small_demo_corpus):
    # Utterances of two speakers, interleaved: each is scored as if alone, with the
    # emotion pathway's statistics of its own windows, and put back in its place.
    from adarl_tf import precise_bn
    from tests.model_files import build
    corpus = iemocap.load_iemocap(small_demo_corpus, name=demo.DEMO_CORPUS_NAME)
    first, second = corpus.speakers[:2]
    a = [u for u in corpus.utterances if u.speaker == first][:4]
    b = [u for u in corpus.utterances if u.speaker == second][:3]
    mixed = [a[0], b[0], a[1], b[1], a[2], a[3], b[2]]
    model = build(TINY.model)
    adapted = dataclasses.replace(TINY, data=dataclasses.replace(TINY.data, speaker_bn=True))
    stored = [keras.ops.convert_to_numpy(n.moving_mean).copy()
              for n in precise_bn.emotion_norms(model)]

    out = training.predict_utterances(model, mixed, adapted, 4)
    alone = {s: training.predict_utterances(model, utts, adapted, 4)
             for s, utts in ((first, a), (second, b))}
    plain = training.predict_utterances(model, mixed, TINY, 4)
    position = {first: [0, 2, 4, 5], second: [1, 3, 6]}
    for speaker, rows in position.items():
        for key in ("emotion_probs", "domain_probs", "deep_features", "attention",
                    "segment_counts"):
            np.testing.assert_allclose(out[key][rows], alone[speaker][key], rtol=1e-5,
                                       atol=1e-6, err_msg=key)
    # Per-segment rows follow their utterances.
    starts = np.r_[0, np.cumsum(out["segment_counts"])]
    for speaker, rows in position.items():
        own = np.r_[0, np.cumsum(alone[speaker]["segment_counts"])]
        for k, row in enumerate(rows):
            np.testing.assert_allclose(
                out["segment_attention"][starts[row]:starts[row + 1]],
                alone[speaker]["segment_attention"][own[k]:own[k + 1]], rtol=1e-5, atol=1e-6)
    assert out["n_segments"] == plain["n_segments"] == len(out["segment_attention"])
    # Adaptation moves the emotion output, not the gender head's, and is undone after.
    assert not np.allclose(out["emotion_probs"], plain["emotion_probs"])
    np.testing.assert_allclose(out["domain_probs"], plain["domain_probs"], rtol=1e-5, atol=1e-6)
    for before, norm in zip(stored, precise_bn.emotion_norms(model)):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(norm.moving_mean), before)


def test_speaker_bn_under_several_replicas_is_refused_before_the_fold_starts(
        small_demo_corpus, tmp_path):
    import types

    from adarl_tf import protocol
    corpus = iemocap.load_iemocap(small_demo_corpus, name=demo.DEMO_CORPUS_NAME)
    adapted = dataclasses.replace(TINY, data=dataclasses.replace(TINY.data, speaker_bn=True))
    two = types.SimpleNamespace(num_replicas_in_sync=2)
    with pytest.raises(ValueError, match="speaker_bn .* one device .*rescore.py --speaker_bn"):
        training._prepare(adapted, corpus, 2, protocol.split_fold(corpus, 2), tmp_path, two)
    assert not list(tmp_path.iterdir())  # No fold folder left half made.
    assert protocol.uses_test_speaker_audio(adapted)
    assert not protocol.uses_test_speaker_audio(TINY)


def test_speaker_bn_scores_validation_and_monitor_during_fit(small_demo_corpus, tmp_path):
    # Validation speakers and the test-speaker monitor are scored between epochs,
    # inside fit (under JAX, between the trainer's syncs of its state), each with
    # the adaptation; the next epoch then trains on. That the statistics and the
    # trainable flags come back is test_precise_bn's.
    corpus = iemocap.load_iemocap(small_demo_corpus, name=demo.DEMO_CORPUS_NAME)
    config = dataclasses.replace(
        TINY, data=dataclasses.replace(TINY.data, speaker_bn=True),
        train=dataclasses.replace(TINY.train, epochs=2, validation_speakers=2,
                                  monitor_test=True))
    training.train_and_evaluate(config, corpus, 3, tmp_path, verbose=0)
    written = json.loads((tmp_path / "fold_03" / "results.json").read_text())
    assert written["epochs_completed"] == 2 and len(written["history"]["val_ua"]) == 2
    assert len(written["history"]["test_speaker_ua"]) == 2
    assert written["uses_test_speaker_audio"] is True
    assert np.isfinite(written["history"]["loss"]).all()


@pytest.mark.parametrize("speaker_mean", [False, True])
def test_speaker_bn_group_trains_the_emotion_pathway_per_speaker(small_demo_corpus, tmp_path,
                                                                 speaker_mean):
    # Batches of runs of 4 windows of one speaker; the emotion pathway's BNs
    # normalise each run alone, the domain pathway's the whole batch. Scored with
    # each test speaker's statistics, as it trained. With speaker_mean, the
    # attention reads the run's (in scoring: the test speaker's) mean domain embedding.
    corpus = iemocap.load_iemocap(small_demo_corpus, name=demo.DEMO_CORPUS_NAME)
    model_config = dataclasses.replace(TINY.model, speaker_bn_group=4,
                                       domain_speaker_mean=speaker_mean,
                                       attention_input="embedding" if speaker_mean else "maps")
    config = dataclasses.replace(
        TINY, model=model_config,
        data=dataclasses.replace(TINY.data, speaker_bn=True),
        train=dataclasses.replace(TINY.train, epochs=2, bn_recalibration_batches=2))
    training.train_and_evaluate(config, corpus, 3, tmp_path, verbose=0)
    written = json.loads((tmp_path / "fold_03" / "results.json").read_text())
    assert written["epochs_completed"] == 2 and np.isfinite(written["history"]["loss"]).all()
    model = keras.saving.load_model(tmp_path / "fold_03" / "model.keras")
    groups = {layer.path.split("/")[0]: layer.group_size
              for layer in model._flatten_layers() if hasattr(layer, "group_size")}
    assert groups["emotion_bn"] == groups["emotion_unit1"] == 4
    assert groups["domain_unit1"] == 0
    assert groups.get("emotion_domain_mean") == (4 if speaker_mean else None)


@pytest.mark.parametrize("train", [dict(batch_size=6), dict(mixup_alpha=0.4),
                                   dict(class_balance="sampler")])
def test_speaker_bn_group_refuses_batches_it_cannot_lay_out(train):
    with pytest.raises(ValueError, match="--speaker_bn_group=4"):
        dataclasses.replace(TINY, model=dataclasses.replace(TINY.model, speaker_bn_group=4),
                            train=dataclasses.replace(TINY.train, **train))
