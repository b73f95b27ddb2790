"""Validation speakers: epoch selection without the test speaker.

With `TrainConfig.validation_speakers = K > 0`, K of a fold's training
speakers are held out of its training data, scored after every epoch
(utterance-level UA, as the test), and the epoch with the best validation UA
is the fold's result (`checkpoints.EpochCheckpoint` keeps its weights;
`keras.callbacks.EarlyStopping` stops after `early_stopping_patience` epochs
without a better one). The test speaker never takes part: it is not among the
candidates, and its monitoring figures never reach the selection.

The choice is deterministic and differs between folds: candidates are the
training speakers in corpus order starting after the (last) test speaker (cyclic);
each pick takes the next candidate of the gender least represented so far,
so K = 2 gives one speaker of each gender where both exist.
No TensorFlow import here.
"""

import keras
import numpy as np

from adarl_tf import evaluation

MONITOR = "val_ua"


def select_speakers(speakers, genders, test_speakers, k):
    """The `k` validation speakers of the fold whose test speakers are `test_speakers`.

    Args:
        speakers: sequence of str. Every speaker of the corpus, in corpus order.
        genders: dict speaker -> gender.
        test_speakers: str or list of str. Never selected.
        k: int. How many; at most the number of training speakers minus one.

    Returns:
        A list of `k` speaker names.
    """
    speakers = list(speakers)
    tests = [test_speakers] if isinstance(test_speakers, str) else list(test_speakers)
    unknown = [s for s in tests if s not in speakers]
    if unknown or not tests:
        raise ValueError(f"test speakers {unknown or tests!r} are not speakers of the corpus")
    if k <= 0:
        return []
    start = max(speakers.index(s) for s in tests)
    candidates = [speakers[(start + i) % len(speakers)] for i in range(1, len(speakers))]
    candidates = [s for s in candidates if s not in tests]
    if k >= len(candidates):
        raise ValueError(f"validation_speakers={k}: the fold has {len(candidates)} training "
                         "speakers, and at least one must be left to train on")
    chosen, counts = [], {g: 0 for g in sorted(set(genders[s] for s in candidates))}
    while len(chosen) < k:
        remaining = [s for s in candidates if s not in chosen]
        fewest = min(counts[genders[s]] for s in remaining)
        pick = next(s for s in remaining if counts[genders[s]] == fewest)
        chosen.append(pick)
        counts[genders[pick]] += 1
    return chosen


def split_validation(train_utterances, speakers):
    """(training utterances without `speakers`, their emotion-labelled utterances)."""
    held = set(speakers)
    train = [u for u in train_utterances if u.speaker not in held]
    validation = [u for u in train_utterances if u.speaker in held and u.label is not None]
    if speakers and not validation:
        raise ValueError(f"validation speakers {sorted(held)} have no emotion-labelled "
                         "utterances; choose another --validation_speakers")
    return train, validation


class ValidationScore(keras.callbacks.Callback):
    """Adds the validation speakers' utterance-level `val_wa` / `val_ua` to each epoch's logs.

    Keep it before `EarlyStopping`, `TensorBoard` and `EpochCheckpoint`,
    which read these logs.

    Args:
        predict: callable(model, utterances) -> utterance-level emotion
            probabilities (n, n_classes).
        utterances: the validation speakers' emotion-labelled utterances.
        labels: int array, their class indices.
        n_classes: int.
    """

    def __init__(self, predict, utterances, labels, n_classes):
        super().__init__()
        self.predict = predict
        self.utterances = utterances
        self.labels = np.asarray(labels)
        self.n_classes = n_classes

    def on_epoch_end(self, epoch, logs=None):
        probs = self.predict(self.model, self.utterances)
        scores = evaluation.classification_scores(self.labels, probs, self.n_classes)
        if logs is not None:
            logs["val_wa"] = scores["wa"]
            logs[MONITOR] = scores["ua"]


class ResumableEarlyStopping(keras.callbacks.EarlyStopping):
    """`EarlyStopping` on `val_ua` that continues a resumed fold's count.

    Keras resets its best value and patience count when `fit` starts; a fold
    resumed after epoch e restores them from the history of epochs 1..e.
    """

    def __init__(self, patience, history=None):
        super().__init__(monitor=MONITOR, mode="max", patience=patience,
                         restore_best_weights=False)
        self.previous = list((history or {}).get(MONITOR, []))

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        if self.previous:
            best = int(np.argmax(self.previous))
            self.best = self.previous[best]
            self.best_epoch = best
            self.wait = len(self.previous) - 1 - best


def best_epoch(history):
    """(1-based epoch, value) of the best `val_ua` in a history (first of ties)."""
    values = history.get(MONITOR, [])
    if not values:
        return None, None
    i = int(np.argmax(values))
    return i + 1, float(values[i])
