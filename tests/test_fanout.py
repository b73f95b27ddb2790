"""Folds as jobs: the summary of fold folders written anywhere, and child processes."""

import json

import pytest

from adarl_tf import checkpoints, fanout
from tests.run_files import data_report, fake_fold


def test_summary_of_folds_written_elsewhere_lists_the_missing(tmp_path):
    data_report(tmp_path, 3)
    fake_fold(tmp_path, 0, [0, 1, 2, 3], [0, 1, 2, 3])
    fake_fold(tmp_path, 2, [0, 1, 2, 3], [0, 0, 0, 0])
    summary = fanout.summarize(tmp_path)
    assert summary["n_folds"] == 2 and summary["missing_folds"] == [1]
    assert summary["wa_mean"] == pytest.approx(0.625)
    assert summary["wa_pooled"] == pytest.approx(5 / 8)
    assert json.loads((tmp_path / "summary.json").read_text())["missing_folds"] == [1]
    assert "Missing folds (no results.json): 1" in (tmp_path / "summary.md").read_text()


def test_summary_refuses_mixed_configs_and_empty_runs(tmp_path):
    with pytest.raises(ValueError, match="no fold_NN"):
        fanout.summarize(tmp_path)
    fake_fold(tmp_path, 0, [0, 1], [0, 1], config={"train": {"epochs": 1}})
    fake_fold(tmp_path, 1, [0, 1], [0, 1], config={"train": {"epochs": 2}})
    with pytest.raises(ValueError, match="different configs"):
        fanout.summarize(tmp_path)


def test_visible_gpus_from_the_environment():
    assert fanout.visible_gpus({"CUDA_VISIBLE_DEVICES": "2,5"}) == ["2", "5"]
    assert fanout.visible_gpus({"CUDA_VISIBLE_DEVICES": ""}) == []


def test_run_folds_starts_one_process_per_fold_with_its_log(tmp_path, small_demo_corpus):
    # --dry_run children: the process plumbing without training.
    codes = fanout.run_folds([0, 3], tmp_path, ["--dry_run", f"--data_dir={small_demo_corpus}",
                                               f"--out_dir={tmp_path}"], parallel=2,
                             gpus=["0", "1"], poll_s=0.1)
    assert codes == {0: 0, 3: 0}
    for fold in (0, 3):
        log = (checkpoints.fold_dir_of(tmp_path, fold) / fanout.LOG_NAME).read_text()
        assert "Dry run" in log


def test_summarize_flag_merges_the_folds_on_disk(tmp_path):
    import subprocess
    import sys
    data_report(tmp_path, 3)
    fake_fold(tmp_path, 1, [0, 1, 2, 3], [0, 1, 2, 2])
    out = subprocess.run([sys.executable, "-m", "adarl_tf.main", "--summarize",
                          f"--out_dir={tmp_path}"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "1 folds" in out.stdout and "missing folds 0, 2" in out.stdout
    assert json.loads((tmp_path / "summary.json").read_text())["missing_folds"] == [0, 2]
