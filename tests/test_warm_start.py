"""--init_from: a fold started from another model's weights (adarl_tf/warm_start.py)."""

import dataclasses
import json

import numpy as np
import pytest

from adarl_tf import warm_start
from tests import model_files, run_files


def _perturbed(model, offset):
    """`model` with `offset` added to every weight, so copies can be told from inits."""
    for layer in model.layers:
        if layer.weights:
            layer.set_weights([w + offset for w in layer.get_weights()])
    return model


def _same(a, b):
    """Whether two lists of weight arrays are equal, array by array."""
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))


def test_copies_layers_of_the_same_shapes_and_keeps_a_head_of_other_classes(tmp_path):
    # The source has 5 classes (as ASED), the model 4: the emotion output and the class
    # centres keep their initialisation, the trunks and the domain head are copied.
    source_config = dataclasses.replace(model_files.TINY, n_emotions=5)
    source = _perturbed(model_files.build(source_config, seed=1), 0.5)
    source.save(tmp_path / "model.keras")
    model = model_files.build(model_files.TINY, seed=2)
    before = {layer.name: layer.get_weights() for layer in model.layers}

    copied, skipped = warm_start.warm_start(model, tmp_path)  # The fold folder.

    assert set(skipped) == {"spectrogram", "emotion_probs", "center_loss"}
    assert "(5, 64)" in skipped["center_loss"] and "(4, 64)" in skipped["center_loss"]
    for name in ("emotion_unit1", "domain_unit4", "domain_attention",
                 "channelwise_fc", "emotion_bn", "domain_probs"):
        assert name in copied
        assert _same(model.get_layer(name).get_weights(),
                     source.get_layer(name).get_weights()), name
    for name in skipped:
        assert _same(model.get_layer(name).get_weights(), before[name]), name


def test_backbone_into_adarl_copies_the_emotion_pathway_only(tmp_path):
    source = _perturbed(model_files.build(
        dataclasses.replace(model_files.TINY, variant="backbone")), 0.25)
    source.save(tmp_path / "backbone.keras")
    model = model_files.build(model_files.TINY, seed=3)
    copied, skipped = warm_start.warm_start(model, tmp_path / "backbone.keras")
    assert "emotion_unit1" in copied and "emotion_probs" in copied
    assert skipped["domain_attention"] == "not in the source model"
    assert skipped["domain_unit1"] == "not in the source model"


def test_spectrogram_statistics_stay_the_folds(tmp_path):
    source = model_files.build(model_files.SPEAKER, seed=1)
    source.get_layer("spectrogram").pooled_stats.assign(
        np.full(source.get_layer("spectrogram").pooled_stats.shape, 7.0, "float32"))
    source.save(tmp_path / "model.keras")
    model = model_files.build(model_files.SPEAKER, seed=2)
    own = model.get_layer("spectrogram").get_weights()
    _, skipped = warm_start.warm_start(model, tmp_path / "model.keras")
    assert skipped["spectrogram"] == "this fold's own statistics"
    assert _same(model.get_layer("spectrogram").get_weights(), own)


def test_refuses_a_missing_file_a_damaged_one_and_a_model_sharing_nothing(tmp_path):
    model = model_files.build(model_files.TINY)
    with pytest.raises(ValueError, match="no such file.*fold_NN/model.keras"):
        warm_start.warm_start(model, tmp_path / "fold_00")
    (tmp_path / "bad.keras").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="bad.keras cannot be loaded as a Keras model"):
        warm_start.warm_start(model, tmp_path / "bad.keras")
    other = model_files.build(dataclasses.replace(model_files.TINY, trunk_filters=(2, 2, 2, 4),
                                                  n_emotions=5, n_domains=3, hidden_units=8))
    other.save(tmp_path / "other.keras")
    with pytest.raises(ValueError, match="other.keras: that model is built otherwise "
                                         ".*emotion_unit1: shapes.*same preset"):
        warm_start.warm_start(model, tmp_path / "other.keras")


def test_main_starts_a_fold_from_another_runs_model(small_demo_corpus, tmp_path):
    # Fold 0's model, then fold 1 started from it: config.json records the absolute
    # path, and a missing or damaged file is refused before the run folder is created.
    from tests.cli_checks import run_python
    run_files.trained_fold_cli(small_demo_corpus, tmp_path / "source", 0)
    source = tmp_path / "source" / "fold_00"

    def main(init_from, out):
        return run_python("-m", "adarl_tf.main", *run_files.TINY_FOLD_FLAGS,
                          f"--data_dir={small_demo_corpus}", "--fold=1",
                          f"--init_from={init_from}", f"--out_dir={out}")

    done = main(source, tmp_path / "tuned")
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"Warm start from {(source / 'model.keras').resolve()}" in done.stderr
    assert "kept initialised: spectrogram (this fold's own statistics)" in done.stderr
    config = json.loads((tmp_path / "tuned" / "config.json").read_text())
    assert config["train"]["init_from"] == str((source / "model.keras").resolve())
    assert (tmp_path / "tuned" / "fold_01" / "results.json").exists()

    (tmp_path / "bad.keras").write_bytes(b"not a zip")
    for init_from, message in ((tmp_path / "nowhere", "no such file"),
                               (tmp_path / "bad.keras", "cannot be loaded as a Keras model")):
        done = main(init_from, tmp_path / "new")
        assert done.returncode == 1
        assert "--init_from=" in done.stderr and message in done.stderr
        assert not (tmp_path / "new").exists()
