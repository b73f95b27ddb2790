"""SavedModel -> TFLite, builtin ops only, in four numeric formats.

| format         | file                     | weights  | activations | in / out |
|----------------|--------------------------|----------|-------------|----------|
| `tflite`       | model_float32.tflite     | float32  | float32     | float32  |
| `tflite_fp16`  | model_float16.tflite     | float16 (>= 1024 values; smaller constants float32) | float32 | float32 |
| `tflite_dynamic` | model_dynamic_int8.tflite | int8   | float32 (int8 matmuls on the fly) | float32 |
| `tflite_int8`  | model_int8.tflite        | int8     | int8 trunks, attention and heads; float32 frontend whose DFT products run int8 (hybrid) | float32 |

Integer, and where it stops. The two trunks, the attention and the heads are
calibrated on training segments and run int8 kernels. The spectrogram
frontend (DFT, power, log, z-score) stays float32: the power of a frame spans
more than ten decades between silence and speech, which 8 bits cannot hold,
and fully quantised the model agreed with Keras on the class of only 3 of 8
test utterances of a small fold (100 % with the float frontend). Its nodes
are kept in float with the quantisation debugger's `denylisted_nodes`
(selective quantisation, `INT8_FLOAT_SCOPES`). Its three DFT products (most
of its arithmetic, `framed_spectrogram.py`) then get int8 weights in place
(`weights.hybrid_fully_connected`): float32 frames in, quantised to int8 at
run time with one scale per frame (so a quiet frame keeps its 8 bits), int8
products, float32 out.

The int8 model is converted from the same weights in another layout
(`inference_graph.fuse(..., layout="int8")`): 2 x 2 average pools as depthwise
convolutions, and the first unit of both trunks as one convolution over the
spectrogram with its frequency taps moved into channels. Why (LiteRT with
XNNPACK; the per-unit and whole-model timings are in BUILD.md, "Inference
graph timings"):

* XNNPACK has no int8 AVERAGE_POOL_2D: the 12 int8 2 x 2 pools ran on
  TFLite's own kernel and cut the int8 graph into 10 delegate partitions.
  As depthwise convolutions they are delegated.
* A 3-channel int8 convolution is slow in XNNPACK (slower than float32;
  hence unit 1 used to stay float32). With the 5 frequency taps as 15
  channels and a 1 x 5 kernel it is faster than float32.
* The DFT as FULLY_CONNECTED with int8 weights is faster than in float32;
  as a convolution the hybrid form is slower than float32, so only the
  FULLY_CONNECTED form pays.

The int8 model gives Keras' class on the test utterances (the exporter's
parity check) and runs in about a third of float32's time.

XNNPACK, LiteRT's default CPU delegate (the phone's too), prepares an int8
product only if its requantisation scale, input scale x weight scale / output
scale, lies in [2^-32, 256) for every output channel; otherwise the
interpreter fails at its first invoke ("failed to create XNNPACK runtime").
A product whose calibrated output is (nearly) always zero gets a tiny output
scale and breaks the bound: ADARL's attention squeeze with every ReLU dead on
the calibration segments did, in a test fold trained on one core. The int8
conversion checks the bound (`xnnpack_refused`) and keeps such products float32
(converted again with them denylisted too); `float32_products` lists them.

The int8 model keeps **float32 input and output**: the phone app passes raw
audio in [-1, 1] and reads probabilities, with no scale or zero point to
apply.

Every conversion allows builtin ops only (`TFLITE_BUILTINS`), so it fails
loudly if an op would need the Flex (TensorFlow) delegate; `check_builtin_only`
re-checks the written flatbuffer.
"""

import re

import numpy as np
from absl import logging

from adarl_tf.layers.spectrogram import MEL_SCOPE as MEL

# format name -> (file name, quantization)
TFLITE_FORMATS = {
    "tflite": ("model_float32.tflite", "float32"),
    "tflite_fp16": ("model_float16.tflite", "float16"),
    "tflite_dynamic": ("model_dynamic_int8.tflite", "dynamic_int8"),
    "tflite_int8": ("model_int8.tflite", "int8"),
}
QUANTIZATIONS = tuple(q for _, q in TFLITE_FORMATS.values())
# Name scopes of the `Spectrogram` layers in the converted graph (model.py names
# them): "spectrogram", and "domain_spectrogram" (ADARL's domain pathway under
# speaker normalisation), as a regular expression on tensor names.
FRONTEND_SCOPE = r"/(domain_)?spectrogram"
# Tensors kept float32 in the full-integer model (regular expressions on tensor
# names): the frontend only. (The first unit of each trunk stayed float32
# until its int8 layout, `inference_graph.JointMultiScaleConv`, made it faster in int8.)
INT8_FLOAT_SCOPES = (FRONTEND_SCOPE,)
# Name scope of the mel product inside the frontend (layers/spectrogram.py). Its
# input, spectral power, spans more decades across bands than 8 bits quantised
# per frame keep (the compact preset's z-scores moved by 1.4 on average), so it
# stays a float32 product in every format; the DFT products read waveform frames.
MEL_SCOPE = f"/{MEL}/"
# XNNPACK's bound on an int8 product's requantisation scale (input scale x
# weight scale / output scale), checked when it creates the operator.
XNNPACK_REQUANTIZATION_RANGE = (2.0 ** -32, 256.0)
# The ops that XNNPACK runs as int8 products with a requantisation scale.
PRODUCT_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")


def _in_frontend(name):
    return re.search(FRONTEND_SCOPE, name) is not None


def _is_mel(name):
    return _in_frontend(name) and MEL_SCOPE in name


def _is_dft(name):
    return _in_frontend(name) and not _is_mel(name)


class ConversionError(RuntimeError):
    """The model could not be converted to builtin TFLite ops."""


def convert(saved_model_dir, quantization, representative_segments=None,
            float_scopes=INT8_FLOAT_SCOPES):
    """Converts the SavedModel's `serving_default` signature to TFLite.

    A speaker-normalised model's file has the signature's two inputs,
    `waveform` and `speaker_stats`, in every format.

    Args:
        saved_model_dir: str or path-like. Written by `serving.write_saved_model`.
        quantization: str. One of `QUANTIZATIONS`.
        representative_segments: float32 `(n, segment_samples)` array, the
            calibration set; required for "int8". Draw it from training
            segments, never from the test speaker. For a speaker-normalised
            model a dict `{"waveform": (n, segment_samples), "speaker_stats":
            (n,) + stats_shape}`: each segment with its speaker's statistics.
        float_scopes: regular expressions; tensors whose names match stay
            float32 in the "int8" model. Must cover the frontend.

    Returns:
        The `.tflite` flatbuffer as bytes.

    Raises:
        ConversionError: an op has no builtin kernel, or the file would need
            the Flex delegate.
        ValueError: unknown `quantization`, or "int8" without calibration data.
    """
    import tensorflow as tf

    from adarl_tf.export import weights
    from adarl_tf.export.runners import SERVING_SIGNATURE

    if quantization not in QUANTIZATIONS:
        raise ValueError(f"quantization={quantization!r}; expected one of {QUANTIZATIONS}")
    converter = tf.lite.TFLiteConverter.from_saved_model(
        str(saved_model_dir), signature_keys=[SERVING_SIGNATURE])
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if quantization != "float32":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if quantization == "float16":
        # Converted as float32, then only the weights are stored as float16
        # (`weights.compress_weights`): the converter's own float16 mode also
        # rounds the frontend's 1e-10 log floor to 0 and returns NaN on silence.
        converter.optimizations = []
    elif quantization == "int8":
        segments = _calibration_rows(representative_segments)
        if not segments:
            raise ValueError("full-integer int8 needs representative_segments")
        converter.representative_dataset = lambda: iter(segments)
        converter.inference_input_type = tf.float32
        converter.inference_output_type = tf.float32
    try:
        if quantization == "int8":
            content = _int8_for_xnnpack(tf, saved_model_dir, converter, segments, float_scopes)
            # The frontend's DFT products with int8 weights, run as int8 products
            # (hybrid ops); any other large frontend constant int8 too.
            in_frontend = _in_frontend
            content, _ = weights.hybrid_fully_connected(content, select=_is_dft)
            content, _ = weights.compress_weights(content, "int8", select=in_frontend)
        elif quantization == "float16":
            content, _ = weights.compress_weights(converter.convert(), "float16")
        elif quantization == "dynamic_int8":
            # The mel product's input, spectral power, does not survive the
            # converter's int8 inputs (weights.float_fully_connected says why).
            content, _ = weights.float_fully_connected(converter.convert(), select=_is_mel)
        else:
            content = converter.convert()
    except Exception as e:  # The converter raises several types; one message.
        raise ConversionError(f"TFLite conversion ({quantization}, builtin ops only) "
                              f"failed: {e}") from e
    check_builtin_only(content)
    return content


def _calibration_rows(representative):
    """One `{input name: (1, ...) float32 array}` per calibration segment."""
    if representative is None:
        return []
    if not isinstance(representative, dict):
        representative = {"waveform": representative}
    arrays = {k: np.asarray(v, np.float32) for k, v in representative.items()}
    return [{k: v[i:i + 1] for k, v in arrays.items()} for i in range(len(arrays["waveform"]))]


def _int8_for_xnnpack(tf, saved_model_dir, converter, segments, float_scopes):
    """Full-integer conversion with the frontend float32, and any product XNNPACK would
    refuse (`xnnpack_refused`) float32 too."""
    float_nodes = _frontend_names(tf, saved_model_dir, float_scopes)
    for _ in range(3):  # Each round keeps the refused products float; one has sufficed.
        content = _int8_with_float_nodes(tf, converter, segments, float_nodes)
        refused = xnnpack_refused(content)
        if not refused:
            return content
        logging.warning("int8: XNNPACK cannot run %d product(s) whose calibrated output is "
                        "(nearly) constant; kept float32: %s", len(refused), refused)
        float_nodes = float_nodes + refused
    raise ConversionError(f"int8: XNNPACK still refuses {refused} with {float_nodes} kept "
                          "float32; export without tflite_int8 (--formats)")


def xnnpack_refused(content):
    """Output tensor names of the int8 products in a `.tflite` flatbuffer that XNNPACK
    refuses: a requantisation scale outside `XNNPACK_REQUANTIZATION_RANGE`."""
    low, high = XNNPACK_REQUANTIZATION_RANGE
    refused = []
    for tensors in _products(content):
        scales = [t["quantization_parameters"]["scales"] for t in tensors]
        if not all(t["dtype"] == np.int8 and len(s) for t, s in zip(tensors, scales)):
            continue  # Float, or hybrid (float input, int8 weights): no requantisation.
        x_scale, w_scales, y_scale = scales
        ratio = x_scale[0] * w_scales / y_scale[0]
        if np.any(ratio < low) or np.any(ratio >= high):
            refused.append(tensors[2]["name"])
    return refused


def float32_products(content):
    """Output tensor names of the products outside the frontend that read float32."""
    return [y["name"] for x, _, y in _products(content)
            if x["dtype"] == np.float32 and not _in_frontend(y["name"])]


def _products(content):
    """(input, weights, output) tensor details of each op of `PRODUCT_OPS`."""
    from ai_edge_litert import interpreter as litert
    interpreter = litert.Interpreter(
        model_content=content,
        experimental_op_resolver_type=litert.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    tensors = {t["index"]: t for t in interpreter.get_tensor_details()}
    return [(tensors[op["inputs"][0]], tensors[op["inputs"][1]], tensors[op["outputs"][0]])
            for op in interpreter._get_ops_details() if op["op_name"] in PRODUCT_OPS]


def _frontend_names(tf, saved_model_dir, float_scopes):
    """The names of the tensors that `float_scopes` (the frontend) match, read from a
    float conversion of the same graph."""
    from ai_edge_litert import interpreter as litert

    from adarl_tf.export.runners import SERVING_SIGNATURE

    float_converter = tf.lite.TFLiteConverter.from_saved_model(
        str(saved_model_dir), signature_keys=[SERVING_SIGNATURE])
    float_converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    names = [t["name"] for t in litert.Interpreter(
        model_content=float_converter.convert()).get_tensor_details()]
    frontend = [n for n in names if any(re.search(p, n) for p in float_scopes)]
    if not any(_in_frontend(n) for n in frontend):
        raise ConversionError(f"no tensor named *{FRONTEND_SCOPE}* in the float graph; "
                              "cannot keep the frontend in float32")
    return frontend


def _int8_with_float_nodes(tf, converter, segments, float_nodes):
    """Full-integer conversion with the tensors named in `float_nodes` kept float32
    (the quantisation debugger's `denylisted_nodes`)."""
    debugger = tf.lite.experimental.QuantizationDebugger(
        converter=converter,
        debug_dataset=lambda: iter(segments[:1]),
        debug_options=tf.lite.experimental.QuantizationDebugOptions(
            denylisted_nodes=list(float_nodes)))
    return debugger.get_nondebug_quantized_model()


def op_names(content):
    """Names of the operator codes a `.tflite` flatbuffer uses."""
    from ai_edge_litert import interpreter as litert
    interpreter = litert.Interpreter(model_content=content)
    return sorted({d["op_name"] for d in interpreter._get_ops_details()})


def check_builtin_only(content):
    """Raises `ConversionError` if the flatbuffer holds Flex or custom ops.

    LiteRT's interpreter names a Flex op "Flex<Name>" and reports custom ops
    by their custom name; builtin ops have upper-case names (CONV_2D, ...).
    `DELEGATE` nodes are XNNPACK's, added at load time.
    """
    bad = [n for n in op_names(content) if n.startswith("Flex") or not n.isupper()]
    if bad:
        raise ConversionError(f"the TFLite model needs non-builtin ops {bad}: it would "
                              "need the Flex delegate, which the phone build does not ship")
