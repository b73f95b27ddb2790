r"""A floor for any corpus: utterance statistics + logistic regression, same folds.

  python benchmarks/linear_baseline.py --dataset=ravdess --data_dir=../shared/data/ravdess_dev \
      --emotions=neutral,happy,sad,angry,fearful,disgust,surprised \
      --protocol=speaker_kfold --n_folds=6

Not ADARL: a calibration of what the data allows before any network. Each
utterance (16 kHz, as the loader gives it) becomes a 64-band log-mel power
spectrogram (25 ms windows, 10 ms hop); over its 70 % most energetic frames
the mean, standard deviation and 90th percentile of every band and the
standard deviation of its frame-to-frame change (256 numbers). scikit-learn's
`StandardScaler` + `LogisticRegression(class_weight="balanced")` is fitted on
each fold's training speakers (validation speakers included: nothing is
selected) and scored on its test speakers, with the folds `adarl_tf.main`
uses (`--protocol`). Prints one JSON line per fold, then UA/WA mean +- std
and pooled. Measured on the RAVDESS development set (6 folds, 7 classes,
C = 0.1): UA 0.458 +- 0.073 (RESULTS.md).
"""

import dataclasses
import json
import pathlib
import sys

import numpy as np
import scipy.signal
from absl import app, flags
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, balanced_accuracy_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from adarl_tf import audio
from adarl_tf.config import DataConfig
from adarl_tf.corpora.load import load_corpus

# Mean +- std and pooled figures as the accuracy harness computes them.
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from accuracy_table import summarise  # noqa: E402

FLAGS = flags.FLAGS

SAMPLE_RATE = 16000
N_MELS = 64
KEEP_FRAMES = 0.7  # Share of the most energetic frames kept (drops leading/trailing silence).


def mel_filterbank(n_fft=512, n_mels=N_MELS, sample_rate=SAMPLE_RATE):
    """Triangular HTK-mel filters, (n_mels, n_fft // 2 + 1)."""
    hz = np.linspace(0, sample_rate / 2, n_fft // 2 + 1)
    mel = 2595 * np.log10(1 + hz / 700)
    edges = np.linspace(0, mel[-1], n_mels + 2)
    lo, mid, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    return np.clip(np.minimum((mel - lo) / (mid - lo), (hi - mel) / (hi - mid)), 0, None)


def utterance_features(waveform, filterbank):
    """256 statistics of one utterance's log-mel spectrogram."""
    _, _, stft = scipy.signal.stft(waveform, SAMPLE_RATE, nperseg=400, noverlap=240, nfft=512)
    logmel = np.log(filterbank @ np.abs(stft) ** 2 + 1e-8)  # (bands, frames)
    energy = logmel.mean(0)
    voiced = logmel[:, energy >= np.quantile(energy, 1 - KEEP_FRAMES)]
    delta = np.diff(voiced, axis=1) if voiced.shape[1] > 1 else np.zeros_like(voiced)
    return np.concatenate([voiced.mean(1), voiced.std(1), np.percentile(voiced, 90, axis=1),
                           delta.std(1)])


def define_flags():
    # Defined only when run as a script: the tests import this module beside
    # adarl_tf.main, whose flags (--dataset, ...) absl would see twice.
    flags.DEFINE_string("dataset", "demo", "Corpus name, as adarl_tf.main's --dataset.")
    flags.DEFINE_string("data_dir", None, "Corpus folder, as adarl_tf.main's --data_dir.")
    flags.DEFINE_string("emotions", "default", "Class set, as adarl_tf.main's --emotions.")
    flags.DEFINE_string("protocol", "loso", "loso | loso_session | speaker_kfold.")
    flags.DEFINE_integer("n_folds", 5, "Folds of speaker_kfold.")
    flags.DEFINE_float("c", 0.1, "Inverse L2 strength of the logistic regression.")
    flags.DEFINE_string("cache_dir", None, "Demo corpus cache (default $ADARL_TF_CACHE).")


def main(argv):
    del argv
    data = dataclasses.replace(DataConfig(), dataset=FLAGS.dataset, data_dir=FLAGS.data_dir,
                               emotions=FLAGS.emotions, protocol=FLAGS.protocol,
                               n_folds=FLAGS.n_folds)
    corpus = load_corpus(data, cache_dir=FLAGS.cache_dir)
    labelled = [u for u in corpus.utterances if u.label is not None]
    filterbank = mel_filterbank()
    features = np.stack([utterance_features(audio.load_audio(u.path), filterbank)
                         for u in labelled])
    labels = np.array([corpus.emotions.index(u.label) for u in labelled])
    speakers = np.array([u.speaker for u in labelled])
    folds = []
    for fold, test_speakers in enumerate(corpus.fold_list()):
        test = np.isin(speakers, test_speakers)
        if not test.any() or test.all():
            print(json.dumps({"fold": fold, "skipped": "no test or no training utterances"}))
            continue
        model = make_pipeline(StandardScaler(), LogisticRegression(
            C=FLAGS.c, max_iter=5000, class_weight="balanced"))
        model.fit(features[~test], labels[~test])
        predicted = model.predict(features[test])
        folds.append({"fold": fold, "test_speaker": "+".join(test_speakers),
                      "ua": balanced_accuracy_score(labels[test], predicted),
                      "wa": accuracy_score(labels[test], predicted),
                      "y_true": labels[test].tolist(), "y_pred": predicted.tolist(),
                      "domain_accuracy": None, "train_seconds": 0.0, "selected_epoch": None})
        print(json.dumps({"fold": fold, "test_speakers": list(test_speakers),
                          "n_test": int(test.sum()), "ua": round(folds[-1]["ua"], 4),
                          "wa": round(folds[-1]["wa"], 4)}))
    if not folds:
        raise app.UsageError(f"no fold of {corpus.name} has both test and training "
                             "utterances; check --protocol/--n_folds and --emotions")
    s = summarise(folds)
    print(f"linear baseline, {corpus.name}, {s['n_folds']} folds ({corpus.protocol}), "
          f"{len(corpus.emotions)} classes: UA {s['ua_mean']:.3f} +- {s['ua_std']:.3f} "
          f"(pooled {s['ua_pooled']:.3f}), WA {s['wa_mean']:.3f} +- {s['wa_std']:.3f}")


if __name__ == "__main__":
    define_flags()
    app.run(main)
