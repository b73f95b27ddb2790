"""One interface over the model formats: score segments, score utterances.

`load_runner(path)` returns a runner for a `.keras` file, a SavedModel folder,
a `.tflite` file or a `.onnx` file (ONNX Runtime). Every runner maps a float32
`(k, segment_samples)` batch of segments to `{"emotion_probs": (k,
n_emotions), "domain_probs": ...}`, and
`score_utterance` turns one waveform of any length into the utterance's
probabilities with the training pipeline's segmentation rule and mean
(`pipelines/plan.py`, `training.predict_utterances`), so that the parity
check, `predict` and the phone app all score an utterance the same way.

A speaker-normalised model (`FrontendConfig.normalization="speaker"`) has a
second input, `speaker_stats`: a runner's `stats_shape` is its shape for one
segment (None for the paper's model), and `runner(segments, speaker_stats)`
takes one row of statistics per segment.

`load_runner` is the one place that opens a model file for scoring (`predict`,
`adarl_tf.load`, the exporter's own files) and `load_keras_model` the one that
opens a `.keras` file (also the exporter's input): a file that cannot be used,
whatever the loader underneath raised, is a `ModelError` that names the file,
why and the fix.
"""

import pathlib
import zipfile

import numpy as np
from absl import logging

# No Keras or TensorFlow at import: a TFLite or ONNX runtime needs neither (each
# runner imports its own runtime).
from adarl_tf.config import DOMAIN_PROBS, EMOTION_PROBS, SPEAKER_STATS, WAVEFORM
from adarl_tf.pipelines.plan import Cut, starts
from adarl_tf.pipelines.render_numpy import read_window

SERVING_SIGNATURE = "serving_default"
OUTPUTS = (EMOTION_PROBS, DOMAIN_PROBS)
KERAS_FIX = ("restore the file, or train the fold again (`python -m adarl_tf.main`, which "
             "writes fold_NN/model.keras)")
EXPORT_FIX = ("export the model again (`python -m adarl_tf.export`) or restore the file")


class ModelError(ValueError):
    """A model file or folder that cannot be used; the message names it, why and the fix."""


def _detail(error):
    """The first line of a loader's error, short: the reason shown in a `ModelError`."""
    text = str(error.args[0]) if isinstance(error, KeyError) and error.args else str(error)
    line = (text.strip().splitlines() or [""])[0]
    line = line if len(line) <= 160 else line[:157] + "..."
    return f"{type(error).__name__}: {line}" if line else type(error).__name__


def load_keras_model(path):
    """The ADARL model in a `.keras` file, loaded in Keras' safe mode.

    Raises:
        ModelError: not a `.keras` archive, a damaged one, or a Keras model
            that is not an `ADARLModel`.
    """
    import keras

    import adarl_tf.model  # noqa: F401  Registers ADARL's layers for loading.
    path = pathlib.Path(path)
    # Keras reports a file that is not a zip archive as "File not found"; say what it is.
    if not zipfile.is_zipfile(path):
        raise ModelError(f"{path}: not a .keras file (not a zip archive: damaged, cut short "
                         f"or another format); {KERAS_FIX}")
    try:
        model = keras.saving.load_model(path, compile=False)
    except Exception as e:  # noqa: BLE001  A damaged archive fails in many ways (KeyError...).
        raise ModelError(f"{path}: not a readable .keras model ({_detail(e)}); "
                         f"{KERAS_FIX}") from None
    if not hasattr(model, "model_config"):
        raise ModelError(f"{path}: a Keras model, but not an ADARL one ({type(model).__name__} "
                         "without a model_config); give a model.keras written by `python -m "
                         "adarl_tf.main` or one of its exports")
    return model


def segment_array(waveform, segment_samples, min_tail_samples, tail="pad"):
    """(k, segment_samples) segments of one waveform by the scoring cut (`pipelines/plan.py`)."""
    waveform = np.asarray(waveform, np.float32)
    cut = Cut(segment_samples, min_tail_samples, tail)
    return np.stack([read_window(waveform, s, 1.0, segment_samples)[0]
                     for s in starts(len(waveform), cut)])


def adaptation_batches(waveforms, segment_samples, stats_shape, min_tail_samples, tail="pad",
                       speaker_stats=None):
    """One speaker's recordings as `precise_bn.speaker_adapted` takes them.

    Every window the scoring cut gives (`segment_array`), recording after
    recording, in batches of `precise_bn.ADAPTATION_BATCH`, as the model's input
    (`model_input`): the batches training's `--speaker_bn` makes of a test
    speaker's utterances, so a recording scores as it would there.

    Returns:
        (list of input batches, number of windows).
    """
    from adarl_tf import precise_bn
    windows = np.concatenate([segment_array(w, segment_samples, min_tail_samples, tail)
                              for w in waveforms])
    stats = (None if speaker_stats is None else
             np.repeat(np.asarray(speaker_stats, np.float32)[None], len(windows), 0))
    inputs = model_input(windows, stats, stats_shape)
    if stats_shape is None:
        inputs = inputs[WAVEFORM]
    return precise_bn.batches_of(inputs, precise_bn.ADAPTATION_BATCH, len(windows)), len(windows)


def serving_model(model):
    """The inference graph of a trained `ADARLModel`: waveform -> probabilities.

    A functional sub-model from the model's input to its `emotion_probs`
    output, plus `domain_probs` for "adarl", whose domain pathway runs at
    inference anyway (its attention rescales the emotion maps). Keras keeps
    only the layers these outputs depend on, so the center-loss centres and
    the deep-feature and attention outputs are left out, and so is the
    "domain_invariant" adversary with its gradient reversal (a training-only
    head); there is no optimiser.

    Args:
        model: `ADARLModel`.

    Returns:
        `keras.Model` named "serving", outputs a dict.
    """
    import keras
    keep = OUTPUTS if model.model_config.variant == "adarl" else OUTPUTS[:1]
    outputs = {k: model.output[k] for k in keep if k in model.output}
    return keras.Model(model.input, outputs, name="serving")


def input_shapes(model):
    """(segment_samples, stats_shape or None) of a functional model's input(s)."""
    inputs = model.input if isinstance(model.input, dict) else {WAVEFORM: model.input}
    stats = inputs.get(SPEAKER_STATS)
    return (int(inputs[WAVEFORM].shape[-1]),
            None if stats is None else tuple(int(d) for d in stats.shape[1:]))


def model_input(segments, speaker_stats, stats_shape):
    """The named float32 inputs of one batch: {"waveform": ...[, "speaker_stats": ...]}.

    Raises:
        ValueError: statistics missing for a speaker-normalised model, given
            to one that takes none, or of the wrong shape.
    """
    segments = np.asarray(segments, np.float32)
    if (speaker_stats is None) != (stats_shape is None):
        raise ValueError("this model normalises with a speaker's statistics; give them"
                         if speaker_stats is None else
                         "this model normalises each segment on its own and takes no "
                         "speaker statistics")
    if speaker_stats is None:
        return {WAVEFORM: segments}
    speaker_stats = np.asarray(speaker_stats, np.float32)
    if speaker_stats.shape != (len(segments),) + tuple(stats_shape):
        raise ValueError(f"speaker statistics of shape {speaker_stats.shape}; expected "
                         f"{(len(segments),) + tuple(stats_shape)}")
    return {WAVEFORM: segments, SPEAKER_STATS: speaker_stats}


class KerasRunner:
    """Runs a `.keras` file (or an in-memory model) through its serving graph.

    Args:
        model: path of a `.keras` file, or an `ADARLModel`.
    """

    format = "keras"

    def __init__(self, model):
        import keras
        if not isinstance(model, keras.Model):
            model = load_keras_model(model)
        self.model = serving_model(model)
        self.frontend = model.model_config.frontend
        self.segment_samples, self.stats_shape = input_shapes(self.model)
        self.n_classes = int(self.model.output[EMOTION_PROBS].shape[-1])

    def __call__(self, segments, speaker_stats=None):
        x = model_input(segments, speaker_stats, self.stats_shape)
        out = self.model(x if self.stats_shape else x[WAVEFORM], training=False)
        return {k: np.asarray(v) for k, v in out.items()}

    def pooled_stats(self):
        """The training speakers' pooled statistics, kept in the `Spectrogram` layer."""
        return np.asarray(self.model.get_layer("spectrogram").pooled_stats)


class SavedModelRunner:
    """Runs the `serving_default` signature of an exported SavedModel.

    Args:
        path: str or path-like. The SavedModel folder.
    """

    format = "saved_model"

    def __init__(self, path):
        import tensorflow as tf
        self.loaded = tf.saved_model.load(str(path))
        self.signature = self.loaded.signatures[SERVING_SIGNATURE]
        specs = self.signature.structured_input_signature[1]
        self.segment_samples = int(specs[WAVEFORM].shape[-1])
        self.stats_shape = (tuple(int(d) for d in specs[SPEAKER_STATS].shape[1:])
                            if SPEAKER_STATS in specs else None)
        self.n_classes = int(self.signature.structured_outputs[EMOTION_PROBS].shape[-1])
        self._tf = tf

    def __call__(self, segments, speaker_stats=None):
        x = model_input(segments, speaker_stats, self.stats_shape)
        out = self.signature(**{k: self._tf.constant(v) for k, v in x.items()})
        return {k: v.numpy() for k, v in out.items()}


class TFLiteRunner:
    """Runs a `.tflite` file in LiteRT's interpreter, one segment per call.

    One segment per call is what the phone app does; it also keeps the
    interpreter's tensors allocated once, so repeated calls measure inference
    only (the latency benchmark uses `invoke_one`).

    Args:
        model: path of a `.tflite` file, or its bytes.
        num_threads: int or None. CPU threads for the interpreter. Defaults to
            LiteRT's choice.
        xnnpack_fallback: bool. If XNNPACK, LiteRT's default CPU delegate,
            refuses the file (an int8 file exported before the exporter kept
            such products float32: export/tflite.py), score it with LiteRT's
            builtin kernels and warn; False raises `ModelError`. The exporter's
            parity check keeps it False, as the phone has no fallback.

    Raises:
        ModelError: XNNPACK refuses the file and `xnnpack_fallback` is False.
    """

    format = "tflite"

    def __init__(self, model, num_threads=None, xnnpack_fallback=False):
        from ai_edge_litert import interpreter as litert
        source = ({"model_content": bytes(model)} if isinstance(model, (bytes, bytearray))
                  else {"model_path": str(model)})
        name = "the TFLite model" if "model_content" in source else str(model)
        self._open(litert.Interpreter(**source, num_threads=num_threads))
        try:
            self.invoke_one(*self._zeros())  # XNNPACK builds its runtime at the first call.
        except RuntimeError as e:
            if "XNNPACK" not in str(e):
                raise
            why = (f"XNNPACK (LiteRT's default CPU delegate, a phone's too) cannot run {name}: "
                   "an int8 product's requantisation scale is out of its range "
                   "(export/tflite.py, xnnpack_refused)")
            if not xnnpack_fallback:
                raise ModelError(f"{why}; export the model again with this version "
                                 "(`python -m adarl_tf.export`), which keeps such products "
                                 "float32") from e
            logging.warning("%s; scoring it with LiteRT's builtin kernels instead. Export it "
                            "again for a phone.", why)
            self._open(litert.Interpreter(
                **source, num_threads=num_threads,
                experimental_op_resolver_type=litert.OpResolverType
                .BUILTIN_WITHOUT_DEFAULT_DELEGATES))

    def _open(self, interpreter):
        self.interpreter = interpreter
        self.runner = self.interpreter.get_signature_runner(SERVING_SIGNATURE)
        details = self.runner.get_input_details()
        self.segment_samples = int(details[WAVEFORM]["shape"][-1])
        self.stats_shape = (tuple(int(d) for d in details[SPEAKER_STATS]["shape"][1:])
                            if SPEAKER_STATS in details else None)
        self.input_dtype = details[WAVEFORM]["dtype"]
        self.n_classes = int(self.runner.get_output_details()[EMOTION_PROBS]["shape"][-1])

    def _zeros(self):
        """A silent segment (and statistics), the input of the first call."""
        segment = np.zeros((1, self.segment_samples), self.input_dtype)
        return segment, None if self.stats_shape is None else np.ones(
            (1,) + self.stats_shape, np.float32)

    def invoke_one(self, segment, speaker_stats=None):
        """Scores one `(1, segment_samples)` float32 segment (and its `(1,) + stats_shape`
        statistics, for a speaker-normalised model)."""
        if speaker_stats is None:
            return self.runner(waveform=segment)
        return self.runner(waveform=segment, speaker_stats=speaker_stats)

    def __call__(self, segments, speaker_stats=None):
        x = model_input(segments, speaker_stats, self.stats_shape)
        stats = x.get(SPEAKER_STATS)
        rows = [self.invoke_one(x[WAVEFORM][i:i + 1], None if stats is None else stats[i:i + 1])
                for i in range(len(x[WAVEFORM]))]
        return {k: np.concatenate([r[k] for r in rows]) for k in rows[0]}

    def op_names(self):
        """The builtin or custom op name of every node in the graph."""
        return [d["op_name"] for d in self.interpreter._get_ops_details()]


class OnnxRunner:
    """Runs a `.onnx` file (`export/onnx.py`) in ONNX Runtime, on the CPU.

    Args:
        model: path of a `.onnx` file, or its bytes.
        num_threads: int or None. Intra-op threads. Defaults to ONNX Runtime's choice.
    """

    format = "onnx"

    def __init__(self, model, num_threads=None):
        import onnxruntime as ort
        options = ort.SessionOptions()
        if num_threads:
            options.intra_op_num_threads = int(num_threads)
            options.inter_op_num_threads = 1
        source = bytes(model) if isinstance(model, (bytes, bytearray)) else str(model)
        self.session = ort.InferenceSession(source, options,
                                            providers=["CPUExecutionProvider"])
        inputs = {i.name: i.shape for i in self.session.get_inputs()}
        self.segment_samples = int(inputs[WAVEFORM][-1])
        self.stats_shape = (tuple(int(d) for d in inputs[SPEAKER_STATS][1:])
                            if SPEAKER_STATS in inputs else None)
        self.output_names = [o.name for o in self.session.get_outputs()]
        self.n_classes = int({o.name: o.shape for o in self.session.get_outputs()}[
            EMOTION_PROBS][-1])

    def __call__(self, segments, speaker_stats=None):
        x = model_input(segments, speaker_stats, self.stats_shape)
        return dict(zip(self.output_names, self.session.run(self.output_names, x)))


def load_runner(path, num_threads=None):
    """A runner for a `.keras` file, a SavedModel folder, a `.tflite` or `.onnx` file.

    Args:
        path: str or path-like.
        num_threads: int or None. TFLite interpreter (or ONNX Runtime) threads.

    Returns:
        `KerasRunner`, `SavedModelRunner`, `TFLiteRunner` or `OnnxRunner`; each
        has `segment_samples`, `stats_shape` and `n_classes`.

    Raises:
        ModelError: the path is none of these, or a damaged file of one (or
            another kind of model), with the file, why and the fix.
    """
    path = pathlib.Path(path)
    if path.is_dir():
        if not (path / "saved_model.pb").exists():
            raise ModelError(f"{path} is a folder without saved_model.pb; --model takes "
                             "a .keras file, a SavedModel folder, a .tflite or .onnx file")
        kind, make = "SavedModel", lambda: SavedModelRunner(path)
    elif not path.exists():
        raise ModelError(f"{path}: no such file or folder")
    elif path.suffix == ".keras":
        return KerasRunner(path)  # load_keras_model says what is wrong with the file.
    elif path.suffix == ".tflite":
        kind, make = "TFLite model", lambda: TFLiteRunner(path, num_threads=num_threads,
                                                          xnnpack_fallback=True)
    elif path.suffix == ".onnx":
        try:
            import onnxruntime  # noqa: F401
        except ImportError:
            raise ModelError(f"{path}: running an ONNX file needs onnxruntime: pip install "
                             "onnxruntime") from None
        kind, make = "ONNX model", lambda: OnnxRunner(path, num_threads=num_threads)
    else:
        raise ModelError(f"{path}: unknown model format {path.suffix!r}; expected .keras, "
                         ".tflite, .onnx or a SavedModel folder")
    try:
        return make()
    except Exception as e:  # noqa: BLE001  Damaged bytes fail in each runtime's own way.
        # A KeyError here is a model without ADARL's signature, input or output names.
        raise ModelError(f"{path}: not a readable ADARL {kind} ({_detail(e)}); "
                         f"{EXPORT_FIX}") from None


def score_utterance(runner, waveform, min_tail_samples, speaker_stats=None, tail="pad"):
    """Utterance probabilities: the mean over its segments, as in training.

    Args:
        runner: a runner from `load_runner`.
        waveform: float32 `(n,)` at the model's rate.
        min_tail_samples: int. The tail policy of the fold's `DataConfig`.
        speaker_stats: `runner.stats_shape` float32 array, the speaker's
            statistics, given to every segment; None for the paper's model.
        tail: str. `DataConfig.tail` ("pad" or "overlap").

    Returns:
        Dict of `(n_classes,)` arrays (`emotion_probs`, maybe `domain_probs`)
        and `n_segments`.
    """
    segments = segment_array(waveform, runner.segment_samples, min_tail_samples, tail)
    if speaker_stats is None:
        out = runner(segments)
    else:
        out = runner(segments, np.repeat(np.asarray(speaker_stats, np.float32)[None],
                                         len(segments), 0))
    result = {k: v.astype(np.float64).mean(axis=0) for k, v in out.items() if k in OUTPUTS}
    result["n_segments"] = len(segments)
    return result
