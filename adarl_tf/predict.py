r"""Scores audio files with an exported or trained ADARL model.

  python -m adarl_tf.predict --model=runs/demo_adarl/fold_00/export/model_int8.tflite a.wav b.wav
  python -m adarl_tf.predict --model=runs/demo_adarl/fold_00/model.keras --json *.wav

`--model` takes a `.keras` file, a SavedModel folder or a `.tflite` file.
WAV files of any length, sample rate (resampled to the model's 16 kHz),
channel count (mixed down) and sample format (8/16/24/32-bit integer,
32-bit float) are accepted. Each file is scored like a test utterance in
training: cut into segments (the model's tail rule), the segments'
probabilities averaged.

Labels and the tail policy come from `model_card.json` beside an exported
model, or `results.json` beside a `.keras` file; without either, the
training defaults. A file that cannot be read gets `error: <file>: <reason>`
on stderr, the others are still scored, and the exit status is 1.

Speaker profiles. A speaker-normalised model (`--normalization=speaker`, the
compact preset) normalises its input with the statistics of the speaker's
voice, computed from audio only (`adarl_tf/speaker_norm.py`). A profile holds
them for one person, made once from a few of their recordings:

  python -m adarl_tf.predict --model=M --enrol a.wav b.wav c.wav --profile_out=anna.json
  python -m adarl_tf.predict --model=M --profile=anna.json clip.wav

Without `--profile`, the pooled statistics of the model's training speakers
are used (the `.keras` model's `Spectrogram.pooled_stats`, an export's
`pooled_profile.json`), and a note on stderr says so. A profile that cannot
be used (unreadable, made for another frontend, from too little speech) or
one given to a segment-normalised model is a one-line error, exit status 2.
"""

import dataclasses
import json
import pathlib
import sys
from typing import Optional, Tuple

import numpy as np

from adarl_tf import speaker_norm
from adarl_tf.config import DataConfig, FrontendConfig
from adarl_tf.corpora.corpus import EMOTIONS, SILENCE_PEAK

POOLED_NOTE = ("note: no --profile: scoring with the pooled statistics of the model's "
               "training speakers; a profile of the speaker (--enrol) fits their voice")


class PredictError(ValueError):
    """The run cannot go on; the message names the file and the fix."""


@dataclasses.dataclass(frozen=True)
class ModelInfo:
    """What scoring needs beside the model's graph, from the files beside it."""

    labels: Tuple[str, ...]
    sample_rate_hz: int
    min_tail_s: float
    tail: str = DataConfig.tail  # `DataConfig.tail`: "pad" or "overlap".
    frontend: Optional[FrontendConfig] = None  # None: not recorded beside the model.


def model_metadata(model_path):
    """The `ModelInfo` of a model, from `model_card.json` or `results.json` beside it.

    Args:
        model_path: str or path-like. `.keras`, `.tflite` or SavedModel folder.

    Returns:
        `ModelInfo`; the training defaults where neither file is there.
    """
    model_path = pathlib.Path(model_path)
    card = model_path.parent / "model_card.json"
    results = model_path.parent / "results.json"
    if card.exists():
        c = json.loads(card.read_text())
        return ModelInfo(tuple(c["labels"]), int(c["sample_rate_hz"]), float(c["min_tail_s"]),
                         **_recorded(c.get("config", {})))
    if results.exists():
        r = json.loads(results.read_text())
        data = r.get("config", {}).get("data", {})
        frontend = r.get("config", {}).get("model", {}).get("frontend", {})
        return ModelInfo(tuple(r.get("labels", EMOTIONS)),
                         int(frontend.get("sample_rate_hz", FrontendConfig.sample_rate_hz)),
                         float(data.get("min_tail_s", DataConfig.min_tail_s)),
                         **_recorded(r.get("config", {})))
    return ModelInfo(EMOTIONS, FrontendConfig.sample_rate_hz, DataConfig.min_tail_s)


def _recorded(config):
    """`tail` and `frontend` of a recorded `ExperimentConfig` dict (older ones lack them)."""
    frontend = config.get("model", {}).get("frontend")
    return {"tail": config.get("data", {}).get("tail", DataConfig.tail),
            "frontend": None if frontend is None else FrontendConfig.from_dict(frontend)}


def _speaker_frontend(runner, info, model_path):
    """The frontend of a speaker-normalised model, which profiles are made and checked for.

    Raises:
        PredictError: the model normalises each segment (it takes no profile),
            or nothing beside an exported model says its frontend.
    """
    if runner.stats_shape is None:
        raise PredictError(f"{model_path}: this model normalises each segment on its own "
                           "(normalization=segment) and takes no speaker profile; drop "
                           "--profile and --enrol")
    # A .keras model holds its config; an exported one has its model card.
    frontend = getattr(runner, "frontend", None) or info.frontend
    if frontend is None or frontend.stats_shape != runner.stats_shape:
        raise PredictError(f"{model_path}: no model_card.json of this model beside it, which "
                           "says how its speaker statistics are made; keep the files the "
                           "exporter wrote together")
    return frontend


def speaker_stats(runner, info, model_path, profile=None):
    """The speaker statistics to score with, and where they come from.

    Args:
        runner: from `runners.load_runner(model_path)`.
        info: `ModelInfo` of the model.
        model_path: str or path-like.
        profile: str or None. A profile file (`--profile`).

    Returns:
        `(None, None)` for a segment-normalised model without a profile;
        else `(stats (2, rows, spectrograms) float32, the profile's path or
        "pooled")`.

    Raises:
        PredictError, speaker_norm.ProfileError: see `_speaker_frontend`,
            `speaker_norm.load_profile`.
    """
    if runner.stats_shape is None and profile is None:
        return None, None
    frontend = _speaker_frontend(runner, info, model_path)
    if profile is not None:
        return speaker_norm.load_profile(profile, frontend), str(profile)
    if hasattr(runner, "pooled_stats"):
        return runner.pooled_stats(), "pooled"
    from adarl_tf.export.exporter import POOLED_PROFILE
    pooled = pathlib.Path(model_path).parent / POOLED_PROFILE
    if not pooled.exists():
        raise PredictError(f"{pooled}: not found, the default statistics of this "
                           "speaker-normalised model; give --profile (made with --enrol), or "
                           "keep the exporter's files together")
    return speaker_norm.load_profile(pooled, frontend), "pooled"


def enrol(model_path, paths, profile_out):
    """Makes and saves the profile of one speaker from their recordings `paths`.

    Returns:
        `(profile dict or None, errors)`: errors are `{"file", "error"}` of
        recordings that cannot be used; then no profile is written.

    Raises:
        PredictError, speaker_norm.ProfileError: the model takes no profile,
            or the recordings hold too little speech.
    """
    from adarl_tf.audio import AudioError, load_audio
    from adarl_tf.export import runners

    runner = runners.load_runner(model_path)
    frontend = _speaker_frontend(runner, model_metadata(model_path), model_path)
    waveforms, errors = [], []
    for path in paths:
        try:
            waveform = load_audio(path, frontend.sample_rate_hz)
        except (AudioError, OSError) as e:
            errors.append({"file": str(path), "error": str(e)})
            continue
        # Decoding dithers digital silence, which would pass for quiet speech.
        if np.abs(waveform).max() <= SILENCE_PEAK / 32768.0:
            errors.append({"file": str(path), "error": "silent (no sample above -90 dBFS); "
                           "enrol recordings of the speaker talking"})
            continue
        waveforms.append(waveform)
    if errors:
        return None, errors
    profile = speaker_norm.make_profile(waveforms, frontend, sources=paths)
    try:
        speaker_norm.save_profile(profile, profile_out)
    except OSError as e:
        raise PredictError(f"{profile_out}: cannot be written ({e.strerror or e}); choose "
                           "another --profile_out") from None
    return profile, []


def predict_files(model_path, paths, min_tail_s=None, num_threads=None, profile=None):
    """Scores each file; a bad file gives an error entry, never an exception.

    Args:
        model_path: str or path-like. The model (see `runners.load_runner`).
        paths: list of str. Audio files.
        min_tail_s: float or None. Overrides the tail policy of the model.
        num_threads: int or None. TFLite interpreter threads.
        profile: str or None. A speaker profile for a speaker-normalised
            model; without one, the training speakers' pooled statistics
            (a note on stderr says so).

    Returns:
        A list, one dict per file in order: `file`, and either `error` or
        `label`, `probabilities` ({label: p}), `n_segments`, `duration_s`
        (and `speaker_stats`, the profile's path or "pooled", for a
        speaker-normalised model).

    Raises:
        ValueError: the model cannot be loaded; `PredictError` or
            `speaker_norm.ProfileError` (both ValueError): the profile
            cannot be used with it.
    """
    from adarl_tf.audio import AudioError, load_audio
    from adarl_tf.export import runners

    info = model_metadata(model_path)
    labels, rate = info.labels, info.sample_rate_hz
    tail = info.min_tail_s if min_tail_s is None else min_tail_s
    runner = runners.load_runner(model_path, num_threads=num_threads)
    stats, source = speaker_stats(runner, info, model_path, profile)
    if source == "pooled":
        print(POOLED_NOTE, file=sys.stderr)
    results = []
    for path in paths:
        try:
            waveform = load_audio(path, rate)
        except (AudioError, OSError) as e:
            results.append({"file": str(path), "error": str(e)})
            continue
        scored = runners.score_utterance(runner, waveform, round(tail * rate), stats, info.tail)
        probs = scored["emotion_probs"]
        results.append({
            "file": str(path),
            "label": labels[int(probs.argmax())],
            "probabilities": {l: round(float(p), 6) for l, p in zip(labels, probs)},
            "n_segments": scored["n_segments"],
            "duration_s": round(len(waveform) / rate, 3),
            **({"speaker_stats": source} if source else {}),
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


def _print_errors(results):
    for r in results:
        if "error" in r:
            print(f"error: {r['file']}: {r['error']}", file=sys.stderr)


def _flag_conflict(enrol, profile, profile_out):
    """What is wrong with this combination of --enrol, --profile and --profile_out, or None."""
    if enrol and profile:
        return "--enrol makes a profile, --profile scores with one: give one of the two"
    if enrol and not profile_out:
        return "--enrol needs --profile_out=<the profile file to write>"
    if profile_out and not enrol:
        return "--profile_out needs --enrol (it names the profile that --enrol writes)"
    return None


def command(model, paths, profile=None, enrol_files=False, profile_out=None, as_json=False,
            min_tail_s=None, threads=None):
    """`python -m adarl_tf.predict` after flag parsing: prints, returns the exit status.

    0: done; 1: some files could not be used (each named on stderr); 2: the
    run could not start (usage, model or profile; one line on stderr).
    """
    if not paths:
        print("usage: python -m adarl_tf.predict --model=MODEL [--profile=P] FILE [FILE ...]\n"
              "       python -m adarl_tf.predict --model=MODEL --enrol FILE [FILE ...] "
              "--profile_out=P", file=sys.stderr)
        return 2
    usage = _flag_conflict(enrol_files, profile, profile_out)
    if usage:
        print(f"error: {usage}", file=sys.stderr)
        return 2
    try:
        if enrol_files:
            made, errors = enrol(model, paths, profile_out)
            _print_errors(errors)
            if made is not None:
                print(f"wrote {profile_out}: {made['speech_seconds']} s of speech from "
                      f"{len(paths)} recording(s)")
            return 1 if errors else 0
        results = predict_files(model, paths, min_tail_s, threads, profile)
    except (PredictError, speaker_norm.ProfileError) as e:  # They name their file.
        print(f"error: {e}", file=sys.stderr)
        return 2
    except ValueError as e:  # The model itself could not be loaded.
        print(f"error: {model}: {e}", file=sys.stderr)
        return 2
    _print_errors(results)
    if as_json:
        print(json.dumps(results, indent=2))
    else:
        table = format_table(results)
        if table:
            print(table)
    return 1 if any("error" in r for r in results) else 0


def main(argv):
    from absl import flags
    FLAGS = flags.FLAGS
    return command(FLAGS.model, argv[1:], FLAGS.profile, FLAGS.enrol, FLAGS.profile_out,
                   FLAGS.json, FLAGS.min_tail_s, FLAGS.threads)


def _define_flags():
    from absl import flags
    flags.DEFINE_string("model", None, ".keras file, SavedModel folder or .tflite file.")
    flags.DEFINE_bool("json", False, "Print JSON instead of a table.")
    flags.DEFINE_float("min_tail_s", None, "Tail policy override (seconds); default: the "
                       "model card's or results.json's.")
    flags.DEFINE_integer("threads", None, "TFLite interpreter threads.")
    flags.DEFINE_string("profile", None, "Speaker profile (JSON) to score with, for a "
                        "speaker-normalised model; default: its training speakers' pooled "
                        "statistics.")
    flags.DEFINE_bool("enrol", False, "Make a speaker profile from the files (a few "
                      "recordings of one person, >= 3 s of speech) instead of scoring them.")
    flags.DEFINE_string("profile_out", None, "With --enrol: the profile file to write.")
    flags.mark_flag_as_required("model")


def run():
    from absl import app
    _define_flags()
    app.run(lambda argv: sys.exit(main(argv)))


if __name__ == "__main__":
    run()
