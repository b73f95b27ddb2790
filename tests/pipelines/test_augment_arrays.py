"""The numpy augmentation and sampler (no TensorFlow): the rules of augment.py, seeded per epoch.

CI (.ci/run) runs this file under JAX without TensorFlow; the comparisons
with the tf.data twin skip there.
"""

import numpy as np
import pytest

from adarl_tf.config import TrainConfig
from adarl_tf.pipelines import arrays, augment_arrays as aug, augment_module, crops, rules
from tests.pipelines.robust_data import FRONTEND, L, RATE, ROBUST, utterances as _utterances


def _epochs(ds, steps, n_epochs):
    batches = list(ds)
    assert len(batches) == steps * n_epochs  # Exactly the counted steps, every epoch.
    return [batches[e * steps:(e + 1) * steps] for e in range(n_epochs)]


def _plan(n, index, crop_seed, train, min_tail_s=0.1):
    return aug.plan_utterance(n, index, crop_seed, FRONTEND, min_tail_s, train)


@pytest.mark.parametrize("n", [L - 300, L, L + 1, 2 * L + 37, 3 * L + L // 3, 5 * L - 1])
def test_crops_stay_inside_the_utterance_and_their_count_is_fixed(n):
    train = TrainConfig(random_crop=True, train_hop_s=0.3)
    hop, min_tail = round(0.3 * RATE), round(0.1 * RATE)
    offsets = set()
    for crop_seed in range(20):
        starts = _plan(n, 0, crop_seed, train)["starts"]
        assert len(starts) == crops.count_crops(n, L, hop, min_tail)
        if n >= L:
            assert starts.min() >= 0 and starts.max() + L <= n
        else:  # A short utterance sits inside the one window.
            assert len(starts) == 1 and -(L - n) <= starts[0] <= 0
        offsets.add(int(starts[0]))
    if n not in (L,):  # Room to move: the crop does move.
        assert len(offsets) > 1


def test_crops_are_exact_slices_reproducible_per_epoch():
    n = 3 * L + 123
    waveform = np.arange(n, dtype="float32")
    train = TrainConfig(random_crop=True, train_hop_s=0.3)

    def windows(crop_seed):
        plan = _plan(n, 4, crop_seed, train)
        return np.stack([aug.render(waveform, plan, j, crop_seed, 4, L)
                         for j in range(len(plan["starts"]))])

    first = windows(99)
    for w in first:
        np.testing.assert_array_equal(w, np.arange(w[0], w[0] + L))
    np.testing.assert_array_equal(first, windows(99))  # Same (epoch seed, utterance).
    assert not np.array_equal(first[:, 0], windows(100)[:, 0])  # Another epoch moves them.


def test_speed_reads_the_utterance_at_the_drawn_rate():
    waveform = np.arange(4 * L, dtype="float32")
    plan = _plan(len(waveform), 0, 1, TrainConfig(speed_factors=(0.9,)))
    window = aug.render(waveform, plan, 1, 1, 0, L)
    # 0.9: each window holds 0.9 L samples of speech, stretched by 1/0.9 to L.
    np.testing.assert_allclose(window, L + 0.9 * np.arange(L), rtol=1e-6)
    # A tone comes out at 0.9 x its frequency.
    tone = np.sin(2 * np.pi * 400.0 * np.arange(4 * L) / RATE).astype("float32")
    spectrum = np.abs(np.fft.rfft(aug.render(tone, plan, 0, 1, 0, L)))
    assert np.argmax(spectrum) * RATE / L == pytest.approx(360.0, abs=RATE / L)
    # Faster than 1: past the end of the utterance are zeros.
    plan = _plan(len(waveform), 0, 1, TrainConfig(speed_factors=(1.1,)))
    last = aug.render(waveform, plan, 3, 1, 0, L)
    assert not last[-L // 20:].any() and last[0] == 3 * L


def test_gain_is_uniform_in_the_stated_range():
    waveform = np.random.default_rng(0).standard_normal(20 * L).astype("float32")
    train = TrainConfig(gain_db=6.0)
    gains_db = []
    for seed in range(10):
        plan = _plan(len(waveform), 2, seed, train)
        for j, start in enumerate(plan["starts"]):
            window = aug.render(waveform, plan, j, seed, 2, L)
            ratio = window / waveform[start:start + L]
            np.testing.assert_allclose(ratio, ratio[0], rtol=1e-4)  # One gain per window.
            gains_db.append(20 * np.log10(ratio[0]))
    gains_db = np.array(gains_db)
    assert gains_db.min() >= -6.0 - 1e-4 and gains_db.max() <= 6.0 + 1e-4
    assert gains_db.min() < -3.0 and gains_db.max() > 3.0  # Spread over the range.


@pytest.mark.parametrize("snr_db", [5.0, 20.0, 40.0])
def test_noise_is_added_at_the_drawn_snr(snr_db):
    waveform = (0.3 * np.sin(np.arange(8 * L) * 0.05)).astype("float32")
    train = TrainConfig(noise_snr_db=snr_db)
    measured, drawn = [], []
    for seed in range(5):
        plan = _plan(len(waveform), 0, seed, train)
        for j, start in enumerate(plan["starts"]):
            clean = waveform[start:start + L]
            noise = aug.render(waveform, plan, j, seed, 0, L) - clean
            measured.append(10 * np.log10(np.mean(clean ** 2) / np.mean(noise ** 2)))
            drawn.append(plan["snr_db"][j])
    # Each window at its drawn SNR (8000 samples: within 0.3 dB), drawn in [snr, 40].
    np.testing.assert_allclose(measured, drawn, atol=0.3)
    assert min(drawn) >= snr_db and max(drawn) <= max(40.0, snr_db)
    if snr_db < 40.0:
        assert max(drawn) - min(drawn) > (40.0 - snr_db) / 3


def test_epochs_have_exact_steps_replay_on_resume_and_draw_anew(tmp_path):
    utts = _utterances(tmp_path, [L // 2, L, 2 * L + 500, 3 * L + 3000, int(1.7 * L)],
                       ["neutral", "happy", "sad", "angry", "sad"])
    steps = aug.steps_per_epoch(utts, FRONTEND, 0.2, ROBUST.batch_size, ROBUST)
    n_segments = int(aug.segment_counts(utts, FRONTEND, 0.2, ROBUST).sum())
    epochs = _epochs(aug.training_dataset(utts, FRONTEND, 0.2, ROBUST), steps, ROBUST.epochs)
    assert sum(len(b[1]["emotion"]) for b in epochs[0]) == n_segments
    assert all(len(x) == ROBUST.batch_size for x, _ in epochs[0][:-1])
    # Every utterance gives its counted segments, with its labels.
    labels, _ = rules.labels_of(utts)
    drawn = np.concatenate([y["emotion"] for _, y in epochs[0]])
    expected = np.repeat(labels, aug.segment_counts(utts, FRONTEND, 0.2, ROBUST))
    np.testing.assert_array_equal(np.sort(drawn), np.sort(expected))
    resumed = _epochs(aug.training_dataset(utts, FRONTEND, 0.2, ROBUST, first_epoch=1),
                      steps, ROBUST.epochs - 1)
    for a, b in zip(epochs[1:], resumed):
        for (xa, ya), (xb, yb) in zip(a, b):
            np.testing.assert_array_equal(xa, xb)
            np.testing.assert_array_equal(ya["emotion"], yb["emotion"])
    first = np.sort(np.concatenate([x.ravel() for x, _ in epochs[0]]))
    second = np.sort(np.concatenate([x.ravel() for x, _ in epochs[1]]))
    assert not np.allclose(first, second)  # Epochs draw new augmentations.


def test_sampler_balances_the_classes_and_skips_unlabelled(tmp_path):
    labels = ["neutral"] * 12 + ["happy"] * 2 + ["sad"] * 2 + [None] * 2
    utts = _utterances(tmp_path, [L] * len(labels), labels)
    train = TrainConfig(epochs=4, batch_size=8, class_balance="sampler")
    steps = aug.steps_per_epoch(utts, FRONTEND, 0.2, 8, train)
    epochs = _epochs(aug.training_dataset(utts, FRONTEND, 0.2, train), steps, 4)
    drawn = np.concatenate([y["emotion"] for e in epochs for _, y in e])
    assert len(drawn) == 4 * len(utts)  # As many segments as without the sampler.
    assert (drawn >= 0).all()  # Unlabelled segments are not drawn.
    # 72 draws uniform over 3 classes: each near 24, the majority class no longer 2/3.
    counts = np.bincount(drawn, minlength=3)
    assert counts.sum() == 72 and counts.min() >= 12 and counts.max() <= 36
    # The minority classes' segments are repeated, each of them used.
    happy = np.concatenate([x[y["emotion"] == 1] for e in epochs for x, y in e])
    assert len(np.unique(happy[:, 100])) == 2


def test_evaluation_segments_are_the_paper_cut(tmp_path):
    # The numpy pipeline's evaluation takes no TrainConfig: the test segments are
    # the paper's cut whatever the recipe.
    utts = _utterances(tmp_path, [2 * L + 500, L // 2], ["sad", "happy"])
    segments = arrays.evaluation_dataset(utts, FRONTEND, 0.2, 4)
    assert len(segments) == int(rules.segments_per_utterance(utts, FRONTEND, 0.2).sum()) == 3
    first = arrays.decode(utts[0], RATE)
    np.testing.assert_array_equal(segments[0], first[:L])
    np.testing.assert_array_equal(segments[1], first[L:2 * L])
    np.testing.assert_array_equal(segments[2, :L // 2], arrays.decode(utts[1], RATE))


def test_numpy_pipeline_gets_the_numpy_augmentation():
    assert augment_module("numpy") is aug


def test_window_starts_and_reading_agree_with_tf_data():
    tf = pytest.importorskip("tensorflow")
    from adarl_tf.pipelines import augment
    hop, min_tail = L // 2, L // 4
    for n in (L - 300, L, 2 * L + 37, 5 * L - 1):
        for u in np.linspace(0.0, 0.999, 5):
            graph = augment.window_starts(n, L, hop, min_tail, True,
                                          tf.constant(u, tf.float32)).numpy()
            np.testing.assert_array_equal(crops.window_starts(n, L, hop, min_tail, True, u),
                                          graph)
    waveform = np.random.default_rng(1).standard_normal(2 * L).astype("float32")
    starts = np.array([-100, 0, L + 7, -100, L + 7, 2 * L + 1])
    factors = np.array([0.9, 1.1, 1.1, 1.0, 1.0, 1.0], "float32")
    graph, graph_inside = augment.read_windows(
        tf.constant(waveform), tf.constant(starts, tf.int32), tf.constant(factors), L)
    ours = [aug.read_window(waveform, s, f, L) for s, f in zip(starts, factors)]
    np.testing.assert_allclose(np.stack([w for w, _ in ours]), graph.numpy(), atol=1e-6)
    # The masks of real samples agree too (noise goes only there).
    np.testing.assert_array_equal(np.stack([m for _, m in ours]), graph_inside.numpy() > 0)
