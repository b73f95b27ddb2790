"""adarl-tf: Adaptive Domain-Aware Representation Learning for speech emotion recognition.

Importing the package is cheap and backend-neutral: TensorFlow is imported only
by the modules that need it (the input pipelines, the trainer, the exporter),
so that the model, its layers and its losses run under `KERAS_BACKEND=jax`
where TensorFlow is not installed.
"""

__version__ = "0.1.0"

import os as _os

# TensorFlow's C++ start-up chatter (oneDNN, CUDA probing) buries the training
# log; a user who wants it sets TF_CPP_MIN_LOG_LEVEL themselves.
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def load(path, profile=None, format=None, num_threads=None, min_tail_s=None):
    """Loads a model in any format for scoring: `adarl_tf.recognizer.load`.

    Example:

    ```python
    import adarl_tf
    r = adarl_tf.load("runs/demo_adarl/fold_00/export")  # .keras, .tflite, .onnx, SavedModel
    print(r.predict_file("clip.wav").label)
    ```
    """
    from adarl_tf import recognizer  # Imported here: `import adarl_tf` stays cheap.
    return recognizer.load(path, profile, format, num_threads, min_tail_s)
