"""The two renderers of a plan: tf.data and numpy give the same batches."""

import numpy as np
import pytest

from adarl_tf.config import TrainConfig
from adarl_tf.pipelines import plan as P
from adarl_tf.pipelines import render_numpy, renderer
from tests.pipelines.robust_data import FRONTEND, ROBUST, L, utterances

tf = pytest.importorskip("tensorflow")

from adarl_tf.pipelines import render_tf  # noqa: E402

SAMPLER = TrainConfig(epochs=2, batch_size=3, seed=2, class_balance="sampler",
                      speed_factors=(0.9, 1.1), noise_snr_db=0.0)
PAPER = TrainConfig(epochs=2, batch_size=3, seed=1)
MIXUP = TrainConfig(epochs=2, batch_size=3, seed=3, train_hop_s=0.25, mixup_alpha=0.4,
                    noise_snr_db=10.0)


def _same(a, b):
    assert len(a) == len(b)
    for (xa, ya), (xb, yb) in zip(a, b):
        for key in ("waveform", "speaker_stats"):
            np.testing.assert_allclose(xa[key], xb[key].numpy(), atol=1e-5)
        assert set(ya) == set(yb)
        for key in ya:
            np.testing.assert_allclose(ya[key], yb[key].numpy(), atol=1e-6)


@pytest.mark.parametrize("train,tail", [(ROBUST, "pad"), (SAMPLER, "overlap"),
                                        (PAPER, "pad"), (PAPER, "overlap"),
                                        (MIXUP, "pad")])
def test_both_renderers_give_the_plans_batches(tmp_path, train, tail):
    utts = utterances(tmp_path, [L + L // 2, L // 2, 3 * L + 100, 2 * L, 700],
                      ["sad", "happy", "sad", None, "angry"])
    plan = P.training_plan(utts, P.Cut.of(FRONTEND, 0.1, tail, train), train,
                           train.batch_size, first_epoch=1)
    table = {"spk0": np.zeros((2, 3), "float32"), "spk1": np.ones((2, 3), "float32")}
    graph = list(render_tf.training_data(utts, plan, 16000, table))
    ours = list(render_numpy.training_data(utts, plan, 16000, table))
    assert len(ours) == len(plan.batches)
    _same(ours, graph)
    for (x, _), (b, e) in zip(ours, plan.batches):  # Each window with its speaker's row.
        spk1 = np.array([utts[plan.utterance[i]].speaker == "spk1" for i in range(b, e)])
        lam, partner = plan.mix[b:e], plan.partner[b:e]  # Mixup: with its partner's.
        np.testing.assert_allclose(x["speaker_stats"][:, 0, 0],
                                   lam * spk1 + (1 - lam) * spk1[partner], atol=1e-6)


def test_scoring_renders_the_paper_cut_in_order(tmp_path):
    utts = utterances(tmp_path, [2 * L + 500, L // 2, L], ["sad", "happy", "sad"])
    plan = P.scoring_plan(utts, P.Cut.of(FRONTEND, 0.0), 2)
    ours = render_numpy.scoring_data(utts, plan, 16000)
    graph = [b.numpy() for b in render_tf.scoring_data(utts, plan, 16000)]
    assert [len(b) for b in graph] == [2, 2, 1]
    np.testing.assert_array_equal(np.concatenate(graph), ours)
    first = render_numpy.decode(utts[0], 16000)
    np.testing.assert_array_equal(ours[1], first[L:2 * L])
    np.testing.assert_array_equal(ours[2, :500], first[2 * L:])
    assert not ours[2, 500:].any()


def test_scoring_the_same_set_again_decodes_nothing(tmp_path, monkeypatch):
    """Validation is scored after every epoch: its audio is decoded once."""
    from adarl_tf.pipelines import audio_io
    utts = utterances(tmp_path, [L + 7, L // 2], ["sad", "happy"])
    plan = P.scoring_plan(utts, P.Cut.of(FRONTEND, 0.0), 2)
    first = [b.numpy() for b in render_tf.scoring_data(utts, plan, 16000)]
    monkeypatch.setattr(audio_io, "decode", None)  # Would fail if called.
    again = [b.numpy() for b in render_tf.scoring_data(utts, plan, 16000)]
    np.testing.assert_array_equal(np.concatenate(again), np.concatenate(first))


def test_window_reading_agrees():
    waveform = np.random.default_rng(1).standard_normal(2 * L).astype("float32")
    buffer = tf.constant(np.concatenate([np.ones(7, "float32"), waveform]))
    for start, factor in [(-100, 0.9), (0, 1.1), (L + 7, 1.1), (-100, 1.0), (2 * L + 1, 1.0)]:
        graph, inside = render_tf.read_windows(buffer, tf.constant(7, tf.int64),
                                               tf.constant(2 * L, tf.int64),
                                               tf.constant(start, tf.int64),
                                               tf.constant(factor, tf.float32), L)
        ours, mask = render_numpy.read_window(waveform, start, factor, L)
        np.testing.assert_allclose(ours, graph.numpy(), atol=1e-6)
        np.testing.assert_array_equal(mask, inside.numpy() > 0)


def test_any_format_decodes_to_the_counted_length(tmp_path):
    """Every format decodes to `samples_16k` samples, so the plan's counts hold."""
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
    buffer, offsets, lengths = render_tf._decoded(utts)
    assert lengths.numpy().tolist() == [u.samples_16k for u in utts]
    assert int(tf.size(buffer)) == sum(u.samples_16k for u in utts)
    for u, end in zip(utts, (offsets + lengths).numpy()):  # Not padding: real audio.
        assert len(audio.load_audio(u.path)) == u.samples_16k
        assert np.abs(buffer.numpy()[end - 50:end]).max() > 0
    plan = P.scoring_plan(utts, P.Cut.of(FRONTEND, 0.1), 4)
    assert sum(int(b.shape[0]) for b in render_tf.scoring_data(utts, plan)) == len(plan.start)


def test_renderer_choice():
    assert renderer("numpy") is render_numpy and renderer("tf.data") is render_tf
    with pytest.raises(ValueError, match="expected one of"):
        renderer("torch")
