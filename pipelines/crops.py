"""The robust recipe's training cut and draws, stated in plain Python (no TensorFlow).

`pipelines/augment.py` cuts training utterances by this rule in the graph,
`pipelines/augment_arrays.py` (numpy, for JAX) with `window_starts` here;
`training.py` counts steps per epoch and class weights with it, and must
import without TensorFlow (JAX installs). See `augment.py` for the rule.
The seed streams, the SNR range and the sampler's class draws live here too,
so that the two pipelines cannot drift apart.
"""

import numpy as np

from adarl_tf.pipelines import rules

# `rules.epoch_seed(seed, epoch, stream)` streams: 0 and 1 are the utterance and
# segment shuffles (rules.py), these the per-utterance draws and the sampler.
CROP_STREAM, SAMPLER_STREAM = 2, 3
MAX_SNR_DB = 40.0  # Noise SNRs are drawn in [noise_snr_db, this].


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


def window_starts(n, segment_samples, hop_samples, min_tail_samples, random_crop, u):
    """(k,) int64 start of each training window of an utterance of `n` samples.

    `u`, a uniform draw in [0, 1), places the windows (`random_crop`); a
    negative start (short utterance) means leading zeros. The numpy statement
    of `augment.window_starts` (same float32 arithmetic, same starts for the
    same `u`).
    """
    n, L, h = int(n), segment_samples, hop_samples
    if n < L:
        shift = int(np.floor(np.float32(u) * np.float32(L - n + 1))) if random_crop else 0
        return np.array([-shift], "int64")
    regular = 1 + (n - L) // h
    rest = n - ((regular - 1) * h + L)
    offset = int(np.floor(np.float32(u) * np.float32(rest + 1))) if random_crop else 0
    starts = offset + np.arange(regular, dtype="int64") * h
    if rest > 0 and rest >= min_tail_samples:
        starts = np.append(starts, n - L)
    return starts


def training_starts(n, frontend, min_tail_s, train, u, tail="pad"):
    """Window starts under `train`: `window_starts`, or the paper's cut without crops
    (its kept tail ending at the last sample with `tail="overlap"`)."""
    L = frontend.segment_samples
    min_tail = round(min_tail_s * frontend.sample_rate_hz)
    if _crops(train):
        return window_starts(n, L, _hop_samples(frontend, train), min_tail, train.random_crop, u)
    starts = np.arange(rules.count_segments(n, L, min_tail), dtype="int64") * L
    if tail == "overlap" and n > L:
        starts = np.where(starts + L > n, n - L, starts)
    return starts


def sampler_groups(labels):
    """`class_balance=sampler`: (classes present, utterance indices of each).

    Utterances without an emotion label are in no group: never drawn.
    """
    labels = np.asarray(labels)
    classes = sorted({int(c) for c in labels if c >= 0})
    if not classes:
        raise ValueError("class_balance=sampler: no emotion-labelled training utterance")
    return classes, [np.flatnonzero(labels == c) for c in classes]


def sampler_choice(seed, epoch, n_groups, n_segments):
    """The sampler's class (index into `sampler_groups`) for each element of an epoch.

    Uniform over the classes present, seeded by (seed, epoch) only, so a
    resumed epoch draws the same classes.
    """
    rng = np.random.default_rng(rules.epoch_seed(seed, epoch, SAMPLER_STREAM))
    return rng.integers(0, n_groups, n_segments).astype("int64")


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
