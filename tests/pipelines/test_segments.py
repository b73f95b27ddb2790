import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from adarl_tf.config import FrontendConfig
from adarl_tf.corpora.corpus import Utterance
from adarl_tf.pipelines import segments as seg
from tests.pipelines.robust_data import write_wav

RATE = 16000
# 0.5 s segments keep the arrays small; the rule is the same at 3 s.
FRONTEND = FrontendConfig(segment_s=0.5)
S = FRONTEND.segment_samples


def _corpus(tmp_path, lengths, labels=None):
    utts = []
    for i, n in enumerate(lengths):
        path = tmp_path / f"u{i}.wav"
        write_wav(path, 0.5 * np.sin(np.arange(n) * (0.01 + 0.001 * i)))
        label = labels[i] if labels else ("neutral", "happy", "sad", "angry")[i % 4]
        utts.append(Utterance(f"u{i}", str(path), f"spk{i % 2}", "FM"[i % 2], label, n / RATE))
    return utts


@pytest.mark.parametrize("n,min_tail,expected", [
    (S, 0, 1), (S + 1, 0, 2), (S + 1, S // 3, 1), (2 * S + S // 3, S // 3, 3),
    (2 * S + S // 3 - 1, S // 3, 2), (100, S // 3, 1), (3 * S, S, 3)])
def test_count_segments(n, min_tail, expected):
    assert seg.count_segments(n, S, min_tail) == expected


@pytest.mark.parametrize("n", [100, S - 1, S, S + 10, 2 * S + S // 2, 3 * S])
@pytest.mark.parametrize("min_tail", [0, S // 3])
def test_segment_waveform_eager_and_in_tf_data(n, min_tail):
    x = np.arange(1, n + 1, dtype="float32")
    k = seg.count_segments(n, S, min_tail)
    reference = np.zeros(k * S, "float32")
    reference[:min(n, k * S)] = x[:k * S]
    reference = reference.reshape(k, S)
    eager = seg.segment_waveform(tf.constant(x), S, min_tail).numpy()
    np.testing.assert_array_equal(eager, reference)
    in_graph = next(iter(tf.data.Dataset.from_tensors(x).map(
        lambda w: seg.segment_waveform(w, S, min_tail)))).numpy()
    np.testing.assert_array_equal(in_graph, reference)


def test_decode_wav_matches_the_file(tmp_path):
    samples = 0.25 * np.sin(np.arange(1234) * 0.05)
    write_wav(tmp_path / "a.wav", samples)
    decoded = seg.decode_wav(str(tmp_path / "a.wav")).numpy()
    # 16-bit PCM reads back as int / 32768.
    np.testing.assert_array_equal(decoded, np.round(samples * 32767).astype("<i2") / np.float32(32768))


def test_training_dataset_segments_labels_and_length(tmp_path):
    lengths = [S // 2, S, 2 * S + S // 2, 3 * S + 100, S + S // 3]
    labels = ["neutral", None, "sad", "angry", "happy"]
    utts = _corpus(tmp_path, lengths, labels)
    ds = seg.training_dataset(utts, FRONTEND, min_tail_s=0.1, batch_size=4, seed=1)
    expected = seg.segments_per_utterance(utts, FRONTEND, 0.1)
    assert expected.tolist() == [1, 1, 3, 3, 2]
    for epoch in range(2):  # The cache serves the second epoch.
        batches = list(ds)
        assert len(batches) == int(ds.cardinality()) == -(-expected.sum() // 4)
        emotion = np.concatenate([y["emotion"].numpy() for _, y in batches])
        domain = np.concatenate([y["domain"].numpy() for _, y in batches])
        assert sorted(emotion.tolist()) == sorted([0, -1, 2, 2, 2, 3, 3, 3, 1, 1])
        assert sorted(domain.tolist()) == sorted([0, 1, 0, 0, 0, 1, 1, 1, 0, 0])
        assert all(x.shape[1] == S for x, _ in batches)


def test_evaluation_dataset_keeps_utterance_order(tmp_path):
    utts = _corpus(tmp_path, [S + S // 2, S // 4, 2 * S])
    ds = seg.evaluation_dataset(utts, FRONTEND, min_tail_s=0.0, batch_size=3)
    segments = np.concatenate([b.numpy() for b in ds])
    assert len(segments) == seg.segments_per_utterance(utts, FRONTEND, 0.0).sum() == 5
    first = seg.decode_wav(utts[0].path).numpy()
    np.testing.assert_allclose(segments[0], first[:S])
    np.testing.assert_allclose(segments[1][:S // 2], first[S:])
    assert not segments[1][S // 2:].any()


def test_any_format_decodes_to_the_counted_length(tmp_path):
    """The graph's waveform is `samples_16k` long for every format, so the
    plain-Python segment counts (which group scores into utterances) match."""
    from adarl_tf import audio
    from adarl_tf.corpora.corpus import check_audio, utterance_from_check
    from tests.audio_files import tone, write_flac, write_float, write_pcm

    files = [write_pcm(tmp_path / "a.wav", tone(0.77, 48000, 2), 48000),
             write_pcm(tmp_path / "b.wav", tone(1.31, 22050), 22050, 3),
             write_pcm(tmp_path / "c.wav", tone(0.4, 8000), 8000, 1),
             write_float(tmp_path / "d.wav", tone(1.03, 44100), 44100),
             write_flac(tmp_path / "e.flac", tone(0.61, 32000, 2), 32000),
             write_pcm(tmp_path / "f.wav", tone(1.2, 16000), 16000)]
    utts = []
    for i, path in enumerate(files):
        checked, reason = check_audio(path)
        assert reason is None, reason
        utts.append(utterance_from_check(f"u{i}", path, "s", "F", "sad", checked))
    assert [u.fast_decode for u in utts] == [False] * 5 + [True]
    decoded = [w.numpy() for w, _, _, _ in seg._decoded(utts)]
    assert [len(w) for w in decoded] == [u.samples_16k for u in utts]
    for u, w in zip(utts, decoded):  # Not padding: the resampler gives that length.
        assert len(audio.load_audio(u.path)) == u.samples_16k
        assert np.abs(w[-50:]).max() > 0
    counts = seg.segments_per_utterance(utts, FRONTEND, 0.1)
    ds = seg.evaluation_dataset(utts, FRONTEND, 0.1, batch_size=4)
    assert sum(int(b.shape[0]) for b in ds) == counts.sum()
    assert list(counts) == [seg.count_segments(u.samples_16k, S, 1600) for u in utts]
