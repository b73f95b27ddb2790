r"""A floor for any corpus: utterance statistics + logistic regression, same folds.

  python benchmarks/linear_baseline.py --dataset=ravdess --data_dir=../shared/data/ravdess_dev \
      --emotions=neutral,happy,sad,angry,fearful,disgust,surprised \
      --protocol=speaker_kfold --n_folds=6 [--normalization=speaker]

Not ADARL: a calibration of what the data allows before any network. Each
utterance (16 kHz, as the loader gives it) becomes a 64-band log-mel power
spectrogram (25 ms windows, 10 ms hop); over its 70 % most energetic frames
the mean, standard deviation and 90th percentile of every band and the
standard deviation of its frame-to-frame change (256 numbers). scikit-learn's
`StandardScaler` + `LogisticRegression(class_weight="balanced")` is fitted on
each fold's training speakers (validation speakers included: nothing is
selected) and scored on its test speakers, with the folds `adarl_tf.main`
uses (`--protocol`). The same features and classifier also predict each
test utterance's gender (the paper's domain), fitted on the training
speakers' genders: `domain_accuracy`, the floor under ADARL's gender head
(global normalisation only).

`--normalization=speaker` first z-scores every speaker's feature vectors with
that speaker's own mean and standard deviation over all of its utterances in
the class set (audio only, no labels), the test speakers' included. That is
transductive: the test speakers' unlabelled audio is used before scoring them,
which the networks never see (`uses_test_speaker_audio` in the output).

`--train_gain_db=G` asks what training's `--gain_db` costs the same
classifier: each training utterance is also seen as if scaled by gains drawn
uniformly in +-G dB (`GAIN_COPIES` draws each), its speaker statistics still
those of the unscaled audio, as the networks' speaker profiles are; the test
utterances are scored as recorded (and the gender floor is fitted without the gains).

Prints one JSON line per fold, then UA/WA mean +- std and pooled.
`evaluate()` is the fold loop, for `benchmarks/accuracy.py` (flags are
defined only when this file runs as a script). Measured figures: RESULTS.md.
"""

import dataclasses
import json
import pathlib
import sys
import time

import numpy as np
import scipy.signal
from absl import app, flags, logging
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, balanced_accuracy_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from adarl_tf import audio, protocol
from adarl_tf.config import DataConfig
from adarl_tf.corpora.load import load_corpus

# Mean +- std and pooled figures as the accuracy harness computes them.
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from accuracy_table import summarise  # noqa: E402

FLAGS = flags.FLAGS

SAMPLE_RATE = 16000
N_MELS = 64
KEEP_FRAMES = 0.7  # Share of the most energetic frames kept (drops leading/trailing silence).
# The columns of `utterance_features` that a gain moves: the band means and 90th percentiles.
LEVEL_COLUMNS = np.r_[0:N_MELS, 2 * N_MELS:3 * N_MELS]
GAIN_COPIES = 5  # --train_gain_db: gain draws per training utterance.
# --normalization: what each value means, as the printed summary says it.
NORMALIZATIONS = {"global": "global normalisation",
                  "speaker": "per-speaker normalisation, uses the test speakers' unlabelled audio"}


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


def speaker_normalise(features, speakers, reference=None):
    """Each speaker's rows z-scored with that speaker's own mean and std per column.

    The statistics come from every row of the speaker (audio only, no label):
    a test speaker is normalised with its own unlabelled utterances, which makes
    the evaluation transductive. A column constant within a speaker is only centred.
    `reference` (rows aligned with `features`, e.g. the unscaled features of
    scaled ones) supplies the statistics instead, where given.
    """
    reference = features if reference is None else reference
    out = np.empty_like(features)
    for speaker in np.unique(speakers):
        rows = speakers == speaker
        mean, std = reference[rows].mean(0), reference[rows].std(0)
        out[rows] = (features[rows] - mean) / np.where(std > 0, std, 1.0)
    return out


def random_gain(features, gain_db, rng):
    """`utterance_features` rows as if each utterance were scaled by a gain drawn
    uniformly in +-`gain_db` dB (training's `--gain_db`).

    A gain of g dB adds g ln(10) / 10 to every log-mel value: each band's mean
    and 90th percentile move by that much, its spreads not at all, and the
    energy cut keeps the same frames.
    """
    out = features.copy()
    shift = rng.uniform(-gain_db, gain_db, size=(len(features), 1)) * np.log(10.0) / 10.0
    out[:, LEVEL_COLUMNS] += shift
    return out


def evaluate(corpus, normalizations=("global",), folds=None, c=0.1, train_gain_db=0.0):
    """The linear baseline on `corpus`'s folds, once per normalisation.

    Features are computed once for every labelled utterance; then per fold
    `StandardScaler` + `LogisticRegression` are fitted on the other speakers
    and scored on the fold's test speakers.

    Args:
        corpus: a loaded `Corpus`; its protocol's folds (`adarl_tf.protocol`) are scored.
        normalizations: sequence of str. "global" (the scaler only) and/or
            "speaker" (`speaker_normalise` first: uses the test speakers' audio).
            Defaults to ("global",).
        folds: list of int. Fold indices to score; None: every fold. Defaults to None.
        c: float. Inverse L2 strength of the logistic regression. Defaults to 0.1.
        train_gain_db: float. Also fit on `GAIN_COPIES` copies of the training
            utterances under random gains of up to this many dB (`random_gain`,
            drawn with seed 0 per fold); 0: off. Defaults to 0.

    Returns:
        {normalization: one dict per scored fold, with the keys
        `accuracy_table.summarise` reads; `domain_accuracy` is the gender
        floor, None under "speaker", where a gender is unknown or where
        training holds one gender}.
        A fold without test or training utterances is logged and left out.

    Raises:
        ValueError: an unknown normalization or fold index, a negative
            `train_gain_db`, or no fold to score.
    """
    fold_list = corpus.fold_list()
    folds = range(len(fold_list)) if folds is None else folds
    if set(normalizations) - set(NORMALIZATIONS):
        raise ValueError(f"normalizations={list(normalizations)}; expected some of "
                         f"{list(NORMALIZATIONS)}")
    if train_gain_db < 0:
        raise ValueError(f"train_gain_db={train_gain_db}; expected a gain range >= 0 dB")
    if any(not 0 <= f < len(fold_list) for f in folds):
        raise ValueError(f"folds={list(folds)}: {corpus.name} has folds 0..{len(fold_list) - 1}")
    labelled = [u for u in corpus.utterances if u.label is not None]
    filterbank = mel_filterbank()
    features = np.stack([utterance_features(audio.load_audio(u.path), filterbank)
                         for u in labelled])
    labels = np.array([u.label for u in labelled])
    speakers = np.array([u.speaker for u in labelled])
    genders = np.array([u.gender for u in labelled], dtype=object)
    results = {}
    for normalization in normalizations:
        x = speaker_normalise(features, speakers) if normalization == "speaker" else features
        results[normalization] = []
        for fold in folds:
            test_speakers = protocol.fold_speakers(corpus, fold)
            test = np.isin(speakers, test_speakers)
            if not test.any() or test.all():
                logging.warning("fold %d: no test or no training utterances; skipped", fold)
                continue
            start = time.time()
            x_train, y_train = x[~test], labels[~test]
            if train_gain_db:
                x_train, y_train = _gained_training_rows(
                    features[~test], speakers[~test], y_train, normalization, train_gain_db)
            predicted = _fit_predict(x_train, y_train, x[test], c)
            results[normalization].append({
                "fold": fold, "test_speaker": protocol.fold_name(test_speakers),
                "ua": balanced_accuracy_score(labels[test], predicted),
                "wa": accuracy_score(labels[test], predicted),
                "y_true": labels[test].tolist(), "y_pred": predicted.tolist(),
                # Speaker normalisation divides out the voice's level, the gender cue
                # (its gender scores fell under chance, 0.40-0.50): no gender floor there.
                "domain_accuracy": (_gender_floor(x, genders, test, c)
                                    if normalization == "global" else None),
                "train_seconds": time.time() - start,
                "selected_epoch": None, "normalization": normalization,
                "uses_test_speaker_audio": normalization == "speaker",
                "train_gain_db": train_gain_db})
        if not results[normalization]:
            raise ValueError(f"no fold of {corpus.name} has both test and training "
                             "utterances; check --protocol/--n_folds and --emotions")
    return results


def _gained_training_rows(features, speakers, labels, normalization, gain_db):
    """`GAIN_COPIES` randomly scaled copies of the training rows, normalised with
    the statistics of the unscaled rows, and their labels."""
    rng = np.random.default_rng(0)
    copies = [random_gain(features, gain_db, rng) for _ in range(GAIN_COPIES)]
    if normalization == "speaker":
        copies = [speaker_normalise(x, speakers, reference=features) for x in copies]
    return np.concatenate(copies), np.tile(labels, GAIN_COPIES)


def _fit_predict(x_train, y_train, x_test, c):
    model = make_pipeline(StandardScaler(), LogisticRegression(
        C=c, max_iter=5000, class_weight="balanced"))
    return model.fit(x_train, y_train).predict(x_test)


def _gender_floor(x, genders, test, c):
    """Test-speaker gender accuracy of the same classifier, or None."""
    if any(g not in ("F", "M") for g in genders) or len(set(genders[~test])) < 2:
        return None
    return accuracy_score(genders[test], _fit_predict(x[~test], genders[~test], x[test], c))


def define_flags():
    # Defined only when run as a script: the tests import this module beside
    # adarl_tf.main, whose flags (--dataset, ...) absl would see twice.
    flags.DEFINE_string("dataset", "demo", "Corpus name, as adarl_tf.main's --dataset.")
    flags.DEFINE_string("data_dir", None, "Corpus folder, as adarl_tf.main's --data_dir.")
    flags.DEFINE_string("emotions", "default", "Class set, as adarl_tf.main's --emotions.")
    flags.DEFINE_string("protocol", "loso", "loso | loso_session | speaker_kfold.")
    flags.DEFINE_integer("n_folds", 5, "Folds of speaker_kfold.")
    flags.DEFINE_enum("normalization", "global", list(NORMALIZATIONS),
                      "global: StandardScaler over the training speakers only. speaker: first "
                      "z-score each speaker with its own statistics over all of its utterances "
                      "(the test speakers' unlabelled audio included: transductive).")
    flags.DEFINE_float("c", 0.1, "Inverse L2 strength of the logistic regression.")
    flags.DEFINE_float("train_gain_db", 0.0, "Also fit on 5 copies of the training utterances "
                       "scaled by random gains of up to this many dB (what training's --gain_db "
                       "costs the floor); 0: off.")
    flags.DEFINE_string("cache_dir", None, "Demo corpus cache (default $ADARL_TF_CACHE).")


def main(argv):
    del argv
    data = dataclasses.replace(DataConfig(), dataset=FLAGS.dataset, data_dir=FLAGS.data_dir,
                               emotions=FLAGS.emotions, protocol=FLAGS.protocol,
                               n_folds=FLAGS.n_folds)
    corpus = load_corpus(data, cache_dir=FLAGS.cache_dir)
    try:
        folds = evaluate(corpus, [FLAGS.normalization], c=FLAGS.c,
                         train_gain_db=FLAGS.train_gain_db)[FLAGS.normalization]
    except ValueError as e:
        raise app.UsageError(str(e))
    for f in folds:
        print(json.dumps({"fold": f["fold"], "test_speakers": f["test_speaker"].split("+"),
                          "n_test": len(f["y_true"]), "ua": round(f["ua"], 4),
                          "wa": round(f["wa"], 4), "gender_accuracy": f["domain_accuracy"],
                          "normalization": f["normalization"],
                          "uses_test_speaker_audio": f["uses_test_speaker_audio"],
                          "train_gain_db": f["train_gain_db"]}))
    s = summarise(folds)
    print(f"linear baseline ({NORMALIZATIONS[FLAGS.normalization]}), {corpus.name}, "
          f"{s['n_folds']} folds ({corpus.protocol}), {len(corpus.emotions)} classes"
          + (f", training gains up to {FLAGS.train_gain_db:g} dB" if FLAGS.train_gain_db else "")
          + ": "
          f"UA {s['ua_mean']:.3f} +- {s['ua_std']:.3f} (pooled {s['ua_pooled']:.3f}), "
          f"WA {s['wa_mean']:.3f} +- {s['wa_std']:.3f}" + (
              "" if s["domain_accuracy_mean"] is None else
              f"; gender {s['domain_accuracy_mean']:.3f} (worst fold "
              f"{s['domain_accuracy_min']:.3f})"))


if __name__ == "__main__":
    define_flags()
    app.run(main)
