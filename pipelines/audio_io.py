"""Decoding any audio file to a 16 kHz mono waveform inside a tf.data graph.

The decoder of each file follows from what the loader read in its header
(`Utterance.fast_decode`, `encoding`, `source_rate`):
  FAST: 16 kHz mono 16-bit PCM WAV -> `tf.audio.decode_wav`, unless the file has
      an odd-sized chunk, which that decoder trips over (`audio.AudioInfo.
      plain_chunks`; half of RAVDESS's files).
  TFIO_WAV, TFIO_FLAC: other 16-bit WAV, and FLAC -> decoded, mixed down and
      resampled in the graph by tensorflow-io, where its ops load (0.37.1, its
      last release, is built for TensorFlow 2.16; later ones fail to load it).
  SCIPY: everything else, and everything without a usable tensorflow-io ->
      `adarl_tf.audio.load_audio` (polyphase resampling) in `tf.numpy_function`.
Then digital silence is dithered and the waveform cut or padded to
`Utterance.samples_16k`, so resamplers a sample apart still give the counted length.
"""

import functools
import math

import numpy as np
import tensorflow as tf
from absl import logging

from adarl_tf import audio
from adarl_tf.corpora.corpus import TARGET_RATE

FAST, TFIO_WAV, TFIO_FLAC, SCIPY = 0, 1, 2, 3


@functools.lru_cache(maxsize=None)
def tfio_status():
    """(tensorflow_io module or None, reason), checked once per process.

    Importing tensorflow_io succeeds even where its kernels cannot load, so a
    tiny resample is run: that is what fails with an undefined symbol.
    """
    try:
        import tensorflow_io as tfio
    except Exception as e:  # ImportError, or a NotFoundError from its .so.
        return None, f"tensorflow-io is not installed ({type(e).__name__})"
    try:
        # Eager even when first asked while a tf.data map or tf.function is
        # being traced (there the static shape is unknown and nothing runs).
        with tf.init_scope():
            out = tfio.audio.resample(tf.zeros([32, 1]), rate_in=32000, rate_out=16000)
            if int(tf.shape(out)[0]) <= 0:
                raise ValueError("empty output")
    except Exception as e:
        first = str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__
        return None, (f"tensorflow-io {getattr(tfio, '__version__', '?')} is installed but its "
                      f"ops do not load with TensorFlow {tf.__version__} ({first})")
    return tfio, f"tensorflow-io {tfio.__version__} with TensorFlow {tf.__version__}"


_announced = set()  # What `describe_decoders` has logged in this process: once is enough.


def decoder_of(utterance):
    """Which decoder reads this utterance (FAST, TFIO_WAV, TFIO_FLAC or SCIPY)."""
    if utterance.fast_decode:
        return FAST
    tfio, _ = tfio_status()
    if tfio is not None:
        if utterance.encoding == "wav/pcm16" and utterance.tf_decodable:
            return TFIO_WAV
        if utterance.encoding == "flac/pcm_16":
            return TFIO_FLAC
    return SCIPY


def describe_decoders(utterances):
    """Logs, once, how many files each decoder reads and whether tensorflow-io is used."""
    kinds = [decoder_of(u) for u in utterances]
    slow = sum(k != FAST for k in kinds)
    if not slow or _announced:
        return kinds
    tfio, reason = tfio_status()
    if tfio is None:
        message = (f"Audio: files that are not 16 kHz mono 16-bit WAV (here {slow} of "
                   f"{len(kinds)}) are decoded with scipy in tf.numpy_function, since {reason}. "
                   "In-graph decoding needs requirements-tfio.txt (TensorFlow 2.16 + "
                   "tensorflow-io 0.37.1).")
    else:
        message = (f"Audio: decoding in the graph with {reason} (here "
                   f"{sum(k == TFIO_WAV for k in kinds)} WAV and "
                   f"{sum(k == TFIO_FLAC for k in kinds)} FLAC files resampled by "
                   f"tfio.audio.resample; {sum(k == SCIPY for k in kinds)} other files via scipy).")
    _announced.add(message)
    logging.log(logging.INFO, message)
    return kinds


@functools.lru_cache(maxsize=None)
def tfio_delay(rate):
    """Output samples by which `tfio.audio.resample` delays a signal from `rate` to 16 kHz.

    Its filter is not zero-phase (48 kHz -> 16 kHz: 32 samples, 2 ms), unlike
    scipy's `resample_poly`; measured once per rate with an impulse placed
    where it maps to a whole output sample, and removed in `_tfio_resample`.
    """
    tfio, _ = tfio_status()
    step = int(rate) // math.gcd(int(rate), TARGET_RATE)  # Input samples per whole output step.
    position = step * max(1, int(rate) // 20 // step)
    impulse = np.zeros(2 * position + int(rate) // 10, np.float32)
    impulse[position] = 1.0
    out = tfio.audio.resample(tf.constant(impulse[:, None]), rate_in=int(rate),
                              rate_out=TARGET_RATE).numpy()[:, 0]
    return int(np.argmax(np.abs(out))) - position * TARGET_RATE // int(rate)


def _tfio_resample(samples, rate, delay):
    """(n, channels) float32 at `rate` -> (m,) mono at 16 kHz with tfio.audio.resample.

    The input is padded at the end and the output's first `delay` samples
    are dropped, so that sample i of the result is at time i / 16 kHz, as
    with scipy.
    """
    tfio, _ = tfio_status()
    mono = tf.reduce_mean(samples, axis=-1, keepdims=True)
    pad = (delay * rate) // TARGET_RATE + rate // TARGET_RATE + 1
    mono = tf.pad(mono, [[0, pad], [0, 0]])
    out = tfio.audio.resample(mono, rate_in=tf.cast(rate, tf.int64),
                              rate_out=tf.constant(TARGET_RATE, tf.int64))
    return tf.clip_by_value(tf.reshape(out, [-1])[delay:], -1.0, 1.0)


def fit_length(waveform, n_samples):
    """Cuts or zero-pads a waveform to exactly `n_samples`."""
    waveform = waveform[:n_samples]
    return tf.pad(waveform, [[0, n_samples - tf.shape(waveform)[0]]])


def decode(path, n_samples, kind, rate, delay):
    """The 16 kHz mono waveform of one file, exactly `n_samples` long.

    Args:
        path: string tensor.
        n_samples: int32 tensor, `Utterance.samples_16k`.
        kind: int32 tensor, `decoder_of(utterance)`.
        rate: int32 tensor, the file's sample rate.
        delay: int32 tensor, `tfio_delay(rate)` for the tfio decoders, else 0.
    """
    def wav():  # (n, channels) float32, any rate.
        return tf.audio.decode_wav(tf.io.read_file(path))[0]

    def flac():
        pcm = tfio_status()[0].audio.decode_flac(tf.io.read_file(path), dtype=tf.int16)
        return tf.cast(pcm, tf.float32) / 32768.0

    def scipy():  # Any WAV or FLAC, mixed down and resampled by `audio.load_audio`.
        return tf.reshape(tf.numpy_function(lambda p: audio.load_audio(p.decode(), TARGET_RATE),
                                            [path], tf.float32, stateful=False), [-1])

    branches = [lambda: tf.reduce_mean(wav(), axis=-1), scipy, scipy, scipy]  # By kind.
    if tfio_status()[0] is not None:  # Without it, `decoder_of` gives no tfio kind.
        branches[TFIO_WAV] = lambda: _tfio_resample(wav(), rate, delay)
        branches[TFIO_FLAC] = lambda: _tfio_resample(flac(), rate, delay)
    waveform = tf.switch_case(kind, branches)
    # Digital silence dithered by the one rule (numpy, as in predict), run once per file;
    # before the length fit, whose zeros are padding and must stay zero.
    waveform = tf.numpy_function(audio.fill_digital_silence, [waveform], tf.float32,
                                 stateful=False)
    return fit_length(tf.reshape(waveform, [-1]), n_samples)


def decoder_arrays(utterances):
    """(lengths, kinds, rates, delays) int32 arrays for `decode`, logging the decoders once."""
    kinds = describe_decoders(utterances)
    delays = [tfio_delay(u.source_rate) if k in (TFIO_WAV, TFIO_FLAC) else 0
              for u, k in zip(utterances, kinds)]
    return (np.array([u.samples_16k for u in utterances], "int32"),
            np.array(kinds, "int32"),
            np.array([u.source_rate for u in utterances], "int32"),
            np.array(delays, "int32"))
