r"""Scores audio files with an exported or trained ADARL model.

  python -m adarl_tf.predict --model=runs/demo_adarl/fold_00/export/model_int8.tflite a.wav b.wav
  python -m adarl_tf.predict --model=runs/demo_adarl/fold_00/model.keras --json *.wav

`--model` takes a `.keras` file, a SavedModel folder, a `.tflite` or `.onnx`
file, or an export folder (`adarl_tf.load`; this command is a front end to
`adarl_tf/recognizer.py`).
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

One speaker's recordings together. With `--speaker_bn` the files are taken as
recordings of one person and scored together: a `.keras` model's emotion
pathway normalises with BatchNorm statistics re-estimated on all of them, as
training's `--speaker_bn` scores a test speaker (`Recognizer.predict_speaker`).
They must give at least `recognizer.MIN_ADAPTATION_WINDOWS` windows; a file
that cannot be read is named and left out of both the statistics and the scores:

  python -m adarl_tf.predict --model=runs/x/fold_00/model.keras --speaker_bn anna/*.wav

A model trained per speaker (`--speaker_bn_group`) scored without it, a file at
a time, uses its training speakers' statistics: a note on stderr says so, once.

Timeline. Emotion over time in one recording of any length (read in blocks),
a window of the model's segment every `--hop_s` seconds, windows without
speech marked and not scored (`adarl_tf/timeline.py`):

  python -m adarl_tf.predict --model=M --timeline --hop_s=1.0 --out=t.csv --plot=t.png a.wav

CSV by default (`--json`: JSON), printed or written to `--out`. A file without
speech or shorter than one window is a one-line error, exit status 1, and
nothing is written; outputs are written atomically (`adarl_tf/files.py`).
"""

import json
import sys

from adarl_tf import speaker_norm
from adarl_tf.recognizer import EnrolError, ModelInfo, PredictError, model_metadata, speaker_stats  # noqa: F401

POOLED_NOTE = ("note: no --profile: scoring with the pooled statistics of the model's "
               "training speakers; a profile of the speaker (--enrol) fits their voice")


# A model trained per speaker (`--speaker_bn_group`, configs/adarl_compact_speaker_bn.cfg)
# scored a file at a time normalises with its training speakers' statistics: on the
# development corpora it then scored below the plain preset (RESULTS.md), so say so.
ONE_AT_A_TIME_NOTE = (
    "note: this model was trained per speaker (--speaker_bn_group) and is scored here one "
    "file at a time, with its training speakers' BatchNorm statistics, which loses accuracy; "
    "score one person's recordings together with --speaker_bn (a .keras model), or export "
    "one speaker's statistics (python -m adarl_tf.export --speaker_bn_files=...)")


def _load(model_path, profile=None, num_threads=None, min_tail_s=None, together=False):
    """`adarl_tf.load`, with the notes that the pooled statistics are used, or that a
    model trained per speaker is scored a file at a time (each once; `together`: the
    files are scored as one speaker's, `--speaker_bn`)."""
    from adarl_tf import recognizer
    r = recognizer.load(model_path, profile, num_threads=num_threads, min_tail_s=min_tail_s)
    if r.speaker_stats_source == "pooled":
        print(POOLED_NOTE, file=sys.stderr)
    if r.info.needs_speaker_bn and not together:
        print(ONE_AT_A_TIME_NOTE, file=sys.stderr)
    return r


def enrol(model_path, paths, profile_out):
    """Makes and saves the profile of one speaker from their recordings `paths`.

    Returns:
        `(profile dict or None, errors)`: errors are `{"file", "error"}` of
        recordings that cannot be used; then no profile is written.

    Raises:
        PredictError, speaker_norm.ProfileError: the model takes no profile,
            or the recordings hold too little speech.
    """
    from adarl_tf import recognizer
    model_path, runner, info = recognizer.open_model(model_path)
    r = recognizer.Recognizer(runner, info, model_path)
    try:
        profile = r.enrol(paths)
    except EnrolError as e:
        return None, e.errors
    try:
        speaker_norm.save_profile(profile, profile_out)
    except OSError as e:
        raise PredictError(f"{profile_out}: cannot be written ({e.strerror or e}); choose "
                           "another --profile_out") from None
    return profile, []


def predict_files(model_path, paths, min_tail_s=None, num_threads=None, profile=None):
    """Scores each file; a bad file gives an error entry, never an exception.

    Args:
        model_path: str or path-like. The model (see `adarl_tf.load`).
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
    from adarl_tf.audio import AudioError
    r = _load(model_path, profile, num_threads, min_tail_s)
    results = []
    for path in paths:
        try:
            results.append({"file": str(path), **r.predict_file(path).to_dict()})
        except (AudioError, OSError) as e:
            results.append({"file": str(path), "error": str(e)})
    return results


def predict_speaker_files(model_path, paths, min_tail_s=None, profile=None):
    """Scores the files as recordings of one speaker, together (`--speaker_bn`).

    Returns:
        As `predict_files`; each scored file's dict also has `speaker_bn_windows`.
        A file that cannot be read has its error entry and is left out of the
        statistics.

    Raises:
        ValueError: as `predict_files`; `PredictError` also for a model that is not
            a `.keras` file, or too few windows in the files that can be read.
    """
    from adarl_tf.recognizer import read_recordings
    r = _load(model_path, profile, None, min_tail_s, together=True)
    waveforms, errors = read_recordings(paths, r.sample_rate_hz)
    usable = [w for w in waveforms if w is not None]
    scored = iter(r.predict_speaker_waveforms(usable) if usable else [])
    errors = iter(errors)  # In the order of the paths without a waveform.
    return [next(errors) if w is None else {"file": str(path), **next(scored).to_dict()}
            for path, w in zip(paths, waveforms)]


def timeline(model_path, path, hop_s=1.0, out=None, as_json=False, plot=None,
             num_threads=None, profile=None):
    """Writes the timeline of one file (`adarl_tf/timeline.py`); returns the exit status.

    0: written (to `out`, else printed); 1: the file gives no timeline (one
    `error: <file>: ...` line, nothing written).

    Raises:
        ValueError: as `predict_files`, for the model and the profile.
    """
    from adarl_tf import timeline as timeline_lib
    from adarl_tf.audio import AudioError
    r = _load(model_path, profile, num_threads)
    try:
        scored = r.timeline(path, hop_s)
    except (AudioError, OSError, timeline_lib.TimelineError) as e:
        print(f"error: {path}: {e}", file=sys.stderr)
        return 1
    try:
        text = timeline_lib.write(scored, out, as_json, plot)
    except OSError as e:
        print(f"error: {e.filename or out}: cannot be written ({e.strerror or e})",
              file=sys.stderr)
        return 2
    if text is not None:
        sys.stdout.write(text)
    speech = len(scored.speech_windows())
    print(f"{path}: {len(scored.windows)} windows of {scored.window_s:g} s every "
          f"{scored.hop_s:g} s, {speech} with speech"
          + "".join(f"; wrote {p}" for p in (out, plot) if p), file=sys.stderr)
    return 0


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


def _flag_conflict(enrol, profile, profile_out, timeline_flags, n_paths, speaker_bn=False):
    """What is wrong with this combination of flags, or None.

    `timeline_flags`: the flags that only a timeline takes (`--hop_s`,
    `--plot`, `--out`) that were given, with `--timeline` itself first if given.
    """
    if speaker_bn and (enrol or timeline_flags[:1] == ["--timeline"]):
        return ("--speaker_bn scores recordings of one speaker together; it makes no "
                f"{'profile (drop --enrol)' if enrol else 'timeline (drop --timeline)'}")
    if enrol and profile:
        return "--enrol makes a profile, --profile scores with one: give one of the two"
    if enrol and not profile_out:
        return "--enrol needs --profile_out=<the profile file to write>"
    if profile_out and not enrol:
        return "--profile_out needs --enrol (it names the profile that --enrol writes)"
    timeline = timeline_flags[:1] == ["--timeline"]
    if timeline and enrol:
        return "--timeline scores a file, --enrol makes a profile: give one of the two"
    if timeline and n_paths != 1:
        return f"--timeline takes one file, got {n_paths}"
    if timeline_flags and not timeline:
        return f"{timeline_flags[0]} needs --timeline"
    return None


def command(model, paths, profile=None, enrol_files=False, profile_out=None, as_json=False,
            min_tail_s=None, threads=None, timeline_of=False, hop_s=None, plot=None, out=None,
            speaker_bn=False):
    """`python -m adarl_tf.predict` after flag parsing: prints, returns the exit status.

    0: done; 1: some files could not be used (each named on stderr); 2: the
    run could not start (usage, model or profile; one line on stderr).
    With `timeline_of`, the timeline of the one file in `paths`
    (`timeline`); `hop_s`, `plot` and `out` are its flags (None: not given).
    With `speaker_bn`, the files are scored together (`predict_speaker_files`).
    """
    if not paths:
        print("usage: python -m adarl_tf.predict --model=MODEL [--profile=P] FILE [FILE ...]\n"
              "       python -m adarl_tf.predict --model=MODEL --timeline [--hop_s=1.0] "
              "[--json] [--out=F] [--plot=F.png] FILE\n"
              "       python -m adarl_tf.predict --model=MODEL --enrol FILE [FILE ...] "
              "--profile_out=P\n"
              "       python -m adarl_tf.predict --model=MODEL.keras --speaker_bn FILE [FILE ...]",
              file=sys.stderr)
        return 2
    given = [f for f, v in (("--timeline", timeline_of), ("--hop_s", hop_s is not None),
                            ("--plot", plot), ("--out", out)) if v]
    usage = _flag_conflict(enrol_files, profile, profile_out, given, len(paths), speaker_bn)
    if not usage and hop_s is not None and not hop_s > 0:
        usage = f"--hop_s={hop_s}: expected a positive number of seconds"
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
        if timeline_of:
            return timeline(model, paths[0], 1.0 if hop_s is None else hop_s, out, as_json,
                            plot, threads, profile)
        if speaker_bn:
            results = predict_speaker_files(model, paths, min_tail_s, profile)
        else:
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
                   FLAGS.json, FLAGS.min_tail_s, FLAGS.threads, FLAGS.timeline, FLAGS.hop_s,
                   FLAGS.plot, FLAGS.out, FLAGS.speaker_bn)


def _define_flags():
    from absl import flags
    flags.DEFINE_string("model", None, ".keras file, SavedModel folder, .tflite or .onnx "
                        "file, or an export folder (its float32 TFLite file).")
    flags.DEFINE_bool("json", False, "Print JSON instead of a table (a timeline: instead of "
                      "CSV).")
    flags.DEFINE_float("min_tail_s", None, "Tail policy override (seconds); default: the "
                       "model card's or results.json's.")
    flags.DEFINE_integer("threads", None, "TFLite interpreter (or ONNX Runtime) threads.")
    flags.DEFINE_string("profile", None, "Speaker profile (JSON) to score with, for a "
                        "speaker-normalised model; default: its training speakers' pooled "
                        "statistics.")
    flags.DEFINE_bool("enrol", False, "Make a speaker profile from the files (a few "
                      "recordings of one person, >= 3 s of speech) instead of scoring them.")
    flags.DEFINE_string("profile_out", None, "With --enrol: the profile file to write.")
    flags.DEFINE_bool("speaker_bn", False, "The files are recordings of one speaker: score "
                      "them together, the .keras model's emotion pathway normalised with "
                      "BatchNorm statistics of all of them (as training's --speaker_bn).")
    flags.DEFINE_bool("timeline", False, "Emotion over time of one file: a window of the "
                      "model's segment every --hop_s, its speech marked (CSV, or --json).")
    flags.DEFINE_float("hop_s", None, "With --timeline: seconds between windows (default 1).")
    flags.DEFINE_string("plot", None, "With --timeline: also draw it to this PNG file.")
    flags.DEFINE_string("out", None, "With --timeline: write it to this file instead of "
                        "printing it.")
    flags.mark_flag_as_required("model")


def run():
    from absl import app
    _define_flags()
    app.run(lambda argv: sys.exit(main(argv)))


if __name__ == "__main__":
    run()
