"""Utterance-level scoring: segment probabilities averaged, then WA and UA.

WA is the overall accuracy and UA the mean of per-class recalls
(scikit-learn's `accuracy_score` and `balanced_accuracy_score`). UA averages
over the classes present in the test set, so a test speaker with no example
of a class is not scored on it. No TensorFlow import here.
"""

import numpy as np
from sklearn import metrics


def group_mean(segment_values, segments_per_utterance):
    """Averages consecutive rows: (n_segments, k) -> (n_utterances, k)."""
    segment_values = np.asarray(segment_values)
    counts = np.asarray(segments_per_utterance)
    if counts.sum() != len(segment_values):
        raise ValueError(f"{len(segment_values)} segment scores for {counts.sum()} "
                         "segments: the pipeline and count_segments disagree")
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    return np.add.reduceat(segment_values, starts, axis=0) / counts[:, None]


def classification_scores(labels, probs, n_classes):
    """WA, UA and the confusion matrix (rows truth, columns prediction)."""
    labels = np.asarray(labels)
    predictions = np.asarray(probs).argmax(axis=-1)
    return {
        "wa": float(metrics.accuracy_score(labels, predictions)),
        "ua": float(metrics.balanced_accuracy_score(labels, predictions)),
        "confusion_matrix": metrics.confusion_matrix(
            labels, predictions, labels=list(range(n_classes))).tolist(),
    }


def pooled_and_mean(fold_results):
    """Mean and std of per-fold WA/UA, and WA/UA over all folds' utterances pooled.

    Args:
        fold_results: list of dicts with `wa`, `ua`, `y_true`, `y_pred`.
    """
    out = {}
    for key in ("wa", "ua"):
        values = np.array([r[key] for r in fold_results])
        out[f"{key}_mean"] = float(values.mean())
        out[f"{key}_std"] = float(values.std(ddof=1)) if len(values) > 1 else 0.0
    y_true = np.concatenate([r["y_true"] for r in fold_results])
    y_pred = np.concatenate([r["y_pred"] for r in fold_results])
    out["wa_pooled"] = float(metrics.accuracy_score(y_true, y_pred))
    out["ua_pooled"] = float(metrics.balanced_accuracy_score(y_true, y_pred))
    out["n_utterances_pooled"] = int(len(y_true))
    return out
