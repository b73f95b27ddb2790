"""Reading WAV files of any sample format, rate and channel count."""

import numpy as np
import pytest

from adarl_tf import audio
from tests.audio_files import set_header, tone, write_float, write_pcm

RATE = 22050


def _signal(n, channels):
    t = np.arange(n) / RATE
    left = 0.5 * np.sin(2 * np.pi * 440 * t)
    return np.stack([left, -0.25 * np.ones(n)][:channels], axis=1)


@pytest.mark.parametrize("width,tol", [(1, 1e-2), (2, 1e-4), (3, 1e-6), (4, 1e-8)])
def test_integer_pcm_of_every_width(tmp_path, width, tol):
    x = _signal(2000, 2)
    write_pcm(tmp_path / "a.wav", x, RATE, width)
    samples, rate = audio.read_audio(tmp_path / "a.wav")
    assert rate == RATE and samples.shape == (2000, 2) and samples.dtype == np.float32
    np.testing.assert_allclose(samples, x, atol=tol)


def test_float32_wav(tmp_path):
    x = _signal(1000, 1)
    write_float(tmp_path / "f.wav", x, RATE)
    samples, rate = audio.read_audio(tmp_path / "f.wav")
    assert rate == RATE
    np.testing.assert_array_equal(samples, x.astype(np.float32))


def test_load_audio_mixes_down_and_resamples(tmp_path):
    x = _signal(RATE, 2)  # 1 s of 440 Hz in the left channel, a DC offset in the right.
    write_pcm(tmp_path / "s.wav", x, RATE, 2)
    y = audio.load_audio(tmp_path / "s.wav", 16000)
    assert y.shape == (16000,) and y.dtype == np.float32
    # Mix-down: (sine - 0.25) / 2; the tone stays at 440 Hz after resampling.
    spectrum = np.abs(np.fft.rfft(y[2000:14000] - y[2000:14000].mean()))
    assert abs(np.argmax(spectrum) * 16000 / 12000 - 440) < 2
    assert y[2000:14000].mean() == pytest.approx(-0.125, abs=1e-3)
    assert np.abs(y).max() <= 1.0


@pytest.mark.parametrize("content,match", [
    (None, "file not found"), (b"", "empty file"), (b"hello, not audio", "not a WAV file"),
    (b"RIFF\x10\x00\x00\x00WAVEfmt ", "WAV"),
])
def test_bad_files_raise_audio_error_with_reason(tmp_path, content, match):
    path = tmp_path / "bad.wav"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(audio.AudioError, match=match):
        audio.load_audio(path)


# Header bounds, and the sample rules training and predict share (`check_contents`).


@pytest.mark.parametrize("rate,channels,match", [
    (1, None, "sample rate, 1 Hz, is outside 4000-384000 Hz"),
    (0, None, "sample rate, 0 Hz"),
    (4_000_000_000, None, "sample rate, 4000000000 Hz"),
    (3999, None, "3999 Hz"), (384001, None, "384001 Hz"),
    (None, 65535, "channel count, 65535, is outside 1-32"),
    (None, 0, "channel count, 0,"),
])
def test_absurd_header_is_refused_before_any_sample_is_read(tmp_path, rate, channels, match,
                                                              monkeypatch):
    path = set_header(write_pcm(tmp_path / "a.wav", tone(0.2, 16000), 16000), rate, channels)
    # A 1 Hz header would make a 16,000-fold resampling; nothing may be decoded.
    monkeypatch.setattr(audio, "_decode_pcm", lambda *a: pytest.fail("samples were read"))
    for read in (audio.audio_info, audio.load_audio, audio.checked_info):
        with pytest.raises(audio.AudioError, match=match) as e:
            read(path)
        assert "the header is damaged; re-encode the file" in str(e.value)


def test_header_bounds_are_inclusive(tmp_path):
    for rate in (audio.MIN_RATE_HZ, audio.MAX_RATE_HZ):
        path = write_pcm(tmp_path / f"{rate}.wav", tone(0.05, rate), rate)
        assert audio.checked_info(path).sample_rate == rate
    path = write_pcm(tmp_path / "32.wav", tone(0.05, 16000, channels=32), 16000)
    assert audio.checked_info(path).channels == 32


def test_samples_in_memory_are_bounded_too():
    with pytest.raises(audio.AudioError, match="1 Hz: expected 4000-384000 Hz"):
        audio.prepare_waveform(np.ones(100) * 0.1, 1)
    with pytest.raises(audio.AudioError, match="48000 channels.*transposed"):
        audio.prepare_waveform(np.ones((2, 48000)) * 0.1, 16000)


def test_clipped_and_wrongly_scaled_files_are_refused(tmp_path):
    x = tone(1.0, 16000)[:, 0]
    square = np.sign(np.sin(2 * np.pi * 200 * np.arange(16000) / 16000))
    cases = {"square": write_pcm(tmp_path / "square.wav", square, 16000),
             "loud": write_pcm(tmp_path / "loud.wav", np.clip(x * 8, -1, 1), 16000, 3),
             "scale": write_float(tmp_path / "scale.wav", x * 100, 16000)}
    for name, path in cases.items():
        with pytest.raises(audio.AudioError, match=r"clipped: \d+% of the samples are at full "
                           "scale") as e:
            audio.checked_info(path)
        assert "record or export it again at a lower level" in str(e.value)
        assert ("wrong scale" in str(e.value)) == (name == "scale")


def test_a_few_clipped_samples_are_kept(tmp_path):
    # 4 % of the samples at full scale: loud speech, not a broken file.
    x = tone(1.0, 16000)[:, 0]
    x[:640] = 1.0
    assert audio.checked_info(write_pcm(tmp_path / "a.wav", x, 16000)).frames == 16000
    levels = audio.sample_levels(x)
    assert levels.clipped == 640 and levels.problem("pcm16") is None


def test_silence_and_nan_in_memory_give_the_files_reasons():
    assert audio.sample_levels(np.zeros(100)).problem("pcm16").startswith("silent:")
    assert "NaN or infinite" in audio.sample_levels([0.1, np.nan]).problem("float32")
    assert audio.sample_levels(np.full(10, 1e-5)).problem("pcm16").startswith("silent:")


# Long recordings: blocks and the stream resampler give what the whole-file reader gives.

@pytest.mark.parametrize("rate", [8000, 16000, 22050, 44100, 48000])
def test_stream_resampler_equals_whole_signal_resampling(rate):
    rng = np.random.default_rng(rate)
    x = rng.standard_normal(int(2.3 * rate)) * 0.1
    whole = audio.resample(x, rate, 16000)
    for block in (1, 997, 4410, 100000):
        r = audio.StreamResampler(rate, 16000, chunk=3000)
        pieces = [r.push(x[i:i + block]) for i in range(0, len(x), block)] + [r.flush()]
        got = np.concatenate(pieces)
        assert len(got) == len(whole) == audio.resampled_length(len(x), rate, 16000)
        np.testing.assert_allclose(got, whole, atol=1e-6)


def test_read_blocks_and_stream_audio_match_the_whole_file(tmp_path):
    from tests.audio_files import tone, write_flac
    x = tone(1.3, 22050, channels=2, seed=4)
    for path in (write_pcm(tmp_path / "a.wav", x, 22050, width=3),
                 write_flac(tmp_path / "a.flac", x, 22050)):
        samples, rate = audio.read_audio(path)
        blocks = list(audio.read_blocks(path, 1000))
        assert max(len(b) for b in blocks) == 1000 and rate == 22050
        np.testing.assert_array_equal(np.concatenate(blocks), samples)
        streamed = np.concatenate(list(audio.stream_audio(path, 16000, block_s=0.1)))
        np.testing.assert_allclose(streamed, audio.load_audio(path), atol=1e-6)


def test_prepare_waveform_is_load_audio_after_reading(tmp_path):
    from tests.audio_files import tone
    path = write_pcm(tmp_path / "a.wav", tone(0.5, 44100, channels=2), 44100)
    samples, rate = audio.read_audio(path)
    np.testing.assert_array_equal(audio.prepare_waveform(samples, rate), audio.load_audio(path))
