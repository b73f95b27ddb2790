r"""Hours of audio turned into spectrograms per second by the `Spectrogram` layer.

  python benchmarks/frontend_throughput.py --batch_size=32,128
  KERAS_BACKEND=jax python benchmarks/frontend_throughput.py

The frontend alone (inference, `predict_on_batch` of a model holding only the
layer, compiled by the backend), on synthetic speech-like 3 s segments:
--warmup untimed calls, then --steps timed ones. The layer computes in float32
under every policy (its log and z-score need it), so --precision changes only
the policy in force while it is built; the figure shows that it costs nothing.
Prints one JSON line per measurement, then a table.
"""

import json
import sys
import time

import harness as tt  # Same folder: synthetic audio, device and memory figures.
from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_list("batch_size", ["32"], "Batch sizes to measure.")
flags.DEFINE_list("precision", ["float32"], "Dtype policies in force when the layer is built.")
flags.DEFINE_integer("steps", 10, "Timed calls per measurement.")
flags.DEFINE_integer("warmup", 2, "Untimed calls first (compilation).")
flags.DEFINE_float("segment_s", 3.0, "Segment length.")
flags.DEFINE_float("max_freq_hz", 4000.0, "Highest frequency kept.")
flags.DEFINE_string("json_out", None, "Also write the measurements to this JSON file.")


def measure(frontend, batch_size, precision="float32", steps=10, warmup=2):
    import keras
    import numpy as np

    from adarl_tf import precision as precision_lib
    from adarl_tf.layers import Spectrogram

    with precision_lib.dtype_policy(precision):
        inputs = keras.Input((frontend.segment_samples,))
        model = keras.Model(inputs, Spectrogram(frontend)(inputs))
    x = tt.speech_like(batch_size, frontend.segment_samples)
    for _ in range(warmup):
        out = model.predict_on_batch(x)
    start = time.perf_counter()
    for _ in range(steps):
        out = model.predict_on_batch(x)
    np.asarray(out)
    seconds = time.perf_counter() - start
    audio_hours = batch_size * steps * frontend.segment_s / 3600.0
    device, device_peak = tt.device_info()
    return {"benchmark": "frontend_throughput", "backend": keras.backend.backend(),
            "device": device, "precision": precision, "batch_size": batch_size,
            "steps": steps, "segment_s": frontend.segment_s,
            "output_shape": list(out.shape), "output_dtype": str(out.dtype),
            "audio_hours_per_s": audio_hours / seconds,
            "segments_per_s": batch_size * steps / seconds,
            "peak_rss_mb": tt.peak_rss_mb(), "device_peak_mb": device_peak}


def main(argv):
    del argv
    from adarl_tf.config import FrontendConfig
    frontend = FrontendConfig(segment_s=FLAGS.segment_s, max_freq_hz=FLAGS.max_freq_hz)
    results = []
    for precision in FLAGS.precision:
        for batch in FLAGS.batch_size:
            r = measure(frontend, int(batch), precision, FLAGS.steps, FLAGS.warmup)
            print(json.dumps(r), flush=True)
            results.append(r)
    tt.save_json(results, FLAGS.json_out)
    print(f"{'backend':10s} {'precision':15s} {'batch':>5s} {'audio h/s':>10s} "
          f"{'segments/s':>11s}  device")
    for r in results:
        print(f"{r['backend']:10s} {r['precision']:15s} {r['batch_size']:5d} "
              f"{r['audio_hours_per_s']:10.3f} {r['segments_per_s']:11.1f}  {r['device']}")
    return 0


if __name__ == "__main__":
    sys.exit(app.run(main))
