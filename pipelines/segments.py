"""From utterances on disk to batches of 3 s waveform segments, with tf.data.

The network takes fixed-length raw audio and computes its own spectrogram
(the `Spectrogram` layer), so the pipeline only decodes, cuts and batches.

Segmentation (SPEC §2): an utterance is cut into non-overlapping segments of
`segment_samples`; the tail left after the last full segment becomes one more
zero-padded segment when it is at least `min_tail_samples` long, otherwise it
is dropped; an utterance shorter than one segment always gives one padded
segment. `rules.count_segments` states the same rule in plain Python, so that step
counts and the grouping of segment scores into utterances agree with the graph.

Audio of any format, rate and channel count (`pipelines/audio_io.py`): a
16 kHz mono 16-bit WAV is decoded in the graph (`tf.audio.decode_wav`);
others with tensorflow-io where its ops load, else through
`adarl_tf.audio.load_audio` (scipy's polyphase resampler, channel mix-down)
inside `tf.numpy_function`. Either way the waveform is then cut or padded to
`Utterance.samples_16k`, the length the plain-Python counting uses, so the
two can never disagree.
"""

import numpy as np
import tensorflow as tf

from adarl_tf.pipelines import audio_io
# The TF-free rule, labels and seeds (shared with the numpy pipeline), re-exported
# so that callers keep one import.
from adarl_tf.pipelines.rules import (count_segments, epoch_seed, labels_of,  # noqa: F401
                                      segments_per_utterance, steps_per_epoch,
                                      utterance_labels)
from adarl_tf.pipelines.rules import with_stats as with_stats_of  # The input dict's one writer.

AUTOTUNE = tf.data.AUTOTUNE


def segment_waveform(waveform, segment_samples, min_tail_samples, tail="pad"):
    """(n,) float waveform -> (k, segment_samples) segments, the rule above.

    `tail="overlap"`: a kept tail is the utterance's last `segment_samples`
    instead of the tail and zeros (`rules.cut_segments`).
    """
    n = tf.shape(waveform)[0]
    full, rest = n // segment_samples, n % segment_samples
    keep_tail = tf.logical_and(rest > 0,
                               tf.logical_or(rest >= min_tail_samples, full == 0))
    k = tf.maximum(full + tf.cast(keep_tail, tf.int32), 1)
    kept = waveform[:k * segment_samples]
    padded = tf.pad(kept, [[0, k * segment_samples - tf.shape(kept)[0]]])
    segments = tf.reshape(padded, [k, segment_samples])
    if tail == "overlap":
        last = waveform[tf.maximum(n - segment_samples, 0):]
        overlap = tf.logical_and(n > segment_samples, k * segment_samples > n)
        segments = tf.cond(overlap, lambda: tf.concat([segments[:-1], last[None]], 0),
                           lambda: segments)
    return segments


# Kept under its earlier name: a 16-bit PCM WAV to (samples,) float32, channels averaged.
decode_wav = audio_io.decode_wav
fit_length = audio_io.fit_length


def _decoded(utterances, corpus=None, with_labels=True, stats=None):
    """(waveform, emotion, domain, speaker statistics) per utterance.

    `stats`: (n, ...) per-utterance speaker statistics (`speaker_norm`), or
    None (segment normalisation: an empty placeholder rides along).
    """
    paths = [u.path for u in utterances]
    lengths, kinds, rates, delays = audio_io.decoder_arrays(utterances)
    if with_labels:
        emotion, domain = labels_of(utterances, corpus)
    else:  # Scoring needs no targets (and may hold labels of another class set).
        emotion = domain = np.zeros(len(utterances), "int32")
    if stats is None:
        stats = np.zeros((len(utterances), 0), "float32")
    ds = tf.data.Dataset.from_tensor_slices((paths, lengths, kinds, rates, delays, emotion,
                                             domain, np.asarray(stats, "float32")))
    return ds.map(lambda p, n, k, r, t, e, d, s: (audio_io.decode(p, n, k, r, t), e, d, s),
                  num_parallel_calls=AUTOTUNE, deterministic=True)


def model_input(segments, stats, with_stats):
    """The model's input for k segments of one utterance (its statistics repeated)."""
    if not with_stats:
        return segments
    return with_stats_of(segments, tf.repeat(stats[None], tf.shape(segments)[0], axis=0))


def training_dataset(utterances, frontend, min_tail_s, batch_size, shuffle_buffer=1024,
                     seed=0, first_epoch=0, epochs=None, corpus=None, tail="pad", stats=None):
    """Shuffled batches of `(waveforms, {"emotion": ..., "domain": ...})`.

    Order, and why:
      decode -> cache: WAV files are read in the first epoch only; the cache
        holds whole decoded utterances (IEMOCAP improvised: ~0.6 GB float32).
      shuffle utterances: cheap (references), a new order every epoch.
      segment -> unbatch: one element per 3 s segment.
      shuffle segments: mixes the segments of neighbouring utterances so a
        batch is not a run of one utterance's pieces.
      batch -> prefetch: the accelerator never waits for the next batch.

    With `epochs`, the dataset holds epochs `first_epoch` ... `epochs - 1`
    back to back, each shuffled by `epoch_seed(seed, epoch, ...)` and batched
    on its own (its last batch may be short), so an epoch's batches are the
    same whether training started at epoch 0 or resumed at `first_epoch`;
    give Keras `steps_per_epoch=steps_per_epoch(...)`. Without `epochs`, one
    epoch that reshuffles on every iteration (seeded by `seed`).

    `corpus` supplies the class and domain sets of the targets (default: the
    paper's four classes and gender); `tail` is `DataConfig.tail`; `stats`
    (per-utterance speaker statistics) makes the inputs dicts with
    `speaker_stats` (speaker normalisation).
    """
    segment_samples = frontend.segment_samples
    min_tail_samples = round(min_tail_s * frontend.sample_rate_hz)

    def cut(waveform, emotion, domain, speaker_stats):
        segments = segment_waveform(waveform, segment_samples, min_tail_samples, tail)
        k = tf.shape(segments)[0]
        return (model_input(segments, speaker_stats, stats is not None),
                {"emotion": tf.fill([k], emotion), "domain": tf.fill([k], domain)})

    # unbatch() hides the length; state it, so that Keras shows a real progress
    # bar and knows where an epoch ends without running dry.
    steps = steps_per_epoch(utterances, frontend, min_tail_s, batch_size)
    # One cache shared by every epoch's pipeline: files are decoded once.
    cached = _decoded(utterances, corpus, stats=stats).cache()

    def one_epoch(utterance_seed, segment_seed):
        ds = cached.shuffle(len(utterances), seed=utterance_seed,
                            reshuffle_each_iteration=True)
        ds = ds.map(cut, num_parallel_calls=AUTOTUNE, deterministic=True).unbatch()
        ds = ds.shuffle(shuffle_buffer, seed=segment_seed, reshuffle_each_iteration=True)
        ds = ds.batch(batch_size)
        return ds.apply(tf.data.experimental.assert_cardinality(steps))

    if epochs is None:
        return one_epoch(seed, seed + 1).prefetch(AUTOTUNE)
    if not 0 <= first_epoch < epochs:
        raise ValueError(f"first_epoch={first_epoch} must be in 0..{epochs - 1}")
    ds = None
    for epoch in range(first_epoch, epochs):
        part = one_epoch(epoch_seed(seed, epoch, 0), epoch_seed(seed, epoch, 1))
        ds = part if ds is None else ds.concatenate(part)
    return ds.prefetch(AUTOTUNE)


def evaluation_dataset(utterances, frontend, min_tail_s, batch_size, tail="pad", stats=None):
    """Batches of segments, in utterance order, for `model.predict`.

    Cached like the training data, since the test speaker is scored after
    every epoch for monitoring. Group the predictions back into utterances
    with `segments_per_utterance`. `tail` and `stats` as `training_dataset`.
    """
    segment_samples = frontend.segment_samples
    min_tail_samples = round(min_tail_s * frontend.sample_rate_hz)
    ds = _decoded(utterances, with_labels=False, stats=stats).cache()
    ds = ds.map(lambda w, e, d, s: model_input(
        segment_waveform(w, segment_samples, min_tail_samples, tail), s, stats is not None),
        num_parallel_calls=AUTOTUNE, deterministic=True).unbatch()
    n_segments = int(segments_per_utterance(utterances, frontend, min_tail_s).sum())
    ds = ds.batch(batch_size)
    ds = ds.apply(tf.data.experimental.assert_cardinality(-(-n_segments // batch_size)))
    return ds.prefetch(AUTOTUNE)
