"""The int8 conversion against XNNPACK, LiteRT's default CPU delegate: the bound on a
product's requantisation scale, and products kept float32 so that the file runs."""

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
litert = pytest.importorskip("ai_edge_litert.interpreter")
keras = pytest.importorskip("keras")
if keras.backend.backend() != "tensorflow":
    pytest.skip("export needs the TensorFlow backend", allow_module_level=True)

from adarl_tf import model as model_lib
from adarl_tf.export import runners, serving, tflite
from tests.model_files import TINY as TINY_MODEL


def _int8_dense(bias):
    """A Dense-ReLU-Dense model converted to full-integer int8 by the plain converter;
    `bias` on the ReLU layer (very negative: its output is always zero)."""
    keras.utils.set_random_seed(0)
    x = keras.Input((16,))
    squeeze = keras.layers.Dense(4, activation="relu", name="squeeze")
    model = keras.Model(x, keras.layers.Dense(3, activation="softmax")(squeeze(x)))
    squeeze.bias.assign(np.full(4, bias, "float32"))
    data = np.random.default_rng(0).standard_normal((32, 16)).astype("float32")
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([data[i:i + 1]] for i in range(len(data)))
    return converter.convert(), data[:1]


@pytest.mark.parametrize("bias", [0.0, -100.0])
def test_xnnpack_refused_names_what_litert_cannot_prepare(bias):
    content, x = _int8_dense(bias)
    refused = tflite.xnnpack_refused(content)
    interpreter = litert.Interpreter(model_content=content)  # XNNPACK applied by default.
    if bias == 0.0:
        assert refused == []
        interpreter.allocate_tensors()
        interpreter.set_tensor(interpreter.get_input_details()[0]["index"], x)
        interpreter.invoke()
    else:
        # The dead ReLU's output calibrates to a tiny scale: requantisation >= 256.
        assert len(refused) == 1 and "squeeze" in refused[0]
        with pytest.raises(RuntimeError, match="XNNPACK"):
            interpreter.allocate_tensors()


@pytest.fixture(scope="module")
def dead_attention(tmp_path_factory):
    """ADARL's attention squeeze with every ReLU dead on the calibration segments (as a
    fold trained on one core had it): its int8-layout SavedModel, the segments and
    Keras' probabilities on two of them."""
    keras.utils.set_random_seed(0)
    model = model_lib.build_model(TINY_MODEL)
    squeeze = model.get_layer("domain_attention").squeeze
    # Large weights, so that input scale x weight scale / the dead output's scale
    # (about 1e-8) is past XNNPACK's bound, 256, at any calibration.
    squeeze.kernel.assign(100.0 * squeeze.kernel)
    squeeze.bias.assign(np.full(squeeze.bias.shape, -1e4, "float32"))
    segments = (0.1 * np.random.default_rng(0).standard_normal((16, 16000))).astype("float32")
    saved_model = tmp_path_factory.mktemp("dead_attention") / "sm"
    serving.write_saved_model(model, saved_model, min_tail_samples=8000, layout="int8")
    return saved_model, segments, model.predict(segments[:2], verbose=0)["emotion_probs"]


def test_int8_keeps_a_product_xnnpack_refuses_in_float32(dead_attention):
    # The int8 file must run in LiteRT with XNNPACK, that product in float32,
    # and agree with Keras.
    saved_model, segments, expected = dead_attention
    content = tflite.convert(saved_model, "int8", segments)
    assert tflite.xnnpack_refused(content) == []
    kept = tflite.float32_products(content)
    assert len(kept) == 1 and "domain_attention" in kept[0] and "squeeze" in kept[0]
    got = runners.TFLiteRunner(content)(segments[:2])["emotion_probs"]
    np.testing.assert_allclose(got, expected, atol=0.05)


def test_a_file_xnnpack_refuses_is_named_or_scored_without_it(dead_attention, tmp_path,
                                                              monkeypatch, caplog):
    # An int8 file exported before the conversion checked XNNPACK's bound.
    saved_model, segments, expected = dead_attention
    with monkeypatch.context() as patch:
        patch.setattr(tflite, "xnnpack_refused", lambda content: [])
        old = tmp_path / "model_int8.tflite"
        old.write_bytes(tflite.convert(saved_model, "int8", segments))
    with pytest.raises(runners.ModelError, match=r"XNNPACK.*model_int8.tflite.*export"):
        runners.TFLiteRunner(old)  # The exporter's parity check: the phone would fail.
    runner = runners.load_runner(old)  # predict: scored with LiteRT's builtin kernels.
    assert "builtin kernels" in caplog.text
    np.testing.assert_allclose(runner(segments[:2])["emotion_probs"], expected, atol=0.05)
