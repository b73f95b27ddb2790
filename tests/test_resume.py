"""Nothing lost: a killed fold resumes, reruns are identical, finished folds are skipped.

The two subprocess tests run `python -m adarl_tf.main` as a user would, on the
small demo corpus with a tiny model (about 3 s per epoch on 2 CPU cores):
kill-and-resume (3 runs) and determinism (2 runs) take about a minute together.
"""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time

import keras
import numpy as np
import pytest
from absl.testing import flagsaver

tf = pytest.importorskip("tensorflow")

from adarl_tf import checkpoints, protocol, training
from adarl_tf import main as main_lib
from adarl_tf.config import DataConfig, ExperimentConfig, TrainConfig
from adarl_tf.corpora import demo, iemocap
from adarl_tf.pipelines import plan as plan_lib
from adarl_tf.pipelines import renderer
from tests.model_files import TINY as TINY_MODEL

pytestmark = pytest.mark.usefixtures("parsed_flags")
TINY_FLAGS = ["--segment_s=1.0", "--max_freq_hz=2000", "--trunk_filters=4,4,4,8",
              "--batch_size=8"]
TINY = ExperimentConfig(
    model=TINY_MODEL,
    train=TrainConfig(epochs=3, batch_size=8), data=DataConfig())
# Everything in results.json that must not change between identical runs.
METRICS = ("wa", "ua", "confusion_matrix", "domain_accuracy", "epochs_completed", "history")


def _command(corpus_dir, out_dir, epochs, *extra):
    return [sys.executable, "-m", "adarl_tf.main", "--dataset=demo",
            f"--data_dir={corpus_dir}", "--fold=0", f"--epochs={epochs}",
            f"--out_dir={out_dir}", "--deterministic", *TINY_FLAGS, *extra]


def _env():
    return dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")


def _run(command):
    done = subprocess.run(command, env=_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def _results(out_dir):
    return json.loads((out_dir / "fold_00" / "results.json").read_text())


def _metrics(results):
    return {k: results[k] for k in METRICS}


def _final_model(out_dir):
    # Safe mode (the default): nothing but registered classes is deserialised.
    return keras.saving.load_model(out_dir / "fold_00" / "model.keras", safe_mode=True)


def _kill_after_first_checkpoint(command, state_file):
    """Runs `command` and SIGKILLs it once `state_file` (epoch 1's checkpoint) appears.

    The checkpoint is the last thing of epoch 1, so epoch 2 is running when
    the kill lands. Returns the finished process.
    """
    # stderr to a file, not a pipe: a full pipe would block the child's logging.
    with tempfile.TemporaryFile("w+") as log:
        proc = subprocess.Popen(command, env=_env(), stdout=subprocess.DEVNULL, stderr=log,
                                text=True)
        try:
            deadline = time.time() + 240
            while not state_file.exists():
                if proc.poll() is not None:
                    log.seek(0)
                    raise AssertionError(log.read()[-3000:])
                assert time.time() < deadline, "no checkpoint after 240 s"
                time.sleep(0.05)
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
    return proc


def test_killed_fold_resumes_and_matches_an_uninterrupted_run(small_demo_corpus, tiny_flags,
                                                              tmp_path):
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    _run(_command(small_demo_corpus, straight, 3))

    state_file = killed / "fold_00" / "checkpoint" / "state.json"
    proc = _kill_after_first_checkpoint(_command(small_demo_corpus, killed, 3), state_file)
    assert proc.returncode == -signal.SIGKILL
    state = json.loads(state_file.read_text())
    assert 1 <= state["epoch"] < 3, "the run finished before it could be killed"
    assert not (killed / "fold_00" / "results.json").exists()
    # Whatever the instant of the kill, only complete files carry final names.
    assert (killed / "fold_00" / "checkpoint" / state["weights"]).is_file()

    resumed = _run(_command(small_demo_corpus, killed, 3))
    assert f"resuming after epoch {state['epoch']} of 3" in resumed.stderr
    after = _results(killed)
    assert after["epochs_completed"] == 3
    assert after["resumed_after_epoch"] == state["epoch"]
    assert after["deterministic"] is True
    assert _metrics(after) == _metrics(_results(straight))
    assert (killed / "fold_00" / "predictions.csv").read_text() == \
        (straight / "fold_00" / "predictions.csv").read_text()
    assert not (killed / "fold_00" / "checkpoint").exists()  # Done: model.keras has it all.

    # Weights, center-loss centres, BN statistics and the learning-rate
    # schedule's position (the optimizer's step count) all came through.
    a, b = _final_model(straight), _final_model(killed)
    assert int(b.optimizer.iterations) == int(a.optimizer.iterations) == 3 * 21
    assert float(b.optimizer.learning_rate) == float(a.optimizer.learning_rate)
    centres = [w for w in a.weights if "centers" in w.path or "centres" in w.path]
    assert centres, [w.path for w in a.weights]
    for wa, wb in zip(a.weights, b.weights):
        np.testing.assert_array_equal(wa.numpy(), wb.numpy(), err_msg=wa.path)

    # The same command once more: the fold is complete, nothing is trained.
    def no_training(*args, **kwargs):
        raise AssertionError("a complete fold was trained again")

    original = training.train_and_evaluate
    training.train_and_evaluate = no_training
    try:
        with flagsaver.flagsaver(dataset="demo", data_dir=str(small_demo_corpus), fold="0",
                                 out_dir=str(killed), deterministic=True,
                                 **dict(tiny_flags, epochs=3)):
            main_lib.main(["adarl_tf.main"])
    finally:
        training.train_and_evaluate = original


def test_two_deterministic_runs_give_the_same_metrics(small_demo_corpus, tmp_path):
    for name in ("a", "b"):
        _run(_command(small_demo_corpus, tmp_path / name, 1))
    a, b = _results(tmp_path / "a"), _results(tmp_path / "b")
    assert a["deterministic"] and a["config"]["train"]["deterministic"]
    assert _metrics(a) == _metrics(b)


# ---------------------------------------------------------------- in process


@pytest.fixture(scope="module")
def corpus(small_demo_corpus):
    return iemocap.load_iemocap(small_demo_corpus, name=demo.DEMO_CORPUS_NAME)


def test_a_resumed_epoch_sees_the_same_batches(corpus):
    utts = corpus.utterances[:12]
    frontend = TINY.model.frontend

    cut = plan_lib.Cut.of(frontend, 1.0)

    def batches(first_epoch):
        plan = plan_lib.training_plan(utts, cut, TrainConfig(epochs=3, seed=3), 4, first_epoch)
        ds = renderer("auto").training_data(utts, plan, frontend.sample_rate_hz)
        return [np.asarray(y["emotion"]).tolist() + [float(np.asarray(x).sum())]
                for x, y in ds]

    steps = plan_lib.steps(utts, cut, 4)
    full = batches(0)
    assert len(full) == 3 * steps
    assert batches(2) == full[2 * steps:]
    assert full[:steps] != full[steps:2 * steps]  # Each epoch has its own order.


def _fake_fold(out_dir, config, epochs_completed):
    fold_dir = out_dir / "fold_00"
    fold_dir.mkdir(parents=True)
    (fold_dir / "results.json").write_text(json.dumps(
        {"config": config.to_dict(), "epochs_completed": epochs_completed}))
    (fold_dir / "predictions.csv").write_text("name,label,prediction\n")
    (fold_dir / "export").mkdir()
    return fold_dir


def test_fold_status(tmp_path):
    _fake_fold(tmp_path / "done", TINY, 3)
    assert checkpoints.fold_status(TINY, tmp_path / "done", 0) == "complete"
    assert checkpoints.fold_status(TINY, tmp_path / "done", 1) == "new"
    _fake_fold(tmp_path / "short", TINY, 2)
    assert checkpoints.fold_status(TINY, tmp_path / "short", 0) == "new"
    other = ExperimentConfig(model=TINY.model, train=TrainConfig(epochs=5, batch_size=8),
                             data=TINY.data)
    with pytest.raises(ValueError, match=r"another config \(train\.epochs: 3 -> 5\).*"
                                         r"--overwrite.*--out_dir"):
        checkpoints.fold_status(other, tmp_path / "done", 0)
    torn = _fake_fold(tmp_path / "torn", TINY, 3)
    (torn / "results.json").write_text('{"config": {"mod')  # Not our writer's doing.
    assert checkpoints.fold_status(TINY, tmp_path / "torn", 0) == "new"


def test_overwrite_clears_only_what_training_wrote(tmp_path):
    fold_dir = _fake_fold(tmp_path, TINY, 3)
    (fold_dir / "checkpoint").mkdir()
    (fold_dir / "checkpoint" / "state.json").write_text("{}")
    checkpoints.clear_fold(tmp_path, 0)
    assert sorted(p.name for p in fold_dir.iterdir()) == ["export"]


def test_checkpoint_of_another_run_is_not_resumed(corpus, tmp_path):
    config = ExperimentConfig(model=TINY.model, train=TrainConfig(epochs=1, batch_size=8,
                                                                  monitor_test=False),
                              data=TINY.data)
    ckpt = tmp_path / "fold_00" / "checkpoint"
    ckpt.mkdir(parents=True)
    state = {"config": json.loads(json.dumps(config.to_dict())), "epoch": 1,
             "weights": "epoch_001.weights.h5", "data_fingerprint": "elsewhere"}
    (ckpt / "state.json").write_text(json.dumps(state))
    with pytest.raises(ValueError, match=r"trained on other data.*--overwrite"):
        training.train_and_evaluate(config, corpus, 0, tmp_path, verbose=0)
    split = protocol.split_fold(corpus, 0)
    state["data_fingerprint"] = checkpoints.data_fingerprint(split.train + split.validation,
                                                             split.test)
    (ckpt / "state.json").write_text(json.dumps(state))
    with pytest.raises(ValueError, match=r"names epoch_001\.weights\.h5, which is missing"):
        training.train_and_evaluate(config, corpus, 0, tmp_path, verbose=0)


def test_killed_after_the_last_epoch_finishes_without_training(corpus, tmp_path, monkeypatch):
    config = ExperimentConfig(model=TINY.model, train=TrainConfig(epochs=1, batch_size=8,
                                                                  monitor_test=False),
                              data=TINY.data)
    write_json = training.files.write_json

    def dies_before_results(path, obj):
        if path.name == "results.json":
            raise KeyboardInterrupt  # As if killed just before the last write.
        write_json(path, obj)

    monkeypatch.setattr(training.files, "write_json", dies_before_results)
    with pytest.raises(KeyboardInterrupt):
        training.train_and_evaluate(config, corpus, 0, tmp_path, verbose=0)
    monkeypatch.setattr(training.files, "write_json", write_json)
    assert checkpoints.fold_status(config, tmp_path, 0) == "resume"
    saved = json.loads((tmp_path / "fold_00" / "checkpoint" / "state.json").read_text())

    fit = keras.Model.fit
    monkeypatch.setattr(keras.Model, "fit", lambda *a, **k: pytest.fail("trained again"))
    results = training.train_and_evaluate(config, corpus, 0, tmp_path, verbose=0)
    monkeypatch.setattr(keras.Model, "fit", fit)
    assert results.epochs_completed == 1 and results.resumed_after_epoch == 1
    assert results.history == saved["history"]
    assert checkpoints.fold_status(config, tmp_path, 0) == "complete"


ROBUST_FLAGS = ["--optimizer=adamw", "--learning_rate=1e-3", "--weight_decay=1e-2",
                "--schedule=cosine", "--warmup_fraction=0.2", "--class_balance=weighted_loss",
                "--validation_speakers=2", "--train_hop_s=0.5", "--random_crop",
                "--speed_factors=0.9,1.0,1.1", "--gain_db=6", "--noise_snr_db=15",
                "--normalization=speaker", "--tail=overlap",
                "--min_tail_s=0.5"]


@pytest.mark.parametrize("pipeline,extra", [("tf.data", ()), ("numpy", ()),
                                            ("tf.data", ("--ema_momentum=0.9",))],
                         ids=["tf.data", "numpy", "tf.data-ema"])
def test_robust_recipe_resumes_on_the_same_curve_and_selection(small_demo_corpus, tmp_path,
                                                               pipeline, extra):
    # AdamW + cosine (a function of optimizer.iterations), the per-epoch
    # augmentation draws (tf.data's and the numpy twin's), the
    # best-validation-epoch weights and the weights' moving average (saved
    # swapped into the model, optim.ema_callback) all survive a kill.
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    flags = [*ROBUST_FLAGS, f"--pipeline={pipeline}", *extra]
    _run(_command(small_demo_corpus, straight, 3, *flags))
    state_file = killed / "fold_00" / "checkpoint" / "state.json"
    _kill_after_first_checkpoint(_command(small_demo_corpus, killed, 3, *flags), state_file)
    state = json.loads(state_file.read_text())
    assert 1 <= state["epoch"] < 3 and state["best_epoch"] >= 1
    assert (killed / "fold_00" / "checkpoint" / checkpoints.BEST_WEIGHTS).is_file()
    _run(_command(small_demo_corpus, killed, 3, *flags))
    a, b = _results(straight), _results(killed)
    assert b["resumed_after_epoch"] == state["epoch"]
    assert _metrics(a) == _metrics(b)
    assert a["selected_epoch"] == b["selected_epoch"]
    assert a["epoch_selection"] == b["epoch_selection"]


def test_runs_from_before_the_robust_flags_or_the_plan_and_early_stopped_folds(tmp_path):
    # A results.json written before the robust recipe's fields existed, or with a field since
    # removed, is the same config.
    fold_dir = _fake_fold(tmp_path / "old", TINY, 3)
    written = json.loads((fold_dir / "results.json").read_text())
    for field in ("optimizer", "schedule", "warmup_fraction", "class_balance",
                  "validation_speakers", "early_stopping_patience", "train_hop_s",
                  "random_crop", "speed_factors", "gain_db", "noise_snr_db"):
        del written["config"]["train"][field]
    for field in ("time_masks", "time_mask_frames", "freq_masks", "freq_mask_bins"):
        del written["config"]["model"][field]
    written["config"]["train"]["shuffle_buffer"] = 1024  # A field since removed.
    (fold_dir / "results.json").write_text(json.dumps(written))
    assert checkpoints.fold_status(TINY, tmp_path / "old", 0) == "complete"
    # A fold that early stopping ended before the last epoch is complete.
    stopped = _fake_fold(tmp_path / "stopped", TINY, 2)
    written = json.loads((stopped / "results.json").read_text())
    (stopped / "results.json").write_text(json.dumps(dict(written, stopped_early=True)))
    assert checkpoints.fold_status(TINY, tmp_path / "stopped", 0) == "complete"
