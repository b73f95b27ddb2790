"""Training-time augmentation and balanced sampling: exact steps, reproducible epochs."""

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from adarl_tf.config import TrainConfig
from adarl_tf.pipelines import augment, segments as seg
from tests.pipelines.robust_data import FRONTEND, L, RATE, ROBUST, utterances as _utterances


@pytest.mark.parametrize("n", [L - 300, L, L + 1, 2 * L + 37, 3 * L + L // 3, 5 * L - 1])
def test_crops_stay_inside_the_utterance_and_their_count_is_fixed(n):
    hop, min_tail = L // 2, L // 4
    for u in np.linspace(0.0, 0.999, 7):
        starts = augment.window_starts(n, L, hop, min_tail, True, tf.constant(u, tf.float32)).numpy()
        assert len(starts) == augment.count_crops(n, L, hop, min_tail)
        if n >= L:
            assert starts.min() >= 0 and starts.max() + L <= n
        else:  # A short utterance sits inside the one window.
            assert len(starts) == 1 and -(L - n) <= starts[0] <= 0


def test_crops_are_exact_slices_of_the_utterance():
    n = 3 * L + 123
    waveform = tf.range(n, dtype=tf.float32)
    train = TrainConfig(random_crop=True, train_hop_s=0.3)
    windows = augment.augment_utterance(waveform, 4, 99, FRONTEND, 0.1, train).numpy()
    assert len(windows) == augment.count_crops(n, L, round(0.3 * RATE), round(0.1 * RATE))
    for w in windows:
        np.testing.assert_array_equal(w, np.arange(w[0], w[0] + L))
    again = augment.augment_utterance(waveform, 4, 99, FRONTEND, 0.1, train).numpy()
    other_epoch = augment.augment_utterance(waveform, 4, 100, FRONTEND, 0.1, train).numpy()
    np.testing.assert_array_equal(windows, again)  # Same (epoch seed, utterance): same crop.
    assert not np.array_equal(windows[:, 0], other_epoch[:, 0])


def test_speed_perturbation_reads_the_utterance_at_the_drawn_rate():
    waveform = tf.range(4 * L, dtype=tf.float32)
    train = TrainConfig(speed_factors=(1.1,))
    windows = augment.augment_utterance(waveform, 0, 1, FRONTEND, 0.0, train).numpy()
    np.testing.assert_allclose(windows[1, :100], L + 1.1 * np.arange(100), rtol=1e-6)


def _epochs(ds, steps):
    batches = list(ds)
    assert len(batches) % steps == 0
    return [batches[i:i + steps] for i in range(0, len(batches), steps)]


def test_epochs_have_exact_steps_and_replay_on_resume(tmp_path):
    utts = _utterances(tmp_path, [L // 2, L, 2 * L + 500, 3 * L + 3000, int(1.7 * L)],
                       ["neutral", "happy", "sad", "angry", "sad"])
    steps = augment.steps_per_epoch(utts, FRONTEND, 0.2, ROBUST.batch_size, ROBUST)
    epochs = _epochs(augment.training_dataset(utts, FRONTEND, 0.2, ROBUST), steps)
    assert len(epochs) == ROBUST.epochs
    n_segments = int(augment.segment_counts(utts, FRONTEND, 0.2, ROBUST).sum())
    assert sum(len(b[1]["emotion"]) for b in epochs[0]) == n_segments
    resumed = _epochs(augment.training_dataset(utts, FRONTEND, 0.2, ROBUST, first_epoch=1),
                      steps)
    for a, b in zip(epochs[1:], resumed):
        for (xa, ya), (xb, yb) in zip(a, b):
            np.testing.assert_array_equal(xa.numpy(), xb.numpy())
            np.testing.assert_array_equal(ya["emotion"].numpy(), yb["emotion"].numpy())
    first = np.sort(np.concatenate([x.numpy().ravel() for x, _ in epochs[0]]))
    second = np.sort(np.concatenate([x.numpy().ravel() for x, _ in epochs[1]]))
    assert not np.allclose(first, second)  # Epochs draw new augmentations.


def test_sampler_balances_the_classes(tmp_path):
    labels = ["neutral"] * 12 + ["happy"] * 2 + ["sad"] * 2
    utts = _utterances(tmp_path, [L] * len(labels), labels)
    train = TrainConfig(epochs=1, batch_size=8, class_balance="sampler")
    ds = augment.training_dataset(utts, FRONTEND, 0.2, train)
    drawn = np.concatenate([y["emotion"].numpy() for _, y in ds])
    assert len(drawn) == len(utts)  # As many segments as without the sampler.
    counts = np.bincount(drawn, minlength=3)
    assert counts[0] < 12 and counts[1] > 2 and counts[2] > 2


def test_evaluation_segments_ignore_the_training_augmentation(tmp_path):
    # Evaluation goes through segments.evaluation_dataset, which takes no
    # TrainConfig: whatever the recipe, the test segments are the paper's cut.
    utts = _utterances(tmp_path, [2 * L + 500, L // 2], ["sad", "happy"])
    segments = np.concatenate([b.numpy() for b in seg.evaluation_dataset(utts, FRONTEND,
                                                                         0.2, 4)])
    assert len(segments) == int(seg.segments_per_utterance(utts, FRONTEND, 0.2).sum()) == 3
    first = seg.decode_wav(utts[0].path).numpy()
    np.testing.assert_array_equal(segments[0], first[:L])
    np.testing.assert_array_equal(segments[1], first[L:2 * L])
