"""Padding is the only exact zero: digital silence, noise and tails (regression tests).

Each case failed before the fix: digital silence inside a recording was masked
like padding (z = 0, a mid-level block beside quiet audio near z = -1), noise
augmentation filled the padding in training only, and a scored tail segment
was always tail + zeros while training windows end at the last sample.
"""


import numpy as np
import pytest
from keras import ops

from adarl_tf import audio
from adarl_tf.config import FrontendConfig, TrainConfig
from adarl_tf.layers import Spectrogram
from adarl_tf.pipelines import arrays, augment_arrays, rules
from tests.pipelines.robust_data import FRONTEND, L, utterances, write_wav

ZERO_RUN = slice(4000, 6400)  # 150 ms of digital silence inside the recording.


def _with_digital_silence():
    t = np.arange(8000)
    x = 0.3 * np.sin(2 * np.pi * 200 * t / 16000) + 0.01 * np.random.default_rng(0).normal(
        size=8000)
    x[ZERO_RUN] = 0.0
    return x


def test_digital_silence_is_audio_not_padding(tmp_path):
    path = write_wav(tmp_path / "gap.wav", _with_digital_silence())
    decoded = audio.load_audio(path)
    assert not np.any(decoded[ZERO_RUN] == 0.0)  # Dithered ...
    assert np.abs(decoded[ZERO_RUN]).max() <= audio.DITHER_AMPLITUDE  # ... at 1 LSB.
    np.testing.assert_array_equal(decoded[:4000], audio.load_audio(path)[:4000])
    frontend = FrontendConfig(segment_s=0.5, channel_mode="mono")
    z = ops.convert_to_numpy(Spectrogram(frontend)(decoded[None]))[0, :, :, 0]
    gap_frames = z[:, 26:38]  # Frames wholly inside the gap (10 ms hop, 40 ms window).
    # Quiet audio: far below the speech around it, not the padding value 0.
    assert gap_frames.mean() < -1.0
    # Isolated zero samples of real audio are left alone.
    x = np.sin(np.arange(1000) * 0.3).astype("float32")
    x[::50] = 0.0
    np.testing.assert_array_equal(audio.fill_digital_silence(x), x)


def test_graph_and_numpy_fill_digital_silence_alike(tmp_path):
    tf = pytest.importorskip("tensorflow")
    from adarl_tf.pipelines import audio_io
    x = _with_digital_silence().astype("float32")
    x[-40:] = 0.0  # A run at the very end, and one too short to count.
    x[100:120] = 0.0
    np.testing.assert_array_equal(audio_io.fill_digital_silence(tf.constant(x)).numpy(),
                                  audio.fill_digital_silence(x))


def test_training_noise_leaves_padding_at_zero(tmp_path):
    # A short utterance sits inside a window of zeros; noise must not fill them, or
    # training sees "quiet audio" where scoring sees masked padding.
    utts = utterances(tmp_path, [L // 2, L // 3], ["sad", "happy"])
    train = TrainConfig(epochs=1, batch_size=2, seed=1, noise_snr_db=0.0)
    x, _ = next(augment_arrays.training_dataset(utts, FRONTEND, 0.1, train))
    assert np.all(x[:, L // 2:] == 0.0)
    assert np.all(x[:, :L // 3] != 0.0)
    tf = pytest.importorskip("tensorflow")
    del tf
    from adarl_tf.pipelines import augment
    x, _ = next(iter(augment.training_dataset(utts, FRONTEND, 0.1, train)))
    assert np.all(x.numpy()[:, L // 2:] == 0.0)


def test_overlap_tail_is_the_last_segment_of_audio(tmp_path):
    n = 2 * L + L // 2
    waveform = np.random.default_rng(0).normal(size=n).astype("float32")
    padded = rules.cut_segments(waveform, L, L // 4)
    overlap = rules.cut_segments(waveform, L, L // 4, tail="overlap")
    assert padded.shape == overlap.shape == (3, L)
    np.testing.assert_array_equal(overlap[:2], padded[:2])
    np.testing.assert_array_equal(overlap[2], waveform[-L:])  # No padding to score.
    assert np.all(padded[2, L // 2:] == 0.0)
    short = waveform[:L // 2]  # Shorter than a segment: still padded, both ways.
    np.testing.assert_array_equal(rules.cut_segments(short, L, 0, tail="overlap"),
                                  rules.cut_segments(short, L, 0))
    tf = pytest.importorskip("tensorflow")
    from adarl_tf.pipelines import segments
    for w in (waveform, short, waveform[:2 * L]):
        np.testing.assert_array_equal(
            segments.segment_waveform(tf.constant(w), L, L // 4, "overlap").numpy(),
            rules.cut_segments(w, L, L // 4, tail="overlap"))


def test_both_pipelines_feed_speaker_statistics_with_each_segment(tmp_path):
    utts = utterances(tmp_path, [L + L // 2, L // 2, 2 * L], ["sad", "happy", "sad"])
    stats = np.arange(len(utts), dtype="float32")[:, None] * np.ones((1, 6), "float32")
    x = arrays.evaluation_dataset(utts, FRONTEND, 0.1, 4, tail="overlap", stats=stats)
    counts = rules.segments_per_utterance(utts, FRONTEND, 0.1)
    np.testing.assert_array_equal(x["speaker_stats"][:, 0], np.repeat([0, 1, 2], counts))
    batch, _ = next(arrays.training_dataset(utts, FRONTEND, 0.1, 16, stats=stats))
    # Each segment carries its own utterance's statistics (segments identify them).
    for wave, s in zip(batch["waveform"], batch["speaker_stats"]):
        i = int(s[0])
        assert any(np.array_equal(wave, seg) for seg in rules.cut_segments(
            arrays.decode(utts[i], 16000), L, round(0.1 * 16000)))
    tf = pytest.importorskip("tensorflow")
    del tf
    from adarl_tf.pipelines import segments
    ds = segments.evaluation_dataset(utts, FRONTEND, 0.1, 4, tail="overlap", stats=stats)
    graph = np.concatenate([b["speaker_stats"].numpy() for b in ds])
    np.testing.assert_array_equal(graph, x["speaker_stats"])
    waves = np.concatenate([b["waveform"].numpy() for b in ds])
    np.testing.assert_allclose(waves, x["waveform"], atol=1e-6)
