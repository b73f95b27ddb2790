"""In-graph decoders: tensorflow-io where its ops load, scipy otherwise.

In the tensorflow-io environment (requirements-tfio.txt; CI sets
ADARL_TF_REQUIRE_TFIO=1) the tfio decoders must load and be used; elsewhere
the fallback is checked and the tfio tests skip.
"""

import os

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from adarl_tf import audio
from adarl_tf.corpora.corpus import check_audio, utterance_from_check
from adarl_tf.pipelines import audio_io
from tests.audio_files import tone, write_flac, write_float, write_pcm

REQUIRE_TFIO = os.environ.get("ADARL_TF_REQUIRE_TFIO") == "1"


def _utterances(tmp_path):
    files = [write_pcm(tmp_path / "fast.wav", tone(0.9, 16000), 16000),
             write_pcm(tmp_path / "stereo48.wav", tone(1.1, 48000, 2), 48000),
             write_flac(tmp_path / "a.flac", tone(0.7, 22050), 22050),
             write_pcm(tmp_path / "w24.wav", tone(0.6, 44100), 44100, 3),
             write_float(tmp_path / "f.wav", tone(0.5, 8000), 8000)]
    utts = []
    for i, path in enumerate(files):
        checked, reason = check_audio(path)
        assert reason is None
        utts.append(utterance_from_check(f"u{i}", path, "s", "F", "sad", checked))
    return utts


def _decode_all(utts):
    arrays = audio_io.decoder_arrays(utts)
    ds = tf.data.Dataset.from_tensor_slices(([u.path for u in utts],) + arrays)
    return [w.numpy() for w in ds.map(audio_io.decode)]


def test_status_is_a_reason_either_way():
    tfio, reason = audio_io.tfio_status()
    assert "tensorflow-io" in reason
    if REQUIRE_TFIO:
        assert tfio is not None, reason


def test_status_asked_first_while_tracing_is_the_eager_answer():
    # The first call may come from a tf.data map being traced (decoder_of runs
    # there); the probe must still run eagerly, or tfio is wrongly reported
    # broken for the whole process.
    eager = audio_io.tfio_status()
    audio_io.tfio_status.cache_clear()
    try:
        list(tf.data.Dataset.range(1).map(lambda x: (audio_io.tfio_status(), x)[1]))
        traced = audio_io.tfio_status()
    finally:
        audio_io.tfio_status.cache_clear()
    assert (traced[0] is None) == (eager[0] is None) and traced[1] == eager[1]


def test_every_decoder_gives_the_counted_length_and_the_scipy_waveform(tmp_path):
    utts = _utterances(tmp_path)
    kinds = [audio_io.decoder_of(u) for u in utts]
    if audio_io.tfio_status()[0] is not None:
        assert kinds == [audio_io.FAST, audio_io.TFIO_WAV, audio_io.TFIO_FLAC,
                         audio_io.SCIPY, audio_io.SCIPY]
    else:
        assert kinds == [audio_io.FAST] + [audio_io.SCIPY] * 4
    decoded = _decode_all(utts)
    for u, w in zip(utts, decoded):
        assert len(w) == u.samples_16k
        reference = audio.load_audio(u.path)
        # tfio's resampler is another band-limited filter (its delay removed):
        # the same signal in time, not the same samples.
        assert np.corrcoef(w[200:-200], reference[200:-200])[0, 1] > 0.99, u.encoding


def test_without_tfio_everything_goes_through_scipy(tmp_path, monkeypatch):
    utts = _utterances(tmp_path)
    monkeypatch.setattr(audio_io, "tfio_status", lambda: (None, "tensorflow-io: test"))
    assert [audio_io.decoder_of(u) for u in utts] == [audio_io.FAST] + [audio_io.SCIPY] * 4
    decoded = _decode_all(utts)
    np.testing.assert_allclose(decoded[1], audio.load_audio(utts[1].path), atol=1e-6)


def test_odd_sized_chunk_avoids_tf_decode_wav(tmp_path):
    """tf.audio.decode_wav fails on a file with an odd-sized chunk (RAVDESS has
    158 of 312 in its dev subset); such a file takes the scipy decoder."""
    from tests.audio_files import append_chunk
    plain = write_pcm(tmp_path / "plain.wav", tone(0.5, 16000), 16000)
    odd = append_chunk(write_pcm(tmp_path / "odd.wav", tone(0.5, 16000), 16000), b"_PMX",
                       b"xml")
    with pytest.raises(tf.errors.InvalidArgumentError):
        tf.audio.decode_wav(tf.io.read_file(str(odd)))
    utts = []
    for i, path in enumerate((plain, odd)):
        checked, _ = check_audio(path)
        utts.append(utterance_from_check(f"u{i}", path, "s", "F", "sad", checked))
    assert [(u.fast_decode, u.tf_decodable) for u in utts] == [(True, True), (False, False)]
    assert [audio_io.decoder_of(u) for u in utts] == [audio_io.FAST, audio_io.SCIPY]
    plain_w, odd_w = _decode_all(utts)
    np.testing.assert_allclose(odd_w, plain_w, atol=1e-6)


def test_the_decoder_choice_is_logged_once(tmp_path, monkeypatch):
    utts = _utterances(tmp_path)
    logged = []
    monkeypatch.setattr(audio_io, "_announced", set())
    monkeypatch.setattr(audio_io.logging, "log", lambda level, msg: logged.append(msg))
    audio_io.decoder_arrays(utts)
    audio_io.decoder_arrays(utts[1:])
    audio_io.decoder_arrays(utts[:1])  # Only the fast path: nothing to say.
    assert len(logged) == 1
    assert "tensorflow-io" in logged[0]
    if audio_io.tfio_status()[0] is None:
        assert "here 4 of 5" in logged[0]
    else:
        assert "here 1 WAV and 1 FLAC files resampled by tfio.audio.resample" in logged[0]
