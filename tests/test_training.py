"""One LOSO fold end to end on a small synthetic demo corpus with a tiny model."""

import csv
import json

import keras
import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from adarl_tf import protocol, training
from adarl_tf.config import DataConfig, ExperimentConfig, TrainConfig
from adarl_tf.corpora import demo, iemocap
from tests.model_files import TINY as TINY_MODEL

TINY = ExperimentConfig(
    model=TINY_MODEL,
    train=TrainConfig(epochs=2, batch_size=8),
    data=DataConfig(min_tail_s=0.5))


@pytest.fixture(scope="module")
def corpus(small_demo_corpus):
    return iemocap.load_iemocap(small_demo_corpus, name=demo.DEMO_CORPUS_NAME)


def _event_tags(log_dir):
    from tensorboard.backend.event_processing import event_accumulator
    tags = set()
    for run in ("train",):
        acc = event_accumulator.EventAccumulator(str(log_dir / run))
        acc.Reload()
        tags |= set(acc.Tags()["tensors"]) | set(acc.Tags()["scalars"])
    return tags


def test_split_fold_keeps_the_test_speaker_out(corpus):
    split = protocol.split_fold(corpus, 3)
    speaker, train, test = split.name, split.train, split.test
    assert speaker == corpus.speakers[3] == "Ses02M" and split.test_speakers == [speaker]
    assert split.validation_speakers == [] and split.validation == []
    assert all(u.speaker != speaker for u in train)
    assert {u.speaker for u in test} == {speaker}
    assert all(u.label is not None for u in test)
    with pytest.raises(ValueError, match="out of range"):
        protocol.split_fold(corpus, 10)


def test_fold_writes_results_predictions_model_and_events(corpus, tmp_path):
    results = training.train_and_evaluate(TINY, corpus, 1, tmp_path, verbose=0)
    fold_dir = tmp_path / "fold_01"
    written = json.loads((fold_dir / "results.json").read_text())
    for key in ("wa", "ua", "confusion_matrix", "labels", "test_speaker", "n_test_utterances",
                "epochs_completed", "domain_accuracy", "config"):
        assert key in written
    assert written["test_speaker"] == "Ses01M"
    assert written["epochs_completed"] == 2
    assert 0.0 <= written["wa"] <= 1.0 and 0.0 <= written["ua"] <= 1.0
    assert 0.0 <= written["domain_accuracy"] <= 1.0
    assert written["labels"] == ["neutral", "happy", "sad", "angry"]
    assert np.sum(written["confusion_matrix"]) == written["n_test_utterances"] == 8
    assert ExperimentConfig.from_dict(written["config"]) == TINY
    assert written["corpus"] == "synthetic demo corpus"
    assert len(written["history"]["test_speaker_ua"]) == 2
    # The reported result is the last epoch's, the same one the monitor logged last.
    assert written["ua"] == pytest.approx(written["history"]["test_speaker_ua"][-1])

    with open(fold_dir / "predictions.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 8 and {r["speaker"] for r in rows} == {"Ses01M"}
    assert set(rows[0]) >= {"name", "speaker", "gender", "label", "prediction", "p_neutral",
                            "p_angry"}
    wa = np.mean([r["label"] == r["prediction"] for r in rows])
    assert wa == pytest.approx(written["wa"])

    model = keras.saving.load_model(fold_dir / "model.keras")
    assert model.model_config == TINY.model

    tags = _event_tags(fold_dir / "logs")
    for tag in ("epoch_loss", "epoch_emotion_loss", "epoch_domain_loss", "epoch_center_loss",
                "epoch_learning_rate", "epoch_test_speaker_wa", "epoch_test_speaker_ua"):
        assert tag in tags, tags
    assert results.y_pred.shape == (8,)


def test_summary_pools_folds(corpus, tmp_path):
    config = ExperimentConfig(model=TINY.model, train=TrainConfig(epochs=1, batch_size=8,
                                                                  monitor_test=False),
                              data=TINY.data)
    folds = [training.train_and_evaluate(config, corpus, f, tmp_path, verbose=0)
             for f in (0, 1)]
    summary = protocol.write_summary(folds, tmp_path)
    on_disk = json.loads((tmp_path / "summary.json").read_text())
    assert on_disk["n_folds"] == 2
    assert on_disk["wa_mean"] == pytest.approx(np.mean([f.wa for f in folds]))
    assert on_disk["n_utterances_pooled"] == 16
    assert "Pooled over 16 utterances" in (tmp_path / "summary.md").read_text()
    assert summary["folds"][1]["test_speaker"] == "Ses01M"


def test_robust_fold_selects_the_best_validation_epoch(corpus, tmp_path):
    import dataclasses
    config = ExperimentConfig(
        # Gain is effective only with speaker normalisation (config.py).
        model=dataclasses.replace(TINY.model, time_masks=1, time_mask_frames=10,
                                  freq_masks=1, freq_mask_bins=10,
                                  frontend=dataclasses.replace(TINY.model.frontend,
                                                               normalization="speaker")),
        train=TrainConfig(epochs=3, batch_size=8, optimizer="adamw", learning_rate=1e-3,
                          weight_decay=1e-2, schedule="cosine", warmup_fraction=0.2,
                          class_balance="weighted_loss", validation_speakers=2,
                          train_hop_s=0.5, random_crop=True, speed_factors=(0.9, 1.1),
                          gain_db=3.0, noise_snr_db=20.0, bn_recalibration_batches=2,
                          mixup_alpha=0.4),
        data=TINY.data)
    results = training.train_and_evaluate(config, corpus, 4, tmp_path, verbose=0)
    test_speaker = corpus.speakers[4]
    assert results.test_speaker == test_speaker
    assert len(results.validation_speakers) == 2
    assert test_speaker not in results.validation_speakers
    assert {corpus.gender_of(s) for s in results.validation_speakers} == {"F", "M"}
    history = results.history
    best = int(np.argmax(history["val_ua"])) + 1
    assert results.selected_epoch == best
    assert results.validation_ua == pytest.approx(max(history["val_ua"]))
    assert f"at epoch {best} of 3" in results.epoch_selection
    assert "test speaker never used" in results.epoch_selection
    # The result is the selected epoch's model: the test UA the monitor logged then
    # (with the BN statistics recalibrated before both, and saved in the checkpoint).
    assert results.ua == pytest.approx(history["test_speaker_ua"][best - 1])
    # Validation speakers were held out of training.
    written = json.loads((tmp_path / "fold_04" / "results.json").read_text())
    assert written["n_train_utterances"] + written["n_validation_utterances"] + \
        written["n_test_utterances"] == len(corpus.utterances)


@pytest.mark.parametrize("cpuinfo, want", [
    # The first processor's model and its widest vector instructions (x86 "flags").
    ("processor\t: 0\nmodel name\t: Intel(R) Xeon(R) Processor\nflags\t\t: fpu sse2 avx avx2 "
     "avx512f avx512bw\n\nprocessor\t: 1\nmodel name\t: other\n",
     "Intel(R) Xeon(R) Processor (avx512f)"),
    ("model name\t: AMD EPYC 7B13\nflags\t\t: fpu sse2 avx avx2\n", "AMD EPYC 7B13 (avx2)"),
    # Arm names its extensions "Features" and may have no model name: the platform's.
    ("processor\t: 0\nFeatures\t: fp asimd evtstrm\nCPU implementer\t: 0x41\n",
     "{platform} (asimd)"),
])
def test_cpu_name_reads_the_model_and_vector_instructions(tmp_path, cpuinfo, want):
    import platform
    path = tmp_path / "cpuinfo"
    path.write_text(cpuinfo)
    assert training.cpu_name(path) == want.format(
        platform=platform.processor() or platform.machine())


def test_cpu_name_without_cpuinfo_is_the_platforms_name(tmp_path):
    import platform
    assert training.cpu_name(tmp_path / "absent") in (
        platform.processor(), platform.machine(), "unknown")
