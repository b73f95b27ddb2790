"""The training pipeline of the robust recipe: augmentation and class-balanced sampling.

Used instead of `segments.training_dataset` when `TrainConfig.augments` or
`class_balance="sampler"`; evaluation always goes through
`segments.evaluation_dataset`, so nothing here reaches a score.

Segments (per utterance of n samples, segment L, hop h = `train_hop_s` or L):
  * n >= L: `1 + (n - L) // h` windows h apart inside the utterance, plus one
    window ending at the last sample when what the regular windows leave
    (r samples) is at least `min_tail_s` long. With `random_crop`, the regular
    windows start at an offset drawn in [0, r] each epoch: every window stays
    inside the utterance, and their number does not depend on the draw.
  * n < L: one window; with `random_crop` the utterance sits at a random
    position inside it (zeros around), else at the start (as in the paper).
  Without `random_crop` and `train_hop_s`, the paper's cut (`segments`) is used.
  The counts are plain Python (`crops.segment_counts`), so steps per epoch are exact.

Per segment, then: speed perturbation (the window is read at rate f, one of
`speed_factors`, by linear interpolation of the utterance: f > 1 is faster and
reads f L samples, zeros past the end), a gain uniform in +-`gain_db` and
white noise at an SNR uniform in [`noise_snr_db`, 40] dB relative to the
segment's RMS. The interpolation is hand-written (tf has no resampler); it has
no anti-alias filter, which only affects content above 16 kHz / (2 f) > 7 kHz,
far above the model's band (`max_freq_hz`, 4 kHz).

Every draw is stateless, seeded by (`segments.epoch_seed(seed, epoch, 2)`,
utterance index): epoch e gets the same crops whether training started at 0
or resumed at e, and the draws do not depend on the shuffled order.

Balanced sampling (`class_balance="sampler"`): each batch element's emotion
is drawn uniformly among the classes present, then a segment of that class
(each class's segments cycled in a shuffled order); the epoch has as many
segments as without it. Segments without an emotion label are not drawn.
"""

import numpy as np
import tensorflow as tf

from adarl_tf.pipelines import segments as seg
# The TF-free counting (shared with training.py, which must import without
# TensorFlow), re-exported so that callers keep one import.
from adarl_tf.pipelines import crops
from adarl_tf.pipelines.crops import (_crops, _hop_samples, class_weights,  # noqa: F401
                                      count_crops, segment_counts, steps_per_epoch)

AUTOTUNE = tf.data.AUTOTUNE
_CROP_STREAM, _MAX_SNR_DB = crops.CROP_STREAM, crops.MAX_SNR_DB


def window_starts(n, segment_samples, hop_samples, min_tail_samples, random_crop, u):
    """(k,) int32 start of each window in an utterance of `n` samples (tf).

    `u` is a uniform draw in [0, 1) that places the windows (`random_crop`).
    A negative start (short utterance) means leading zeros. The graph twin of
    `crops.window_starts` (the numpy pipeline's; tests check they agree).
    """
    n = tf.cast(n, tf.int32)
    L, h = segment_samples, hop_samples

    def long_utterance():
        regular = 1 + (n - L) // h
        rest = n - ((regular - 1) * h + L)
        offset = tf.cast(tf.floor(u * tf.cast(rest + 1, tf.float32)), tf.int32) \
            if random_crop else 0
        starts = offset + tf.range(regular) * h
        extra = tf.logical_and(rest > 0, rest >= min_tail_samples)
        return tf.cond(extra, lambda: tf.concat([starts, [n - L]], 0), lambda: starts)

    def short_utterance():
        slack = L - n
        shift = tf.cast(tf.floor(u * tf.cast(slack + 1, tf.float32)), tf.int32) \
            if random_crop else 0
        return tf.reshape(-shift, [1])

    return tf.cond(n >= L, long_utterance, short_utterance)


def read_windows(waveform, starts, factors, segment_samples):
    """(k, L) windows of `waveform` from `starts`, read at rate `factors` (k,).

    Linear interpolation; samples outside the utterance are zeros. Returns
    the windows and a (k, L) float mask of the samples inside the utterance.
    """
    n = tf.shape(waveform)[0]
    pos = tf.cast(starts, tf.float32)[:, None] + \
        tf.range(segment_samples, dtype=tf.float32)[None, :] * factors[:, None]
    i0 = tf.floor(pos)
    frac = pos - i0
    i0 = tf.cast(i0, tf.int32)

    def at(i):
        valid = tf.logical_and(i >= 0, i < n)
        return tf.where(valid, tf.gather(waveform, tf.clip_by_value(i, 0, n - 1)), 0.0)

    inside = tf.logical_and(pos >= 0.0, pos <= tf.cast(n - 1, tf.float32))
    return at(i0) * (1.0 - frac) + at(i0 + 1) * frac, tf.cast(inside, tf.float32)


def augment_utterance(waveform, index, epoch_seed_value, frontend, min_tail_s, train,
                      tail="pad"):
    """(k, L) augmented training segments of one utterance (see the module doc)."""
    L = frontend.segment_samples
    min_tail = round(min_tail_s * frontend.sample_rate_hz)
    seed = tf.stack([tf.constant(epoch_seed_value, tf.int64), tf.cast(index, tf.int64)])
    seeds = tf.random.experimental.stateless_split(seed, 5)
    if _crops(train):
        u = tf.random.stateless_uniform([], seeds[0])
        starts = window_starts(tf.shape(waveform)[0], L, _hop_samples(frontend, train),
                               min_tail, train.random_crop, u)
    else:
        n = tf.shape(waveform)[0]
        k = tf.shape(seg.segment_waveform(waveform, L, min_tail))[0]
        starts = tf.range(k) * L
        if tail == "overlap":  # The kept tail ends at the last sample, as scored.
            starts = tf.where(tf.logical_and(starts + L > n, n > L), n - L, starts)
    k = tf.shape(starts)[0]
    if train.speed_factors:
        choice = tf.random.stateless_uniform([k], seeds[1], 0, len(train.speed_factors),
                                             dtype=tf.int32)
        factors = tf.gather(tf.constant(train.speed_factors, tf.float32), choice)
    else:
        factors = tf.ones([k], tf.float32)
    windows, inside = read_windows(waveform, starts, factors, L)
    if train.gain_db:
        gain_db = tf.random.stateless_uniform([k, 1], seeds[2], -train.gain_db, train.gain_db)
        windows = windows * tf.pow(10.0, gain_db / 20.0)
    if train.noise_snr_db is not None:
        snr_db = tf.random.stateless_uniform([k, 1], seeds[3], train.noise_snr_db,
                                             max(_MAX_SNR_DB, train.noise_snr_db))
        # Noise on the real samples only: padding stays exactly zero, as when
        # scored (the model leaves all-zero frames out).
        count = tf.maximum(tf.reduce_sum(inside, axis=1, keepdims=True), 1.0)
        rms = tf.sqrt(tf.reduce_sum(tf.square(windows), axis=1, keepdims=True) / count)
        noise = tf.random.stateless_normal(tf.shape(windows), seeds[4]) * inside
        windows = windows + noise * rms * tf.pow(10.0, -snr_db / 20.0)
    return windows


def training_dataset(utterances, frontend, min_tail_s, train, shuffle_buffer=1024,
                     first_epoch=0, corpus=None, batch_size=None, tail="pad", stats=None):
    """Batches of epochs `first_epoch` ... `train.epochs - 1`, as `segments.training_dataset`.

    `tail` and `stats` (per-utterance speaker statistics) as there.

    Give Keras `steps_per_epoch=steps_per_epoch(..., batch_size, train)`. `corpus`
    supplies the class and domain sets of the targets (`segments.labels_of`);
    `batch_size` (the global batch under a strategy) defaults to `train.batch_size`.
    """
    batch_size = batch_size or train.batch_size
    if not 0 <= first_epoch < train.epochs:
        raise ValueError(f"first_epoch={first_epoch} must be in 0..{train.epochs - 1}")
    counts = segment_counts(utterances, frontend, min_tail_s, train)
    n_segments = int(counts.sum())
    steps = -(-n_segments // batch_size)
    labels, _ = seg.labels_of(utterances, corpus)
    sampler = train.class_balance == "sampler"
    if sampler:
        _, groups = crops.sampler_groups(labels)
    else:
        groups = [np.arange(len(utterances))]
    # One cache per group, shared by every epoch: files are decoded once.
    cached = [tf.data.Dataset.zip(tf.data.Dataset.from_tensor_slices(idx.astype("int64")),
                                  seg._decoded([utterances[i] for i in idx], corpus,
                                               stats=None if stats is None else
                                               np.asarray(stats)[idx])).cache()
              for idx in groups]

    def segments_of(ds, epoch):
        crop_seed = seg.epoch_seed(train.seed, epoch, _CROP_STREAM)

        def cut(index, element):
            waveform, emotion, domain, speaker_stats = element
            windows = augment_utterance(waveform, index, crop_seed, frontend, min_tail_s,
                                        train, tail)
            k = tf.shape(windows)[0]
            return (seg.model_input(windows, speaker_stats, stats is not None),
                    {"emotion": tf.fill([k], emotion), "domain": tf.fill([k], domain)})

        return ds.map(cut, num_parallel_calls=AUTOTUNE, deterministic=True).unbatch()

    def one_epoch(epoch):
        s0, s1 = seg.epoch_seed(train.seed, epoch, 0), seg.epoch_seed(train.seed, epoch, 1)
        if not sampler:
            ds = cached[0].shuffle(len(utterances), seed=s0)
            ds = segments_of(ds, epoch).shuffle(shuffle_buffer, seed=s1)
        else:
            per_class = [segments_of(c.shuffle(len(idx), seed=s0 + j), epoch)
                         .shuffle(shuffle_buffer, seed=s1 + j).repeat()
                         for j, (c, idx) in enumerate(zip(cached, groups))]
            choice = tf.data.Dataset.from_tensor_slices(
                crops.sampler_choice(train.seed, epoch, len(groups), n_segments))
            ds = tf.data.Dataset.choose_from_datasets(per_class, choice)
        ds = ds.batch(batch_size)
        return ds.apply(tf.data.experimental.assert_cardinality(steps))

    ds = None
    for epoch in range(first_epoch, train.epochs):
        part = one_epoch(epoch)
        ds = part if ds is None else ds.concatenate(part)
    return ds.prefetch(AUTOTUNE)
