"""One set of checks every custom layer goes through (after keras-hub's `run_layer_test`).

Config round trip, symbolic shape, eager call, one `fit` step inside a model,
and a `.keras` save and reload that gives the same outputs. Backend-neutral:
these run under TensorFlow and under JAX without TensorFlow.
"""

import keras
import numpy as np


def _as_list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def run_layer_checks(tmp_path, layer_cls, init_kwargs, inputs, expected_shapes,
                     trains=True):
    """Runs the standard checks; `inputs` is an array or a list of arrays."""
    layer = layer_cls(**init_kwargs)
    # Config round trip.
    config = layer.get_config()
    clone = layer_cls.from_config(config)
    assert clone.get_config() == config

    # Symbolic shapes agree with eager shapes.
    symbolic_in = [keras.Input(a.shape[1:], batch_size=a.shape[0]) for a in _as_list(inputs)]
    symbolic_out = layer(symbolic_in if isinstance(inputs, list) else symbolic_in[0])
    eager_out = layer(inputs)
    for sym, eag, want in zip(_as_list(symbolic_out), _as_list(eager_out), expected_shapes):
        assert tuple(eag.shape) == tuple(want)
        assert tuple(sym.shape) == tuple(want)
        assert np.all(np.isfinite(keras.ops.convert_to_numpy(eag)))

    # Inside a model: one training step, then a .keras round trip.
    model_in = [keras.Input(a.shape[1:]) for a in _as_list(inputs)]
    fresh = layer_cls(**init_kwargs)
    outs = _as_list(fresh(model_in if isinstance(inputs, list) else model_in[0]))
    head = keras.layers.Dense(1)(keras.layers.Flatten()(outs[0]))
    model = keras.Model(model_in, [head] + outs)
    if trains:
        model.compile(optimizer="sgd", loss=["mse"] + [None] * len(outs))
        y = np.ones((_as_list(inputs)[0].shape[0], 1), "float32")
        history = model.fit(_as_list(inputs), y, epochs=1, verbose=0)
        assert np.isfinite(history.history["loss"][0])
    before = [keras.ops.convert_to_numpy(o) for o in _as_list(model(_as_list(inputs)))]
    path = str(tmp_path / f"{layer_cls.__name__}.keras")
    model.save(path)
    reloaded = keras.saving.load_model(path)
    after = [keras.ops.convert_to_numpy(o) for o in _as_list(reloaded(_as_list(inputs)))]
    for a, b in zip(before, after):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
    return layer
