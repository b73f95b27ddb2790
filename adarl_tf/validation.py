"""Validation speakers: the callbacks that score them and stop early.

Which speakers validate a fold, and which epoch is reported, is the
protocol's (`protocol.py`). With `TrainConfig.validation_speakers = K > 0`,
K of a fold's training speakers are held out of its training data, scored after every epoch
(utterance-level UA, as the test), and the epoch with the best validation UA
is the fold's result (`checkpoints.EpochCheckpoint` keeps its weights;
`keras.callbacks.EarlyStopping` stops after `early_stopping_patience` epochs
without a better one). The test speaker never takes part: it is not among the
candidates, and its monitoring figures never reach the selection.

No TensorFlow import here.
"""

import keras
import numpy as np

from adarl_tf import evaluation
from adarl_tf.protocol import MONITOR


class ValidationScore(keras.callbacks.Callback):
    """Adds the validation speakers' utterance-level `val_wa` / `val_ua` to each epoch's logs.

    Its place among the callbacks: `training.fold_callbacks`.

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
