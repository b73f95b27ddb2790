"""Exports an ensemble: the same fold of several runs, their probabilities averaged in one graph.

  python -m adarl_tf.export \
      --run_dir=runs/a/adarl_compact_adarl/fold_03,runs/b/adarl_compact_adarl/fold_03

The package's most accurate recipe is an ensemble of runs (README, "The
highest UA: three runs, averaged"; `benchmarks/ensemble.py` scores it from the
runs' saved predictions). This writes it as one model a phone can run: the members'
serving graphs (each with its batch norms folded, `inference_graph.py`) side
by side behind one `waveform` input, and the mean of their `emotion_probs`
(and of the `domain_probs` of the members that have a domain head). The
result has the signatures, file names, `parity.json` and `model_card.json` of
a single fold's export, so `predict`, `adarl_tf.load` and the app use it as
they use one model.

Members may differ in anything the graph holds (variant, normalisation, the
domain pathway's input, width) but must agree on how audio is cut and what
is predicted: fold and test speaker, classes, sample rate, segment length
and tail rule. Speaker-normalised members share the one `speaker_stats` input,
so their frontends must be the same; segment-normalised members ignore it.

Parity compares every file with the mean of the members' own Keras models on
the fold's test speaker (`MeanRunner`), gated as a single fold's float
formats are. Full-integer int8 and ONNX are single-fold formats only: int8
would calibrate each member's scales on one shared draw, which nothing here
has measured.
"""

import pathlib

import numpy as np
from absl import logging

from adarl_tf import files
from adarl_tf.config import DOMAIN_PROBS, EMOTION_PROBS, SPEAKER_STATS, WAVEFORM
from adarl_tf.export import exporter, inference_graph, runners
from adarl_tf.export.serving import write_graph

FORMATS = ("saved_model", "tflite", "tflite_fp16", "tflite_dynamic")
DEFAULT_FORMATS = FORMATS


class MeanRunner:
    """The mean of several runners' outputs: the ensemble as `benchmarks/ensemble.py`
    scores it, independent of the exported graph (parity's reference).

    Args:
        members: runners (`runners.KerasRunner`, ...) with one segment length;
            each gets `speaker_stats` only if it takes them.
    """

    format = "keras"

    def __init__(self, members):
        self.members = list(members)
        self.segment_samples = self.members[0].segment_samples
        self.stats_shape = next((m.stats_shape for m in self.members if m.stats_shape), None)
        self.n_classes = self.members[0].n_classes

    def __call__(self, segments, speaker_stats=None):
        outs = [m(segments, speaker_stats if m.stats_shape else None) for m in self.members]
        result = {EMOTION_PROBS: np.mean([o[EMOTION_PROBS] for o in outs], axis=0)}
        domain = [o[DOMAIN_PROBS] for o in outs if DOMAIN_PROBS in o]
        if domain:
            result[DOMAIN_PROBS] = np.mean(domain, axis=0)
        return result


def ensemble_serving(models):
    """One functional model averaging the members' (fused) serving graphs.

    Args:
        models: `ADARLModel`s, checked by `check_members`.

    Returns:
        `keras.Model` named "serving": `waveform` (and `speaker_stats` if a
        member takes them) -> `emotion_probs` (and `domain_probs` if a member
        has a domain head), each the members' mean.
    """
    import keras
    members = [inference_graph.fuse(runners.serving_model(m), "float") for m in models]
    shapes = [runners.input_shapes(m) for m in members]  # (segment_samples, stats_shape).
    segment_samples = shapes[0][0]
    stats_shape = next((stats for _, stats in shapes if stats is not None), None)
    waveform = keras.Input((segment_samples,), name=WAVEFORM)
    inputs = {WAVEFORM: waveform}
    if stats_shape is not None:
        inputs[SPEAKER_STATS] = keras.Input(stats_shape, name=SPEAKER_STATS)
    outputs = {EMOTION_PROBS: [], DOMAIN_PROBS: []}
    for i, member in enumerate(members):
        # Each member under its own name: the members' layers share names.
        member = keras.Model(member.input, member.output, name=f"member_{i}")
        out = member(inputs if isinstance(member.input, dict) else waveform)
        for key in outputs:
            if key in out:
                outputs[key].append(out[key])
    means = {key: keras.layers.Average(name=key)(probs) if len(probs) > 1 else probs[0]
             for key, probs in outputs.items() if probs}
    return keras.Model(inputs if stats_shape is not None else waveform, means, name="serving")


def check_members(loaded):
    """Refuses members that cannot share one input and one output.

    Args:
        loaded: [(run_dir, FoldResult, ExperimentConfig, model)].

    Raises:
        exporter.ExportError: naming the member that differs from the first, and how.
    """
    if len(loaded) < 2:
        raise exporter.ExportError("an ensemble needs at least two fold folders in --run_dir")
    first_dir, first, first_config, _ = loaded[0]

    def same(run_dir, what, got, want):
        if got != want:
            raise exporter.ExportError(
                f"{run_dir}: {what} {got!r}, but {first_dir} has {want!r}; an ensemble's "
                "members are the same fold of runs on one corpus, cut alike (same "
                "sample rate, segment_s, min_tail_s and tail)")

    speaker_frontends = {}
    for run_dir, result, config, _ in loaded:
        frontend, data = config.model.frontend, config.data
        same(run_dir, "fold", result.fold, first.fold)
        same(run_dir, "test speaker", result.test_speaker, first.test_speaker)
        same(run_dir, "dataset", data.dataset, first_config.data.dataset)
        same(run_dir, "classes", list(result.labels), list(first.labels))
        for field in ("sample_rate_hz", "segment_samples"):
            same(run_dir, field, getattr(frontend, field),
                 getattr(first_config.model.frontend, field))
        same(run_dir, "min_tail_s", data.min_tail_s, first_config.data.min_tail_s)
        same(run_dir, "tail", data.tail, first_config.data.tail)
        if result.domain_labels and first.domain_labels:
            same(run_dir, "domain classes", list(result.domain_labels),
                 list(first.domain_labels))
        if frontend.normalization == "speaker":
            speaker_frontends[run_dir] = frontend
    if len({repr(f) for f in speaker_frontends.values()}) > 1:
        raise exporter.ExportError(
            "speaker-normalised members with different frontends ("
            + ", ".join(map(str, speaker_frontends)) + "): they would need different "
            "speaker statistics, and the ensemble has one speaker_stats input; train "
            "them with the same frontend flags")


def export_ensemble(run_dirs, formats=DEFAULT_FORMATS, out_dir=None, data_dir=None):
    """Exports the ensemble of one fold of several runs, checks parity, writes the card.

    Args:
        run_dirs: fold folders (`<out_dir>/fold_NN`), the same fold of each run.
        formats: iterable of str, from `FORMATS`.
        out_dir: str or path-like. Defaults to `<first run_dir>/export_ensemble`.
        data_dir: str or None. Overrides the corpus folder the runs recorded.

    Returns:
        The model card dict (also written to `model_card.json`).

    Raises:
        exporter.ExportError: a member missing, damaged or unlike the others, an
            unknown format, or (`ParityError`) a float file that disagrees with
            the members' mean on more than 1 % of the test utterances.
    """
    formats = list(formats)
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown or not formats:
        raise exporter.ExportError(
            f"--formats={','.join(formats)}: an ensemble is exported as "
            f"{', '.join(FORMATS)} (tflite_int8 and onnx: one fold at a time)")
    run_dirs = [pathlib.Path(d) for d in run_dirs]
    loaded = [(d, *exporter._load_fold(d)) for d in run_dirs]
    check_members(loaded)
    models = [model for *_, model in loaded]
    # The member whose frontend makes the speaker statistics (and is recorded for
    # enrolment), else the first.
    _, result, config, stats_model = next(
        (m for m in loaded if m[2].model.frontend.normalization == "speaker"), loaded[0])
    corpus = exporter._corpus(config.data, data_dir)
    split = exporter._fold_split(corpus, result)
    out_dir = pathlib.Path(out_dir) if out_dir is not None else run_dirs[0] / "export_ensemble"
    logging.info("Exporting the ensemble of %d runs, fold %d (%s, test speaker %s), to %s",
                 len(models), result.fold, corpus.name, split.name, out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)  # Only once every input has been checked.

    min_tail = exporter._min_tail(config)
    saved_model_dir = out_dir / ("saved_model" if "saved_model" in formats
                                 else ".saved_model_for_tflite")
    write_graph(ensemble_serving(models), saved_model_dir, min_tail, config.data.tail)
    written = {"saved_model": "saved_model"} if "saved_model" in formats else {}
    # No full-integer format here, so the calibration arguments are never read.
    written.update(exporter._write_tflite(None, config, None, formats, out_dir,
                                          saved_model_dir, 0, 0, ()))
    reference = MeanRunner([runners.KerasRunner(m) for m in models])
    figures, pooled_figures, pooled = exporter._check_parity(
        stats_model, config, result, split.test, out_dir, written, saved_model_dir,
        scratch="saved_model" not in formats, reference=reference)
    if pooled is not None:
        exporter.write_pooled_profile(stats_model, out_dir,
                                      f"pooled statistics of the training speakers of fold "
                                      f"{result.fold} ({corpus.name})")
    card = _ensemble_card(loaded, result, config, corpus.name, written, out_dir, figures)
    if pooled_figures is not None:
        card.update(exporter._speaker_stats_card(config, pooled_figures))
    files.write_json(out_dir / "model_card.json", card)
    files.write_text(out_dir / "labels.txt", "\n".join(card["labels"]) + "\n")
    exporter._make_readable(out_dir)
    logging.info("Wrote %s", ", ".join(sorted(written.values())))
    return card


def _ensemble_card(loaded, result, config, corpus_name, written, out_dir, figures):
    """A single fold's model card, with the ensemble's own figures and its members."""
    card = exporter._model_card(result, config, corpus_name, written, out_dir, figures, ())
    variants = [c.model.variant for _, _, c, _ in loaded]
    card.pop("int8")
    card["model"] = (f"ensemble of {len(loaded)} ADARL models ({', '.join(variants)}): "
                     "the mean of their probabilities")
    if "adarl" in variants:  # The mean of the members' domain heads.
        _, with_domain, domain_config, _ = next(m for m in loaded
                                                if m[2].model.variant == "adarl")
        card["outputs"][DOMAIN_PROBS] = ["batch", domain_config.model.n_domains]
        card["domain"] = with_domain.domain
        card["domain_labels"] = list(with_domain.domain_labels)
    card["fold_wa"], card["fold_ua"] = figures["keras"]["wa"], figures["keras"]["ua"]
    card["fold_scores"] = ("the members' Keras models averaged on the test speaker's "
                           "utterances (parity.json's keras row)")
    card["members"] = [{"run_dir": str(d), "variant": c.model.variant,
                        "normalization": c.model.frontend.normalization,
                        "fold_wa": r.wa, "fold_ua": r.ua}
                       for d, r, c, _ in loaded]
    return card
