"""Input pipelines: one plan of the data (`plan.py`), rendered by tf.data or numpy;
installed as `adarl_tf.pipelines` (see BUILD.md)."""

PIPELINES = ("auto", "tf.data", "numpy")


def tensorflow_available():
    """Whether TensorFlow can be imported here (it is not installed in a JAX-only env)."""
    import importlib.util
    return importlib.util.find_spec("tensorflow") is not None


def renderer(name="auto"):
    """The module that renders a plan: `render_tf` (tf.data) or `render_numpy`.

    "auto" is tf.data wherever TensorFlow is installed, numpy otherwise. Both
    have `training_data(utterances, plan, rate, stats_table)` and `scoring_data`.
    """
    if name not in PIPELINES:
        raise ValueError(f"pipeline={name!r}; expected one of {PIPELINES}")
    if name == "auto":
        name = "tf.data" if tensorflow_available() else "numpy"
    if name == "tf.data":
        if not tensorflow_available():
            raise ValueError("pipeline='tf.data' needs TensorFlow, which is not installed "
                             "here; use --pipeline=numpy (or auto)")
        from adarl_tf.pipelines import render_tf
        return render_tf
    from adarl_tf.pipelines import render_numpy
    return render_numpy
