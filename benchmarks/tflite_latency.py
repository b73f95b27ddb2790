r"""Per-segment CPU latency of every exported TFLite and ONNX file, beside Keras.

  python benchmarks/tflite_latency.py --export_dir=runs/demo_adarl/fold_00/export

For each `.tflite` file (LiteRT) and `.onnx` file (ONNX Runtime, CPU) in
`--export_dir` and each `--threads` value: median
and p90 latency of one segment (batch 1, the phone app's call), file size
and the peak resident memory of a process that loads the model and runs it;
the same for the Keras model (`--keras`, default `<export_dir>/../model.keras`,
`predict_on_batch`). It also prints the model's FLOPs per segment (the
TensorFlow profiler on the frozen serving graph) and the GFLOP/s each run
reaches.

Each measurement runs in its own subprocess, so peak memory is that model's
alone and TensorFlow's thread pools can be sized before it starts. With one
thread the subprocess is pinned to one CPU (`os.sched_setaffinity`), which is
what "one core" means in the targets. Prints one JSON line per measurement,
then a table. Targets (3 s segment, one core): float32 <= 60 ms, full-integer
int8 <= half of float32; files < 8 MB (float32) and < 2.5 MB (int8); ONNX
Runtime float32 within 1.5x of LiteRT float32.
"""

import json
import os
import pathlib
import resource
import subprocess
import sys
import time

import numpy as np
from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_string("export_dir", None, "Folder with the exported .tflite files.")
flags.DEFINE_string("keras", None, "Keras model; default <export_dir>/../model.keras.")
flags.DEFINE_list("threads", ["1", "2"], "Thread counts to measure.")
flags.DEFINE_integer("runs", 30, "Timed runs per measurement (after warm-up).")
flags.DEFINE_integer("warmup", 3, "Untimed runs first.")
flags.DEFINE_bool("pin", True, "Pin single-thread runs to one CPU.")
flags.DEFINE_string("worker", None, "Internal: measure this one model and print JSON.")
flags.DEFINE_integer("worker_threads", 1, "Internal.")
flags.DEFINE_string("json_out", None, "Also write every measurement to this JSON file.")

TFLITE_TARGET_MS = 60.0
ONNX_TARGET_RATIO = 1.5  # ONNX Runtime float32 vs LiteRT float32, same core.
SIZE_TARGET_MB = {"model_float32.tflite": 8.0, "model_int8.tflite": 2.5}


def _segment(samples, seed=0):
    """A speech-like test segment: harmonics with a slow envelope, plus noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(samples) / 16000.0
    x = sum(np.sin(2 * np.pi * 140 * k * t) / k for k in range(1, 8))
    x = 0.1 * x * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t)) + 0.005 * rng.standard_normal(samples)
    return x.astype(np.float32)[None]


def _inputs(samples, stats_shape):
    """One segment's named inputs; a speaker-normalised model also gets statistics
    (identity ones: the cost does not depend on their values)."""
    x = {"waveform": _segment(samples)}
    if stats_shape is not None:
        x["speaker_stats"] = np.stack([np.zeros(stats_shape[1:]), np.ones(stats_shape[1:])])[
            None].astype(np.float32)
    return x


def _peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB.


def _time(fn, warmup, runs):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return float(np.median(times)), float(np.percentile(times, 90))


def _measure_tflite(path, threads, warmup, runs):
    from ai_edge_litert import interpreter as litert
    base = _peak_rss_mb()
    interpreter = litert.Interpreter(model_path=path, num_threads=threads)
    runner = interpreter.get_signature_runner("serving_default")
    details = runner.get_input_details()
    samples = int(details["waveform"]["shape"][-1])
    stats = details.get("speaker_stats")
    x = _inputs(samples, None if stats is None else tuple(stats["shape"][1:]))
    median, p90 = _time(lambda: runner(**x), warmup, runs)
    return {"median_ms": median, "p90_ms": p90, "peak_rss_mb": _peak_rss_mb(),
            "rss_before_model_mb": base, "bytes": os.path.getsize(path),
            "segment_samples": samples}


def _measure_onnx(path, threads, warmup, runs):
    import onnxruntime as ort
    base = _peak_rss_mb()
    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    inputs = {i.name: i.shape for i in session.get_inputs()}
    samples = int(inputs["waveform"][-1])
    stats = inputs.get("speaker_stats")
    x = _inputs(samples, None if stats is None else tuple(stats[1:]))
    median, p90 = _time(lambda: session.run(None, x), warmup, runs)
    return {"median_ms": median, "p90_ms": p90, "peak_rss_mb": _peak_rss_mb(),
            "rss_before_model_mb": base, "bytes": os.path.getsize(path),
            "segment_samples": samples, "runtime": f"onnxruntime {ort.__version__}"}


def _flops(serving, x):
    """FLOPs of one segment through the serving graph (TF profiler, frozen graph)."""
    import tensorflow as tf
    from tensorflow.python.framework import convert_to_constants

    fn = tf.function(lambda x: serving(x, training=False)).get_concrete_function(
        tf.nest.map_structure(lambda v: tf.TensorSpec(v.shape, tf.float32), x))
    frozen = convert_to_constants.convert_variables_to_constants_v2(fn)
    opts = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    opts["output"] = "none"
    info = tf.compat.v1.profiler.profile(graph=frozen.graph, options=opts)
    return int(info.total_float_ops)


def _measure_keras(path, threads, warmup, runs):
    import tensorflow as tf
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    import keras

    import adarl_tf.model  # noqa: F401  Registers ADARLModel.
    from adarl_tf.export.runners import input_shapes, serving_model
    base = _peak_rss_mb()
    serving = serving_model(keras.saving.load_model(path, compile=False))
    samples, stats_shape = input_shapes(serving)
    x = _inputs(samples, stats_shape)
    x = x if stats_shape else x["waveform"]  # The paper's model: one unnamed input.
    median, p90 = _time(lambda: serving.predict_on_batch(x), warmup, runs)
    return {"median_ms": median, "p90_ms": p90, "peak_rss_mb": _peak_rss_mb(),
            "rss_before_model_mb": base, "bytes": os.path.getsize(path),
            "segment_samples": samples, "flops": _flops(serving, x)}


def _worker(path, threads):
    if threads == 1 and FLAGS.pin:
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    fn = (_measure_keras if path.endswith(".keras") else
          _measure_onnx if path.endswith(".onnx") else _measure_tflite)
    result = fn(path, threads, FLAGS.warmup, FLAGS.runs)
    result.update(model=os.path.basename(path), threads=threads,
                  cpus=sorted(os.sched_getaffinity(0)))
    print("RESULT " + json.dumps(result))


def _run_worker(path, threads):
    cmd = [sys.executable, os.path.abspath(__file__), f"--worker={path}",
           f"--worker_threads={threads}", f"--runs={FLAGS.runs}", f"--warmup={FLAGS.warmup}",
           f"--pin={FLAGS.pin}"]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    raise RuntimeError(f"benchmark of {path} ({threads} threads) failed:\n{proc.stderr[-3000:]}")


def main(argv):
    del argv
    if FLAGS.worker:
        _worker(FLAGS.worker, FLAGS.worker_threads)
        return
    if not FLAGS.export_dir:
        raise app.UsageError("--export_dir is required")
    export_dir = pathlib.Path(FLAGS.export_dir)
    keras_path = pathlib.Path(FLAGS.keras) if FLAGS.keras else export_dir.parent / "model.keras"
    models = sorted(str(p) for p in export_dir.glob("*.tflite"))
    models += sorted(str(p) for p in export_dir.glob("*.onnx"))
    if keras_path.exists():
        models.append(str(keras_path))
    if not models:
        raise app.UsageError(f"no .tflite, .onnx or .keras model found in {export_dir}")
    results = []
    for threads in [int(t) for t in FLAGS.threads]:
        for path in models:
            r = _run_worker(path, threads)
            results.append(r)
            print(json.dumps(r), flush=True)
    flops = next((r["flops"] for r in results if "flops" in r), None)
    for r in results:
        r["gflops_per_s"] = None if flops is None else flops / (r["median_ms"] * 1e6)

    print()
    if flops is not None:
        print(f"FLOPs per {results[0]['segment_samples']}-sample segment: {flops / 1e9:.2f} "
              f"GFLOP ({flops / 2e9:.2f} GMAC)")
    print(f"{'model':28s} {'threads':>7s} {'median ms':>10s} {'p90 ms':>8s} {'MB':>7s} "
          f"{'peak RSS MB':>12s} {'GFLOP/s':>8s}")
    for r in results:
        g = "" if r["gflops_per_s"] is None else f"{r['gflops_per_s']:8.1f}"
        print(f"{r['model']:28s} {r['threads']:7d} {r['median_ms']:10.1f} {r['p90_ms']:8.1f} "
              f"{r['bytes'] / 1e6:7.2f} {r['peak_rss_mb']:12.0f} {g}")
    one = {r["model"]: r["median_ms"] for r in results if r["threads"] == 1}
    checks = []
    if "model_float32.tflite" in one:
        checks.append(("float32 <= 60 ms (1 thread)",
                       one["model_float32.tflite"] <= TFLITE_TARGET_MS))
        if "model_int8.tflite" in one:
            checks.append(("int8 <= float32 / 2 (1 thread)",
                           one["model_int8.tflite"] <= one["model_float32.tflite"] / 2))
        if "model.onnx" in one:
            checks.append((f"ONNX Runtime <= {ONNX_TARGET_RATIO}x LiteRT float32 (1 thread)",
                           one["model.onnx"] <= ONNX_TARGET_RATIO * one["model_float32.tflite"]))
    for r in results:
        if r["model"] in SIZE_TARGET_MB and r["threads"] == int(FLAGS.threads[0]):
            checks.append((f"{r['model']} < {SIZE_TARGET_MB[r['model']]} MB",
                           r["bytes"] / 1e6 < SIZE_TARGET_MB[r["model"]]))
    print()
    for name, ok in checks:
        print(f"{'PASS' if ok else 'MISS'}  {name}")
    if FLAGS.json_out:
        pathlib.Path(FLAGS.json_out).write_text(json.dumps(
            {"flops_per_segment": flops, "results": results,
             "checks": {n: bool(ok) for n, ok in checks}}, indent=2) + "\n")


if __name__ == "__main__":
    app.run(main)
