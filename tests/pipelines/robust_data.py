"""Shared by the augmentation tests of both pipelines: one recipe, one set of utterances."""

import numpy as np

from adarl_tf.config import FrontendConfig, TrainConfig
from adarl_tf.corpora.corpus import Utterance
from tests.audio_files import write_pcm

RATE = 16000
FRONTEND = FrontendConfig(segment_s=0.5)
L = FRONTEND.segment_samples
ROBUST = TrainConfig(epochs=3, batch_size=4, seed=5, train_hop_s=0.25, random_crop=True,
                     speed_factors=(0.9, 1.0, 1.1), gain_db=6.0, noise_snr_db=10.0)


def write_wav(path, samples):
    """A 16 kHz mono 16-bit WAV of `samples` in [-1, 1]."""
    return write_pcm(path, np.asarray(samples), RATE)


def utterances(tmp_path, lengths, labels):
    """One tone per utterance of `lengths[i]` samples, speakers spk0/spk1 alternating."""
    utts = []
    for i, (n, label) in enumerate(zip(lengths, labels)):
        path = tmp_path / f"u{i}.wav"
        write_wav(path, 0.5 * np.sin(np.arange(n) * (0.01 + 0.001 * i)))
        utts.append(Utterance(f"u{i}", str(path), f"spk{i % 2}", "FM"[i % 2], label, n / RATE))
    return utts
