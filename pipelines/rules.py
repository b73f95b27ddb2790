"""The segmentation rule and the per-epoch shuffle seeds, without TensorFlow.

Shared by the tf.data pipeline (`segments.py`) and the numpy one
(`arrays.py`), so that both cut an utterance the same way, agree on step
counts, and shuffle epoch e with seeds that depend on (seed, e) only. Plain
Python and numpy: importable where TensorFlow is not installed (JAX).
"""

import numpy as np

from adarl_tf.corpora.corpus import EMOTIONS, GENDERS


def count_segments(n_samples, segment_samples, min_tail_samples):
    """Number of segments an utterance of `n_samples` gives (at least 1)."""
    full, tail = divmod(int(n_samples), segment_samples)
    keep_tail = tail > 0 and (tail >= min_tail_samples or full == 0)
    return max(full + int(keep_tail), 1)


def cut_segments(waveform, segment_samples, min_tail_samples, tail="pad"):
    """(n,) waveform -> (k, segment_samples) float32 segments, `count_segments`' rule.

    The numpy twin of `segments.segment_waveform`: full segments, then the
    kept tail: zero-padded (`tail="pad"`, the paper) or the utterance's last
    `segment_samples` (`"overlap"`; an utterance shorter than one segment is
    still padded).
    """
    waveform = np.asarray(waveform, np.float32)
    n = len(waveform)
    k = count_segments(n, segment_samples, min_tail_samples)
    out = np.zeros((k * segment_samples,), np.float32)
    kept = waveform[:k * segment_samples]
    out[:len(kept)] = kept
    out = out.reshape(k, segment_samples)
    if tail == "overlap" and n > segment_samples and k * segment_samples > n:
        out[-1] = waveform[n - segment_samples:]
    return out


def segments_per_utterance(utterances, frontend, min_tail_s):
    """`count_segments` for each utterance (from its 16 kHz length), as an array."""
    rate = frontend.sample_rate_hz
    return np.array([count_segments(u.samples_16k, frontend.segment_samples,
                                    round(min_tail_s * rate)) for u in utterances],
                    dtype="int64")


def steps_per_epoch(utterances, frontend, min_tail_s, batch_size):
    """Batches per training epoch (the last one may be short)."""
    n_segments = int(segments_per_utterance(utterances, frontend, min_tail_s).sum())
    return -(-n_segments // batch_size)


def utterance_labels(utterances, emotions=EMOTIONS, domain="gender", domain_values=GENDERS):
    """(emotion index or -1, domain index) arrays, in the given class and domain order.

    Pass a corpus's `emotions`, `domain` and `domain_values` (see `labels_of`);
    the defaults are the paper's four classes and gender.
    """
    emotion = np.array([emotions.index(u.label) if u.label is not None else -1
                        for u in utterances], dtype="int32")
    domain_index = np.array([u.domain_index(domain, tuple(domain_values))
                             for u in utterances], dtype="int32")
    return emotion, domain_index


def labels_of(utterances, corpus=None):
    """`utterance_labels` with a corpus's class and domain sets (defaults without one)."""
    if corpus is None:
        return utterance_labels(utterances)
    return utterance_labels(utterances, tuple(corpus.emotions), corpus.domain,
                            tuple(corpus.domain_values))


def with_stats(x, stats):
    """A model input: the waveforms alone, or with their speakers' statistics."""
    if stats is None:
        return x
    return {"waveform": x, "speaker_stats": stats}


def epoch_seed(seed, epoch, stream):
    """The shuffle seed of one epoch: a function of (run seed, epoch, which shuffle) only.

    Resuming at epoch k must replay epoch k's order, not the first epoch's, so
    the order cannot depend on how many epochs this process has iterated.
    """
    return int(np.random.SeedSequence([seed, epoch, stream]).generate_state(1)[0])
