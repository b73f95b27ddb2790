"""`--dry_run` through `adarl_tf.main` on each synthetic layout: speakers, genders, counts."""

import json

import pytest
from absl.testing import flagsaver

from adarl_tf import main as main_lib
from tests.corpora.layouts import make_cremad, make_emodb

pytestmark = pytest.mark.usefixtures("parsed_flags")


def _dry_run(out, **flag_values):
    with flagsaver.flagsaver(out_dir=str(out), dry_run=True, **flag_values):
        main_lib.main(["adarl_tf.main"])
    return json.loads((out / "data_report.json").read_text())


def test_emodb(tmp_path, capsys):
    root = make_emodb(tmp_path / "emodb", speakers=("03", "08", "09", "10", "11"))
    report = _dry_run(tmp_path / "out", dataset="emodb", data_dir=str(root), emotions="all")
    assert [(s["id"], s["gender"], s["n_utterances"]) for s in report["speakers"]] == [
            ("03", "M", 14), ("08", "F", 14), ("09", "F", 14), ("10", "M", 14), ("11", "M", 14)]
    assert report["label_totals"] == {e: 10 for e in (
            "neutral", "happy", "sad", "angry", "fearful", "disgust", "boredom")}
    printed = capsys.readouterr().out
    assert "5 speakers (2 F, 3 M)" in printed and "; 50 epochs a fold; report in" in printed


def test_cremad_kfold(tmp_path):
    root = make_cremad(tmp_path / "crema")
    report = _dry_run(tmp_path / "out", dataset="cremad", data_dir=str(root),
                      protocol="speaker_kfold", n_folds=2)
    assert [(s["id"], s["gender"]) for s in report["speakers"]] == [
            ("1001", "M"), ("1002", "F"), ("1003", "F"), ("1004", "M")]
    assert report["n_utterances"] == 4 * 4 * 2  # 4 classes of 6 by default.
    assert report["excluded_labels"] == {"disgust": 8, "fearful": 8}
    assert report["protocol"] == "speaker_kfold" and len(report["folds"]) == 2
    assert sorted(s for f in report["folds"] for s in f["test_speakers"]) == [
            "1001", "1002", "1003", "1004"]
