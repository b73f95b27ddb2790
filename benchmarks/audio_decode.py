r"""Decoding speed of the input pipeline's audio decoders, in this environment.

  python benchmarks/audio_decode.py --dataset=ravdess --data_dir=../shared/data/ravdess_dev
  .venv-tfio/bin/python benchmarks/audio_decode.py --dataset=ravdess --data_dir=...

Loads the corpus (`--dataset`, `--data_dir`, `--emotions=all` by default), then
decodes every utterance to 16 kHz mono through `pipelines/audio_io.decode`
(as training does before its cache), once with the decoders this environment
picks (tensorflow-io where its ops load) and once forcing scipy
(`tf.numpy_function`), `--repeats` times each. Prints one JSON line per
measurement, then a table: files/s and audio seconds per wall second.
"""

import json
import platform
import time

import numpy as np
from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_string("dataset", "ravdess", "Corpus (as --dataset of adarl_tf.main).")
flags.DEFINE_string("data_dir", None, "Corpus folder.")
flags.DEFINE_string("emotions", "all", "Class set (all: every file).")
flags.DEFINE_integer("repeats", 3, "Timed passes per decoder (median reported).")
flags.DEFINE_integer("parallel_calls", 0, "tf.data map parallelism (0 = AUTOTUNE).")


def _time_pass(utterances, audio_io, tf):
    arrays = audio_io.decoder_arrays(utterances)
    ds = tf.data.Dataset.from_tensor_slices(([u.path for u in utterances],) + arrays)
    calls = FLAGS.parallel_calls or tf.data.AUTOTUNE
    ds = ds.map(audio_io.decode, num_parallel_calls=calls, deterministic=True)
    start = time.perf_counter()
    n = sum(int(w.shape[0]) for w in ds)
    return time.perf_counter() - start, n


def main(argv):
    del argv
    import tensorflow as tf

    from adarl_tf.config import DataConfig
    from adarl_tf.corpora.load import load_corpus
    from adarl_tf.pipelines import audio_io

    corpus = load_corpus(DataConfig(dataset=FLAGS.dataset, data_dir=FLAGS.data_dir,
                                    emotions=FLAGS.emotions))
    utts = corpus.utterances
    audio_s = sum(u.duration_s for u in utts)
    tfio, reason = audio_io.tfio_status()
    rows = []
    modes = [("default", None), ("scipy", (None, "forced"))]
    original = audio_io.tfio_status
    for mode, forced in modes:
        if forced is not None:
            audio_io.tfio_status = lambda: forced
        try:
            kinds = [audio_io.decoder_of(u) for u in utts]
            _time_pass(utts[:4], audio_io, tf)  # Warm-up: graph tracing, tfio delay probe.
            times = [_time_pass(utts, audio_io, tf)[0] for _ in range(FLAGS.repeats)]
        finally:
            audio_io.tfio_status = original
        seconds = float(np.median(times))
        row = {"benchmark": "audio_decode", "corpus": corpus.name, "mode": mode,
               "decoders": {name: sum(k == v for k in kinds) for name, v in
                            (("fast", audio_io.FAST), ("tfio_wav", audio_io.TFIO_WAV),
                             ("tfio_flac", audio_io.TFIO_FLAC), ("scipy", audio_io.SCIPY))},
               "files": len(utts), "audio_s": round(audio_s, 1), "seconds": round(seconds, 3),
               "files_per_s": round(len(utts) / seconds, 1),
               "realtime_factor": round(audio_s / seconds, 1),
               "tensorflow": tf.__version__, "tfio": reason, "python": platform.python_version()}
        print(json.dumps(row), flush=True)
        rows.append(row)
    print()
    print("| mode | decoders | files | seconds | files/s | audio s per s |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        used = ", ".join(f"{k} {v}" for k, v in r["decoders"].items() if v)
        print(f"| {r['mode']} | {used} | {r['files']} | {r['seconds']} | {r['files_per_s']} | "
              f"{r['realtime_factor']} |")
    print(f"\n{reason}")


if __name__ == "__main__":
    app.run(main)
