"""`check_audio`: any WAV or FLAC is read, bad files are skipped with the reason."""

import numpy as np
import pytest

from adarl_tf import audio
from adarl_tf.corpora.corpus import Corpus, Utterance, check_audio
from tests.audio_files import tone, write_flac, write_float, write_pcm


@pytest.mark.parametrize("width", [1, 2, 3, 4])
def test_integer_widths_are_read(tmp_path, width):
    path = write_pcm(tmp_path / f"w{width}.wav", tone(0.5, 22050), 22050, width)
    checked, reason = check_audio(path)
    assert reason is None
    assert checked.info.encoding == f"pcm{8 * width}"
    assert checked.duration_s == pytest.approx(0.5)
    # 11,025 frames at 22.05 kHz -> ceil(11025 * 320 / 441) = 8,000 at 16 kHz.
    assert checked.n_samples == 8000 and not checked.fast_decode


def test_stereo_48k_is_mixed_down_and_resampled(tmp_path):
    x = tone(1.0, 48000, channels=2)
    path = write_pcm(tmp_path / "stereo.wav", x, 48000)
    checked, reason = check_audio(path)
    assert reason is None and checked.info.channels == 2 and checked.n_samples == 16000
    y = audio.load_audio(path)
    assert y.shape == (16000,)
    # The mix-down keeps the mean of the two channels' content.
    assert np.corrcoef(y[100:-100], audio.resample(x.mean(1), 48000, 16000)[100:-100])[0, 1] \
        > 0.999


def test_16k_mono_16bit_takes_the_fast_path(tmp_path):
    path = write_pcm(tmp_path / "fast.wav", tone(0.3, 16000), 16000)
    checked, _ = check_audio(path)
    assert checked.fast_decode and checked.n_samples == 4800


def test_float32_with_nan_is_skipped(tmp_path):
    x = tone(0.5, 16000)
    good, reason = check_audio(write_float(tmp_path / "f.wav", x, 16000))
    assert reason is None and good.info.encoding == "float32" and not good.fast_decode
    x[100] = np.nan
    checked, reason = check_audio(write_float(tmp_path / "nan.wav", x, 16000))
    assert checked is None
    assert reason.startswith("32-bit float WAV with NaN or infinite samples")
    x[100] = np.inf
    assert "NaN or infinite" in check_audio(write_float(tmp_path / "inf.wav", x, 44100, 64))[1]


def test_flac(tmp_path):
    path = write_flac(tmp_path / "a.flac", tone(0.75, 44100), 44100)
    checked, reason = check_audio(path)
    assert reason is None and checked.info.container == "flac"
    assert checked.n_samples == audio.resampled_length(33075, 44100, 16000) == 12000
    assert audio.load_audio(path).shape == (12000,)


def test_truncated_header_and_data_and_empty_file(tmp_path):
    full = write_pcm(tmp_path / "full.wav", tone(1.0, 16000), 16000).read_bytes()
    (tmp_path / "header.wav").write_bytes(full[:30])
    (tmp_path / "data.wav").write_bytes(full[:2000])
    (tmp_path / "empty.wav").write_bytes(b"")
    (tmp_path / "text.wav").write_text("not audio")
    reasons = {n: check_audio(tmp_path / f"{n}.wav")[1] for n in ("header", "data", "empty",
                                                                   "text")}
    assert "the WAV header is cut short" in reasons["header"]
    assert reasons["data"].startswith("truncated: the header promises 1.00 s")
    assert reasons["empty"].startswith("empty file (0 bytes)")
    assert "no RIFF/WAVE header" in reasons["text"]
    assert check_audio(tmp_path / "missing.wav")[1].startswith("file not found")


def test_silence_is_found_in_any_format(tmp_path):
    silent = np.zeros((8000, 2))
    for path in (write_pcm(tmp_path / "a.wav", silent, 48000, 3),
                 write_float(tmp_path / "b.wav", silent, 8000),
                 write_flac(tmp_path / "c.flac", silent, 16000)):
        assert check_audio(path)[1].startswith("silent:")


def test_resampled_length_is_what_resample_poly_gives():
    for n, rate in [(1, 48000), (11025, 22050), (33077, 44100), (7, 8000), (12345, 11025),
                    (48001, 48000)]:
        y = audio.resample(np.ones(n, np.float32), rate, 16000)
        assert len(y) == audio.resampled_length(n, rate, 16000)


def test_domain_index_and_report_use_the_corpus_sets():
    utts = [Utterance("a", "a.wav", "s1", "F", "calm", 1.0, meta={"corpus": "X"}),
            Utterance("b", "b.wav", "s2", "M", None, 1.0, meta={"corpus": "Y"})]
    corpus = Corpus("c", utts, ["s1"], emotions=("neutral", "calm"), domain="corpus",
                    domain_values=("X", "Y"))
    assert [corpus.domain_index(u) for u in utts] == [0, 1]
    assert utts[1].domain_index("gender", ("F", "M")) == 1
    report = corpus.report()
    assert report["label_totals"] == {"neutral": 0, "calm": 1}
    assert report["domain_counts"] == {"X": 1, "Y": 1}
    assert report["n_domain_only"] == 1 and report["domain_only_speakers"] == ["s2"]
    with pytest.raises(ValueError, match="not one of the domain values"):
        utts[0].domain_index("corpus", ("Y",))
