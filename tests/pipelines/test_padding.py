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
from adarl_tf.export.runners import segment_array
from adarl_tf.layers import Spectrogram
from adarl_tf.pipelines import plan as P
from adarl_tf.pipelines import render_numpy, renderer, tensorflow_available
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


def test_the_tf_data_decoder_dithers_as_load_audio(tmp_path):
    tf = pytest.importorskip("tensorflow")
    from adarl_tf.pipelines import audio_io
    x = _with_digital_silence()
    x[-40:] = 0.0  # A run at the very end, and one too short to count.
    x[100:120] = 0.0
    path = write_wav(tmp_path / "gap.wav", x)
    n = len(x) + 500  # The length fit pads after the dither: padding stays zero.
    got = audio_io.decode(tf.constant(str(path)), tf.constant(n), tf.constant(audio_io.FAST),
                          tf.constant(16000), tf.constant(0)).numpy()
    np.testing.assert_array_equal(got[:len(x)], audio.load_audio(path))
    assert not got[len(x):].any() and (got[ZERO_RUN] != 0).all() and (got[-540:-500] != 0).all()


def _renderers():
    return [render_numpy] + ([renderer("tf.data")] if tensorflow_available() else [])


def _numpy(x):
    return {k: np.asarray(v) for k, v in x.items()} if isinstance(x, dict) else np.asarray(x)


def test_training_noise_leaves_padding_at_zero(tmp_path):
    # A short utterance sits inside a window of zeros; noise must not fill them, or
    # training sees "quiet audio" where scoring sees masked padding.
    utts = utterances(tmp_path, [L // 2, L // 3], ["sad", "happy"])
    train = TrainConfig(epochs=1, batch_size=2, seed=1, noise_snr_db=0.0)
    plan = P.training_plan(utts, P.Cut.of(FRONTEND, 0.1, train=train), train, 2)
    for r in _renderers():
        x = _numpy(next(iter(r.training_data(utts, plan, 16000)))[0])
        assert np.all(x[:, L // 2:] == 0.0)
        short = plan.utterance == 1  # Its real samples got noise, its padding none.
        assert np.all(x[short, :L // 3] != 0.0) and np.all(x[~short, :L // 2] != 0.0)


def test_overlap_tail_is_scored_as_trained(tmp_path):
    # The kept tail of a scored utterance ends at its last sample, as training windows do.
    utts = utterances(tmp_path, [2 * L + L // 2], ["sad"])
    waveform = render_numpy.decode(utts[0], 16000)
    train = TrainConfig(epochs=1, batch_size=8, train_hop_s=FRONTEND.segment_s)
    trained = P.training_plan(utts, P.Cut.of(FRONTEND, 0.1, "overlap", train), train, 8)
    scored = P.scoring_plan(utts, P.Cut.of(FRONTEND, 0.1, "overlap"), 8)
    assert sorted(trained.start) == sorted(scored.start) == [0, L, len(waveform) - L]
    x = render_numpy.scoring_data(utts, scored, 16000)
    np.testing.assert_array_equal(x[2], waveform[-L:])


def test_both_pipelines_feed_speaker_statistics_with_each_segment(tmp_path):
    utts = utterances(tmp_path, [L + L // 2, L // 2, 2 * L], ["sad", "happy", "sad"])
    table = {"spk0": np.zeros(6, "float32"), "spk1": np.ones(6, "float32")}
    plan = P.scoring_plan(utts, P.Cut.of(FRONTEND, 0.1, "overlap"), 4)
    for r in _renderers():
        data = r.scoring_data(utts, plan, 16000, table)
        x = data if isinstance(data, dict) else {
            k: np.concatenate([np.asarray(b[k]) for b in data]) for k in ("waveform",
                                                                          "speaker_stats")}
        np.testing.assert_array_equal(x["speaker_stats"][:, 0], [0, 0, 1, 0, 0])
    train = TrainConfig(epochs=1, batch_size=16, seed=0)
    plan = P.training_plan(utts, P.Cut.of(FRONTEND, 0.1, train=train), train, 16)
    batch, _ = next(render_numpy.training_data(utts, plan, 16000, table))
    for wave, s in zip(batch["waveform"], batch["speaker_stats"]):
        i = 1 if s[0] else [0, 2]  # Each segment carries its own speaker's statistics.
        assert any(np.array_equal(wave, seg) for u in np.atleast_1d(i) for seg in
                   segment_array(render_numpy.decode(utts[u], 16000), L, round(0.1 * 16000)))
