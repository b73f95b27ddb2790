"""Reading what a run leaves on disk: each file read in one place, with one message.

`report`, `main --summarize`, `export` and `predict` read a fold's
`results.json`, `predictions.csv` and `test_features.npz` (and a run's
`data_report.json`, an export's `model_card.json`) through these functions,
so a damaged file gets the same one-line `RunFileError` everywhere: the file,
what is wrong, and how to make it again. Nothing here writes; the writers
are in `training.py` and `exporter.py`, through `files.py`. No TensorFlow.

`.npz` files are read without pickle, always: a file that would need it is
damaged (or not ours), and is refused like one.
"""

import csv
import json
import pathlib
import re
import zipfile
import zlib

import numpy as np

RESULTS = "results.json"
PREDICTIONS = "predictions.csv"
FEATURES = "test_features.npz"
# What the readers of results.json index: a file without one is torn or not a fold's.
RESULTS_KEYS = ("corpus", "variant", "fold", "test_speaker", "wa", "ua", "domain_accuracy",
                "n_test_utterances", "epochs_completed", "config")
# What the report reads from test_features.npz (`training._write_test_features`).
FEATURE_KEYS = ("labels", "label_names", "genders", "deep_features")


class RunFileError(ValueError):
    """A file of a run or an export that cannot be used; the message names it and the fix."""


def retrain_fix(path):
    """How to make a fold's file again: train that fold anew."""
    match = re.match(r"fold_(\d+)$", pathlib.Path(path).parent.name)
    fold = f"--fold={int(match.group(1))} " if match else ""
    return (f"train the fold again (its `python -m adarl_tf.main` command with {fold}"
            "--overwrite)")


def read_json(path, what, fix):
    """The JSON object in `path`.

    Args:
        path: str or path-like.
        what: str. The kind of file, for the message ("results.json").
        fix: str. How to make it again.

    Raises:
        RunFileError: unreadable, empty, not JSON (a torn copy), or not an object.
    """
    path = pathlib.Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RunFileError(f"{path}: not found; {fix}") from None
    except OSError as e:
        raise RunFileError(f"{path}: cannot be read ({e.strerror or e}); give read access to "
                           "it or copy it again") from None
    except UnicodeDecodeError as e:
        raise damaged(path, what, f"not text: {e.reason} at byte {e.start}", fix) from None
    if not text.strip():
        raise damaged(path, what, "empty file", fix)
    try:
        obj = json.loads(text)
    except ValueError as e:
        raise damaged(path, what, f"not valid JSON: {e}", fix) from None
    if not isinstance(obj, dict):
        raise damaged(path, what, f"a JSON {type(obj).__name__}, not an object", fix)
    return obj


def damaged(path, what, reason, fix):
    """The error for a file that is there but cannot be used."""
    return RunFileError(f"{path}: not a complete {what} ({reason}); {fix}")


def read_results(path, keys=RESULTS_KEYS):
    """A fold's `results.json`, checked to hold `keys`.

    Raises:
        RunFileError: missing, unreadable, torn, or without one of `keys`.
    """
    fix = retrain_fix(path)
    results = read_json(path, RESULTS, fix)
    missing = [k for k in keys if k not in results]
    if missing:
        raise damaged(path, RESULTS, f"no {', '.join(missing)}", fix)
    if "fold" in keys and not isinstance(results["fold"], int):
        raise damaged(path, RESULTS, f"fold {results['fold']!r} is not a number", fix)
    if "config" in keys and not isinstance(results["config"], dict):
        raise damaged(path, RESULTS, "config is not an object", fix)
    return results


def _prediction_rows(path, fix):
    """The rows of a `predictions.csv` as dicts (one read, one set of messages)."""
    try:
        with open(path, newline="", encoding="utf-8") as f:
            return list(csv.DictReader(f))
    except FileNotFoundError:
        raise RunFileError(f"{path}: not found; {fix}") from None
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise damaged(path, PREDICTIONS, str(e), fix) from None


def _class_indices(rows, labels, path, fix):
    """(true, predicted) class indices of `predictions.csv` rows."""
    try:
        return (np.array([labels.index(r["label"]) for r in rows], dtype="int32"),
                np.array([labels.index(r["prediction"]) for r in rows], dtype="int32"))
    except KeyError as e:
        raise damaged(path, PREDICTIONS, f"no column {e.args[0]}", fix) from None
    except ValueError as e:  # list.index: "'x' is not in list".
        raise damaged(path, PREDICTIONS, f"a class outside {', '.join(labels)}: {e}",
                      fix) from None


def read_predictions(path, labels):
    """A fold's `predictions.csv`: (true, predicted) class indices per test utterance.

    Args:
        path: str or path-like.
        labels: list of str. The fold's class names (results.json "labels").

    Raises:
        RunFileError: missing, unreadable, without its columns, or naming a class
            that is not in `labels`.
    """
    path, fix = pathlib.Path(path), retrain_fix(path)
    return _class_indices(_prediction_rows(path, fix), labels, path, fix)


def read_probabilities(path, labels):
    """A fold's `predictions.csv` with its class probabilities, for ensembling.

    Args:
        path: str or path-like.
        labels: list of str. The fold's class names (results.json "labels"),
            which name the `p_<class>` columns.

    Returns:
        (names, y_true, probs): the test utterances' names (list of str), their
        true class indices and an (utterances, classes) float array.

    Raises:
        RunFileError: as `read_predictions`, or a `p_` column missing (a file
            written before they existed) or not a finite number.
    """
    path, fix = pathlib.Path(path), retrain_fix(path)
    rows = _prediction_rows(path, fix)
    y_true, _ = _class_indices(rows, labels, path, fix)
    try:
        names = [r["name"] for r in rows]
        probs = np.array([[float(r[f"p_{c}"]) for c in labels] for r in rows], "float64")
    except KeyError as e:
        raise damaged(path, PREDICTIONS, f"no column {e.args[0]}", fix) from None
    except (TypeError, ValueError) as e:  # An empty or non-numeric cell.
        raise damaged(path, PREDICTIONS, f"a probability that is not a number: {e}",
                      fix) from None
    if not np.isfinite(probs).all():
        raise damaged(path, PREDICTIONS, "a probability that is not finite", fix)
    return names, y_true, probs.reshape(len(rows), len(labels))


def read_features(path, keys=FEATURE_KEYS):
    """A fold's `test_features.npz` as {name: array}, read without pickle.

    Raises:
        RunFileError: not an .npz archive (or cut short), an array that would
            need pickle (Python objects), or without one of `keys`.
    """
    path, fix = pathlib.Path(path), retrain_fix(path)
    try:
        loaded = np.load(path, allow_pickle=False)
        # One array (a .npy file under this name) has no names to read.
        arrays = None
        if hasattr(loaded, "files"):
            with loaded:
                arrays = {k: loaded[k] for k in loaded.files}
    except FileNotFoundError:
        raise RunFileError(f"{path}: not found; {fix}") from None
    except ValueError as e:
        # numpy's own words would invite an unsafe load; say what the file is instead.
        reason = ("an array of Python objects, which is never unpickled" if "Object arrays"
                  in str(e) else "not an .npz archive of arrays" if "pickle" in str(e)
                  else str(e))
        raise damaged(path, FEATURES, reason, fix) from None
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as e:
        raise damaged(path, FEATURES, f"a damaged or cut-short archive: {e}", fix) from None
    if arrays is None:
        raise damaged(path, FEATURES, "a single .npy array, not an .npz archive", fix)
    missing = [k for k in keys if k not in arrays]
    if missing:
        raise damaged(path, FEATURES, f"no {', '.join(missing)}", fix)
    return arrays


def adarl_fold_features(run_dir, keys, output, without_output):
    """[(fold, arrays)] of an ADARL run folder's finished folds (`read_features`).

    Args:
        run_dir: a run folder of `python -m adarl_tf.main` (`fold_NN/` inside).
        keys: arrays every fold must hold (`read_features`).
        output: the ADARL output the caller reads (e.g. "attention"), which a
            backbone run has not saved.
        without_output: the message after "<file>: " where `output` is missing.

    Raises:
        RunFileError: a damaged file, a fold without `output`, or no finished fold.
    """
    rows = []
    for path in sorted(pathlib.Path(run_dir).glob("fold_*/" + FEATURES)):
        arrays = read_features(path, keys=keys)
        if output not in arrays:  # Not damaged: a variant without that output.
            raise RunFileError(f"{path}: {without_output}")
        rows.append((int(path.parent.name.split("_")[-1]), arrays))
    if not rows:
        raise RunFileError(f"{run_dir}: no fold_NN/{FEATURES}; give an ADARL run folder of "
                           "python -m adarl_tf.main with finished folds")
    return rows
