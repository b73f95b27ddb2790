"""SavedModel -> TFLite, builtin ops only, in four numeric formats.

| format         | file                     | weights  | activations | in / out |
|----------------|--------------------------|----------|-------------|----------|
| `tflite`       | model_float32.tflite     | float32  | float32     | float32  |
| `tflite_fp16`  | model_float16.tflite     | float16 (>= 1024 values; smaller constants float32) | float32 | float32 |
| `tflite_dynamic` | model_dynamic_int8.tflite | int8   | float32 (int8 matmuls on the fly) | float32 |
| `tflite_int8`  | model_int8.tflite        | int8     | int8 from trunk unit 2 on; float32 frontend (int8 DFT weights) and unit 1 | float32 |

Integer, and where it stops. The network from unit 2 of each trunk on (and
the attention and heads) is calibrated on training segments and runs int8
kernels. The spectrogram frontend (DFT, power, log, z-score) stays float32: the power of a
frame spans more than ten decades between silence and speech, which 8 bits
cannot hold, and fully quantised the model agreed with Keras on the class of
only 3 of 8 test utterances of a small fold (100 % with the float frontend).
The frontend's nodes are kept in float with the quantisation debugger's
`denylisted_nodes` (selective quantisation), and so is the first unit of each
trunk (`INT8_FLOAT_SCOPES` says why: speed); everything from unit 2 on is int8.

The int8 model keeps **float32 input and output**: the phone app passes raw
audio in [-1, 1] and reads probabilities, with no scale or zero point to
apply.

Every conversion allows builtin ops only (`TFLITE_BUILTINS`), so it fails
loudly if an op would need the Flex (TensorFlow) delegate; `check_builtin_only`
re-checks the written flatbuffer.
"""

import re

import numpy as np

# format name -> (file name, quantization)
TFLITE_FORMATS = {
    "tflite": ("model_float32.tflite", "float32"),
    "tflite_fp16": ("model_float16.tflite", "float16"),
    "tflite_dynamic": ("model_dynamic_int8.tflite", "dynamic_int8"),
    "tflite_int8": ("model_int8.tflite", "int8"),
}
QUANTIZATIONS = tuple(q for _, q in TFLITE_FORMATS.values())
# Name scope of the `Spectrogram` layer in the converted graph (model.py names it).
FRONTEND_SCOPE = "/spectrogram"
# Tensors kept float32 in the full-integer model (regular expressions on tensor
# names): the frontend, and the first unit of each trunk, whose convolutions
# read 3 input channels: XNNPACK's int8 kernels took 22.9 ms for such a unit
# on this x86 CPU against 6.7 ms in float32 (with 32 input channels, unit 2,
# int8 is faster: 8.9 against 11.2 ms).
INT8_FLOAT_SCOPES = (re.escape(FRONTEND_SCOPE), r"_unit1(_\d+)?/")


class ConversionError(RuntimeError):
    """The model could not be converted to builtin TFLite ops."""


def convert(saved_model_dir, quantization, representative_segments=None,
            float_scopes=INT8_FLOAT_SCOPES):
    """Converts the SavedModel's `serving_default` signature to TFLite.

    Args:
        saved_model_dir: str or path-like. Written by `serving.write_saved_model`.
        quantization: str. One of `QUANTIZATIONS`.
        representative_segments: float32 `(n, segment_samples)` array, the
            calibration set; required for "int8". Draw it from training
            segments, never from the test speaker.
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
        if representative_segments is None or len(representative_segments) == 0:
            raise ValueError("full-integer int8 needs representative_segments")
        segments = np.asarray(representative_segments, np.float32)

        def representative_dataset():
            for segment in segments:
                yield {"waveform": segment[None]}

        converter.representative_dataset = representative_dataset
        converter.inference_input_type = tf.float32
        converter.inference_output_type = tf.float32
    try:
        if quantization == "int8":
            content = _int8_with_float_frontend(tf, saved_model_dir, converter, segments,
                                                float_scopes)
            # The float frontend's DFT bases as int8 weights (a quarter of the size).
            content, _ = weights.compress_weights(
                content, "int8", select=lambda name: FRONTEND_SCOPE in name)
        elif quantization == "float16":
            content, _ = weights.compress_weights(converter.convert(), "float16")
        else:
            content = converter.convert()
    except Exception as e:  # The converter raises several types; one message.
        raise ConversionError(f"TFLite conversion ({quantization}, builtin ops only) "
                              f"failed: {e}") from e
    check_builtin_only(content)
    return content


def _int8_with_float_frontend(tf, saved_model_dir, converter, segments,
                              float_scopes=INT8_FLOAT_SCOPES):
    """Full-integer conversion with the frontend (and `float_scopes`) kept float32."""
    from ai_edge_litert import interpreter as litert

    from adarl_tf.export.runners import SERVING_SIGNATURE

    # The frontend's tensor names, read from a float conversion of the same graph.
    float_converter = tf.lite.TFLiteConverter.from_saved_model(
        str(saved_model_dir), signature_keys=[SERVING_SIGNATURE])
    float_converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    names = [t["name"] for t in litert.Interpreter(
        model_content=float_converter.convert()).get_tensor_details()]
    frontend = [n for n in names if any(re.search(p, n) for p in float_scopes)]
    if not any(FRONTEND_SCOPE in n for n in frontend):
        raise ConversionError(f"no tensor named *{FRONTEND_SCOPE}* in the float graph; "
                              "cannot keep the frontend in float32")
    debugger = tf.lite.experimental.QuantizationDebugger(
        converter=converter,
        debug_dataset=lambda: ({"waveform": s[None]} for s in segments[:1]),
        debug_options=tf.lite.experimental.QuantizationDebugOptions(
            denylisted_nodes=frontend))
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
