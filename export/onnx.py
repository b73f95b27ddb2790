"""The ONNX file: the serving graph for ONNX Runtime (and any ONNX runtime).

`model.onnx` has the SavedModel's `serving_default` inputs and outputs, by
name: float32 `waveform` [batch, segment_samples] (and `speaker_stats`
[batch, 2, rows, spectrograms] for a speaker-normalised model) ->
`emotion_probs`, `domain_probs`. It is converted from the same fused serving
graph as the SavedModel (`inference_graph.fuse`, float layout) by Keras' own ONNX
export (`model.export(..., format="onnx")`), which runs tf2onnx under the
TensorFlow backend; the exporter's parity check scores it with ONNX Runtime.
Needs `tf2onnx` and `onnxruntime` (requirements.txt); both are imported only
here and in `runners.OnnxRunner`.
"""

import numpy as np

from adarl_tf import files
from adarl_tf.export import inference_graph
from adarl_tf.export.runners import SPEAKER_STATS, WAVEFORM, input_shapes, serving_model

ONNX_FILE = "model.onnx"


def write_onnx(model, path):
    """Writes the inference graph of `model` as an ONNX file at `path`, atomically.

    Args:
        model: `ADARLModel`.
        path: str or path-like.

    Returns:
        The (fused) serving `keras.Model` that was converted.

    Raises:
        ImportError: tf2onnx is not installed (with the pip command).
    """
    try:
        import tf2onnx  # noqa: F401  Keras' ONNX export needs it under TensorFlow.
    except ImportError:
        raise ImportError("the onnx format needs tf2onnx and onnxruntime: "
                          "pip install tf2onnx onnxruntime") from None
    serving = inference_graph.fuse(serving_model(model), "float")
    segment_samples, stats_shape = input_shapes(serving)
    # Keras exports a model that has been called (it reads the input specs from it).
    x = np.zeros((1, segment_samples), np.float32)
    if stats_shape is not None:
        x = {WAVEFORM: x, SPEAKER_STATS: np.ones((1,) + stats_shape, np.float32)}
    serving(x, training=False)
    with files.atomic_path(path) as tmp:
        serving.export(str(tmp), format="onnx", verbose=False)
    return serving
