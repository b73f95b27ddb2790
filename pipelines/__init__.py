"""Input pipelines (tf.data, and numpy where TensorFlow is absent); installed as `adarl_tf.pipelines` (see BUILD.md)."""

PIPELINES = ("auto", "tf.data", "numpy")


def tensorflow_available():
    """Whether TensorFlow can be imported here (it is not installed in a JAX-only env)."""
    import importlib.util
    return importlib.util.find_spec("tensorflow") is not None


def pipeline_module(name="auto"):
    """The input pipeline module: `segments` (tf.data) or `arrays` (numpy).

    "auto" is tf.data wherever TensorFlow is installed, numpy otherwise. Both
    modules have the same functions (`training_dataset`, `evaluation_dataset`,
    `steps_per_epoch`, `segments_per_utterance`, `utterance_labels`).
    """
    if name not in PIPELINES:
        raise ValueError(f"pipeline={name!r}; expected one of {PIPELINES}")
    if name == "auto":
        name = "tf.data" if tensorflow_available() else "numpy"
    if name == "tf.data":
        if not tensorflow_available():
            raise ValueError("pipeline='tf.data' needs TensorFlow, which is not installed "
                             "here; use --pipeline=numpy (or auto)")
        from adarl_tf.pipelines import segments
        return segments
    from adarl_tf.pipelines import arrays
    return arrays


def augment_module(name="auto"):
    """The robust recipe's training pipeline beside `pipeline_module(name)`.

    `augment` (tf.data) or `augment_arrays` (numpy): the same augmentation and
    class-balanced sampler, with the same `training_dataset` signature.
    """
    if pipeline_module(name).__name__.endswith(".segments"):
        from adarl_tf.pipelines import augment
        return augment
    from adarl_tf.pipelines import augment_arrays
    return augment_arrays
