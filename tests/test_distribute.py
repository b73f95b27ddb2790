"""--strategy: MirroredStrategy follows one device; two multi-worker processes train together.

Each check runs in subprocesses: logical devices and TF_CONFIG must be set
before TensorFlow initialises, which this test process has already done.
"""

import json
import os
import socket
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("tensorflow")

from adarl_tf import distribute

MIRRORED = textwrap.dedent("""
    import json, sys
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras, numpy as np
    from adarl_tf import distribute, model as model_lib
    from adarl_tf.config import FrontendConfig, ModelConfig

    config = ModelConfig(frontend=FrontendConfig(segment_s=0.5, max_freq_hz=1000.0),
                         trunk_filters=(4, 4, 4, 8), trunk_pools=((2, 2),) * 4)
    rng = np.random.default_rng(0)
    n, steps = 32, 4
    x = (0.1 * rng.standard_normal((n * steps, config.frontend.segment_samples))
         ).astype("float32")
    t = np.arange(x.shape[1]) / 16000.0
    x += (0.2 * np.sin(2 * np.pi * rng.uniform(100, 400, (len(x), 1)) * t)).astype("float32")
    y = {"emotion": rng.integers(-1, 4, len(x)).astype("int32"),
         "domain": rng.integers(0, 2, len(x)).astype("int32")}

    class Losses(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.values = []
        def on_train_batch_end(self, batch, logs=None):
            self.values.append(float(logs["loss"]))

    def train(strategy, weights):
        with distribute.scope(strategy):
            model = model_lib.build_model(config)
            model.compile(optimizer=keras.optimizers.SGD(0.05))
        if weights is not None:
            model.set_weights(weights)
        start = model.get_weights()
        ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(n)
        losses = Losses()
        model.fit(ds, epochs=1, verbose=0, callbacks=[losses])
        return start, losses.values

    keras.utils.set_random_seed(0)
    start, one = train(None, None)
    mirrored = distribute.make_strategy("mirrored")
    _, two = train(mirrored, start)

    # The centre update alone, exactly: a batch split over the two replicas must
    # move the centres as the whole batch does on one device (Wen et al.).
    from adarl_tf.layers import CenterLoss
    feats = rng.standard_normal((8, 64)).astype("float32")
    labels = np.array([0, 1, 2, 3, 0, 1, -1, 2], "int32")
    single = CenterLoss(4, 0.5)
    single.build((None, 64))
    with mirrored.scope():
        replicated = CenterLoss(4, 0.5)
        replicated.build((None, 64))
    replicated.centers.assign(np.asarray(single.centers))
    before = np.asarray(single.centers).copy()
    single.update_centers(feats, labels)
    dist = mirrored.experimental_distribute_dataset(
        tf.data.Dataset.from_tensor_slices((feats, labels)).batch(8))
    update = tf.function(lambda f, l: replicated.update_centers(f, l))
    for f, l in dist:
        mirrored.run(update, args=(f, l))
    print("RESULT " + json.dumps({
        "replicas": mirrored.num_replicas_in_sync, "one": one, "two": two,
        "centre_step": float(np.abs(np.asarray(single.centers) - before).max()),
        "centre_diff": float(np.abs(np.asarray(replicated.centers)
                                    - np.asarray(single.centers)).max())}))
""")


def _result(proc):
    assert proc.returncode == 0, proc.stderr[-4000:]
    line = [l for l in proc.stdout.splitlines() if l.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT "):])


def test_mirrored_over_two_cpus_follows_one_device():
    import numpy as np
    proc = subprocess.run([sys.executable, "-c", MIRRORED], capture_output=True, text=True,
                          timeout=300)
    r = _result(proc)
    assert r["replicas"] == 2
    one, two = np.array(r["one"]), np.array(r["two"])
    assert len(one) == len(two) == 4
    # BatchNormalization uses each replica's half batch, so not bit-equal.
    np.testing.assert_allclose(two, one, rtol=0.05)
    # The centre update over two replicas equals one device's on the whole batch.
    assert r["centre_step"] > 1e-2 and r["centre_diff"] < 1e-6


def _free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def test_two_multi_worker_processes_complete_an_epoch(small_demo_corpus, tmp_path):
    workers = [f"127.0.0.1:{p}" for p in _free_ports(2)]
    procs = []
    for index in range(2):
        env = dict(os.environ, TF_CONFIG=json.dumps(
            {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}))
        cmd = [sys.executable, "-m", "adarl_tf.main", "--strategy=multi_worker", "--fold=0",
               "--epochs=1", "--segment_s=1.0", "--max_freq_hz=2000",
               "--trunk_filters=4,4,4,8", "--batch_size=8", "--min_tail_s=0.5",
               "--nomonitor_test", f"--data_dir={small_demo_corpus}",
               f"--out_dir={tmp_path / 'run'}"]
        procs.append(subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, text=True))
    outputs = [p.communicate(timeout=240)[0] for p in procs]
    for p, out in zip(procs, outputs):
        assert p.returncode == 0, "\n".join(
            l for l in out.splitlines() if not l.startswith(" "))[-3000:]
    results = json.loads((tmp_path / "run" / "fold_00" / "results.json").read_text())
    assert results["replicas"] == 2 and results["epochs_completed"] == 1
    # The other worker wrote under a folder of its own, never over worker 0's files.
    assert len(list((tmp_path / "run").glob("worker_*/fold_00/results.json"))) == 1


def test_strategies_are_refused_outside_tensorflow(monkeypatch):
    import keras
    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    with pytest.raises(ValueError, match="TensorFlow backend"):
        distribute.make_strategy("mirrored")
    assert distribute.make_strategy("default") is None
    assert distribute.global_batch_size(8, None, True) == 8
