r"""Segments per second of the full training step, frontend included.

  python benchmarks/train_throughput.py --batch_size=32 --precision=float32,mixed_bfloat16
  KERAS_BACKEND=jax python benchmarks/train_throughput.py --batch_size=32

For each model in --models (default both, side by side: "paper", the
paper's full-size ADARL shaped by --segment_s/--max_freq_hz/--trunk_filters,
and "compact", configs/adarl_compact.cfg as `adarl_tf.main` reads it), each
--precision and --batch_size: builds the model under that Keras dtype policy, compiles it as
training does (SGD, the multi-task loss), and times `train_on_batch` on a fixed
batch of synthetic speech-like waveforms: --warmup steps first (compilation
and autotuning, not timed), then --steps timed ones. The batch is a host
(numpy) array each step, so the host-to-device copy is included, as with a
real pipeline. Also: the peak host RSS of the process (monotonic over the
measurements of one run) and the device's peak memory where the backend
exposes it (TensorFlow: `tf.config.experimental.get_memory_info`, JAX:
`Device.memory_stats()`; null on CPU). Works under any KERAS_BACKEND; under
JAX without TensorFlow installed. Prints one JSON line per measurement, then
a table. A figure is only comparable with the same device, backend, batch
and precision.
"""

import json
import sys

import harness  # Same folder.
from absl import app, flags
from harness import measure_train, model_config

FLAGS = flags.FLAGS
flags.DEFINE_list("batch_size", ["32"], "Batch sizes to measure.")
flags.DEFINE_list("precision", ["float32"], "Dtype policies: float32, mixed_float16, "
                  "mixed_bfloat16.")
flags.DEFINE_integer("steps", 10, "Timed training steps per measurement.")
flags.DEFINE_integer("warmup", 2, "Untimed steps first (compilation).")
flags.DEFINE_float("segment_s", 3.0, "Segment length (the paper: 3 s).")
flags.DEFINE_float("max_freq_hz", 4000.0, "Highest frequency kept (the paper: 4000 Hz).")
flags.DEFINE_list("trunk_filters", ["16", "16", "16", "32"], "Filters per unit.")
flags.DEFINE_string("variant", "adarl", "Model variant.")
flags.DEFINE_enum("jit_compile", "auto", ["auto", "true", "false"],
                  "Model.compile(jit_compile=...): XLA for TensorFlow; JAX always jits.")
flags.DEFINE_string("json_out", None, "Also write the measurements to this JSON file.")
flags.DEFINE_list("models", ["paper", "compact"], "paper and/or compact (the preset below).")
flags.DEFINE_string("compact_preset", str(harness.REPO / "configs" / "adarl_compact.cfg"),
                    "The compact model's flagfile.")


def main(argv):
    del argv
    configs = {}
    for name in FLAGS.models:
        if name == "paper":
            configs[name] = model_config(FLAGS.segment_s, FLAGS.max_freq_hz,
                                         FLAGS.trunk_filters, FLAGS.variant)
        elif name == "compact":
            configs[name] = harness.preset_model_config(
                FLAGS.compact_preset, FLAGS.variant, segment_s=FLAGS.segment_s)
        else:
            raise app.UsageError(f"--models: {name!r}; expected paper and/or compact")
    results = []
    for name, config in configs.items():
        for precision in FLAGS.precision:
            for batch in FLAGS.batch_size:
                r = measure_train(config, int(batch), precision, FLAGS.steps, FLAGS.warmup,
                                  FLAGS.jit_compile)
                r["model"] = name
                print(json.dumps(r), flush=True)
                results.append(r)
    harness.save_json(results, FLAGS.json_out)
    print(f"{'model':8s} {'backend':10s} {'precision':15s} {'batch':>5s} {'segments/s':>11s} "
          f"{'ms/step':>9s} {'host MB':>8s} {'device MB':>9s}  device")
    for r in results:
        dev = "n/a" if r["device_peak_mb"] is None else f"{r['device_peak_mb']:.0f}"
        print(f"{r['model']:8s} {r['backend']:10s} {r['precision']:15s} {r['batch_size']:5d} "
              f"{r['segments_per_s']:11.1f} {r['step_ms']:9.1f} {r['peak_rss_mb']:8.0f} "
              f"{dev:>9s}  {r['device']}")
    return 0


if __name__ == "__main__":
    sys.exit(app.run(main))
