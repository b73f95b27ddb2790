"""The robust recipe's training cut, counted in plain Python (no TensorFlow).

`pipelines/augment.py` cuts training utterances by this rule in the graph;
`training.py` counts steps per epoch and class weights with it, and must
import without TensorFlow (JAX installs). See `augment.py` for the rule.
"""

import numpy as np

from adarl_tf.pipelines import rules


def _crops(train):
    return bool(train.train_hop_s or train.random_crop)


def count_crops(n_samples, segment_samples, hop_samples, min_tail_samples):
    """Training windows of an utterance of `n_samples` (the rule above)."""
    n = int(n_samples)
    if n < segment_samples:
        return 1
    regular = 1 + (n - segment_samples) // hop_samples
    rest = n - ((regular - 1) * hop_samples + segment_samples)
    return regular + int(rest > 0 and rest >= min_tail_samples)


def segment_counts(utterances, frontend, min_tail_s, train):
    """Training segments per utterance under `train`'s augmentation, as an array."""
    if not _crops(train):
        return rules.segments_per_utterance(utterances, frontend, min_tail_s)
    rate = frontend.sample_rate_hz
    hop = _hop_samples(frontend, train)
    return np.array([count_crops(u.samples_16k, frontend.segment_samples, hop,
                                 round(min_tail_s * rate)) for u in utterances], dtype="int64")


def steps_per_epoch(utterances, frontend, min_tail_s, batch_size, train):
    """Batches per training epoch (the last one may be short)."""
    return -(-int(segment_counts(utterances, frontend, min_tail_s, train).sum()) // batch_size)


def _hop_samples(frontend, train):
    if not train.train_hop_s:
        return frontend.segment_samples
    return max(int(round(train.train_hop_s * frontend.sample_rate_hz)), 1)


def class_weights(utterances, frontend, min_tail_s, train, n_classes, corpus=None):
    """Per-class loss weights n / (k n_c) over the training segments (scikit-learn's
    "balanced"); a class absent from the training fold gets weight 0.

    Returns a float32 array of length `n_classes`.
    """
    from sklearn.utils.class_weight import compute_class_weight
    labels, _ = rules.labels_of(utterances, corpus)
    per_segment = np.repeat(labels, segment_counts(utterances, frontend, min_tail_s, train))
    per_segment = per_segment[per_segment >= 0]
    present = np.unique(per_segment)
    weights = np.zeros(n_classes, "float32")
    weights[present] = compute_class_weight("balanced", classes=present, y=per_segment)
    return weights
