import numpy as np
import pytest

from adarl_tf import evaluation


def test_group_mean_averages_each_utterances_segments():
    probs = np.array([[1.0, 0.0], [0.0, 1.0], [0.2, 0.8], [0.6, 0.4], [0.4, 0.6]])
    np.testing.assert_allclose(evaluation.group_mean(probs, [2, 1, 2]),
                               [[0.5, 0.5], [0.2, 0.8], [0.5, 0.5]])
    with pytest.raises(ValueError, match="disagree"):
        evaluation.group_mean(probs, [2, 2])


def test_wa_ua_and_confusion_by_hand():
    labels = np.array([0, 0, 0, 0, 1, 1, 2, 3])
    preds = np.array([0, 0, 0, 1, 1, 0, 2, 0])
    probs = np.eye(4)[preds]
    s = evaluation.classification_scores(labels, probs, 4)
    assert s["wa"] == pytest.approx(5 / 8)
    assert s["ua"] == pytest.approx((3 / 4 + 1 / 2 + 1 + 0) / 4)
    assert s["confusion_matrix"][0] == [3, 1, 0, 0]
    assert s["confusion_matrix"][3] == [1, 0, 0, 0]


def test_pooled_and_mean():
    folds = [{"wa": 0.5, "ua": 0.5, "y_true": np.array([0, 1]), "y_pred": np.array([0, 0])},
             {"wa": 1.0, "ua": 1.0, "y_true": np.array([1, 1, 0, 0]),
              "y_pred": np.array([1, 1, 0, 0])}]
    out = evaluation.pooled_and_mean(folds)
    assert out["wa_mean"] == pytest.approx(0.75)
    assert out["wa_std"] == pytest.approx(np.std([0.5, 1.0], ddof=1))
    assert out["wa_pooled"] == pytest.approx(5 / 6)
    assert out["ua_pooled"] == pytest.approx((1.0 + 2 / 3) / 2)
    assert out["n_utterances_pooled"] == 6
