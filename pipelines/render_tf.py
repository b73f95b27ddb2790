"""A `plan.Plan` rendered with tf.data: the same batches as `render_numpy.py`.

Order, and why: decode every utterance once per process (`audio_io.decode`, parallel; WAV
in the graph, others through tensorflow-io or scipy) into one cached buffer;
then map over the plan's elements (read the window at its rate, gain, noise on
the real samples), batch as the plan says, prefetch so that the accelerator
never waits. The plan has already shuffled: nothing here draws a number
(the noise comes from `plan.noise`, the one generator both renderers use).
"""

import functools

import numpy as np
import tensorflow as tf

from adarl_tf.pipelines import audio_io
from adarl_tf.pipelines.plan import FIELDS, mix_batch, noise

AUTOTUNE = tf.data.AUTOTUNE


def _decoded(utterances):
    """(buffer, offsets, lengths): every waveform back to back, decoded once."""
    return _decode(tuple(utterances), tf.distribute.has_strategy())


# The last two sets decoded, for the process: a fold's training set, and the validation set
# that is scored after every epoch (no more: a corpus's buffer can be gigabytes).
@functools.lru_cache(maxsize=2)
def _decode(utterances, mirrored):
    paths = [str(u.path) for u in utterances]
    lengths, kinds, rates, delays = audio_io.decoder_arrays(utterances)
    ds = tf.data.Dataset.from_tensor_slices((paths, lengths, kinds, rates, delays))
    ds = ds.map(audio_io.decode, num_parallel_calls=AUTOTUNE, deterministic=True)
    waves = [w for w in ds] or [tf.zeros([0])]
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype("int64")
    buffer = tf.concat(waves, 0)
    if not mirrored:  # Under a strategy's scope it would be mirrored.
        # A variable, not a constant in a serialised dataset graph (a GraphDef's 2 GB limit).
        buffer = tf.Variable(buffer, trainable=False)
    return buffer, tf.constant(offsets), tf.constant(np.asarray(lengths, "int64"))


def read_windows(buffer, offset, n, start, factor, segment):
    """(L,) window from `start` at rate `factor` (linear interpolation, zeros outside
    the utterance), and its (L,) float mask of the samples inside it."""
    ramp = tf.range(segment, dtype=tf.int64)
    pos = tf.cast(start, tf.float32) + tf.cast(ramp, tf.float32) * factor
    same = tf.equal(factor, 1.0)  # Integer positions: exact however long the utterance.
    i0 = tf.where(same, start + ramp, tf.cast(tf.floor(pos), tf.int64))
    frac = tf.where(same, 0.0, pos - tf.floor(pos))

    def at(i):
        valid = tf.logical_and(i >= 0, i < n)
        return tf.where(valid, tf.gather(buffer, offset + tf.clip_by_value(i, 0, n - 1)), 0.0)

    inside = tf.where(same, tf.logical_and(i0 >= 0, i0 < n),
                      tf.logical_and(pos >= 0.0, pos <= tf.cast(n - 1, tf.float32)))
    return at(i0) * (1.0 - frac) + at(i0 + 1) * frac, tf.cast(inside, tf.float32)


def _renderer(utterances, plan, stats_table, labels):
    buffer, offsets, lengths = _decoded(utterances)
    stats = plan.stats(stats_table)
    L = plan.cut.segment

    def render(e):
        u = e["utterance"]
        window, inside = read_windows(buffer, offsets[u], lengths[u], e["start"],
                                      e["factor"], L)
        window = window * e["gain"]

        def noisy():
            rms = tf.sqrt(tf.reduce_sum(tf.square(tf.cast(window, tf.float64)))
                          / tf.maximum(tf.reduce_sum(tf.cast(inside, tf.float64)), 1.0))
            scale = tf.cast(rms * tf.cast(tf.pow(10.0, -e["snr_db"] / 20.0), tf.float64),
                            tf.float32)
            z = tf.numpy_function(lambda s, i, j: noise(s, i, j, L),
                                  [e["draw_seed"], u, e["window"]], tf.float32, stateful=False)
            return window + tf.reshape(z, [L]) * inside * scale

        window = tf.cond(tf.math.is_nan(e["snr_db"]), lambda: window, noisy)
        x = window if stats is None else {"waveform": window,
                                          "speaker_stats": tf.gather(stats, e["speaker"])}
        if not labels:
            return x
        targets = {"emotion": e["emotion"], "domain": e["domain"]}
        if plan.mixup:  # Mixed once batched (`mix_batch`).
            targets.update(partner=e["partner"], mix=e["mix"])
        return x, targets

    return render


def _dataset(utterances, plan, stats_table, labels):
    """The plan's batches: runs of full batches, each ended by a short one (an epoch's last)."""
    render = _renderer(utterances, plan, stats_table, labels)
    size = plan.batch_size
    runs, begin = [], 0
    for i, (b, end) in enumerate(plan.batches):
        if end - b < size or i == len(plan.batches) - 1:
            runs.append((begin, end))
            begin = end
    ds = None
    for begin, end in runs:
        part = tf.data.Dataset.from_tensor_slices(
            {f: plan.columns[f][begin:end] for f in FIELDS})
        part = part.map(render, num_parallel_calls=AUTOTUNE, deterministic=True).batch(size)
        if labels and plan.mixup:
            part = part.map(lambda x, y: mix_batch(x, y, tf.gather),
                            num_parallel_calls=AUTOTUNE, deterministic=True)
        ds = part if ds is None else ds.concatenate(part)
    return ds.prefetch(AUTOTUNE)


def training_data(utterances, plan, rate=None, stats_table=None):
    """The plan's `(inputs, {"emotion", "domain"})` batches (`rate`: the numpy signature)."""
    del rate  # audio_io decodes at 16 kHz, the model's rate.
    return _dataset(utterances, plan, stats_table, labels=True)


def scoring_data(utterances, plan, rate=None, stats_table=None):
    """The plan's input batches, in order, for `model.predict`."""
    del rate
    return _dataset(utterances, plan, stats_table, labels=False)

