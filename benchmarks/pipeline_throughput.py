r"""Segments per second the input pipeline delivers from WAV files, beside the training step.

  python benchmarks/pipeline_throughput.py                       # a generated demo corpus
  python benchmarks/pipeline_throughput.py --data_dir=DEMO_OR_IEMOCAP_ROOT --train_rate=2100

Renders a two-epoch training plan (`pipelines/plan.py`) with tf.data
(`pipelines/render_tf.py`; with --pipelines=numpy also `render_numpy.py`) over
every utterance of the corpus, without a model: epoch 1 is "cold" (WAV
decoding, the cache filling, counted from the renderer's construction),
epoch 2 "cached" (read, batch only). Beside it the
rate of the full training step: --train_rate (segments/s, e.g. measured on the
GPU with train_throughput.py), or measured here with the same model
(--train_steps steps, the flags of the model as train_throughput.py). Verdict
per pipeline: "input-bound" when the cached pipeline is slower than the
training step (the accelerator would wait), else "compute-bound". Prints one
JSON line per measurement, then a table.
"""

import json
import pathlib
import sys
import tempfile
import time

import harness as tt  # Same folder: the training-step measurement.
from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_string("dataset", "demo", "Corpus loader (as adarl_tf.main --dataset).")
flags.DEFINE_string("data_dir", None, "The corpus folder (as adarl_tf.main --data_dir); "
                    "default: a demo corpus generated into a temporary folder.")
flags.DEFINE_integer("utterances_per_emotion", 3, "Demo corpus size (per speaker and "
                     "emotion) when no --data_dir.")
flags.DEFINE_list("pipelines", ["tf.data"], "tf.data and/or numpy.")
flags.DEFINE_integer("batch_size", 32, "Segments per batch.")
flags.DEFINE_float("segment_s", 3.0, "Segment length.")
flags.DEFINE_float("train_rate", None, "Segments/s of the training step; default: "
                   "measured here.")
flags.DEFINE_integer("train_steps", 3, "Timed steps when measuring the training rate.")
flags.DEFINE_float("max_freq_hz", 4000.0, "Model for the measured training rate.")
flags.DEFINE_list("trunk_filters", ["16", "16", "16", "32"], "Model for the measured rate.")
flags.DEFINE_string("precision", "float32", "Policy for the measured training rate.")
flags.DEFINE_string("json_out", None, "Also write the measurements to this JSON file.")


def load(dataset, data_dir):
    from adarl_tf.config import DataConfig
    from adarl_tf.corpora.load import load_corpus
    return load_corpus(DataConfig(dataset=dataset, data_dir=str(data_dir)))


def measure(utterances, frontend, batch_size, pipeline="tf.data", min_tail_s=1.0):
    """Cold and cached segments/s of one pipeline over `utterances`."""
    from adarl_tf.config import TrainConfig
    from adarl_tf.pipelines import plan as plan_lib
    from adarl_tf.pipelines import renderer
    cut = plan_lib.Cut.of(frontend, min_tail_s)
    steps = plan_lib.steps(utterances, cut, batch_size)
    plan = plan_lib.training_plan(utterances, cut, TrainConfig(epochs=2, seed=0), batch_size)
    start = time.perf_counter()
    it = iter(renderer(pipeline).training_data(utterances, plan, frontend.sample_rate_hz))
    rates = []
    for _ in range(2):
        n = 0
        for _ in range(steps):
            x, _ = next(it)
            n += int(x.shape[0])
        rates.append(n / (time.perf_counter() - start))
        start = time.perf_counter()
    return {"benchmark": "pipeline_throughput", "pipeline": pipeline,
            "n_utterances": len(utterances), "segments_per_epoch": n,
            "batch_size": batch_size, "cold_segments_per_s": rates[0],
            "cached_segments_per_s": rates[1], "peak_rss_mb": tt.peak_rss_mb()}


def verdict(pipeline_rate, train_rate):
    return "input-bound" if pipeline_rate < train_rate else "compute-bound"


def main(argv):
    del argv
    from adarl_tf.config import FrontendConfig
    frontend = FrontendConfig(segment_s=FLAGS.segment_s, max_freq_hz=FLAGS.max_freq_hz)
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = FLAGS.data_dir
        if data_dir is None:
            from adarl_tf.corpora import demo
            data_dir = demo.generate_demo_corpus(
                pathlib.Path(tmp) / "demo", utterances_per_emotion=FLAGS.utterances_per_emotion)
        corpus = load(FLAGS.dataset, data_dir)
        results = [measure(corpus.utterances, frontend, FLAGS.batch_size, p)
                   for p in FLAGS.pipelines]
    if FLAGS.train_rate is not None:
        train = {"benchmark": "train_throughput", "segments_per_s": FLAGS.train_rate,
                 "source": "--train_rate"}
    else:
        config = tt.model_config(FLAGS.segment_s, FLAGS.max_freq_hz, FLAGS.trunk_filters)
        train = tt.measure_train(config, FLAGS.batch_size, FLAGS.precision, FLAGS.train_steps, 1)
        train["source"] = "measured here"
    for r in results:
        r["train_segments_per_s"] = train["segments_per_s"]
        r["train_rate_source"] = train["source"]
        r["verdict"] = verdict(r["cached_segments_per_s"], train["segments_per_s"])
        r["verdict_cold"] = verdict(r["cold_segments_per_s"], train["segments_per_s"])
        print(json.dumps(r), flush=True)
    tt.save_json(results, FLAGS.json_out)
    print(f"{'pipeline':9s} {'segments':>8s} {'cold seg/s':>11s} {'cached seg/s':>13s} "
          f"{'train seg/s':>12s}  verdict (cached; cold)")
    for r in results:
        print(f"{r['pipeline']:9s} {r['segments_per_epoch']:8d} "
              f"{r['cold_segments_per_s']:11.1f} {r['cached_segments_per_s']:13.1f} "
              f"{r['train_segments_per_s']:12.1f}  {r['verdict']}; {r['verdict_cold']}")
    return 0


if __name__ == "__main__":
    sys.exit(app.run(main))
