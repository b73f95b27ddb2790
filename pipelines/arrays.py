"""The numpy twin of `segments.py`: batches for backends without TensorFlow (JAX).

Same segmentation rule (`rules.cut_segments`), same step counts, same
per-epoch seeds (`rules.epoch_seed(seed, epoch, 0 | 1)` for the utterance and
the segment shuffle), same batch layout `(waveforms, {"emotion", "domain"})`
with a short last batch. The orders differ from tf.data's: tf.data shuffles
segments through a `shuffle_buffer`-element buffer, this pipeline permutes
all of an epoch's segments at once (a full shuffle, which a buffer
approximates), so the two pipelines give the same segments per epoch in
different orders. Audio is decoded with `adarl_tf.audio.load_audio`
(numpy/scipy) once per process and kept in memory, as tf.data's `cache()`.

The training batches are a Python generator over every remaining epoch back
to back; give Keras `steps_per_epoch`, as for the tf.data pipeline.
"""

import numpy as np

from adarl_tf import audio
from adarl_tf.pipelines.rules import (count_segments, cut_segments,  # noqa: F401
                                      epoch_seed, labels_of, segments_per_utterance,
                                      steps_per_epoch, utterance_labels, with_stats)

# Decoded waveforms by (path, rate), for the life of the process: the test
# speaker is scored every epoch, the training set cut every epoch.
_DECODED = {}


def decode(utterance, sample_rate_hz):
    """float32 (samples,) of one utterance, decoded once per process.

    Cut or zero-padded to `Utterance.samples_16k`, as the tf.data pipeline
    does (`audio_io.fit_length`), so the segment counts always agree with
    `segments_per_utterance`.
    """
    key = (str(utterance.path), int(sample_rate_hz))
    if key not in _DECODED:
        waveform = audio.load_audio(utterance.path, target_rate=sample_rate_hz)
        n = utterance.samples_16k
        _DECODED[key] = np.pad(waveform[:n], (0, max(n - len(waveform), 0)))
    return _DECODED[key]


def _cut_all(utterances, frontend, min_tail_s, tail="pad"):
    """Per utterance: its (k, segment_samples) segments."""
    min_tail_samples = round(min_tail_s * frontend.sample_rate_hz)
    return [cut_segments(decode(u, frontend.sample_rate_hz), frontend.segment_samples,
                         min_tail_samples, tail) for u in utterances]


def epoch_arrays(utterances, frontend, min_tail_s, seed, epoch, corpus=None, tail="pad"):
    """One training epoch, shuffled: (segments (n, samples), emotion (n,), domain (n,),
    utterance index (n,)).

    `corpus` supplies the class and domain sets of the targets (`labels_of`).
    """
    cut = _cut_all(utterances, frontend, min_tail_s, tail)
    emotion, domain = labels_of(utterances, corpus)
    order = np.random.default_rng(epoch_seed(seed, epoch, 0)).permutation(len(utterances))
    segments = np.concatenate([cut[i] for i in order])
    counts = np.array([len(cut[i]) for i in order])
    e, d = np.repeat(emotion[order], counts), np.repeat(domain[order], counts)
    owner = np.repeat(order, counts)
    perm = np.random.default_rng(epoch_seed(seed, epoch, 1)).permutation(len(segments))
    return segments[perm], e[perm], d[perm], owner[perm]


def training_dataset(utterances, frontend, min_tail_s, batch_size, shuffle_buffer=1024,
                     seed=0, first_epoch=0, epochs=None, corpus=None, tail="pad", stats=None):
    """A generator of `(waveforms, {"emotion": ..., "domain": ...})` batches.

    Epochs `first_epoch` ... `epochs - 1` back to back (one epoch without
    `epochs`), each shuffled by its own seeds; `shuffle_buffer` is accepted
    for the same signature as `segments.training_dataset` and not used (the
    shuffle is complete).
    """
    del shuffle_buffer
    last = first_epoch + 1 if epochs is None else epochs
    if not 0 <= first_epoch < last:
        raise ValueError(f"first_epoch={first_epoch} must be in 0..{last - 1}")

    def batches():
        for epoch in range(first_epoch, last):
            x, e, d, owner = epoch_arrays(utterances, frontend, min_tail_s, seed, epoch,
                                          corpus, tail)
            for start in range(0, len(x), batch_size):
                end = start + batch_size
                s = None if stats is None else np.asarray(stats)[owner[start:end]]
                yield (with_stats(x[start:end], s),
                       {"emotion": e[start:end], "domain": d[start:end]})

    return batches()


def evaluation_dataset(utterances, frontend, min_tail_s, batch_size, tail="pad", stats=None):
    """Every segment in utterance order, as one (n, segment_samples) array.

    Give it to `model.predict(..., batch_size=batch_size)`; group the
    predictions back into utterances with `segments_per_utterance`. With
    `stats` (per-utterance speaker statistics) a dict of arrays with
    `speaker_stats`.
    """
    del batch_size  # `predict` batches the array.
    cut = _cut_all(utterances, frontend, min_tail_s, tail)
    x = np.concatenate(cut)
    if stats is None:
        return x
    return with_stats(x, np.repeat(np.asarray(stats), [len(c) for c in cut], axis=0))
