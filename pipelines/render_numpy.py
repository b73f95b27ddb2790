"""A `plan.Plan` rendered with numpy: batches where TensorFlow is absent (JAX).

Audio is decoded with `adarl_tf.audio.load_audio` once per process and kept in
memory (tf.data's `cache()`); each batch's windows are read only when the
batch is due (an epoch of overlapping windows holds several times the audio).
Same batches as `render_tf.py` for the same plan.
"""

import numpy as np

from adarl_tf import audio

# Decoded waveforms by (path, rate), for the life of the process.
_DECODED = {}


def decode(utterance, sample_rate_hz):
    """float32 (samples,) of one utterance, cut or zero-padded to `samples_16k`
    (as `audio_io.fit_length`), so that the plan's counts always hold."""
    key = (str(utterance.path), int(sample_rate_hz))
    if key not in _DECODED:
        waveform = audio.load_audio(utterance.path, target_rate=sample_rate_hz)
        n = utterance.samples_16k
        _DECODED[key] = np.pad(waveform[:n], (0, max(n - len(waveform), 0)))
    return _DECODED[key]


def read_window(waveform, start, factor, segment):
    """(L,) window from `start` read at rate `factor` (linear interpolation, zeros
    outside the utterance; float32 positions, as `render_tf.read_windows`), and its
    (L,) bool mask of the samples inside the utterance."""
    n = len(waveform)
    if factor == 1.0:  # Every weight is 0 or 1: a zero-padded slice, several times faster.
        start, window, inside = int(start), np.zeros(segment, "float32"), np.zeros(segment, bool)
        lo, hi = max(start, 0), min(start + segment, n)
        if hi > lo:
            window[lo - start:hi - start] = waveform[lo:hi]
            inside[lo - start:hi - start] = True
        return window, inside
    pos = np.float32(start) + np.arange(segment, dtype="float32") * np.float32(factor)
    i0 = np.floor(pos)
    frac = pos - i0
    i0 = i0.astype("int64")

    def at(i):
        return np.where((i >= 0) & (i < n), waveform[np.clip(i, 0, max(n - 1, 0))], 0.0)

    inside = (pos >= 0) & (pos <= n - 1)
    return (at(i0) * (1.0 - frac) + at(i0 + 1) * frac).astype("float32"), inside


def element(waveform, plan, e):
    """Element `e` of `plan`: its window, read and augmented (gain, noise)."""
    from adarl_tf.pipelines.plan import noise
    c = plan.columns
    window, inside = read_window(waveform, c["start"][e], c["factor"][e], plan.cut.segment)
    window *= c["gain"][e]
    if not np.isnan(c["snr_db"][e]):
        # On the real samples only: padding stays exactly zero, as when scored.
        rms = np.sqrt(np.sum(np.square(window, dtype="float64")) / max(inside.sum(), 1))
        z = noise(c["draw_seed"][e], c["utterance"][e], c["window"][e], plan.cut.segment)
        window += z * inside * np.float32(rms * 10.0 ** (-c["snr_db"][e] / 20.0))
    return window


def batch(waveforms, plan, begin, end, stats=None):
    """Elements [begin, end) as `(inputs, {"emotion", "domain"})`, mixed by
    `plan.py`'s `mix_batch` when the plan has mixup."""
    from adarl_tf.pipelines.plan import mix_batch
    c = plan.columns
    x = np.stack([element(waveforms[c["utterance"][e]], plan, e) for e in range(begin, end)])
    if stats is not None:
        x = {"waveform": x, "speaker_stats": stats[c["speaker"][begin:end]]}
    targets = {"emotion": c["emotion"][begin:end], "domain": c["domain"][begin:end]}
    if not plan.mixup:
        return x, targets
    return mix_batch(x, dict(targets, partner=c["partner"][begin:end],
                             mix=c["mix"][begin:end]), np.take)


def training_data(utterances, plan, rate, stats_table=None):
    """A generator of the plan's batches (give Keras `steps_per_epoch`)."""
    stats = plan.stats(stats_table)

    def batches():
        waveforms = [decode(u, rate) for u in utterances]
        for begin, end in plan.batches:
            yield batch(waveforms, plan, begin, end, stats)

    return batches()


def scoring_data(utterances, plan, rate, stats_table=None):
    """The plan's inputs as one array (or dict), for `predict(..., batch_size=...)`."""
    waveforms = [decode(u, rate) for u in utterances]
    return batch(waveforms, plan, 0, len(plan.utterance), plan.stats(stats_table))[0]
