"""The plan of the data (no TensorFlow): the cut, counts, draws, orders and seeds.

CI (.ci/run) runs this file under JAX without TensorFlow; windows are read
with `render_numpy` (numpy only).
"""

import dataclasses

import numpy as np
import pytest

from adarl_tf.config import TrainConfig
from adarl_tf.corpora.corpus import Utterance
from adarl_tf.export.runners import segment_array
from adarl_tf.pipelines import plan as P
from adarl_tf.pipelines import render_numpy as R
from tests.pipelines.robust_data import FRONTEND, RATE, ROBUST, L


def _utterances(lengths, labels=None):
    labels = labels or ["sad"] * len(lengths)
    return [Utterance(f"u{i}", f"/nowhere/u{i}.wav", f"spk{i % 2}", "FM"[i % 2], label,
                      n / RATE) for i, (n, label) in enumerate(zip(lengths, labels))]


def _windows(waveform, train, min_tail_s=0.1, index=0):
    """One epoch's (plan, windows) of `waveform` as utterance `index` of a fold."""
    utts = _utterances([len(waveform)] * (index + 1))
    train = dataclasses.replace(train, epochs=1)
    plan = P.training_plan(utts, P.Cut.of(FRONTEND, min_tail_s, "pad", train), train, 10**6)
    mine = np.flatnonzero(plan.utterance == index)
    mine = mine[np.argsort(plan.window[mine])]
    return plan, mine, np.stack([R.element(waveform, plan, e) for e in mine])


@pytest.mark.parametrize("n,min_tail,expected", [
    (L, 0, 1), (L + 1, 0, 2), (L + 1, L // 3, 1), (2 * L + L // 3, L // 3, 3),
    (2 * L + L // 3 - 1, L // 3, 2), (100, L // 3, 1), (3 * L, L, 3), (0, 0, 1)])
def test_the_paper_cut_counts(n, min_tail, expected):
    assert len(P.starts(n, P.Cut(L, min_tail))) == expected


@pytest.mark.parametrize("n,hop,min_tail,expected", [
    (L, L, 0, 1), (L - 1, L, 0, 1), (2 * L, L, 0, 2), (2 * L + 10, L, 100, 2),
    (2 * L + 100, L, 100, 3), (2 * L, L // 2, 0, 3), (2 * L + 1, L // 2, 0, 4),
    (2 * L + 1, L // 2, 2, 3)])
def test_the_robust_cut_counts(n, hop, min_tail, expected):
    assert len(P.starts(n, P.Cut(L, min_tail, hop=hop, random_crop=True), 0.7)) == expected


def test_scoring_windows_pad_or_overlap_the_tail():
    n = 2 * L + L // 2
    waveform = np.random.default_rng(0).normal(size=n).astype("float32")
    padded = segment_array(waveform, L, L // 4)
    overlap = segment_array(waveform, L, L // 4, "overlap")
    np.testing.assert_array_equal(padded.ravel()[:n], waveform)
    assert not padded.ravel()[n:].any()
    np.testing.assert_array_equal(overlap[:2], padded[:2])
    np.testing.assert_array_equal(overlap[2], waveform[-L:])  # No padding to score.
    short = waveform[:L // 2]  # Shorter than a segment: padded either way.
    np.testing.assert_array_equal(segment_array(short, L, 0, "overlap"),
                                  segment_array(short, L, 0))


def test_counts_steps_and_class_weights():
    utts = _utterances([L // 2, 2 * L + 100, 3 * L], ["sad", "happy", "sad"])
    train = TrainConfig(train_hop_s=0.25, random_crop=True)
    cut = P.Cut.of(FRONTEND, 0.2, train=train)
    assert (cut.hop, cut.min_tail, cut.random_crop) == (4000, 3200, True)
    expected = [len(P.starts(u.samples_16k, cut)) for u in utts]
    assert list(P.counts(utts, cut)) == expected == [1, 3, 5]
    assert P.steps(utts, cut, 4) == -(-sum(expected) // 4)
    # Without crops or a hop, the paper's cut.
    assert list(P.counts(utts, P.Cut.of(FRONTEND, 0.2, train=TrainConfig(gain_db=3.0)))) \
        == [1, 2, 3]
    utts = _utterances([L] * 8 + [2 * L], ["neutral"] * 6 + ["happy"] * 2 + [None])
    weights = P.class_weights(utts, P.Cut.of(FRONTEND, 0.2), n_classes=4)
    # n / (k n_c), n = 8 labelled windows, k = 2 classes present; absent: 0.
    np.testing.assert_allclose(weights, [8 / 12, 8 / 4, 0.0, 0.0], rtol=1e-6)


@pytest.mark.parametrize("n", [L - 300, L, L + 1, 2 * L + 37, 3 * L + L // 3, 5 * L - 1])
def test_crops_stay_inside_the_utterance_and_move(n):
    cut = P.Cut.of(FRONTEND, 0.1, train=TrainConfig(random_crop=True, train_hop_s=0.3))
    first = set()
    for seed in range(20):
        at = P.starts(n, cut, np.random.default_rng(seed).random())
        assert len(at) == len(P.starts(n, cut))  # The count never depends on the draw.
        if n >= L:
            assert at.min() >= 0 and at.max() + L <= n
        else:
            assert len(at) == 1 and -(L - n) <= at[0] <= 0
        first.add(int(at[0]))
    assert len(first) > 1 or n == L


def test_crops_are_exact_slices_reproducible_per_epoch():
    waveform = np.arange(3 * L + 123, dtype="float32")
    train = TrainConfig(random_crop=True, train_hop_s=0.3, seed=4)
    _, _, first = _windows(waveform, train, index=2)
    for w in first:
        np.testing.assert_array_equal(w, np.arange(w[0], w[0] + L))
    np.testing.assert_array_equal(first, _windows(waveform, train, index=2)[2])
    moved = _windows(waveform, TrainConfig(random_crop=True, train_hop_s=0.3, seed=5), index=2)
    assert not np.array_equal(first[:, 0], moved[2][:, 0])


def test_speed_reads_the_utterance_at_the_drawn_rate():
    waveform = np.arange(4 * L, dtype="float32")
    _, _, w = _windows(waveform, TrainConfig(speed_factors=(0.9,)))
    np.testing.assert_allclose(w[1], L + 0.9 * np.arange(L), rtol=1e-6)
    tone = np.sin(2 * np.pi * 400.0 * np.arange(4 * L) / RATE).astype("float32")
    spectrum = np.abs(np.fft.rfft(_windows(tone, TrainConfig(speed_factors=(0.9,)))[2][0]))
    assert np.argmax(spectrum) * RATE / L == pytest.approx(360.0, abs=RATE / L)
    last = _windows(waveform, TrainConfig(speed_factors=(1.1,)))[2][3]
    assert not last[-L // 20:].any() and last[0] == 3 * L  # Zeros past the end.


def test_gain_is_uniform_in_the_stated_range():
    waveform = np.random.default_rng(0).standard_normal(20 * L).astype("float32")
    gains_db = []
    for seed in range(10):
        plan, mine, windows = _windows(waveform, TrainConfig(gain_db=6.0, seed=seed))
        for e, w in zip(mine, windows):
            ratio = w / waveform[plan.start[e]:plan.start[e] + L]
            np.testing.assert_allclose(ratio, ratio[0], rtol=1e-4)  # One gain per window.
            gains_db.append(20 * np.log10(ratio[0]))
    assert -6.0 - 1e-4 <= min(gains_db) < -3.0 and 3.0 < max(gains_db) <= 6.0 + 1e-4


@pytest.mark.parametrize("snr_db", [5.0, 20.0, 40.0])
def test_noise_is_added_at_the_drawn_snr(snr_db):
    waveform = (0.3 * np.sin(np.arange(8 * L) * 0.05)).astype("float32")
    measured, drawn = [], []
    for seed in range(5):
        plan, mine, windows = _windows(waveform, TrainConfig(noise_snr_db=snr_db, seed=seed))
        for e, w in zip(mine, windows):
            clean = waveform[plan.start[e]:plan.start[e] + L]
            measured.append(10 * np.log10(np.mean(clean ** 2) / np.mean((w - clean) ** 2)))
            drawn.append(plan.snr_db[e])
    np.testing.assert_allclose(measured, drawn, atol=0.3)
    assert min(drawn) >= snr_db and max(drawn) <= max(40.0, snr_db)
    if snr_db < 40.0:
        assert max(drawn) - min(drawn) > (40.0 - snr_db) / 3


def test_epochs_are_exact_replay_on_resume_and_draw_anew():
    lengths = [L // 2, L, 2 * L + 500, 3 * L + 3000, int(1.7 * L)]
    utts = _utterances(lengths, ["neutral", "happy", "sad", "angry", "sad"])
    cut = P.Cut.of(FRONTEND, 0.2, train=ROBUST)
    plan = P.training_plan(utts, cut, ROBUST, ROBUST.batch_size)
    steps, n = P.steps(utts, cut, ROBUST.batch_size), int(P.counts(utts, cut).sum())
    assert len(plan.batches) == steps * ROBUST.epochs and len(plan.utterance) == n * 3
    assert all(e - b == ROBUST.batch_size for b, e in plan.batches[:steps - 1])
    labels, _ = P.labels_of(utts)
    expected = np.sort(np.repeat(labels, P.counts(utts, cut)))
    np.testing.assert_array_equal(np.sort(plan.emotion[:n]), expected)
    resumed = P.training_plan(utts, cut, ROBUST, ROBUST.batch_size, first_epoch=1)
    for f in P.FIELDS:
        np.testing.assert_array_equal(resumed.columns[f], plan.columns[f][n:])
    assert not np.array_equal(plan.start[:n], plan.start[n:2 * n])  # A new epoch moves.
    with pytest.raises(ValueError, match="first_epoch"):
        P.training_plan(utts, cut, ROBUST, 4, first_epoch=3)


def test_sampler_balances_the_classes_and_skips_unlabelled():
    labels = ["neutral"] * 12 + ["happy"] * 2 + ["sad"] * 2 + [None] * 2
    utts = _utterances([L] * len(labels), labels)
    train = TrainConfig(epochs=4, batch_size=8, class_balance="sampler")
    plan = P.training_plan(utts, P.Cut.of(FRONTEND, 0.2, train=train), train, 8)
    assert len(plan.emotion) == 4 * len(utts) and (plan.emotion >= 0).all()
    counts = np.bincount(plan.emotion, minlength=3)
    assert counts.min() >= 12 and counts.max() <= 36
    assert set(plan.utterance[plan.emotion == 1]) == {12, 13}  # Every minority window used.
    with pytest.raises(ValueError, match="no emotion-labelled"):
        P.training_plan(utts[-2:], P.Cut.of(FRONTEND, 0.2), train, 8)


def test_scoring_plan_is_the_paper_cut_in_utterance_order():
    utts = _utterances([2 * L + 500, L // 2, 3 * L], ["sad", "not-a-class", None])
    plan = P.scoring_plan(utts, P.Cut.of(FRONTEND, 0.0), 4)
    assert plan.utterance.tolist() == [0, 0, 0, 1, 2, 2, 2]
    assert plan.start.tolist() == [0, L, 2 * L, 0, 0, L, 2 * L]
    assert np.all(plan.factor == 1) and np.all(plan.gain == 1) and np.isnan(plan.snr_db).all()
    assert plan.batches == [(0, 4), (4, 7)]
    table = {"spk0": np.zeros(3), "spk1": np.ones(3)}
    assert plan.speakers == ("spk0", "spk1") and plan.speaker.tolist() == [0, 0, 0, 1, 0, 0, 0]
    np.testing.assert_array_equal(plan.stats(table)[plan.speaker][:, 0], [0, 0, 0, 1, 0, 0, 0])


def test_epoch_seeds_depend_on_seed_epoch_and_stream_only():
    assert P.epoch_seed(3, 1, 0) == P.epoch_seed(3, 1, 0)
    assert len({P.epoch_seed(3, e, s) for e in range(3) for s in range(4)}) == 12


def test_mixup_pairs_each_element_within_its_batch():
    train = dataclasses.replace(ROBUST, mixup_alpha=0.4)
    utts = _utterances([L + L // 2, 2 * L, 3 * L, L // 2, 2 * L + 100])
    cut = P.Cut.of(FRONTEND, 0.1, "pad", train)
    plan = P.training_plan(utts, cut, train, train.batch_size)
    assert plan.mixup
    for b, e in plan.batches:  # A permutation of the batch, weights in [0.5, 1].
        assert sorted(plan.partner[b:e]) == list(range(e - b))
    assert 0.5 <= plan.mix.min() and plan.mix.max() <= 1.0 and plan.mix.std() > 0.01
    resumed = P.training_plan(utts, cut, train, train.batch_size, first_epoch=1)
    first = plan.batches[len(plan.batches) - len(resumed.batches)][0]
    np.testing.assert_array_equal(resumed.partner, plan.partner[first:])
    np.testing.assert_array_equal(resumed.mix, plan.mix[first:])
    plain = P.training_plan(utts, cut, ROBUST, ROBUST.batch_size)
    assert not plain.mixup and (plain.mix == 1).all()
    np.testing.assert_array_equal(plain.start, plan.start)  # The draws are untouched.


def test_mix_batch_mixes_inputs_and_carries_both_labels():
    x = {"waveform": np.arange(6, dtype="float32").reshape(3, 2),
         "speaker_stats": np.ones((3, 2, 2), "float32") * np.arange(3)[:, None, None]}
    targets = {"emotion": np.array([0, 1, 2]), "domain": np.array([1, 0, 1]),
               "partner": np.array([2, 0, 1]), "mix": np.array([1.0, 0.5, 0.75], "float32")}
    mixed, out = P.mix_batch(x, targets, np.take)
    np.testing.assert_allclose(mixed["waveform"], [[0, 1], [1, 2], [3.5, 4.5]])
    np.testing.assert_allclose(mixed["speaker_stats"][:, 0, 0], [0, 0.5, 1.75])
    np.testing.assert_array_equal(out["emotion_mix"], [2, 0, 1])
    np.testing.assert_array_equal(out["domain_mix"], [1, 1, 0])
    assert "partner" not in out and set(out) == {"emotion", "domain", "emotion_mix",
                                                 "domain_mix", "mix"}


def test_speaker_group_lays_batches_out_as_runs_of_one_speaker():
    train = dataclasses.replace(ROBUST, batch_size=8)
    speakers = ["a", "a", "a", "b", "b", "c", "c", "c", "c"]
    lengths = [2 * L, L, 3 * L + 500, L // 2, 2 * L, L, 2 * L, 3 * L, L + 900]
    utts = [dataclasses.replace(u, speaker=s) for u, s in zip(_utterances(lengths), speakers)]
    cut = P.Cut.of(FRONTEND, 0.2, train=train)
    plain = P.training_plan(utts, cut, train, 8)
    plan = P.training_plan(utts, cut, train, 8, speaker_group=4)
    steps = P.steps(utts, cut, 8)
    assert len(plan.batches) == steps * train.epochs  # The run's length does not change.
    assert all(e - b == 8 for b, e in plan.batches)  # Every batch whole runs.
    runs = plan.speaker.reshape(-1, 4)
    assert (runs == runs[:, :1]).all() and len(set(runs[:, 0])) == 3
    # The draws are the plain plan's: an element is the same window, augmented alike.
    drawn = {(u, w, e): (s, f) for u, w, e, s, f in zip(
        plain.utterance, plain.window, np.repeat(np.arange(3), len(plain.utterance) // 3),
        plain.start, plain.factor)}
    epoch = np.repeat(np.arange(3), len(plan.utterance) // 3)
    for u, w, e, s, f in zip(plan.utterance, plan.window, epoch, plan.start, plan.factor):
        assert drawn[(u, w, e)] == (s, f)
    resumed = P.training_plan(utts, cut, train, 8, first_epoch=1, speaker_group=4)
    np.testing.assert_array_equal(resumed.utterance, plan.utterance[len(plan.utterance) // 3:])
    with pytest.raises(ValueError, match="multiple of speaker_group"):
        P.training_plan(utts, cut, train, 6, speaker_group=4)


def test_stratified_speaker_runs_hold_the_speakers_emotions_in_its_proportions():
    # Two speakers, each with 8 one-window utterances of each of 4 emotions: a
    # stratified run of 4 holds one window of each; random runs do not.
    emotions = ["neutral", "happy", "sad", "angry"]
    utts = [Utterance(f"u{i}", "/nowhere.wav", f"spk{i % 2}", "FM"[i % 2],
                      emotions[(i // 2) % 4], L / RATE) for i in range(64)]
    cut = P.Cut.of(FRONTEND, 0.2)
    train = TrainConfig(epochs=2, batch_size=8, seed=3)
    stratified = dataclasses.replace(train, speaker_runs="stratified")
    plan = P.training_plan(utts, cut, stratified, 8, speaker_group=4)
    random = P.training_plan(utts, cut, train, 8, speaker_group=4)

    def runs(p):
        return p.speaker.reshape(-1, 4), np.sort(p.emotion.reshape(-1, 4), axis=1)
    speakers, held = runs(plan)
    assert (speakers == speakers[:, :1]).all()
    np.testing.assert_array_equal(held, np.tile(np.arange(4), (len(held), 1)))
    assert not (runs(random)[1] == np.arange(4)).all()
    # Every window of the epoch is used once, as in random runs.
    for p in (plan, random):
        first = p.utterance[:len(p.utterance) // 2]
        np.testing.assert_array_equal(np.sort(first), np.arange(64))
