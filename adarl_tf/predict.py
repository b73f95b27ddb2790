r"""Scores audio files with an exported or trained ADARL model.

  python -m adarl_tf.predict --model=runs/demo_adarl/fold_00/export/model_int8.tflite a.wav b.wav
  python -m adarl_tf.predict --model=runs/demo_adarl/fold_00/model.keras --json *.wav

`--model` takes a `.keras` file, a SavedModel folder or a `.tflite` file.
WAV files of any length, sample rate (resampled to the model's 16 kHz),
channel count (mixed down) and sample format (8/16/24/32-bit integer,
32-bit float) are accepted. Each file is scored like a test utterance in
training: cut into segments, the segments' probabilities averaged.

Labels and the tail policy come from `model_card.json` beside an exported
model, or `results.json` beside a `.keras` file; without either, the
training defaults. A file that cannot be read gets `error: <file>: <reason>`
on stderr, the others are still scored, and the exit status is 1.
"""

import json
import pathlib
import sys

from adarl_tf.config import DataConfig, FrontendConfig
from adarl_tf.corpora.corpus import EMOTIONS


def model_metadata(model_path):
    """(labels, sample rate, min_tail_s) for a model, from the files beside it.

    Args:
        model_path: str or path-like. `.keras`, `.tflite` or SavedModel folder.

    Returns:
        `(labels tuple, sample_rate_hz int, min_tail_s float)`.
    """
    model_path = pathlib.Path(model_path)
    card = model_path.parent / "model_card.json"
    results = model_path.parent / "results.json"
    if card.exists():
        c = json.loads(card.read_text())
        return tuple(c["labels"]), int(c["sample_rate_hz"]), float(c["min_tail_s"])
    if results.exists():
        r = json.loads(results.read_text())
        data = r.get("config", {}).get("data", {})
        frontend = r.get("config", {}).get("model", {}).get("frontend", {})
        return (tuple(r.get("labels", EMOTIONS)),
                int(frontend.get("sample_rate_hz", FrontendConfig.sample_rate_hz)),
                float(data.get("min_tail_s", DataConfig.min_tail_s)))
    return EMOTIONS, FrontendConfig.sample_rate_hz, DataConfig.min_tail_s


def predict_files(model_path, paths, min_tail_s=None, num_threads=None):
    """Scores each file; a bad file gives an error entry, never an exception.

    Args:
        model_path: str or path-like. The model (see `runners.load_runner`).
        paths: list of str. Audio files.
        min_tail_s: float or None. Overrides the tail policy of the model.
        num_threads: int or None. TFLite interpreter threads.

    Returns:
        A list, one dict per file in order: `file`, and either `error` or
        `label`, `probabilities` ({label: p}), `n_segments`, `duration_s`.
    """
    from adarl_tf.audio import AudioError, load_audio
    from adarl_tf.export import runners

    labels, rate, default_tail = model_metadata(model_path)
    tail = default_tail if min_tail_s is None else min_tail_s
    runner = runners.load_runner(model_path, num_threads=num_threads)
    results = []
    for path in paths:
        try:
            waveform = load_audio(path, rate)
        except (AudioError, OSError) as e:
            results.append({"file": str(path), "error": str(e)})
            continue
        scored = runners.score_utterance(runner, waveform, round(tail * rate))
        probs = scored["emotion_probs"]
        results.append({
            "file": str(path),
            "label": labels[int(probs.argmax())],
            "probabilities": {l: round(float(p), 6) for l, p in zip(labels, probs)},
            "n_segments": scored["n_segments"],
            "duration_s": round(len(waveform) / rate, 3),
        })
    return results


def format_table(results):
    """The scored files as an aligned text table (errors are left out)."""
    ok = [r for r in results if "error" not in r]
    if not ok:
        return ""
    labels = list(ok[0]["probabilities"])
    width = max(len(r["file"]) for r in ok)
    header = f"{'file':<{width}}  {'top':<8} " + " ".join(f"{l:>8}" for l in labels) + \
        "  segments"
    lines = [header, "-" * len(header)]
    for r in ok:
        lines.append(f"{r['file']:<{width}}  {r['label']:<8} "
                     + " ".join(f"{r['probabilities'][l]:8.4f}" for l in labels)
                     + f"  {r['n_segments']:8d}")
    return "\n".join(lines)


def main(argv):
    from absl import flags
    FLAGS = flags.FLAGS
    paths = argv[1:]
    if not paths:
        print("usage: python -m adarl_tf.predict --model=MODEL FILE [FILE ...]",
              file=sys.stderr)
        return 2
    try:
        results = predict_files(FLAGS.model, paths, FLAGS.min_tail_s, FLAGS.threads)
    except ValueError as e:  # The model itself could not be loaded.
        print(f"error: {FLAGS.model}: {e}", file=sys.stderr)
        return 2
    for r in results:
        if "error" in r:
            print(f"error: {r['file']}: {r['error']}", file=sys.stderr)
    if FLAGS.json:
        print(json.dumps(results, indent=2))
    else:
        table = format_table(results)
        if table:
            print(table)
    return 1 if any("error" in r for r in results) else 0


def _define_flags():
    from absl import flags
    flags.DEFINE_string("model", None, ".keras file, SavedModel folder or .tflite file.")
    flags.DEFINE_bool("json", False, "Print JSON instead of a table.")
    flags.DEFINE_float("min_tail_s", None, "Tail policy override (seconds); default: the "
                       "model card's or results.json's.")
    flags.DEFINE_integer("threads", None, "TFLite interpreter threads.")
    flags.mark_flag_as_required("model")


def run():
    from absl import app
    _define_flags()
    app.run(lambda argv: sys.exit(main(argv)))


if __name__ == "__main__":
    run()
