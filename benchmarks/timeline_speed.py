r"""Time and peak memory of a timeline of a long recording (`predict --timeline`).

  python benchmarks/timeline_speed.py --model=runs/demo_adarl/fold_00/export/model_int8.tflite \
      --minutes=10 --hop_s=1.0 --threads=1

Writes a synthetic recording of `--minutes` (16-bit WAV at `--rate`, written
in blocks: speech-like harmonics with a syllable envelope, broken by pauses
of quiet noise, `--talk_share` of the time talking), then in a fresh
subprocess pinned to one CPU (one thread) loads the model with
`adarl_tf.load` and scores the timeline, and prints one JSON line: seconds to
load and to score, the share of real time, windows, speech windows, and the
subprocess's peak RSS. Targets (issue 16; 10 minutes, hop 1 s, int8 TFLite,
one thread): at most 5 % of real time, peak RSS under 300 MB.
"""

import json
import os
import pathlib
import resource
import subprocess
import sys
import tempfile
import time
import wave

import numpy as np
from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_string("model", None, "Model for `adarl_tf.load` (a file or an export folder).")
flags.DEFINE_float("minutes", 10.0, "Length of the synthetic recording.")
flags.DEFINE_float("hop_s", 1.0, "Seconds between windows.")
flags.DEFINE_integer("threads", 1, "Interpreter threads (1: pinned to one CPU).")
flags.DEFINE_integer("rate", 16000, "Sample rate of the recording (others are resampled).")
flags.DEFINE_float("talk_share", 0.7, "Share of the recording that is speech-like.")
flags.DEFINE_string("audio", None, "Score this file instead of a synthetic one.")
flags.DEFINE_string("worker", None, "Internal: score this file and print JSON.")

REAL_TIME_TARGET = 0.05
RSS_TARGET_MB = 300.0


def write_recording(path, minutes, rate, talk_share, seed=0):
    """A 16-bit mono WAV of talk (2-8 s stretches) and pauses, written 10 s at a time."""
    rng = np.random.default_rng(seed)
    n_total, block = int(minutes * 60 * rate), 10 * rate
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(rate)
        done, talking, left, f0 = 0, True, 0, 140.0
        while done < n_total:
            n = min(block, n_total - done)
            out = np.empty(n)
            i = 0
            while i < n:
                if left == 0:
                    talking = not talking if rng.random() < 0.9 else talking
                    mean = 5.0 if talking else 5.0 * (1 - talk_share) / talk_share
                    left = int(rng.uniform(0.4, 1.6) * mean * rate)
                    f0 = rng.uniform(100, 250)
                k = min(left, n - i)
                t = (done + i + np.arange(k)) / rate
                if talking:
                    x = sum(np.sin(2 * np.pi * f0 * h * t) / h for h in range(1, 8))
                    x *= 0.1 * (0.55 + 0.45 * np.sin(2 * np.pi * 4.0 * t)) ** 2
                else:
                    x = np.zeros(k)
                out[i:i + k] = x + 3e-4 * rng.standard_normal(k)
                i, left = i + k, left - k
            f.writeframes((np.clip(out, -1, 1) * 32767).astype("<i2").tobytes())
            done += n
    return path


def _worker(path):
    if FLAGS.threads == 1:
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    import adarl_tf
    start = time.perf_counter()
    r = adarl_tf.load(FLAGS.model, num_threads=FLAGS.threads)
    loaded = time.perf_counter()
    t = r.timeline(path, hop_s=FLAGS.hop_s)
    scored = time.perf_counter()
    print("RESULT " + json.dumps({
        "model": str(r.model_path), "format": r.format, "threads": FLAGS.threads,
        "cpus": sorted(os.sched_getaffinity(0)), "audio_s": round(t.duration_s, 1),
        "hop_s": t.hop_s, "window_s": t.window_s, "windows": len(t.windows),
        "speech_windows": len(t.speech_windows()), "load_s": round(loaded - start, 2),
        "timeline_s": round(scored - loaded, 2),
        "real_time_share": round((scored - loaded) / t.duration_s, 4),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1)}))


def main(argv):
    del argv
    if not FLAGS.model:
        raise app.UsageError("--model is required")
    if FLAGS.worker:
        _worker(FLAGS.worker)
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = FLAGS.audio or write_recording(pathlib.Path(tmp) / "recording.wav",
                                              FLAGS.minutes, FLAGS.rate, FLAGS.talk_share)
        cmd = [sys.executable, os.path.abspath(__file__), f"--worker={path}",
               f"--model={FLAGS.model}", f"--hop_s={FLAGS.hop_s}", f"--threads={FLAGS.threads}"]
        proc = subprocess.run(cmd, capture_output=True, text=True,
                              env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    lines = [l for l in proc.stdout.splitlines() if l.startswith("RESULT ")]
    if not lines:
        raise RuntimeError(f"the timeline failed:\n{proc.stderr[-3000:]}")
    result = json.loads(lines[0][len("RESULT "):])
    print(json.dumps(result))
    print(f"{'PASS' if result['real_time_share'] <= REAL_TIME_TARGET else 'MISS'}  "
          f"timeline <= {REAL_TIME_TARGET:.0%} of real time "
          f"({result['real_time_share']:.2%})")
    print(f"{'PASS' if result['peak_rss_mb'] < RSS_TARGET_MB else 'MISS'}  peak RSS < "
          f"{RSS_TARGET_MB:.0f} MB ({result['peak_rss_mb']:.0f} MB)")


if __name__ == "__main__":
    app.run(main)
