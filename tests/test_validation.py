"""Validation speakers: chosen among the training speakers, and the epoch they select."""

import numpy as np
import pytest

from adarl_tf import protocol, validation
from adarl_tf.corpora.corpus import Utterance

SPEAKERS = ["S01F", "S01M", "S02F", "S02M", "S03F", "S03M", "S04F", "S04M", "S05F", "S05M"]
GENDERS = {s: s[-1] for s in SPEAKERS}


@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_never_the_test_speaker_and_gender_balanced(k):
    seen = set()
    for test in SPEAKERS:
        chosen = protocol.select_validation_speakers(SPEAKERS, GENDERS, test, k)
        assert len(chosen) == len(set(chosen)) == k
        assert test not in chosen
        genders = [GENDERS[s] for s in chosen]
        assert abs(genders.count("F") - genders.count("M")) <= 1
        # Deterministic.
        assert chosen == protocol.select_validation_speakers(SPEAKERS, GENDERS, test, k)
        seen.add(tuple(chosen))
    assert len(seen) > 1  # Folds do not all hold out the same speakers.


def test_one_gender_only_and_limits():
    speakers, select = ["a", "b", "c"], protocol.select_validation_speakers
    assert select(speakers, dict.fromkeys(speakers, "F"), "b", 1) == ["c"]
    assert select(speakers, dict.fromkeys(speakers, "F"), "b", 0) == []
    with pytest.raises(ValueError, match="at least one must be left"):
        select(speakers, dict.fromkeys(speakers, "F"), "b", 2)
    with pytest.raises(ValueError, match="not speakers of the corpus"):
        select(speakers, dict.fromkeys(speakers, "F"), "z", 1)


def test_a_fold_of_several_test_speakers_keeps_all_of_them_out():
    for i in range(0, len(SPEAKERS), 2):
        tests = SPEAKERS[i:i + 2]
        chosen = protocol.select_validation_speakers(SPEAKERS, GENDERS, tests, 2)
        assert not set(chosen) & set(tests)
        assert sorted(GENDERS[s] for s in chosen) == ["F", "M"]


def test_split_validation_moves_the_speakers_out_of_training():
    utts = [Utterance(f"u{i}", f"/x/u{i}.wav", s, GENDERS[s], "sad" if i % 3 else None, 2.0)
            for i, s in enumerate(SPEAKERS[:4] * 2)]
    train, held = protocol.split_validation(utts, ["S01M", "S02F"])
    assert {u.speaker for u in train} == {"S01F", "S02M"}
    assert {u.speaker for u in held} <= {"S01M", "S02F"} and held
    assert all(u.label is not None for u in held)  # Scored: emotion-labelled only.


def test_best_epoch_and_resumed_early_stopping():
    history = {"val_ua": [0.2, 0.5, 0.4, 0.5, 0.3]}
    assert protocol.best_epoch(history) == (2, 0.5)  # First of ties.
    assert protocol.best_epoch({}) == (None, None)
    stopper = validation.ResumableEarlyStopping(patience=4, history=history)
    stopper.on_train_begin()
    assert stopper.best == 0.5 and stopper.wait == 3  # Epochs 3..5 did not improve.


class _Model:
    stop_training = False


def test_early_stopping_counts_on_after_a_resume():
    stopper = validation.ResumableEarlyStopping(patience=3, history={"val_ua": [0.6, 0.4]})
    stopper.set_model(_Model())
    stopper.on_train_begin()
    stopper.on_epoch_end(2, {"val_ua": 0.5})
    assert not stopper.model.stop_training
    stopper.on_epoch_end(3, {"val_ua": 0.55})  # The third epoch since the best (0.6).
    assert stopper.model.stop_training


def test_validation_score_logs_utterance_ua():
    labels = np.array([0, 0, 1, 2])
    probs = np.eye(3)[[0, 1, 1, 2]]
    score = validation.ValidationScore(lambda model, utts: probs, ["u"] * 4, labels, 3)
    logs = {}
    score.on_epoch_end(0, logs)
    assert logs["val_ua"] == pytest.approx((0.5 + 1 + 1) / 3)
    assert logs["val_wa"] == pytest.approx(0.75)


def test_select_epoch_never_reads_the_test_speaker():
    history = {"loss": [3.0, 2.0, 1.0], "val_ua": [0.4, 0.6, 0.5],
               "test_speaker_ua": [0.9, 0.1, 0.2]}
    choice = protocol.select_epoch(history, ["S02F"], stopped_early=False)
    assert (choice.epoch, choice.validation_ua, choice.best_weights) == (2, 0.6, True)
    assert "at epoch 2 of 3 on speakers S02F" in choice.reason
    last = protocol.select_epoch(history, [], stopped_early=False)
    assert (last.epoch, last.validation_ua, last.best_weights) == (3, None, False)
