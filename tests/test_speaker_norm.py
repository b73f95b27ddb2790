"""Speaker normalisation: statistics against a NumPy reference, the layer's use of
them, profiles and their errors. Backend-neutral (runs under JAX too)."""

import dataclasses
import json

import numpy as np
import pytest
from keras import ops

from adarl_tf import speaker_norm
from adarl_tf.config import FrontendConfig
from adarl_tf.layers import Spectrogram
from adarl_tf.layers.spectrogram import dft_basis, mel_matrix

LINEAR = FrontendConfig(segment_s=1.0, max_freq_hz=2000.0, normalization="speaker")
MEL = FrontendConfig(segment_s=1.0, scale="mel", n_mels=16, bin_spacing_hz=31.25,
                     max_freq_hz=8000.0, channel_mode="mono", single_window_ms=25.0,
                     normalization="speaker")


def _voice(seconds, f0, seed, silence_s=0.3):
    """A harmonic tone with leading and trailing near-silence (quiet noise)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * 16000)) / 16000
    x = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 6)) * 0.2
    x *= 1 + 0.5 * np.sin(2 * np.pi * 3 * t)
    quiet = rng.normal(0, 1e-4, int(silence_s * 16000))
    return np.concatenate([quiet, x + rng.normal(0, 1e-3, len(t)), quiet]).astype("float32")


def _reference_log_frames(waveform, frontend):
    """Per window: (frames, rows) log magnitudes and a (frames,) audio mask, in NumPy."""
    hop, n_frames = frontend.hop_samples, frontend.n_frames
    seg = frontend.segment_samples
    k = max(-(-len(waveform) // seg), 1)
    padded = np.zeros(k * seg, "float64")
    padded[:len(waveform)] = waveform
    out = []
    for window_ms in frontend.windows_ms:
        length = int(round(window_ms * 16))
        basis = dft_basis(length, frontend.dft_length, frontend.n_bins).astype("float64")
        logs, masks = [], []
        for s in padded.reshape(k, seg):
            x = np.pad(s, (0, max(0, (n_frames - 1) * hop + length - seg)))
            frames = np.stack([x[t * hop:t * hop + length] for t in range(n_frames)])
            spec = frames @ basis
            power = spec[:, :frontend.n_bins] ** 2 + spec[:, frontend.n_bins:] ** 2
            if frontend.scale == "mel":
                power = power @ mel_matrix(frontend.n_bins, frontend.bin_spacing_hz,
                                           frontend.n_mels, frontend.mel_low_hz,
                                           frontend.max_freq_hz)
            logs.append(0.5 * np.log(power + frontend.log_floor ** 2))
            masks.append((frames ** 2).sum(1) > 0)
        out.append((np.concatenate(logs), np.concatenate(masks)))
    return out


def _reference_stats(waveforms, frontend):
    total = [[] for _ in frontend.windows_ms]
    for w in waveforms:
        for i, (log, mask) in enumerate(_reference_log_frames(w, frontend)):
            db = 10 * np.log10(np.exp(2 * log).sum(1))
            speech = mask & (db >= db[mask].max() - speaker_norm.SPEECH_RANGE_DB)
            total[i].append(log[speech])
    frames = [np.concatenate(t) for t in total]
    mean = np.stack([f.mean(0) for f in frames], -1)
    std = np.stack([f.std(0) for f in frames], -1)
    return np.stack([mean, std])


@pytest.mark.parametrize("frontend", [LINEAR, MEL], ids=["linear", "mel"])
def test_statistics_match_a_numpy_reference(frontend):
    waveforms = [_voice(0.7, 140, 0), _voice(1.6, 150, 1)]  # Padded and multi-segment.
    moments = speaker_norm.waveform_moments(waveforms, frontend)
    ours = moments.stats()
    assert ours.shape == frontend.stats_shape
    np.testing.assert_allclose(ours, _reference_stats(waveforms, frontend), rtol=2e-3,
                               atol=2e-3)
    # The leading and trailing near-silence is not speech: fewer frames than audio.
    audio_frames = sum(len(w) for w in waveforms) / frontend.hop_samples
    assert 0.5 * audio_frames < moments.frames < 0.9 * audio_frames


def test_layer_normalises_each_row_with_the_speakers_statistics():
    layer = Spectrogram(LINEAR)
    x = _voice(0.6, 130, 2)[None, :16000]
    stats = speaker_norm.waveform_moments([x[0]], LINEAR).stats()
    z = ops.convert_to_numpy(layer([x, stats[None]]))
    (log, mask), *_ = _reference_log_frames(x[0], LINEAR)
    expected = (log - stats[0, :, 0]) / (stats[1, :, 0] + 1e-5) * mask[:, None]
    # float32 STFT against a float64 reference: bins near the log floor carry a
    # larger relative error (seen 2.7e-3 at z = -5.4 on an AVX2-only CPU).
    np.testing.assert_allclose(z[0, :, :, 0], expected.T, rtol=1e-3, atol=2e-3)
    # The paper's layer keeps its exact weights: no statistics, no mel matrix.
    paper = Spectrogram(FrontendConfig())
    paper.build((None, 48000))
    assert not any("pooled" in w.path or "mel" in w.path for w in paper.weights)


def test_gain_moves_speaker_normalised_input_but_not_the_segment_zscore():
    # A 2x gain is log 2 added to every log magnitude: the per-segment z-score removes
    # it (why gain augmentation is refused there), speaker statistics keep it.
    x = _voice(0.6, 130, 3)[None, :16000]
    stats = speaker_norm.waveform_moments([x[0]], LINEAR).stats()[None]
    speaker = Spectrogram(LINEAR)
    segment = Spectrogram(dataclasses.replace(LINEAR, normalization="segment"))
    moved = ops.convert_to_numpy(speaker([2 * x, stats]) - speaker([x, stats]))
    still = ops.convert_to_numpy(segment(2 * x) - segment(x))
    assert np.median(np.abs(moved[moved != 0])) > 0.1
    assert np.median(np.abs(still)) < 0.01


def test_gain_with_segment_normalisation_is_refused():
    from adarl_tf.config import ExperimentConfig, ModelConfig, TrainConfig
    with pytest.raises(ValueError, match="gain_db has no effect"):
        ExperimentConfig(train=TrainConfig(gain_db=6.0))
    frontend = dataclasses.replace(FrontendConfig(), normalization="speaker")
    ExperimentConfig(model=ModelConfig(frontend=frontend), train=TrainConfig(gain_db=6.0))


def test_mel_matrix_matches_tensorflow():
    tf = pytest.importorskip("tensorflow")
    ours = mel_matrix(256, 31.25, 64, 0.0, 8000.0)
    reference = tf.signal.linear_to_mel_weight_matrix(64, 257, 16000, 0.0, 8000.0).numpy()
    np.testing.assert_allclose(ours, reference[:256], atol=1e-4)
    assert (ours.sum(0) > 0).all()  # No empty band.


def test_fold_statistics_keep_speakers_apart_and_pool_the_training_ones():
    class U:
        def __init__(self, speaker, seed, f0):
            self.speaker, self.wave = speaker, _voice(0.8, f0, seed)

    train = [U("a", 0, 120), U("a", 1, 125), U("b", 2, 220)]
    test = [U("t", 3, 300)]
    table, pooled = speaker_norm.fold_statistics({"train": train, "test": test}, LINEAR,
                                                 lambda u: u.wave)
    assert set(table) == {"a", "b", "t"}
    np.testing.assert_allclose(table["t"], speaker_norm.waveform_moments(
        [test[0].wave], LINEAR).stats(), atol=1e-6)
    both = speaker_norm.waveform_moments([u.wave for u in train], LINEAR).stats()
    np.testing.assert_allclose(pooled, both, atol=1e-5)  # The test speaker is not in it.
    assert speaker_norm.per_utterance(train + test, table).shape == (4,) + LINEAR.stats_shape


def test_profile_round_trip(tmp_path):
    waves = [_voice(2.0, 140, s) for s in range(3)]
    profile = speaker_norm.make_profile(waves, MEL, sources=["a.wav", "b.wav", "c.wav"])
    path = tmp_path / "speaker.json"
    speaker_norm.save_profile(profile, path)
    stats = speaker_norm.load_profile(path, MEL)
    np.testing.assert_allclose(stats, speaker_norm.waveform_moments(waves, MEL).stats(),
                               atol=1e-6)
    assert json.loads(path.read_text())["speech_seconds"] >= speaker_norm.MIN_SPEECH_S


def test_profile_errors_name_the_file_and_the_fix(tmp_path):
    with pytest.raises(speaker_norm.ProfileError, match="a.wav: 0.0 s of speech"):
        speaker_norm.make_profile([np.zeros(32000, "float32")], MEL, sources=["a.wav"])
    from adarl_tf import audio
    silent = audio.fill_digital_silence(np.zeros(48000, "float32"))  # As decoded.
    with pytest.raises(speaker_norm.ProfileError, match="b.wav: 0.0 s of speech"):
        speaker_norm.make_profile([silent], MEL, sources=["b.wav"])
    with pytest.raises(speaker_norm.ProfileError, match="at least 3 s"):
        speaker_norm.make_profile([_voice(1.0, 140, 0)], MEL, sources=["short.wav"])
    good = speaker_norm.make_profile([_voice(2.0, 140, s) for s in range(3)], MEL)
    cases = {"garbage.json": "{not json", "other.json": json.dumps({"format": "x"})}
    other = dict(good, frontend=dataclasses.asdict(dataclasses.replace(MEL, n_mels=32)))
    cases["frontend.json"] = json.dumps(other)
    cases["shape.json"] = json.dumps(dict(good, stats=[[0.0]]))
    messages = {"garbage.json": "not a readable speaker profile",
                "other.json": "not a speaker profile",
                "frontend.json": "made for another frontend \\(n_mels differ",
                "shape.json": "statistics of shape"}
    for name, text in cases.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(speaker_norm.ProfileError, match=messages[name]) as e:
            speaker_norm.load_profile(tmp_path / name, MEL)
        assert name in str(e.value) and "--enrol" in str(e.value)
    with pytest.raises(speaker_norm.ProfileError, match="missing.json"):
        speaker_norm.load_profile(tmp_path / "missing.json", MEL)
