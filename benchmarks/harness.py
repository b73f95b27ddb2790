"""Shared by the benchmark scripts (no flags here): synthetic audio, device and memory
figures, one timed training-step measurement (`measure_train`), and the corpus their
--dataset/--data_dir/--emotions flags name (`load_flag_corpus`)."""

import dataclasses
import json
import os
import pathlib
import platform
import resource
import time

import numpy as np

REPO = pathlib.Path(__file__).resolve().parents[1]


def load_flag_corpus(dataset, data_dir, emotions, cache_dir=None):
    """The corpus a benchmark's --dataset, --data_dir and --emotions name. The loader's
    refusal (a missing folder, an unknown class, no utterance: it names the flag or file to
    fix) becomes one line, as `python -m adarl_tf.main` prints it, not a traceback."""
    from absl import app

    from adarl_tf.config import DataConfig
    from adarl_tf.corpora.load import load_corpus
    data = dataclasses.replace(DataConfig(), dataset=dataset, data_dir=data_dir,
                               emotions=emotions)
    try:
        return load_corpus(data, cache_dir=cache_dir)
    except (ValueError, FileNotFoundError) as e:
        raise app.UsageError(str(e)) from None


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB.


def device_info():
    """(device name, peak device memory in MB or None) for the current backend."""
    import keras
    backend = keras.backend.backend()
    if backend == "jax":
        import jax
        dev = jax.devices()[0]
        stats = dev.memory_stats() if hasattr(dev, "memory_stats") else None
        peak = (stats or {}).get("peak_bytes_in_use")
        name = f"{dev.platform}:{dev.device_kind}"
        return name, None if peak is None else peak / 2 ** 20
    if backend == "tensorflow":
        import tensorflow as tf
        gpus = tf.config.list_physical_devices("GPU")
        if gpus:
            details = tf.config.experimental.get_device_details(gpus[0])
            peak = tf.config.experimental.get_memory_info("GPU:0")["peak"]
            return f"GPU:{details.get('device_name', 'unknown')}", peak / 2 ** 20
    return f"cpu:{_cpu_name()} x{os.cpu_count()}", None


def _cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def speech_like(batch, samples, seed=0):
    """Harmonic stacks at random pitches with a syllable-rate envelope, plus noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(samples) / 16000.0
    f0 = rng.uniform(100, 250, (batch, 1))
    x = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 6))
    envelope = 0.6 + 0.4 * np.sin(2 * np.pi * rng.uniform(2, 5, (batch, 1)) * t)
    x = 0.1 * x * envelope + 0.005 * rng.standard_normal((batch, samples))
    return x.astype(np.float32)


def model_config(segment_s=3.0, max_freq_hz=4000.0, trunk_filters=(16, 16, 16, 32),
                 variant="adarl"):
    from adarl_tf.config import FrontendConfig, ModelConfig
    return ModelConfig(variant=variant, trunk_filters=tuple(int(f) for f in trunk_filters),
                       frontend=FrontendConfig(segment_s=segment_s, max_freq_hz=max_freq_hz))


def preset_model_config(path, variant=None, **overrides):
    """The `ModelConfig` of a preset flagfile (configs/*.cfg), as `adarl_tf.main` builds it.

    Parsed by `adarl_tf.main` in a subprocess: its absl flags (--segment_s,
    --variant, ...) would clash with a benchmark's own in one process.
    `overrides`: more main flags, e.g. `segment_s=1`.
    """
    import subprocess
    import sys

    from adarl_tf.config import ModelConfig
    argv = [f"--flagfile={path}"] + ([f"--variant={variant}"] if variant else []) + \
        [f"--{k}={v}" for k, v in overrides.items()]
    code = ("import json, sys; from adarl_tf import flags; "
            "print(json.dumps(flags.config_of_flags(sys.argv[1:]).model.to_dict()))")
    out = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True,
                         check=True)
    return ModelConfig.from_dict(json.loads(out.stdout.strip().splitlines()[-1]))


def measure_train(config, batch_size, precision="float32", steps=10, warmup=2, jit_compile="auto"):
    """One measurement: a dict of figures (see the module docstring)."""
    import keras

    from adarl_tf import model as model_lib
    from adarl_tf import precision as precision_lib

    keras.utils.set_random_seed(0)
    with precision_lib.dtype_policy(precision):
        model = model_lib.build_model(config)
        jit = {"auto": "auto", "true": True, "false": False}[jit_compile]
        model.compile(optimizer=keras.optimizers.SGD(0.01, weight_decay=4e-5),
                      jit_compile=jit)
    x = speech_like(batch_size, config.frontend.segment_samples)
    if config.frontend.normalization == "speaker":
        stats = np.stack([np.zeros(config.frontend.stats_shape[1:]),
                          np.ones(config.frontend.stats_shape[1:])]).astype("float32")
        x = {"waveform": x, "speaker_stats": np.repeat(stats[None], batch_size, 0)}
    rng = np.random.default_rng(1)
    y = {"emotion": rng.integers(0, config.n_emotions, batch_size).astype("int32"),
         "domain": rng.integers(0, config.n_domains, batch_size).astype("int32")}
    start = time.perf_counter()
    for _ in range(warmup):
        logs = model.train_on_batch(x, y, return_dict=True)
    warmup_s = time.perf_counter() - start
    float(logs["loss"])  # Waits for the device.
    start = time.perf_counter()
    for _ in range(steps):
        logs = model.train_on_batch(x, y, return_dict=True)
    loss = float(logs["loss"])  # Synchronises: the steps are done.
    seconds = time.perf_counter() - start
    device, device_peak = device_info()
    return {
        "benchmark": "train_throughput", "backend": keras.backend.backend(), "device": device,
        "precision": precision, "batch_size": batch_size, "steps": steps, "warmup": warmup,
        "jit_compile": jit_compile, "segment_s": config.frontend.segment_s,
        "params": int(model.count_params()),
        "segments_per_s": batch_size * steps / seconds, "step_ms": 1e3 * seconds / steps,
        "warmup_s": warmup_s, "loss": loss, "loss_finite": bool(np.isfinite(loss)),
        "peak_rss_mb": peak_rss_mb(), "device_peak_mb": device_peak,
        "optimizer": type(model.optimizer).__name__,
    }




def save_json(results, path):
    """Writes the measurements to `path` (if given) and ends the JSON-lines part."""
    if path:
        import json
        with open(path, "w") as f:
            json.dump(results, f, indent=2)
    print()
