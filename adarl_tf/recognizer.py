"""The Python API: load a model in any format, score files, waveforms and timelines.

  import adarl_tf
  r = adarl_tf.load("runs/demo_adarl/fold_00/export")   # or a .keras/.tflite/.onnx file
  r.predict_file("clip.wav").label                        # "happy"
  r.timeline("meeting.wav", hop_s=1.0).windows[0]         # start_s, end_s, speech, ...
  anna = r.enrol(["anna_1.wav", "anna_2.wav"])            # a speaker profile (dict)
  r.with_profile(anna).predict_file("clip.wav")

`load` takes a `.keras` fold model, a SavedModel folder, a `.tflite` or
`.onnx` file, or an export folder (the one with `model_card.json`; its
parity-gated float32 TFLite file unless `format=` picks another). The runner
underneath is `export/runners.py`'s, so every format scores a clip the same
way; labels, the tail rule and the frontend come from `model_card.json` or
`results.json` beside the model (`model_metadata`). `python -m
adarl_tf.predict` is a command line over this module.

A speaker-normalised model (`FrontendConfig.normalization="speaker"`) scores
with the statistics of the speaker's voice (`adarl_tf/speaker_norm.py`): a
profile given to `load(..., profile=...)` or `with_profile`, else the pooled
statistics of its training speakers (`Recognizer.speaker_stats_source` is
then "pooled").

Several recordings of one speaker can also be scored together
(`predict_speaker`, `predict --speaker_bn`): a `.keras` model's emotion
pathway then normalises with BatchNorm statistics re-estimated on those
recordings, as training's `--speaker_bn` scores a test speaker.
"""

import dataclasses
import pathlib
from typing import Optional, Tuple

import numpy as np

from adarl_tf import fold_files, speaker_norm
from adarl_tf.config import DataConfig, FrontendConfig
from adarl_tf.corpora.corpus import EMOTIONS
from adarl_tf.fold_result import FoldResult

MODEL_CARD = "model_card.json"
# An export folder's model when `load` is given the folder: the first present
# of these `model_card.json` "files" entries (float32 first: its parity is gated).
FOLDER_FORMATS = ("tflite", "tflite_fp16", "saved_model", "onnx", "tflite_dynamic",
                  "tflite_int8")
# Fewest windows `predict_speaker` adapts to. The deep feature's BN normalises one value
# per window over the speaker's windows: over one window every recording would come
# out the same, and over a few the statistics are noise. Measured (RESULTS.md,
# seventeenth session; ASED dev, ADARL, a test speaker's recordings of one window each
# scored in groups): UA 0.495 over 2 windows, 0.612 over 4, 0.699 over 8 (no better
# than the training statistics' 0.698), 0.723 over 16, 0.739 over 32, 0.745 over all
# of a speaker's (33-43).
MIN_ADAPTATION_WINDOWS = 16


class PredictError(ValueError):
    """The run cannot go on; the message names the file and the fix."""


class EnrolError(PredictError):
    """Recordings that cannot make a profile; `errors` lists them ({"file", "error"})."""

    def __init__(self, errors):
        self.errors = list(errors)
        super().__init__("; ".join(f"{e['file']}: {e['error']}" for e in self.errors))


@dataclasses.dataclass(frozen=True)
class ModelInfo:
    """What scoring needs beside the model's graph, from the files beside it."""

    labels: Tuple[str, ...]
    sample_rate_hz: int
    min_tail_s: float
    tail: str = DataConfig.tail  # `DataConfig.tail`: "pad" or "overlap".
    frontend: Optional[FrontendConfig] = None  # None: not recorded beside the model.
    # Trained per speaker (`ModelConfig.speaker_bn_group`) and holding no one speaker's
    # BatchNorm statistics (an export's `--speaker_bn_files`): scored a file at a time it
    # uses its training speakers' statistics, and loses accuracy (RESULTS.md).
    needs_speaker_bn: bool = False
    # The file these come from (model_card.json or results.json), for messages.
    source: Optional[str] = dataclasses.field(default=None, compare=False)


@dataclasses.dataclass(frozen=True)
class Prediction:
    """One utterance's scores.

    Attributes:
        label: str. The most probable class.
        probabilities: {label: probability}, in the model's class order.
        n_segments: int. Segments the utterance was cut into (their mean is scored).
        duration_s: float. Seconds of audio at the model's rate.
        speaker_stats: str or None. The profile scored with ("pooled": the
            training speakers'); None for a segment-normalised model.
        speaker_bn_windows: int or None. Scored together with other recordings
            (`Recognizer.predict_speaker`): the windows of all of them that the
            BatchNorm statistics came from.
    """

    label: str
    probabilities: dict
    n_segments: int
    duration_s: float
    speaker_stats: Optional[str] = None
    speaker_bn_windows: Optional[int] = None

    def to_dict(self):
        """The JSON form `predict --json` prints (without `file`)."""
        out = {"label": self.label,
               "probabilities": {k: round(float(p), 6) for k, p in self.probabilities.items()},
               "n_segments": self.n_segments, "duration_s": round(self.duration_s, 3)}
        if self.speaker_stats is not None:
            out["speaker_stats"] = self.speaker_stats
        if self.speaker_bn_windows is not None:
            out["speaker_bn_windows"] = self.speaker_bn_windows
        return out


CARD_FIX = "export the model again (`python -m adarl_tf.export`) or restore the file"
# What is read from a model card: each field's check and what it should hold.
CARD_FIELDS = {
    "labels": (lambda v: isinstance(v, list) and bool(v) and len(set(map(str, v))) == len(v)
               and all(isinstance(l, str) and l for l in v),
               "expected a list of distinct class names"),
    "sample_rate_hz": (lambda v: isinstance(v, int) and v > 0, "expected a positive integer"),
    "min_tail_s": (lambda v: isinstance(v, (int, float)) and v >= 0, "expected seconds >= 0"),
    "files": (lambda v: isinstance(v, dict) and all(
        isinstance(e, dict) and isinstance(e.get("path"), str) and e["path"]
        for e in v.values()), 'expected {format: {"path": file name}}'),
}


def read_model_card(path, fields=("labels", "sample_rate_hz", "min_tail_s")):
    """An export's `model_card.json`, checked for the `fields` the caller reads.

    `files` may be left out (an export folder without models); the others may not.

    Raises:
        PredictError: unreadable, torn, or a field of `fields` missing or unusable.
    """
    try:
        card = fold_files.read_json(path, MODEL_CARD, CARD_FIX)
    except fold_files.RunFileError as e:
        raise PredictError(str(e)) from None
    for field in fields:
        check, expected = CARD_FIELDS[field]
        value = card.setdefault("files", {}) if field == "files" else card.get(field)
        if not check(value):
            raise PredictError(str(fold_files.damaged(path, MODEL_CARD,
                                                      f"{field} {value!r}: {expected}",
                                                      CARD_FIX)))
    return card


def model_metadata(model_path):
    """The `ModelInfo` of a model, from `model_card.json` or `results.json` beside it.

    Args:
        model_path: str or path-like. `.keras`, `.tflite`, `.onnx` or SavedModel folder.

    Returns:
        `ModelInfo`; the training defaults where neither file is there.

    Raises:
        PredictError: the file beside the model is damaged.
    """
    model_path = pathlib.Path(model_path)
    card = model_path.parent / MODEL_CARD
    results = model_path.parent / fold_files.RESULTS
    if card.exists():
        c = read_model_card(card)
        recorded = _recorded(c.get("config", {}), card, CARD_FIX)
        if "speaker_bn" in c:  # One speaker's statistics are baked in.
            recorded["needs_speaker_bn"] = False
        return ModelInfo(tuple(c["labels"]), int(c["sample_rate_hz"]), float(c["min_tail_s"]),
                         **recorded)
    if results.exists():
        try:
            r = FoldResult.read(results, keys=("config",))
        except fold_files.RunFileError as e:
            raise PredictError(str(e)) from None
        recorded = _recorded(r.config, results, fold_files.retrain_fix(results))
        data = r.config.get("data", {})
        return ModelInfo(tuple(r.labels),
                         (recorded["frontend"] or FrontendConfig()).sample_rate_hz,
                         float(data.get("min_tail_s", DataConfig.min_tail_s)),
                         **recorded)
    return ModelInfo(EMOTIONS, FrontendConfig.sample_rate_hz, DataConfig.min_tail_s)


def _recorded(config, source, fix):
    """`tail`, `frontend`, `needs_speaker_bn` and `source` of a recorded
    `ExperimentConfig` dict (older ones lack the first three), read from the file
    `source` (`fix`: how to make it again)."""
    try:
        model = config.get("model", {})
        frontend = model.get("frontend")
        return {"tail": config.get("data", {}).get("tail", DataConfig.tail),
                "frontend": None if frontend is None else FrontendConfig.from_dict(frontend),
                "needs_speaker_bn": int(model.get("speaker_bn_group") or 0) > 0,
                "source": str(source)}
    except (TypeError, ValueError, AttributeError) as e:
        raise PredictError(str(fold_files.damaged(source, source.name, f"its config: {e}",
                                                  fix))) from None


def resolve_model(path, format=None):
    """The model file or SavedModel folder that `path` names.

    Args:
        path: str or path-like. A model, or an export folder (with `model_card.json`).
        format: str or None. For an export folder: a key of its model card's
            "files" (`tflite`, `tflite_int8`, `saved_model`, `onnx`, ...).
            Defaults to the first present of `FOLDER_FORMATS`.

    Returns:
        `pathlib.Path`.

    Raises:
        PredictError: a folder that holds no model, or no file of `format`.
    """
    path = pathlib.Path(path)
    if not path.is_dir() or (path / "saved_model.pb").exists():
        if format is not None:
            raise PredictError(f"{path}: format={format!r} picks a model in an export folder; "
                               "this is a model already")
        return path
    card = path / MODEL_CARD
    if not card.exists():
        raise PredictError(f"{path}: a folder without a model (no saved_model.pb or "
                           f"{MODEL_CARD}); give a .keras, .tflite or .onnx file, a SavedModel "
                           "folder or an export folder")
    written = {fmt: path / entry["path"]
               for fmt, entry in read_model_card(card, ("files",))["files"].items()
               if (path / entry["path"]).exists()}
    if format is not None:
        if format not in written:
            raise PredictError(f"{path}: no {format!r} model in this export folder (it holds "
                               f"{', '.join(sorted(written)) or 'none'})")
        return written[format]
    for fmt in FOLDER_FORMATS:
        if fmt in written:
            return written[fmt]
    raise PredictError(f"{path}: an export folder without a model file (none of the model "
                       f"card's files are there); export again with `python -m "
                       "adarl_tf.export`")


def open_model(path, format=None, num_threads=None):
    """The one place `load` and `predict` open a model, with what is beside it.

    Args:
        path, format: as `resolve_model`.
        num_threads: int or None. TFLite / ONNX Runtime threads.

    Returns:
        `(model path, runner, ModelInfo)`, checked to agree on the classes.

    Raises:
        PredictError: no model at `path`, a damaged model or model card (or
            another kind of model), or labels that do not fit the model.
    """
    from adarl_tf.export import runners
    model_path = resolve_model(path, format)
    info = model_metadata(model_path)  # Read first: it is cheap, the model is not.
    try:
        runner = runners.load_runner(model_path, num_threads=num_threads)
    except runners.ModelError as e:
        raise PredictError(str(e)) from None
    if runner.n_classes != len(info.labels):
        named = (f"the files beside it name {len(info.labels)} ({', '.join(info.labels)}; "
                 f"{info.source})" if info.source else
                 "no model_card.json or results.json beside it names its labels")
        raise PredictError(f"{model_path}: the model scores {runner.n_classes} classes but "
                           f"{named}; keep the model_card.json or results.json of this "
                           "model beside it")
    return model_path, runner, info


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


def _profile_stats(profile, frontend):
    """(stats, source) of a profile given as a path or as a dict (from `enrol`)."""
    if isinstance(profile, dict):
        return speaker_norm.check_profile(profile, frontend, "the profile given"), "profile"
    return speaker_norm.load_profile(profile, frontend), str(profile)


def speaker_stats(runner, info, model_path, profile=None):
    """The speaker statistics to score with, and where they come from.

    Args:
        runner: from `runners.load_runner(model_path)`.
        info: `ModelInfo` of the model.
        model_path: str or path-like.
        profile: None, a profile file (`--profile`) or a profile dict (`enrol`).

    Returns:
        `(None, None)` for a segment-normalised model without a profile;
        else `(stats (2, rows, spectrograms) float32, the profile's path,
        "profile" for a dict, or "pooled")`.

    Raises:
        PredictError, speaker_norm.ProfileError: see `_speaker_frontend`,
            `speaker_norm.load_profile`.
    """
    if runner.stats_shape is None and profile is None:
        return None, None
    frontend = _speaker_frontend(runner, info, model_path)
    if profile is not None:
        return _profile_stats(profile, frontend)
    if hasattr(runner, "pooled_stats"):
        return runner.pooled_stats(), "pooled"
    pooled = pathlib.Path(model_path).parent / speaker_norm.POOLED_PROFILE
    if not pooled.exists():
        raise PredictError(f"{pooled}: not found, the default statistics of this "
                           "speaker-normalised model; give --profile (made with --enrol), or "
                           "keep the exporter's files together")
    return speaker_norm.load_profile(pooled, frontend), "pooled"


class Recognizer:
    """A loaded model with what scoring needs: labels, tail rule, speaker statistics.

    Made by `load`; `with_profile` gives one that shares the model and
    scores with another speaker's statistics.

    Attributes:
        model_path: `pathlib.Path` of the model file or folder.
        format: str. "keras", "saved_model", "tflite" or "onnx".
        labels: tuple of class names.
        sample_rate_hz: int. The model's rate; other rates are resampled.
        segment_s: float. Seconds per segment, and per timeline window.
        speaker_stats_source: None (segment-normalised model), "pooled" (the
            training speakers' statistics), a profile's path, or "profile".

    Example:

    ```python
    import adarl_tf
    r = adarl_tf.load("runs/demo_adarl/fold_00/export/model_int8.tflite")
    p = r.predict_file("clip.wav")
    print(p.label, p.probabilities)
    ```
    """

    def __init__(self, runner, info, model_path, stats=None, source=None, min_tail_s=None):
        self.runner, self.info = runner, info
        self.model_path = pathlib.Path(model_path)
        self.format = runner.format
        self.labels = info.labels
        self.sample_rate_hz = info.sample_rate_hz
        self.segment_s = runner.segment_samples / info.sample_rate_hz
        self.min_tail_s = info.min_tail_s if min_tail_s is None else float(min_tail_s)
        self.speaker_stats, self.speaker_stats_source = stats, source

    def with_profile(self, profile):
        """The same model scoring with a speaker's profile (a file or an `enrol` dict).

        Raises:
            PredictError: the model normalises each segment.
            speaker_norm.ProfileError: the profile cannot be used with it.
        """
        stats, source = speaker_stats(self.runner, self.info, self.model_path, profile)
        return Recognizer(self.runner, self.info, self.model_path, stats, source,
                          self.min_tail_s)

    def _scores(self, waveform):
        """(n_segments, the utterance's emotion probabilities) of a prepared waveform."""
        from adarl_tf.export import runners
        scored = runners.score_utterance(self.runner, waveform,
                                         round(self.min_tail_s * self.sample_rate_hz),
                                         self.speaker_stats, self.info.tail)
        return scored["n_segments"], scored["emotion_probs"]

    def _prediction(self, waveform, speaker_bn_windows=None):
        n_segments, probs = self._scores(waveform)
        return Prediction(self.labels[int(probs.argmax())],
                          dict(zip(self.labels, map(float, probs))), n_segments,
                          len(waveform) / self.sample_rate_hz, self.speaker_stats_source,
                          speaker_bn_windows)

    def score_windows(self, windows):
        """(k, n_classes) emotion probabilities of k prepared one-segment windows."""
        windows = np.asarray(windows, np.float32)
        if self.speaker_stats is None:
            out = self.runner(windows)
        else:
            out = self.runner(windows, np.repeat(self.speaker_stats[None], len(windows), 0))
        return np.asarray(out["emotion_probs"], np.float64)

    def predict_waveform(self, samples, sample_rate):
        """Scores audio in memory like a test utterance in training.

        Args:
            samples: float `(n,)` or `(n, channels)` array in [-1, 1].
            sample_rate: int. Hertz; resampled to the model's rate.

        Returns:
            `Prediction`.

        Raises:
            adarl_tf.audio.AudioError: no samples, NaN or infinite ones, or
                samples that training refuses (silent, clipped).

        Example:

        ```python
        import numpy as np, adarl_tf
        r = adarl_tf.load("runs/demo_adarl/fold_00/export")
        t = np.arange(48000) / 16000
        print(r.predict_waveform(0.3 * np.sin(2 * np.pi * 220 * t), 16000).label)
        ```
        """
        from adarl_tf import audio
        waveform = audio.prepare_waveform(samples, sample_rate, self.sample_rate_hz)
        reason = audio.sample_levels(samples).problem("float32")
        if reason is not None:
            raise audio.AudioError(reason)
        return self._prediction(waveform)

    def predict_file(self, path):
        """Scores a WAV or FLAC file (any rate, channels, sample format).

        Returns:
            `Prediction`.

        Raises:
            adarl_tf.audio.AudioError, OSError: the file cannot be read, or
                training's rules refuse it (`audio.check_contents`: truncated,
                silent, clipped, NaN or infinite samples, an absurd header).

        Example:

        ```python
        import adarl_tf
        print(adarl_tf.load("model.keras").predict_file("clip.wav").to_dict())
        ```
        """
        from adarl_tf import audio
        # What training would skip gets no label.
        return self._prediction(audio.load_checked(path, self.sample_rate_hz))

    def timeline(self, path, hop_s=1.0):
        """Emotion over time: one model segment per window, every `hop_s` seconds.

        The file is read and scored in blocks (memory does not grow with its
        length); windows without speech (`timeline.SpeechRule`) are marked and
        not scored. See `adarl_tf/timeline.py`.

        Args:
            path: str or path-like. A WAV or FLAC file at least one window long.
            hop_s: float. Seconds between window starts. Defaults to 1.0.

        Returns:
            `timeline.Timeline`.

        Raises:
            adarl_tf.audio.AudioError, OSError: the file cannot be read.
            timeline.TimelineError: shorter than one window, or without speech.

        Example:

        ```python
        import adarl_tf
        t = adarl_tf.load("runs/demo_adarl/fold_00/export").timeline("meeting.wav")
        for w in t.windows:
            print(w.start_s, w.end_s, w.label if w.speech else "-")
        ```
        """
        from adarl_tf import timeline
        return timeline.score_file(self, path, hop_s)

    def predict_speaker(self, paths):
        """Scores recordings of one speaker together, adapted to that speaker.

        The emotion pathway's BatchNorm statistics are re-estimated on the
        windows of all the recordings, each recording is scored with them, and
        the model's own statistics come back (AdaBN; training's `--speaker_bn`
        scores a test speaker so). It needs the `.keras` model: an export holds
        its statistics as constants (`python -m adarl_tf.export
        --speaker_bn_files=...` bakes one speaker's into an export).

        Args:
            paths: recordings of one person, together at least
                `MIN_ADAPTATION_WINDOWS` windows long.

        Returns:
            A `Prediction` per path, in order.

        Raises:
            EnrolError: recordings that cannot be read or are silent (all named).
            PredictError: not a `.keras` model, or too few windows in all.

        Example:

        ```python
        import adarl_tf
        r = adarl_tf.load("runs/x/adarl_compact_adarl/fold_00/model.keras")
        for p in r.predict_speaker(sorted(glob.glob("anna/*.wav"))):
            print(p.label)
        ```
        """
        return self.predict_speaker_waveforms(_read_all(paths, self.sample_rate_hz))

    def predict_speaker_waveforms(self, waveforms):
        """`predict_speaker` of prepared waveforms (float32 at the model's rate)."""
        from adarl_tf import precise_bn
        from adarl_tf.export import runners
        if self.format != "keras":
            raise PredictError(
                f"{self.model_path}: scoring a speaker's recordings together re-estimates the "
                f"model's BatchNorm statistics, which a {self.format} model holds as constants; "
                "give the fold's model.keras, or export one speaker's statistics into a model "
                "(`python -m adarl_tf.export --speaker_bn_files=...`)")
        batches, n_windows = runners.adaptation_batches(
            waveforms, self.runner.segment_samples, self.runner.stats_shape,
            round(self.min_tail_s * self.sample_rate_hz), self.info.tail, self.speaker_stats)
        if n_windows < MIN_ADAPTATION_WINDOWS:
            raise PredictError(
                f"{len(waveforms)} recording(s) give {n_windows} window(s) of "
                f"{self.segment_s:g} s; scoring a speaker's recordings together needs at least "
                f"{MIN_ADAPTATION_WINDOWS} (fewer score no better than the model's own "
                "statistics): give more recordings of the speaker, or score them one at a time "
                "without --speaker_bn")
        with precise_bn.speaker_adapted(self.runner.model, batches):
            return [self._prediction(w, n_windows) for w in waveforms]

    def enrol(self, paths):
        """The speaker profile of one person, from a few of their recordings.

        Needs a speaker-normalised model; at least `speaker_norm.MIN_SPEECH_S`
        of speech in all. Save it with `speaker_norm.save_profile(p, path)`;
        use it with `with_profile(p)` or `load(model, profile=p)`.

        Returns:
            The profile dict (`speaker_norm.profile_dict`).

        Raises:
            PredictError: the model takes no profile.
            EnrolError: recordings that cannot be read or are silent (all named).
            speaker_norm.ProfileError: too little speech in all.

        Example:

        ```python
        import adarl_tf
        r = adarl_tf.load("runs/x/fold_00/export")
        anna = r.enrol(["anna_1.wav", "anna_2.wav", "anna_3.wav"])
        print(r.with_profile(anna).predict_file("clip.wav").label)
        ```
        """
        frontend = _speaker_frontend(self.runner, self.info, self.model_path)
        waveforms = _read_all(paths, frontend.sample_rate_hz)
        return speaker_norm.make_profile(waveforms, frontend, sources=paths)


def read_recordings(paths, sample_rate_hz):
    """Recordings at `sample_rate_hz`, read by training's rules (silent, clipped,
    truncated, ... refused).

    Returns:
        (a list with each path's float32 waveform, or None where it cannot be used;
        `{"file", "error"}` of each of those).
    """
    from adarl_tf import audio
    waveforms, errors = [], []
    for path in paths:
        try:
            waveforms.append(audio.load_checked(path, sample_rate_hz))
        except (audio.AudioError, OSError) as e:
            waveforms.append(None)
            errors.append({"file": str(path), "error": str(e)})
    return waveforms, errors


def _read_all(paths, sample_rate_hz):
    """`read_recordings`, every one usable, or an `EnrolError` naming those that are not."""
    waveforms, errors = read_recordings(paths, sample_rate_hz)
    if errors:
        raise EnrolError(errors)
    return waveforms


def load(path, profile=None, format=None, num_threads=None, min_tail_s=None):
    """Loads a model in any format for scoring.

    Args:
        path: str or path-like. A `.keras` fold model, a SavedModel folder, a
            `.tflite` or `.onnx` file, or an export folder (`model_card.json`).
        profile: None, a profile file or an `enrol` dict: the speaker's
            statistics, for a speaker-normalised model. Defaults to its
            training speakers' pooled statistics.
        format: str or None. For an export folder, which of its files
            (`resolve_model`).
        num_threads: int or None. TFLite / ONNX Runtime threads.
        min_tail_s: float or None. Overrides the model's tail rule.

    Returns:
        `Recognizer`.

    Raises:
        ValueError: no model at `path`, one that cannot be loaded or whose
            files disagree (`PredictError`, `open_model`), or a profile that
            cannot be used (`PredictError`, `speaker_norm.ProfileError`).

    Example:

    ```python
    import adarl_tf
    r = adarl_tf.load("runs/demo_adarl/fold_00/export", format="tflite_int8", num_threads=1)
    print(r.labels, r.segment_s)
    ```
    """
    model_path, runner, info = open_model(path, format, num_threads)
    stats, source = speaker_stats(runner, info, model_path, profile)
    return Recognizer(runner, info, model_path, stats, source, min_tail_s)
