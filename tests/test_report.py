"""Two variants x two folds x one epoch through the CLI, then TensorBoard tags and the report."""

import json

import numpy as np
import pytest
from absl.testing import flagsaver

tf = pytest.importorskip("tensorflow")

from adarl_tf import main as main_lib
from adarl_tf import report

TRAIN_TAGS = ("epoch_loss", "epoch_emotion_loss", "epoch_center_loss", "epoch_learning_rate",
              "epoch_emotion_accuracy", "epoch_emotion_ua",
              "epoch_test_speaker_wa", "epoch_test_speaker_ua")
DOMAIN_TAGS = ("epoch_domain_loss", "epoch_domain_accuracy", "epoch_test_speaker_domain_accuracy")
MONITOR_TAGS = ("monitoring_only/README", "monitoring_only/test_speaker_confusion",
                "final/wa", "final/ua", "_hparams_/session_start_info", "_hparams_/experiment")
ATTENTION_TAGS = ("attention/mean_profile", "attention/train_sample_F",
                  "attention/train_sample_M")


@pytest.fixture(scope="module")
def runs(small_demo_corpus, parsed_flags, tiny_flags, tmp_path_factory):
    out = {}
    for variant in ("adarl", "backbone"):
        out[variant] = tmp_path_factory.mktemp("runs") / f"demo_{variant}"
        with flagsaver.flagsaver(dataset="demo", data_dir=str(small_demo_corpus),
                                 variant=variant, out_dir=str(out[variant]), fold="0,1",
                                 **tiny_flags):
            main_lib.main(["adarl_tf.main"])
    return out


def _tags(run_dir):
    from tensorboard.backend.event_processing import event_accumulator as ea
    acc = ea.EventAccumulator(str(run_dir), size_guidance={k: 0 for k in ea.DEFAULT_SIZE_GUIDANCE})
    acc.Reload()
    return acc, set(acc.Tags()["tensors"]) | set(acc.Tags()["scalars"])


def test_event_files_hold_the_monitoring_tags(runs):
    for variant, run_dir in runs.items():
        for fold in ("fold_00", "fold_01"):
            logs = run_dir / fold / "logs"
            _, train_tags = _tags(logs / "train")
            acc, monitor_tags = _tags(logs / "monitor")
            expected_train = TRAIN_TAGS + (DOMAIN_TAGS if variant == "adarl" else ())
            expected_monitor = MONITOR_TAGS + (ATTENTION_TAGS if variant == "adarl" else ())
            assert set(expected_train) <= train_tags, train_tags
            assert set(expected_monitor) <= monitor_tags, monitor_tags
            assert "hparams" in acc.PluginTagToContent("hparams") or \
                acc.PluginTagToContent("hparams")
            # The test speaker is F in fold 0, M in fold 1; the training sample has both.
            if variant == "adarl":
                gender = "F" if fold == "fold_00" else "M"
                assert f"attention/test_speaker_{gender}" in monitor_tags
            # The projector: a config, a checkpoint and one metadata row per point.
            monitor = logs / "monitor"
            assert "metadata.tsv" in (monitor / "projector_config.pbtxt").read_text()
            rows = (monitor / "metadata.tsv").read_text().splitlines()
            assert rows[0].split("\t") == ["name", "split", "speaker", "gender", "emotion",
                                           "prediction"]
            assert {r.split("\t")[1] for r in rows[1:]} == {"test", "train sample"}
            assert list(monitor.glob("embedding.ckpt-*.index"))

            features = np.load(run_dir / fold / "test_features.npz")
            assert features["deep_features"].shape == (8, 64)
            assert len(features["labels"]) == len(features["genders"]) == 8
            assert ("attention" in features) == (variant == "adarl")
            results = json.loads((run_dir / fold / "results.json").read_text())
            # Training UA (segment level) is logged beside WA every epoch.
            history = results["history"]
            assert 0.0 <= history["emotion_ua"][0] <= 1.0


def test_report_figures_and_tables(runs, tmp_path, capsys):
    out = tmp_path / "report"
    # fold_01 of the backbone run removed: a partial run.
    partial = tmp_path / "partial_backbone"
    import shutil
    shutil.copytree(runs["backbone"], partial)
    shutil.rmtree(partial / "fold_01")
    written = report.build_report([runs["adarl"], runs["backbone"], partial], out)
    names = {p.name for p in written}
    assert names == {"report.md", "wa_ua.png", "confusion_demo_adarl.png",
                     "confusion_demo_backbone.png", "confusion_partial_backbone.png",
                     "tsne_demo_adarl.png", "tsne_demo_backbone.png",
                     "tsne_partial_backbone.png", "centre_distances.png",
                     "domain_accuracy.png"}
    for path in written:
        assert path.stat().st_size > 0
        if path.suffix == ".png":
            assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    md = (out / "report.md").read_text()
    for section in ("## WA / UA beside the paper", "## Per fold", "## Confusion matrices",
                    "## Deep features", "## Domain (gender) accuracy"):
        assert section in md
    assert report.NOT_COMPARABLE in md
    assert "| paper: ADARL | IEMOCAP improvised | 10/10 | 73.02 | 65.86 |" in md
    assert "| paper: Backbone (IEMOCAP) | 11.58 | 9.16 | 8.61 | 10.14 |" in md
    assert "9 of 10 folds missing: 1 (Ses01M), 2 (Ses02F)" in md
    # Every figure the markdown links exists.
    import re
    for link in re.findall(r"\]\(([^)]+\.png)\)", md):
        assert (out / link).exists(), link

    # The command line.
    with flagsaver.flagsaver(out=str(tmp_path / "cli")):
        report.main(["adarl_tf.report", str(runs["adarl"])])
    assert (tmp_path / "cli" / "report.md").exists()
    assert "Wrote" in capsys.readouterr().out
