"""`FoldResult`: a fold's `results.json`, the one writer and reader of that file.

The trainer writes it (`training.py`); `report`, the fold summaries
(`protocol.write_summary`, `main --summarize`), the exporter, predict's
metadata (`recognizer.model_metadata`) and `benchmarks/accuracy_table.py`
read it through `FoldResult.read` or `FoldResult.load`. Reading goes through
`fold_files.read_results`, so a damaged file gives the same one-line
`RunFileError` everywhere.

`schema_version` is 1 for files written since it exists; a file without it
(older runs) reads as version 0, with the fields added since then at the
values they stood for (IEMOCAP's four classes, gender, leave one speaker out).
No TensorFlow or Keras import here.
"""

import dataclasses
import pathlib
import typing

import numpy as np

from adarl_tf import files, fold_files
from adarl_tf.corpora.corpus import EMOTIONS, GENDERS

SCHEMA_VERSION = 1
# What a file from before the field existed meant.
LEGACY_DEFAULTS = {"labels": list(EMOTIONS), "domain": "gender", "domain_labels": list(GENDERS),
                   "protocol": "leave-one-speaker-out"}


@dataclasses.dataclass
class FoldResult:
    """One fold's figures and provenance, field for field as in `results.json`.

    Every field but `schema_version`, `extra`, `y_true` and `y_pred` is a key
    of the file, in the file's order. `extra` keeps keys this version does
    not know (a newer writer's), so that reading and writing again loses
    nothing; `y_true`/`y_pred` (class indices per test utterance, for pooling)
    come from `predictions.csv` and are never written to results.json.
    """

    corpus: typing.Any = None
    protocol: typing.Any = None  # Its name (protocol.protocol_name).
    protocol_id: typing.Any = None  # --protocol.
    fold: typing.Any = None
    test_speaker: typing.Any = None  # The test speakers "+"-joined.
    test_speakers: typing.Any = None
    test_gender: typing.Any = None
    variant: typing.Any = None
    normalization: typing.Any = None
    # Speaker normalisation, or speaker_bn, takes the test speakers' statistics
    # from their own unlabelled audio (transductive); segment normalisation
    # without speaker_bn uses nothing of them.
    uses_test_speaker_audio: typing.Any = None
    wa: typing.Any = None
    ua: typing.Any = None
    labels: typing.Any = None  # Class names, in output order.
    confusion_matrix: typing.Any = None  # Rows truth, columns prediction.
    domain_accuracy: typing.Any = None
    domain: typing.Any = None
    domain_labels: typing.Any = None
    n_test_utterances: typing.Any = None
    n_test_segments: typing.Any = None
    n_train_utterances: typing.Any = None
    n_train_segments: typing.Any = None
    epochs_requested: typing.Any = None
    epochs_completed: typing.Any = None
    epoch_selection: typing.Any = None  # protocol.select_epoch's reason.
    selected_epoch: typing.Any = None
    validation_speakers: typing.Any = None
    validation_ua: typing.Any = None
    n_validation_utterances: typing.Any = None
    stopped_early: typing.Any = None
    train_seconds: typing.Any = None
    history: typing.Any = None  # Per epoch, every logged figure.
    resumed_after_epoch: typing.Any = None
    deterministic: typing.Any = None
    pipeline: typing.Any = None
    replicas: typing.Any = None
    global_batch_size: typing.Any = None
    config: typing.Any = None  # ExperimentConfig.to_dict().
    versions: typing.Any = None
    finished_at: typing.Any = None
    schema_version: int = SCHEMA_VERSION
    extra: dict = dataclasses.field(default_factory=dict, repr=False)
    y_true: typing.Any = dataclasses.field(default=None, repr=False, compare=False)
    y_pred: typing.Any = dataclasses.field(default=None, repr=False, compare=False)

    def to_dict(self):
        """The JSON object of `results.json`."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
               if f.name not in _NOT_IN_FILE}
        return dict(out, **self.extra)

    @classmethod
    def from_dict(cls, obj):
        """A `FoldResult` of a results.json object (any schema version)."""
        known = {f.name for f in dataclasses.fields(cls)} - _NOT_IN_FILE
        values = {k: v for k, v in obj.items() if k in known}
        values.setdefault("schema_version", 0)
        for key, default in LEGACY_DEFAULTS.items():
            values.setdefault(key, list(default) if isinstance(default, list) else default)
        if "test_speakers" not in values and "test_speaker" in values:
            values["test_speakers"] = [values["test_speaker"]]
        return cls(**values, extra={k: v for k, v in obj.items() if k not in known})

    def write(self, fold_dir):
        """Writes `<fold_dir>/results.json` atomically."""
        files.write_json(pathlib.Path(fold_dir) / fold_files.RESULTS, self.to_dict())

    @classmethod
    def read(cls, path, keys=fold_files.RESULTS_KEYS):
        """The `FoldResult` in a results.json file, checked to hold `keys`.

        Raises:
            fold_files.RunFileError: missing, unreadable, torn, or without one of `keys`.
        """
        return cls.from_dict(fold_files.read_results(path, keys))

    @classmethod
    def load(cls, fold_dir):
        """A complete fold: its results.json, with `y_true`/`y_pred` from predictions.csv.

        Raises:
            fold_files.RunFileError: results.json or predictions.csv is damaged.
        """
        fold_dir = pathlib.Path(fold_dir)
        result = cls.read(fold_dir / fold_files.RESULTS)
        result.y_true, result.y_pred = fold_files.read_predictions(
            fold_dir / fold_files.PREDICTIONS, list(result.labels))
        return result

    def with_predictions(self, y_true, y_pred):
        """This result with the test utterances' class indices (for pooling)."""
        return dataclasses.replace(self, y_true=np.asarray(y_true), y_pred=np.asarray(y_pred))


_NOT_IN_FILE = {"extra", "y_true", "y_pred"}
