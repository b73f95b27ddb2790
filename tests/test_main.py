"""The command line: flags to config, dry runs on IEMOCAP-shaped trees, clear errors."""

import dataclasses
import json
import pathlib

import pytest
from absl import app, flags
from absl.testing import flagsaver

from adarl_tf import flags as run_flags
from adarl_tf import main as main_lib

FLAGS = flags.FLAGS
_ROOT = pathlib.Path(__file__).resolve().parents[1]  # The repository: presets, run lists.
pytestmark = pytest.mark.usefixtures("parsed_flags")


def _run(**overrides):
    with flagsaver.flagsaver(**overrides):
        return main_lib.main(["adarl_tf.main"])


def test_dry_run_on_the_iemocap_tree_reports_the_paper_counts(iemocap_tree, tmp_path):
    _run(dry_run=True, dataset="iemocap", data_dir=str(iemocap_tree), out_dir=str(tmp_path))
    report = json.loads((tmp_path / "data_report.json").read_text())
    assert report["n_utterances"] == 2280
    assert report["label_totals"] == {"neutral": 1099, "happy": 284, "sad": 608, "angry": 289}
    assert [s["id"] for s in report["speakers"]] == [
        "Ses01F", "Ses01M", "Ses02F", "Ses02M", "Ses03F",
        "Ses03M", "Ses04F", "Ses04M", "Ses05F", "Ses05M"]
    assert [s["gender"] for s in report["speakers"]] == ["F", "M"] * 5
    assert report["counts"]["Ses02F"]["angry"] == 7
    assert sum(sum(c.values()) for c in report["counts"].values()) == 2280
    assert report["excluded_labels"]["exc"] == 663
    assert isinstance(report["skipped"], list)
    assert not (tmp_path / "fold_00").exists()  # A dry run trains nothing.


def test_dry_run_with_excited_merged(iemocap_tree, tmp_path):
    _run(dry_run=True, dataset="iemocap", data_dir=str(iemocap_tree), out_dir=str(tmp_path),
         merge_excited=True)
    report = json.loads((tmp_path / "data_report.json").read_text())
    assert report["label_totals"]["happy"] == 284 + 663


def test_fold_is_required(small_demo_corpus, tmp_path):
    # Out-of-range folds, a session folder as --data_dir and unwritable
    # --out_dir are in tests/test_bad_input.py with the other bad input.
    with pytest.raises(app.UsageError, match="--fold is required"):
        _run(dataset="demo", data_dir=str(small_demo_corpus), out_dir=str(tmp_path))


def test_iemocap_needs_data_dir(tmp_path):
    with pytest.raises(app.UsageError, match="needs --data_dir"):
        _run(dry_run=True, dataset="iemocap", out_dir=str(tmp_path))


def test_bad_flag_values_are_usage_errors(tmp_path):
    with pytest.raises(app.UsageError, match="kernel_sizes"):
        _run(dry_run=True, kernel_sizes="3by3", out_dir=str(tmp_path))


def test_two_folds_train_and_summarise(small_demo_corpus, tiny_flags, tmp_path, capsys):
    pytest.importorskip("tensorflow")
    _run(dataset="demo", data_dir=str(small_demo_corpus), fold="0,1", out_dir=str(tmp_path),
         **tiny_flags)
    for fold in ("fold_00", "fold_01"):
        assert (tmp_path / fold / "results.json").exists()
        assert (tmp_path / fold / "model.keras").exists()
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert [f["test_speaker"] for f in summary["folds"]] == ["Ses01F", "Ses01M"]
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["model"]["trunk_filters"] == [4, 4, 4, 8]
    assert summary["corpus"] == "synthetic demo corpus"
    assert "synthetic demo corpus, adarl, 2 folds" in capsys.readouterr().out


def test_train_steps_sets_the_epochs_from_the_largest_fold(small_demo_corpus, tiny_flags,
                                                            tmp_path, capsys):
    pytest.importorskip("tensorflow")
    from adarl_tf import experiment, protocol, training
    from adarl_tf.pipelines import plan as plan_lib
    flags_ = {k: v for k, v in tiny_flags.items() if k != "epochs"}
    with flagsaver.flagsaver(dataset="demo", data_dir=str(small_demo_corpus), train_steps=50,
                             **flags_):
        corpus, config, _ = experiment.load(run_flags.config_from_flags(), tmp_path)
    steps = [plan_lib.steps(protocol.split_fold(corpus, f).train, training.training_cut(config), 8)
             for f in range(len(corpus.fold_list()))]
    epochs = experiment.resolved_epochs(config, corpus).train.epochs
    # The fewest whole epochs in which the largest fold takes 50 steps.
    assert epochs * max(steps) >= 50 > (epochs - 1) * max(steps)
    assert epochs != config.train.epochs  # Not the default's 50 by chance.
    unchanged = dataclasses.replace(config, train=dataclasses.replace(config.train, train_steps=0))
    assert experiment.resolved_epochs(unchanged, corpus) is unchanged
    # The dry run says so before anything trains.
    experiment.dry_run(corpus, {"n_utterances": 1}, tmp_path / "dry", config)
    assert f"; {epochs} epochs a fold (--train_steps=50); report in" in capsys.readouterr().out

    # Trained, the fold runs those epochs, and config.json says so.
    _run(dataset="demo", data_dir=str(small_demo_corpus), fold="0", train_steps=50,
         out_dir=str(tmp_path / "run"), **flags_)
    written = json.loads((tmp_path / "run" / "config.json").read_text())["train"]
    assert (written["epochs"], written["train_steps"]) == (epochs, 50)
    result = json.loads((tmp_path / "run" / "fold_00" / "results.json").read_text())
    assert result["epochs_completed"] == epochs


def test_epochs_and_train_steps_together_are_refused(tmp_path):
    # A preset that sets --train_steps and a command line that sets --epochs.
    flagfile = tmp_path / "steps.cfg"
    flagfile.write_text("--train_steps=960\n")
    with pytest.raises(ValueError, match="--epochs=3 and --train_steps=960 both"):
        _flagfile_config(flagfile, "--epochs=3")
    train = _flagfile_config(flagfile, "--epochs=3", "--train_steps=0").train
    assert (train.epochs, train.train_steps) == (3, 0)
    assert _flagfile_config(flagfile).train.train_steps == 960


def test_domain_speaker_mean_needs_the_test_speakers_windows_scored_together():
    preset = "adarl_compact_speaker_bn.cfg"
    with pytest.raises(ValueError, match="--domain_speaker_mean needs --speaker_bn"):
        _preset_config(preset, "--domain_speaker_mean", "--nospeaker_bn")
    assert _preset_config(preset, "--domain_speaker_mean").model.domain_speaker_mean


def test_attention_units_reach_the_model():
    config = _preset_config("adarl_compact_speaker_bn.cfg", "--attention_units=16")
    assert config.model.attention_units == 16
    assert _preset_config("adarl_compact_speaker_bn.cfg").model.attention_units == 4


def test_compact_presets_share_the_input_and_differ_in_the_recipe():
    compact = _preset_config("adarl_compact.cfg")
    speaker = _preset_config("adarl_compact_speaker.cfg")
    # The same mel input; only the normalisation differs. The speaker-normalised preset keeps
    # the trunk the compact one had until 2026-12-07, at which its figures were measured.
    assert speaker.model.frontend == dataclasses.replace(compact.model.frontend,
                                                         normalization="speaker")
    assert speaker.model.trunk_filters == (8, 8, 8, 16)
    assert compact.model.trunk_filters == (16, 16, 16, 32)
    # The previous compact recipe: 30 epochs, 2 validation speakers, the paper's attention.
    assert (speaker.train.epochs, speaker.train.train_steps) == (30, 0)
    assert (speaker.train.validation_speakers, speaker.train.gain_db) == (2, 6.0)
    assert (speaker.model.attention_input, speaker.model.attention_trains_domain) == \
        ("maps", True)
    assert (compact.train.train_steps, compact.train.validation_speakers) == (960, 0)


def test_speaker_bn_preset_is_the_compact_one_trained_and_scored_per_speaker():
    # The same input, trunk and recipe: both presets took the paper's trunk width on 2026-12-07,
    # each over two seeds of both development corpora (RESULTS.md, thirty-ninth and forty-third
    # sessions).
    compact = _preset_config("adarl_compact.cfg")
    per_speaker = _preset_config("adarl_compact_speaker_bn.cfg")
    assert per_speaker == dataclasses.replace(
        compact, model=dataclasses.replace(compact.model, speaker_bn_group=8),
        data=dataclasses.replace(compact.data, speaker_bn=True))


def test_gpu_run_list_is_the_paper_size_recipe_as_it_parses_today():
    # benchmarks/gpu_runs_robust.txt waits for a lent GPU: a renamed flag or preset must
    # fail here, not in that machine's few minutes.
    robust = _preset_config("adarl_robust.cfg")
    runs = [line.split() for line in
            (_ROOT / "benchmarks" / "gpu_runs_robust.txt").read_text().splitlines()
            if line.strip() and not line.startswith("#")]
    assert len({name for name, *_ in runs}) == len(runs) == 4
    variants = set()
    for name, preset, *extra in runs:
        config = _flagfile_config(_ROOT / preset, *extra)
        variants.add((config.model.variant, config.model.speaker_bn_group))
        assert config.data.speaker_bn
        assert config.train == robust.train
        assert dataclasses.replace(config.model, variant="adarl", speaker_bn_group=0) \
            == robust.model
    assert variants == {(v, g) for v in ("adarl", "backbone") for g in (0, 8)}


def _preset_config(name, *extra):
    """The config a preset flagfile describes (flags parsed as the command line would)."""
    return _flagfile_config(_ROOT / "configs" / name, *extra)


def _flagfile_config(path, *extra):
    """The config of a flagfile and more flags, parsed as the command line would be."""
    argv = ["adarl_tf.main", f"--flagfile={path}", *extra]
    saved = flagsaver.save_flag_values()
    try:
        FLAGS(argv)
        return run_flags.config_from_flags()
    finally:
        flagsaver.restore_flag_values(saved)


def test_paper_presets_keep_the_papers_recipe():
    from adarl_tf.config import TrainConfig
    defaults = TrainConfig()
    for name in ("adarl.cfg", "backbone.cfg", "domain_invariant.cfg"):
        config = _preset_config(name)
        train = config.train
        assert (train.optimizer, train.schedule, train.class_balance) == \
            ("sgd", "epoch_decay", "none"), name
        assert (train.learning_rate, train.lr_decay, train.momentum) == (0.2, 0.7, 0.0)
        assert train.validation_speakers == 0 and not train.augments
        for field in ("warmup_fraction", "early_stopping_patience", "train_hop_s", "train_steps",
                      "random_crop", "speed_factors", "gain_db", "noise_snr_db"):
            assert getattr(train, field) == getattr(defaults, field), (name, field)
        assert (config.model.time_masks, config.model.freq_masks) == (0, 0)


def test_inf_snr_turns_a_presets_noise_off():
    assert _preset_config("adarl_compact.cfg").train.noise_snr_db == 20.0
    train = _preset_config("adarl_compact.cfg", "--noise_snr_db=inf").train
    assert train.noise_snr_db is None
    assert train.augments  # Only the noise is off: speed, gain and crop stay.


def test_robust_preset_parses_and_builds():
    from adarl_tf.model import build_model
    config = _preset_config("adarl_robust.cfg")
    train = config.train
    assert (train.optimizer, train.schedule, train.class_balance) == \
        ("adamw", "cosine", "weighted_loss")
    # The run in optimiser steps, every training speaker training, the last epoch reported.
    assert (train.train_steps, train.validation_speakers) == (960, 0)
    assert train.augments and train.random_crop and train.gain_db == 0
    assert train.speed_factors == (0.9, 1.0, 1.1) and train.noise_snr_db is not None
    assert 0 < train.warmup_fraction < 0.5
    # No test-speaker audio; the attention reads the gender head's own feature.
    assert config.model.frontend.normalization == "segment"
    assert (config.model.attention_input, config.model.attention_trains_domain) == \
        ("embedding", False)
    small = dataclasses.replace(config.model, trunk_filters=(4, 4, 4, 8),
                                frontend=dataclasses.replace(config.model.frontend,
                                                             max_freq_hz=2000.0))
    model = build_model(small)
    assert "spec_augment" in [layer.name for layer in model.layers]
