"""Starting a fold from another run's weights (`--init_from`): pretraining on another corpus.

A small corpus (RAVDESS has 8-10 training speakers per fold) can start its trunks
from a model trained on other speakers, even of another language, and fine-tune
every weight. Layers are matched by name and copied when their weights have the
same shapes. Only the heads sized to a class set (the emotion and domain outputs,
the class centres) may differ: they keep their fresh initialisation. Any other
difference means another architecture, which is refused. The spectrogram layer is
never copied: its pooled statistics belong to this fold's corpus.
"""

import pathlib

import keras
from absl import logging

from adarl_tf.config import DOMAIN_PROBS, EMOTION_PROBS

# Held by the fold, not learnt: set before the warm start (training._build_model).
NOT_COPIED = ("spectrogram",)
# Sized to the corpus's classes or domain values: may differ between corpora.
CLASS_SIZED = (EMOTION_PROBS, DOMAIN_PROBS, "center_loss")


def source_path(path):
    """The absolute path of the model file `path` names (it or its fold folder's model.keras).

    Raises a ValueError naming the fix when there is none: checked before a run
    writes anything (experiment.py).
    """
    path = pathlib.Path(path)
    if path.is_dir():
        path = path / "model.keras"  # A fold folder.
    if not path.is_file():
        raise ValueError(f"--init_from={path}: no such file; give a finished fold's "
                         "model.keras (<run>/fold_NN/model.keras) or its fold folder")
    return path.resolve()


def load_source(path):
    """The model saved at `path` (see `source_path`), or a ValueError naming the fix."""
    from adarl_tf import model  # noqa: F401  Registers the classes the file names.
    path = source_path(path)
    try:
        return keras.saving.load_model(path, compile=False)
    except Exception as e:  # zipfile, h5py and Keras raise many types for a bad file.
        raise ValueError(f"--init_from={path} cannot be loaded as a Keras model ({e}); give "
                         "a model.keras written by adarl_tf.main") from e


def copy_matching(source, model):
    """Copies `source`'s weights into `model`'s layers of the same name and shapes.

    Returns:
        (copied, skipped, mismatched): the names of the layers copied; {name: reason}
        for the layers with weights that kept their initialisation; the names among
        those whose weights have other shapes in the source.
    """
    by_name = {layer.name: layer for layer in source.layers}
    copied, skipped, mismatched = [], {}, []
    for layer in model.layers:
        if not layer.weights:
            continue
        src = by_name.get(layer.name)
        if layer.name in NOT_COPIED:
            skipped[layer.name] = "this fold's own statistics"
        elif src is None:
            skipped[layer.name] = "not in the source model"
        elif [w.shape for w in src.weights] != [w.shape for w in layer.weights]:
            skipped[layer.name] = (f"shapes {[tuple(w.shape) for w in src.weights]} in the "
                                   f"source, {[tuple(w.shape) for w in layer.weights]} here")
            mismatched.append(layer.name)
        else:
            layer.set_weights(src.get_weights())
            copied.append(layer.name)
    return copied, skipped, mismatched


def warm_start(model, path):
    """Loads `path` and copies what matches into `model`.

    Refuses a source that differs anywhere but in the class-sized heads, or
    that shares no layer: a trunk of other filters or pools is another preset.
    """
    copied, skipped, mismatched = copy_matching(load_source(path), model)
    other = [name for name in mismatched if name not in CLASS_SIZED]
    if other or not copied:
        differences = "; ".join(f"{name}: {skipped[name]}" for name in other)
        raise ValueError(f"--init_from={path}: that model is built otherwise ("
                         f"{differences or 'no layer in common'}); start from a model of "
                         "the same preset (--trunk_filters, --trunk_pools, --scale, --n_mels, "
                         "--segment_s)")
    logging.info("Warm start from %s: %d layers copied; kept initialised: %s", path,
                 len(copied), "; ".join(f"{k} ({v})" for k, v in skipped.items()) or "none")
    return copied, skipped
