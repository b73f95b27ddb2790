"""The numpy twin of `augment.py`: the robust recipe's training batches without TensorFlow.

Used instead of `augment.training_dataset` with the numpy pipeline
(`--pipeline=numpy`, or wherever TensorFlow is not installed: JAX). Same
rules, parameters and seeding (the rule is stated in `augment.py`'s doc):
windows from `crops.window_starts` (overlap `train_hop_s`, `random_crop`),
one of `speed_factors` per window read by the same linear interpolation,
a gain uniform in +-`gain_db`, white noise at an SNR uniform in
[`noise_snr_db`, `crops.MAX_SNR_DB`] relative to the window's RMS after the
gain; `class_balance="sampler"` draws each element's class with
`crops.sampler_choice`. Evaluation never comes here (`arrays.evaluation_dataset`).

Every draw of an utterance is seeded by (`rules.epoch_seed(seed, epoch,
crops.CROP_STREAM)`, utterance index), as in `augment.py`, so a resumed fold
replays its epochs and the draws do not depend on the order. The numbers
differ from tf.data's (numpy's generators, not tf's stateless ones); the
distributions are the same.

An epoch is planned first (per utterance: window starts, factors, gains,
SNRs; then the order of its (utterance, window) pairs) and each batch's
windows are read only when the batch is due: with overlapping windows an
epoch holds several times the audio, too much to materialise for a large
corpus (the plain numpy pipeline, `arrays.py`, does materialise its epoch).
"""

import numpy as np

from adarl_tf.pipelines import crops, rules
from adarl_tf.pipelines.arrays import decode
# The TF-free counting, re-exported so that callers keep one import (as augment.py).
from adarl_tf.pipelines.crops import (class_weights, count_crops,  # noqa: F401
                                      segment_counts, steps_per_epoch)

# Sub-streams of an utterance's draws (SeedSequence spawn keys).
_CROP, _SPEED, _GAIN, _SNR, _NOISE = range(5)


def _rng(crop_seed, index, *key):
    return np.random.default_rng(np.random.SeedSequence([crop_seed, int(index)],
                                                        spawn_key=key))


def plan_utterance(n, index, crop_seed, frontend, min_tail_s, train, tail="pad"):
    """One utterance's draws for one epoch: dict of (k,) `starts`, `factors`, `gains`, `snr_db`.

    `gains` are linear; `snr_db` is NaN without noise.
    """
    u = _rng(crop_seed, index, _CROP).random() if train.random_crop else 0.0
    starts = crops.training_starts(n, frontend, min_tail_s, train, u, tail)
    k = len(starts)
    factors = np.ones(k, "float32")
    if train.speed_factors:
        choice = _rng(crop_seed, index, _SPEED).integers(0, len(train.speed_factors), k)
        factors = np.asarray(train.speed_factors, "float32")[choice]
    gains = np.ones(k, "float32")
    if train.gain_db:
        gain_db = _rng(crop_seed, index, _GAIN).uniform(-train.gain_db, train.gain_db, k)
        gains = (10.0 ** (gain_db / 20.0)).astype("float32")
    snr_db = np.full(k, np.nan, "float32")
    if train.noise_snr_db is not None:
        high = max(crops.MAX_SNR_DB, train.noise_snr_db)
        snr_db = _rng(crop_seed, index, _SNR).uniform(train.noise_snr_db, high,
                                                      k).astype("float32")
    return {"starts": starts, "factors": factors, "gains": gains, "snr_db": snr_db}


def read_window(waveform, start, factor, segment_samples):
    """(L,) window of `waveform` from `start`, read at rate `factor`, and its (L,) bool
    mask of the samples inside the utterance.

    Linear interpolation, samples outside the utterance are zeros: the
    arithmetic of `augment.read_windows` (float32 positions).
    """
    n = len(waveform)
    if factor == 1.0:  # Every weight is 0 or 1: a zero-padded slice, several times faster.
        start, window = int(start), np.zeros(segment_samples, "float32")
        inside = np.zeros(segment_samples, bool)
        lo, hi = max(start, 0), min(start + segment_samples, n)
        if hi > lo:
            window[lo - start:hi - start] = waveform[lo:hi]
            inside[lo - start:hi - start] = True
        return window, inside
    pos = np.float32(start) + np.arange(segment_samples, dtype="float32") * np.float32(factor)
    i0 = np.floor(pos)
    frac = pos - i0
    i0 = i0.astype("int64")

    def at(i):
        return np.where((i >= 0) & (i < n), waveform[np.clip(i, 0, max(n - 1, 0))], 0.0)

    inside = (pos >= 0) & (pos <= n - 1)
    return (at(i0) * (1.0 - frac) + at(i0 + 1) * frac).astype("float32"), inside


def render(waveform, plan, j, crop_seed, index, segment_samples):
    """Window `j` of an utterance, augmented by its `plan` (speed, gain, noise)."""
    window, inside = read_window(waveform, plan["starts"][j], plan["factors"][j],
                                 segment_samples)
    window *= plan["gains"][j]
    if not np.isnan(plan["snr_db"][j]):
        # On the real samples only: padding stays exactly zero, as when scored.
        rms = np.sqrt(np.sum(np.square(window, dtype="float64")) / max(inside.sum(), 1))
        noise = _rng(crop_seed, index, _NOISE, j).standard_normal(segment_samples, "float32")
        window += noise * inside * np.float32(rms * 10.0 ** (-plan["snr_db"][j] / 20.0))
    return window


def epoch_order(counts, labels, train, epoch):
    """(utterance, window) index pairs of one epoch, in training order: (n, 2) int64.

    Without the sampler, the utterances shuffled (stream 0) and then all
    their windows (stream 1), the complete shuffle of `arrays.py`. With it,
    each element's class from `crops.sampler_choice`, filled from that class's
    windows cycled in a new shuffled order each pass; as many elements as
    windows, unlabelled utterances never drawn.
    """
    s0 = rules.epoch_seed(train.seed, epoch, 0)
    s1 = rules.epoch_seed(train.seed, epoch, 1)

    def pairs_of(utterances):
        return np.array([(i, j) for i in utterances for j in range(counts[i])],
                        "int64").reshape(-1, 2)

    if train.class_balance != "sampler":
        order = np.random.default_rng(s0).permutation(len(counts))
        pairs = pairs_of(order)
        return pairs[np.random.default_rng(s1).permutation(len(pairs))]
    _, groups = crops.sampler_groups(labels)
    n_segments = int(np.sum(counts))
    choice = crops.sampler_choice(train.seed, epoch, len(groups), n_segments)
    out = np.zeros((n_segments, 2), "int64")
    for g, idx in enumerate(groups):
        where = np.flatnonzero(choice == g)
        rng = np.random.default_rng(np.random.SeedSequence(s1, spawn_key=(g,)))
        pool = pairs_of(idx)
        passes = -(-len(where) // len(pool))
        cycled = np.concatenate([pool[rng.permutation(len(pool))] for _ in range(passes)]
                                or [pool[:0]])
        out[where] = cycled[:len(where)]
    return out


def training_dataset(utterances, frontend, min_tail_s, train, shuffle_buffer=1024,
                     first_epoch=0, corpus=None, batch_size=None, tail="pad", stats=None):
    """A generator of batches of epochs `first_epoch` ... `train.epochs - 1`, as `augment.py`.

    Give Keras `steps_per_epoch=steps_per_epoch(..., batch_size, train)`.
    `shuffle_buffer` is accepted for `augment.training_dataset`'s signature
    and not used (the shuffle is complete); `batch_size` defaults to
    `train.batch_size`.
    """
    del shuffle_buffer
    batch_size = batch_size or train.batch_size
    if not 0 <= first_epoch < train.epochs:
        raise ValueError(f"first_epoch={first_epoch} must be in 0..{train.epochs - 1}")
    counts = segment_counts(utterances, frontend, min_tail_s, train)
    emotion, domain = rules.labels_of(utterances, corpus)
    if train.class_balance == "sampler":
        crops.sampler_groups(emotion)  # Fail now, not at the first batch.
    L, rate = frontend.segment_samples, frontend.sample_rate_hz

    def batches():
        waveforms = [decode(u, rate) for u in utterances]
        for epoch in range(first_epoch, train.epochs):
            crop_seed = rules.epoch_seed(train.seed, epoch, crops.CROP_STREAM)
            plans = [plan_utterance(len(w), i, crop_seed, frontend, min_tail_s, train, tail)
                     for i, w in enumerate(waveforms)]
            pairs = epoch_order(counts, emotion, train, epoch)
            for start in range(0, len(pairs), batch_size):
                chunk = pairs[start:start + batch_size]
                x = np.stack([render(waveforms[i], plans[i], j, crop_seed, i, L)
                              for i, j in chunk])
                s = None if stats is None else np.asarray(stats)[chunk[:, 0]]
                yield (rules.with_stats(x, s),
                       {"emotion": emotion[chunk[:, 0]], "domain": domain[chunk[:, 0]]})

    return batches()
