"""Exports one trained fold: SavedModel, TFLite files, parity check, model card.

`export_fold(run_dir, formats, out_dir)` reads `<run_dir>/results.json` and
`model.keras`, reloads the fold's corpus from the recorded `DataConfig`,
writes every requested format, scores the fold's test utterances with the
Keras model and with every exported file (`parity.json`), and writes
`model_card.json` and `labels.txt` beside them.

A speaker-normalised model (`FrontendConfig.normalization="speaker"`) takes
a second input, `speaker_stats`, in every format (`serving.py`); the export
folder then also holds `pooled_profile.json`, the training speakers' pooled
statistics as a speaker profile (`adarl_tf/speaker_norm.py`), the default
for a speaker without a profile of their own.

Parity is measured where it matters, on the test speaker's utterances scored
exactly as in training (segments, then the mean of their probabilities).
float32 and float16 must agree with Keras on the predicted class of at least
`MIN_FLOAT_AGREEMENT` of them or the export fails; the int8 formats' WA/UA
change is reported, not gated, since it is the price of quantisation.
With speaker normalisation, parity is measured twice, with each test
speaker's own statistics (from its unlabelled test audio, as in training)
and with the pooled ones, and gated on both.

`speaker_bn_files` (`--speaker_bn_files`) exports a model for one speaker: the
emotion pathway's BatchNorm statistics re-estimated on a few of that person's
recordings (an on-device enrolment of training's `--speaker_bn`), baked into
every format; the model card says so.
"""

import dataclasses
import datetime
import pathlib
import platform
import shutil
import time

import numpy as np
from absl import logging

from adarl_tf import evaluation, files, fold_files, protocol, speaker_norm
from adarl_tf.config import ExperimentConfig
from adarl_tf.corpora.corpus import EMOTIONS
from adarl_tf.export import runners, tflite
from adarl_tf.export.serving import UTTERANCE_SIGNATURE, write_saved_model
from adarl_tf.fold_result import FoldResult
from adarl_tf.pipelines.plan import Cut, starts

SAVED_MODEL = "saved_model"
ONNX = "onnx"
FORMATS = (SAVED_MODEL,) + tuple(tflite.TFLITE_FORMATS) + (ONNX,)
# What `--formats` writes by default; ONNX when asked for (it needs tf2onnx).
DEFAULT_FORMATS = FORMATS[:-1]
# Float formats must predict the same class as Keras on this share of test utterances.
MIN_FLOAT_AGREEMENT = 0.99
GATED_FORMATS = ("tflite", "tflite_fp16", ONNX)
POOLED_PROFILE = speaker_norm.POOLED_PROFILE


class ExportError(RuntimeError):
    """The export could not be made or failed its parity check."""


class ParityError(ExportError):
    """The export was made but failed its parity check (`parity.json` says how)."""


def _load_fold(run_dir):
    """(FoldResult, config, model) of a fold folder, every input checked before any output.

    Raises:
        ExportError: a missing or damaged results.json or model.keras (`fold_files`,
            `runners.load_keras_model` say what and the fix).
    """
    run_dir = pathlib.Path(run_dir)
    results_path, model_path = run_dir / fold_files.RESULTS, run_dir / "model.keras"
    for p in (results_path, model_path):
        if not p.exists():
            raise ExportError(f"{p} not found: --run_dir must be a fold folder written by "
                              "`python -m adarl_tf.main` (<out_dir>/fold_NN)")
    try:
        results = FoldResult.read(results_path)
    except fold_files.RunFileError as e:
        raise ExportError(str(e)) from None
    try:
        config = ExperimentConfig.from_dict(results.config)
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise ExportError(str(fold_files.damaged(results_path, fold_files.RESULTS,
                                                 f"its config: {e}",
                                                 fold_files.retrain_fix(results_path)))) \
            from None
    try:
        model = runners.load_keras_model(model_path)
    except runners.ModelError as e:
        raise ExportError(str(e)) from None
    return results, config, model


def _corpus(data, data_dir=None):
    """Reloads the fold's corpus, with a clear error for a path from elsewhere."""
    from adarl_tf.corpora.load import load_corpus
    if data_dir is not None:
        data = dataclasses.replace(data, data_dir=str(data_dir))
    missing = [d for d in (data.data_dir or "").split(",") if d and not pathlib.Path(d).exists()]
    if missing:
        raise ExportError(
            f"the fold was trained on data in {', '.join(missing)}, which does not exist on this "
            f"machine; pass --data_dir=<the {data.dataset} corpus here> to the exporter")
    try:
        return load_corpus(data)
    except (ValueError, FileNotFoundError) as e:
        raise ExportError(f"{e} (the fold's corpus, reloaded for calibration and parity)")


def representative_segments(utterances, config, n_segments, seed):
    """Calibration segments for int8, drawn from training utterances.

    Args:
        utterances: the fold's training utterances (never the test speaker).
        config: `ExperimentConfig`.
        n_segments: int. At most this many segments.
        seed: int. Seeds the draw.

    Returns:
        float32 `(n, segment_samples)` array; with speaker normalisation a
        dict of it (`waveform`) and each segment's speaker's statistics
        (`speaker_stats`), from the speaker's training utterances as in training.
    """
    from adarl_tf.audio import load_audio
    frontend = config.model.frontend
    min_tail = round(config.data.min_tail_s * frontend.sample_rate_hz)
    rng = np.random.default_rng(seed)
    chosen, speakers = [], []
    for i in rng.permutation(len(utterances)):
        wav = load_audio(utterances[i].path, frontend.sample_rate_hz)
        segs = runners.segment_array(wav, frontend.segment_samples, min_tail,
                                     config.data.tail)
        picked = segs[rng.permutation(len(segs))[:2]]  # <= 2 per utterance: variety.
        chosen.extend(picked)
        speakers.extend([utterances[i].speaker] * len(picked))
        if len(chosen) >= n_segments:
            break
    segments, speakers = np.stack(chosen[:n_segments]), speakers[:n_segments]
    if frontend.normalization != "speaker":
        return segments
    table = speaker_norm.speaker_moments(
        [u for u in utterances if u.speaker in set(speakers)], frontend,
        lambda u: load_audio(u.path, frontend.sample_rate_hz))
    return {runners.WAVEFORM: segments,
            runners.SPEAKER_STATS: np.stack([table[s].stats() for s in speakers])}


def parity(runners_by_format, waveforms, labels, min_tail_samples, reference="keras",
           n_classes=len(EMOTIONS), speaker_stats=None, tail="pad"):
    """Scores every format on the same utterances and compares with `reference`.

    Args:
        runners_by_format: {format: runner}; must include `reference`.
        waveforms: list of float32 `(n,)` utterances at the model's rate.
        labels: int array, the utterances' emotion indices.
        min_tail_samples: int. The fold's tail policy.
        reference: str. The format compared against.
        n_classes: int. Emotion classes of the model.
        speaker_stats: per utterance, its speaker's statistics (speaker
            normalisation), or None.
        tail: str. The fold's `DataConfig.tail`.

    Returns:
        ({format: figures}, {format: (n_utterances, n_emotions) probabilities}).
    """
    probs = {}
    seconds = {}
    for name, runner in runners_by_format.items():
        start = time.perf_counter()
        probs[name] = np.stack([runners.score_utterance(
            runner, w, min_tail_samples, None if speaker_stats is None else speaker_stats[i],
            tail)["emotion_probs"] for i, w in enumerate(waveforms)])
        seconds[name] = time.perf_counter() - start
    ref = probs[reference]
    ref_scores = evaluation.classification_scores(labels, ref, n_classes)
    figures = {}
    for name, p in probs.items():
        scores = evaluation.classification_scores(labels, p, n_classes)
        figures[name] = {
            "max_abs_prob_diff": float(np.abs(p - ref).max()),
            "same_class_share": float(np.mean(p.argmax(-1) == ref.argmax(-1))),
            "wa": scores["wa"], "ua": scores["ua"],
            "wa_change": scores["wa"] - ref_scores["wa"],
            "ua_change": scores["ua"] - ref_scores["ua"],
            "scoring_seconds": round(seconds[name], 2),
        }
    return figures, probs


def _versions():
    from importlib import metadata

    import keras
    import tensorflow as tf
    versions = {"python": platform.python_version(), "tensorflow": tf.__version__,
                "keras": keras.__version__, "numpy": np.__version__}
    for package in ("ai-edge-litert", "tf2onnx", "onnxruntime"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            pass
    return versions


def export_fold(run_dir, formats=DEFAULT_FORMATS, out_dir=None, data_dir=None,
                n_representative=200, seed=0, int8_float_scopes=tflite.INT8_FLOAT_SCOPES,
                speaker_bn_files=None):
    """Exports a trained fold, checks parity and writes the model card.

    Args:
        run_dir: str or path-like. `<out_dir>/fold_NN` of a training run.
        formats: iterable of str, from `FORMATS`. Defaults to `DEFAULT_FORMATS`
            (all but ONNX).
        out_dir: str or path-like or None. Defaults to `<run_dir>/export`.
        data_dir: str or None. Overrides the corpus folder recorded in
            `results.json` (for a fold trained on another machine).
        n_representative: int. Calibration segments for full-integer int8.
        seed: int. Seeds the calibration draw.
        int8_float_scopes: regular expressions on TFLite tensor names kept
            float32 in the int8 model (`tflite.INT8_FLOAT_SCOPES`).
        speaker_bn_files: None, or recordings of one speaker whose emotion-pathway
            BatchNorm statistics the export keeps (`adapt_to_speaker`); parity is
            then measured with them too.

    Returns:
        The model card dict (also written to `model_card.json`).

    Raises:
        ExportError: missing inputs, or float32/float16 disagree with Keras on
            more than 1 % of the test utterances (`parity.json` is still
            written so the failure can be inspected).
    """
    formats = _checked_formats(formats)
    run_dir = pathlib.Path(run_dir)
    out_dir = pathlib.Path(out_dir) if out_dir is not None else run_dir / "export"
    result, config, model = _load_fold(run_dir)
    enrolled = None if not speaker_bn_files else adapt_to_speaker(model, config, speaker_bn_files)
    corpus = _corpus(config.data, data_dir)
    split = _fold_split(corpus, result)
    logging.info("Exporting fold %d (%s, test speaker %s) to %s: %s", result.fold,
                 corpus.name, split.name, out_dir, ", ".join(formats))
    out_dir.mkdir(parents=True, exist_ok=True)  # Only once every input has been checked.

    # TFLite is converted from the SavedModel, so write one even if not asked
    # for (into a scratch folder that is removed afterwards).
    saved_model_dir = out_dir / (SAVED_MODEL if SAVED_MODEL in formats
                                 else ".saved_model_for_tflite")
    write_saved_model(model, saved_model_dir, _min_tail(config), tail=config.data.tail)
    written = {SAVED_MODEL: SAVED_MODEL} if SAVED_MODEL in formats else {}
    written.update(_write_tflite(model, config, split.train, formats, out_dir,
                                 saved_model_dir, n_representative, seed, int8_float_scopes))
    if ONNX in formats:
        written[ONNX] = _write_onnx(model, out_dir)

    figures, pooled_figures, pooled = _check_parity(model, config, result, split.test,
                                                    out_dir, written, saved_model_dir,
                                                    scratch=SAVED_MODEL not in formats)
    if pooled is not None:
        write_pooled_profile(model, out_dir, f"pooled statistics of the training speakers "
                                             f"of fold {result.fold} ({corpus.name})")
    card = _model_card(result, config, corpus.name, written, out_dir, figures,
                       int8_float_scopes)
    if pooled_figures is not None:
        card.update(_speaker_stats_card(config, pooled_figures))
    if enrolled is not None:
        card["speaker_bn"] = enrolled
    files.write_json(out_dir / "model_card.json", card)
    files.write_text(out_dir / "labels.txt", "\n".join(card["labels"]) + "\n")
    _make_readable(out_dir)
    logging.info("Wrote %s", ", ".join(sorted(written.values())))
    return card


def adapt_to_speaker(model, config, paths):
    """Sets the emotion pathway's BatchNorm statistics of `model` to those of one
    speaker's recordings `paths` (`precise_bn.recalibrate` over their windows, cut
    and batched as training's `--speaker_bn` scores a test speaker).

    Returns:
        The model card's "speaker_bn" entry.

    Raises:
        ExportError: a speaker-normalised model, recordings that cannot be used
            (all named), or too few windows in all; the model is then unchanged.
    """
    from adarl_tf import precise_bn, recognizer
    frontend = config.model.frontend
    if frontend.normalization != "segment":
        raise ExportError("--speaker_bn_files bakes a speaker's BatchNorm statistics into a "
                          "segment-normalised model; this one normalises with speaker "
                          "profiles (give the speaker's profile at scoring time instead)")
    waveforms, errors = recognizer.read_recordings(paths, frontend.sample_rate_hz)
    if errors:
        raise ExportError(f"{recognizer.EnrolError(errors)} (--speaker_bn_files: readable "
                          "recordings of the speaker only)")
    batches, n_windows = runners.adaptation_batches(
        waveforms, frontend.segment_samples, None, _min_tail(config), config.data.tail)
    if n_windows < recognizer.MIN_ADAPTATION_WINDOWS:
        raise ExportError(f"--speaker_bn_files: {len(paths)} recording(s) give {n_windows} "
                          f"window(s); at least {recognizer.MIN_ADAPTATION_WINDOWS} are "
                          "needed (give more recordings of the speaker)")
    precise_bn.recalibrate(model, batches, precise_bn.emotion_norms(model))
    return {"recordings": [pathlib.Path(p).name for p in paths], "windows": n_windows,
            "note": "the emotion pathway's BatchNorm statistics are these recordings' "
                    "(one speaker's), not the training speakers'; parity.json scores the "
                    "test speaker with them"}


def _checked_formats(formats):
    formats = list(formats)
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown or not formats:
        raise ExportError(f"--formats={','.join(formats)}: unknown {unknown}; "
                          f"expected a comma list of {', '.join(FORMATS)}")
    return formats


def _min_tail(config):
    return round(config.data.min_tail_s * config.model.frontend.sample_rate_hz)


def _fold_split(corpus, result):
    """The fold's `protocol.FoldSplit` in the corpus found now, checked against results.json.

    Its training side (validation speakers included) calibrates int8; its test
    utterances measure parity.
    """
    split = protocol.split_fold(corpus, result.fold)
    if split.name != result.test_speaker:
        raise ExportError(f"the corpus found now gives fold {result.fold} test speaker "
                          f"{split.name}, but the model was tested on "
                          f"{result.test_speaker}: is --data_dir the same corpus?")
    return split


def _write_tflite(model, config, train_utts, formats, out_dir, saved_model_dir,
                  n_representative, seed, int8_float_scopes):
    """Every TFLite file of `formats`, converted from the SavedModel: {format: file name}."""
    written, calibration = {}, None
    for fmt, (file_name, quantization) in tflite.TFLITE_FORMATS.items():
        if fmt not in formats:
            continue
        source = saved_model_dir
        if quantization == "int8":
            calibration = representative_segments(train_utts, config, n_representative, seed)
            logging.info("int8 calibration: %d segments from training utterances",
                         len(calibration))
            # The same model in the layout XNNPACK's int8 kernels run fast (inference_graph.py).
            source = out_dir / ".saved_model_int8_layout"
            write_saved_model(model, source, _min_tail(config), layout="int8",
                              tail=config.data.tail)
        start = time.perf_counter()
        try:
            content = tflite.convert(source, quantization, calibration,
                                     float_scopes=int8_float_scopes)
        finally:
            if source != saved_model_dir:
                shutil.rmtree(source, ignore_errors=True)
        with files.atomic_path(out_dir / file_name) as tmp:
            tmp.write_bytes(content)
        written[fmt] = file_name
        logging.info("%s: %s, %.2f MB, %.0f s", fmt, file_name, len(content) / 1e6,
                     time.perf_counter() - start)
    return written


def _write_onnx(model, out_dir):
    """The ONNX file (Keras' ONNX export); its name."""
    from adarl_tf.export import onnx
    start = time.perf_counter()
    try:
        onnx.write_onnx(model, out_dir / onnx.ONNX_FILE)
    except ImportError as e:
        raise ExportError(f"--formats=...,onnx: {e}") from None
    logging.info("onnx: %s, %.2f MB, %.0f s", onnx.ONNX_FILE,
                 (out_dir / onnx.ONNX_FILE).stat().st_size / 1e6, time.perf_counter() - start)
    return onnx.ONNX_FILE


def _check_parity(model, config, result, test_utts, out_dir, written, saved_model_dir,
                  scratch, reference=None):
    """Parity on the test speaker's utterances: writes `parity.json`, gates the float formats.

    `model` (with `config`) gives the speaker statistics; `reference`, the
    runner every format is compared with, defaults to the Keras `model`
    (an ensemble passes the mean of its members, `ensemble.MeanRunner`).

    Returns:
        (figures, figures with the pooled statistics or None, the pooled
        statistics or None).

    Raises:
        ParityError: a gated format agrees with Keras on too few utterances.
    """
    from adarl_tf.audio import load_audio
    frontend, min_tail, tail = config.model.frontend, _min_tail(config), config.data.tail
    waveforms = [load_audio(u.path, frontend.sample_rate_hz) for u in test_utts]
    class_names = list(result.labels)
    labels = np.array([class_names.index(u.label) for u in test_utts])
    to_run = {"keras": reference or runners.KerasRunner(model)}
    for fmt, name in written.items():
        to_run[fmt] = runners.load_runner(out_dir / name)
    if scratch:
        to_run["_saved_model"] = runners.SavedModelRunner(saved_model_dir)
    # Speaker normalisation: each test speaker's own statistics, as in training, and
    # the pooled ones a speaker without a profile gets (None, None otherwise).
    own_stats, pooled = _test_speaker_stats(model, test_utts, waveforms, frontend)
    figures, probs = parity(to_run, waveforms, labels, min_tail, n_classes=len(class_names),
                            speaker_stats=own_stats, tail=tail)
    pooled_figures = None
    if pooled is not None:
        pooled_figures, _ = parity(to_run, waveforms, labels, min_tail,
                                   n_classes=len(class_names),
                                   speaker_stats=[pooled] * len(waveforms), tail=tail)
    # The utterance signature must give what the segment signature + mean gives.
    utterance_check = _check_utterance_signature(
        saved_model_dir, waveforms[:8], probs["keras"][:8],
        None if own_stats is None else own_stats[:8])
    if scratch:
        shutil.rmtree(saved_model_dir)
        for f in (figures, pooled_figures or {}):
            f.pop("_saved_model", None)
    checked = [figures] + ([pooled_figures] if pooled_figures is not None else [])
    agreement = {f: min(c[f]["same_class_share"] for c in checked)
                 for f in GATED_FORMATS if f in figures}
    failed = [f for f, share in agreement.items() if share < MIN_FLOAT_AGREEMENT]
    files.write_json(out_dir / "parity.json", _parity_doc(
        result.test_speaker, waveforms, frontend.segment_samples, min_tail, figures,
        pooled_figures, utterance_check, passed=not failed))
    if failed:
        raise ParityError(
            f"parity failed: {', '.join(failed)} agree with Keras on the class of "
            + ", ".join(f"{agreement[f]:.1%}" for f in failed)
            + f" of the test utterances (need >= {MIN_FLOAT_AGREEMENT:.0%}); see "
            f"{out_dir / 'parity.json'}")
    return figures, pooled_figures, pooled


def _parity_doc(test_speaker, waveforms, segment_samples, min_tail, figures, pooled_figures,
                utterance_check, passed):
    """`parity.json`."""
    doc = {
        "reference": "keras",
        "test_speaker": test_speaker,
        "n_test_utterances": len(waveforms),
        "n_test_segments": int(sum(len(starts(len(w), Cut(segment_samples, min_tail)))
                                   for w in waveforms)),
        "scoring": "utterance = mean of its segments' probabilities; TFLite one segment "
                   "per call; onnx: ONNX Runtime (CPU)",
        "min_float_agreement": MIN_FLOAT_AGREEMENT,
        "passed": passed,
        "formats": figures,
        "utterance_signature_max_abs_diff": utterance_check,
    }
    if pooled_figures is not None:
        doc["speaker_stats"] = ("formats: each test speaker's own statistics, from "
                                "its unlabelled test audio, as in training; "
                                "formats_with_pooled_stats: the training speakers' "
                                f"pooled statistics ({POOLED_PROFILE})")
        doc["formats_with_pooled_stats"] = pooled_figures
    return doc


def _make_readable(folder):
    """Atomic writes create files 0600 and folders 0700 (mkstemp, mkdtemp);
    exported models are meant to be copied and served, so apply the umask."""
    import os
    umask = os.umask(0)
    os.umask(umask)
    for path in [folder, *folder.rglob("*")]:
        path.chmod((0o777 if path.is_dir() else 0o666) & ~umask)


def write_pooled_profile(model, out_dir, source):
    """Writes a speaker-normalised model's pooled statistics as `POOLED_PROFILE` in `out_dir`.

    A profile like any other (`speaker_norm.profile_dict`), so that `predict`
    and an app read the default with the code that reads a speaker's profile.
    """
    frontend = model.model_config.frontend
    stats = np.asarray(model.get_layer("spectrogram").pooled_stats)
    speaker_norm.save_profile(speaker_norm.profile_dict(stats, frontend, None, [source]),
                              pathlib.Path(out_dir) / POOLED_PROFILE)


def _test_speaker_stats(model, test_utts, waveforms, frontend):
    """(each test utterance's speaker's statistics, the model's pooled statistics).

    As in training: a test speaker's statistics come from all its test
    utterances' audio (never their labels). (None, None) for segment
    normalisation.
    """
    if frontend.normalization != "speaker":
        return None, None
    decoded = dict(zip((u.path for u in test_utts), waveforms))
    table = {s: m.stats() for s, m in speaker_norm.speaker_moments(
        test_utts, frontend, lambda u: decoded[u.path]).items()}
    pooled = np.asarray(model.get_layer("spectrogram").pooled_stats)
    return speaker_norm.per_utterance(test_utts, table), pooled


def _check_utterance_signature(saved_model_dir, waveforms, expected, speaker_stats=None):
    """Max |probability difference| between `utterance` and segment-wise Keras."""
    import tensorflow as tf
    signature = tf.saved_model.load(str(saved_model_dir)).signatures[UTTERANCE_SIGNATURE]
    inputs = [{runners.WAVEFORM: tf.constant(w)} for w in waveforms]
    if speaker_stats is not None:
        for x, stats in zip(inputs, speaker_stats):
            x[runners.SPEAKER_STATS] = tf.constant(stats)
    got = np.stack([signature(**x)["emotion_probs"].numpy() for x in inputs])
    return float(np.abs(got - expected).max())


def _parity_summary(figures):
    return {fmt: {k: figures[fmt][k] for k in ("max_abs_prob_diff", "same_class_share", "wa",
                                               "ua", "wa_change", "ua_change")}
            for fmt in figures}


def _speaker_stats_card(config, pooled_figures):
    """The model card's entries for the second input of a speaker-normalised model."""
    frontend = config.model.frontend
    shape = list(frontend.stats_shape)
    return {
        "speaker_stats": {
            "name": "speaker_stats", "dtype": "float32", "shape": ["batch"] + shape,
            "utterance_signature_shape": shape,
            "what": "the speaker's statistics: index 0 the mean, index 1 the standard "
                    "deviation of each frequency row (axis 1: "
                    + ("mel band" if frontend.scale == "mel" else "DFT bin")
                    + ") of each log spectrogram (axis 2: one per window) over the "
                      "speaker's speech frames; the model normalises each row with them. "
                      "Computed from audio only, never from labels; the same for every "
                      "segment of one speaker",
            "profile": "python -m adarl_tf.predict --model=<a file of this folder> --enrol "
                       "a.wav b.wav ... --profile_out=speaker.json: a few recordings of the "
                       f"person, at least {speaker_norm.MIN_SPEECH_S:.0f} s of speech; the "
                       "profile's \"stats\" is this input",
            "default": f"{POOLED_PROFILE} (the same format): the training speakers' pooled "
                       "statistics, for a speaker without a profile; less accurate for "
                       "voices and microphones unlike the training speakers'",
        },
        "signatures": {
            "serving_default": "waveform [batch, segment_samples], speaker_stats "
                               "[batch, 2, rows, spectrograms] -> outputs",
            UTTERANCE_SIGNATURE: "waveform [n] (one utterance, any length), speaker_stats "
                                 "[2, rows, spectrograms] -> outputs for the utterance, "
                                 "n_segments"},
        "parity_speaker_stats": "each test speaker's own statistics, as in training",
        "parity_with_pooled_stats": _parity_summary(pooled_figures),
    }


def _model_card(results, config, corpus_name, written, out_dir, figures, int8_float_scopes):
    frontend = config.model.frontend
    files_info = {}
    for fmt, name in written.items():
        path = out_dir / name
        size = sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) \
            if path.is_dir() else path.stat().st_size
        files_info[fmt] = {"path": name, "bytes": size}
    float_products = (tflite.float32_products((out_dir / written["tflite_int8"]).read_bytes())
                      if "tflite_int8" in written else [])
    return {
        "model": f"ADARL ({config.model.variant}) speech emotion recognition",
        "labels": list(results.labels),
        "domain": results.domain,
        "domain_labels": list(results.domain_labels),
        "sample_rate_hz": frontend.sample_rate_hz,
        "segment_samples": frontend.segment_samples,
        "segment_s": frontend.segment_s,
        "min_tail_s": config.data.min_tail_s,
        "channel_mode": frontend.channel_mode,
        "input": {"name": "waveform", "dtype": "float32",
                  "shape": ["batch", frontend.segment_samples],
                  "range": [-1.0, 1.0], "mono": True},
        "outputs": dict({"emotion_probs": ["batch", config.model.n_emotions]},
                        **({"domain_probs": ["batch", config.model.n_domains]}
                           if config.model.variant == "adarl" else {})),
        "signatures": {"serving_default": "waveform [batch, segment_samples] -> outputs",
                       UTTERANCE_SIGNATURE: "waveform [n] (one utterance, any length) -> "
                                            "outputs for the utterance, n_segments"},
        "utterance_scoring": (
            "cut into non-overlapping segments; a tail >= min_tail_s becomes one more "
            + ("zero-padded segment" if config.data.tail == "pad" else
               "segment, the utterance's last segment_s (overlapping the one before it)")
            + ", a shorter tail is dropped, an utterance shorter than one "
            "segment is one padded segment; average the segments' probabilities"),
        "int8": {"io": "float32 audio in, float32 probabilities out; quantised inside",
                 "float32_tensors": list(int8_float_scopes),
                 # Products XNNPACK could not run in int8 (tflite.xnnpack_refused).
                 "float32_products": float_products,
                 "hybrid": "the frontend's DFT products: int8 weights, float32 frames "
                           "quantised to int8 at run time (one scale per frame)",
                 "calibration": "segments drawn from the fold's training utterances"},
        "corpus": corpus_name,
        "fold": results.fold,
        "test_speaker": results.test_speaker,
        "fold_wa": results.wa,
        "fold_ua": results.ua,
        "files": files_info,
        "parity": _parity_summary(figures),
        "config": config.to_dict(),
        "versions": _versions(),
        "exported_at": datetime.datetime.now(datetime.timezone.utc).isoformat(),
    }
