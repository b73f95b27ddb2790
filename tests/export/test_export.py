"""Export of a trained fold: every format, parity, model card, pruned inference graph; a
speaker-normalised mel model's second input in every format."""

import json
import re

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
litert = pytest.importorskip("ai_edge_litert.interpreter")
keras = pytest.importorskip("keras")
if keras.backend.backend() != "tensorflow":
    pytest.skip("export needs the TensorFlow backend", allow_module_level=True)

from adarl_tf import model as model_lib
from adarl_tf import speaker_norm
from adarl_tf.config import DataConfig, ModelConfig
from adarl_tf.export import exporter, inference_graph, runners, tflite, weights
from tests.model_files import SPEAKER
from tests.model_files import TINY as TINY_MODEL
from tests.run_files import trained_fold


@pytest.fixture(scope="module")
def fold_dir(small_demo_corpus, tmp_path_factory):
    """A real fold folder: one epoch of the tiny model on the small demo corpus."""
    return trained_fold(TINY_MODEL, small_demo_corpus, tmp_path_factory.mktemp("run"))


def test_export_writes_every_format_parity_and_model_card(fold_dir):
    # One test for the whole export: the fold is trained and exported once,
    # and pytest-xdist may not split a module fixture across workers.
    card = exporter.export_fold(fold_dir, n_representative=16)
    out = fold_dir / "export"
    for name in ("saved_model/saved_model.pb", "model_float32.tflite", "model_float16.tflite",
                 "model_dynamic_int8.tflite", "model_int8.tflite", "parity.json",
                 "model_card.json", "labels.txt"):
        assert (out / name).exists(), name

    results = json.loads((fold_dir / "results.json").read_text())
    on_disk = json.loads((out / "model_card.json").read_text())
    assert on_disk["labels"] == ["neutral", "happy", "sad", "angry"] == card["labels"]
    assert (out / "labels.txt").read_text().split() == on_disk["labels"]
    assert on_disk["segment_samples"] == 16000 and on_disk["sample_rate_hz"] == 16000
    assert on_disk["channel_mode"] == "multires"
    assert on_disk["test_speaker"] == results["test_speaker"] == "Ses01M"
    assert on_disk["fold"] == 1
    assert on_disk["fold_wa"] == results["wa"] and on_disk["fold_ua"] == results["ua"]
    assert set(on_disk["parity"]) == {"keras", "saved_model", "tflite", "tflite_fp16",
                                      "tflite_dynamic", "tflite_int8"}
    assert "ai-edge-litert" in on_disk["versions"] and on_disk["exported_at"]
    assert on_disk["int8"]["float32_products"] == tflite.float32_products(
        (out / "model_int8.tflite").read_bytes())

    parity = json.loads((out / "parity.json").read_text())
    assert parity["passed"] and parity["n_test_utterances"] == 8
    figures = parity["formats"]
    # The Keras model's own utterance scores are the fold's reported WA/UA.
    assert figures["keras"]["wa"] == pytest.approx(results["wa"])
    for fmt in ("saved_model", "tflite"):
        assert figures[fmt]["same_class_share"] == 1.0
        assert figures[fmt]["max_abs_prob_diff"] < 1e-4, fmt
    assert figures["tflite_fp16"]["max_abs_prob_diff"] < 1e-2
    for fmt, f in figures.items():
        assert np.isfinite(f["max_abs_prob_diff"]), fmt  # No NaN from any format.
    assert parity["utterance_signature_max_abs_diff"] < 1e-4

    # Each TFLite file: builtin ops only (no Flex delegate), runs in LiteRT,
    # float in and out; float32 equals Keras on a segment.
    keras_runner = runners.KerasRunner(fold_dir / "model.keras")
    segment = np.zeros((1, 16000), np.float32)
    rng = np.random.default_rng(0)
    segment[0, :12000] = 0.1 * rng.standard_normal(12000)  # Ends in silence (padding).
    expected = keras_runner(segment)["emotion_probs"]
    for fmt, (file_name, _) in tflite.TFLITE_FORMATS.items():
        content = (out / file_name).read_bytes()
        tflite.check_builtin_only(content)
        assert not any(n.startswith("Flex") for n in tflite.op_names(content))
        runner = runners.TFLiteRunner(content)
        assert runner.input_dtype == np.float32
        got = runner(segment)["emotion_probs"]
        assert got.shape == (1, 4) and np.all(np.isfinite(got)), fmt
        if fmt == "tflite":
            np.testing.assert_allclose(got, expected, atol=1e-5)
    assert (out / "model_int8.tflite").stat().st_size < 0.5 * (
        out / "model_float32.tflite").stat().st_size
    # Full integer but for the float frontend: every convolution reads int8,
    # and the frontend's DFT products hold int8 weights (hybrid ops). Products
    # XNNPACK refuses in int8 stay float32 (the card's list; on this tiny fold,
    # trained on one core, the attention's squeeze, whose units never fire).
    interpreter = litert.Interpreter(model_path=str(out / "model_int8.tflite"))
    tensors = {t["index"]: t for t in interpreter.get_tensor_details()}
    int8_ops = interpreter._get_ops_details()
    convs = [o for o in int8_ops if o["op_name"] in ("CONV_2D", "DEPTHWISE_CONV_2D")]
    assert convs and all(tensors[o["inputs"][0]]["dtype"] == np.int8 for o in convs)
    kept_float = set(on_disk["int8"]["float32_products"])
    assert all("domain_attention" in name for name in kept_float)
    dft = [o for o in int8_ops if o["op_name"] == "FULLY_CONNECTED"
           and tensors[o["inputs"][0]]["dtype"] == np.float32
           and tensors[o["outputs"][0]]["name"] not in kept_float]
    assert len(dft) == 3 and all(tensors[o["inputs"][1]]["dtype"] == np.int8 for o in dft)

    # The SavedModel holds the inference graph only.
    loaded = tf.saved_model.load(str(out / "saved_model"))
    names = [v.name for v in loaded.variables]
    assert names and not any("center" in n for n in names), names
    serving = loaded.signatures["serving_default"]
    assert set(serving.structured_outputs) == {"emotion_probs", "domain_probs"}
    spec = serving.structured_input_signature[1]["waveform"]
    assert spec.shape.as_list() == [None, 16000] and spec.dtype == tf.float32
    ops = {n.op for f in serving.graph.as_graph_def().library.function
           for n in f.node_def} | {op.type for op in serving.graph.get_operations()}
    nodes = [n.name for f in serving.graph.as_graph_def().library.function for n in f.node_def]
    assert not any("center_loss" in n for n in nodes)
    assert not any(o in ops for o in ("AssignSubVariableOp", "AssignVariableOp"))

    # The utterance signature: any length in, the segment mean out.
    utterance = loaded.signatures["utterance"]
    wave = (0.1 * rng.standard_normal(37000)).astype(np.float32)  # 2 segments + 0.3 s tail.
    out_utt = utterance(waveform=tf.constant(wave))
    assert int(out_utt["n_segments"]) == 2
    np.testing.assert_allclose(out_utt["emotion_probs"].numpy(),
                               keras_runner(runners.segment_array(wave, 16000, 8000))[
                                   "emotion_probs"].mean(0), atol=1e-5)


def test_a_speaker_normalised_mel_model_takes_its_statistics_in_every_format(speaker_fold_dir):
    pytest.importorskip("tf2onnx")
    pytest.importorskip("onnxruntime")
    card = exporter.export_fold(speaker_fold_dir, exporter.FORMATS, n_representative=16)
    out = speaker_fold_dir / "export"
    results = json.loads((speaker_fold_dir / "results.json").read_text())
    model = keras.saving.load_model(speaker_fold_dir / "model.keras", compile=False)

    # The model card documents the second input and the default.
    entry = json.loads((out / "model_card.json").read_text())["speaker_stats"]
    assert entry == card["speaker_stats"]
    assert entry["name"] == "speaker_stats" and entry["shape"] == ["batch", 2, 16, 1]
    assert entry["utterance_signature_shape"] == [2, 16, 1]
    assert "--enrol" in entry["profile"] and "pooled_profile.json" in entry["default"]
    assert "never from labels" in entry["what"]
    assert set(card["parity_with_pooled_stats"]) == set(card["parity"])
    # pooled_profile.json: a profile of this frontend, the statistics training set.
    pooled = speaker_norm.load_profile(out / "pooled_profile.json", SPEAKER.frontend)
    np.testing.assert_array_equal(pooled, model.get_layer("spectrogram").pooled_stats)
    assert not np.allclose(pooled[1], 1.0)  # Not the layer's initial identity.

    # Parity with each test speaker's own statistics (as in training) and the pooled ones.
    parity = json.loads((out / "parity.json").read_text())
    assert parity["passed"]
    assert parity["formats"]["keras"]["wa"] == pytest.approx(results["wa"])
    for figures in (parity["formats"], parity["formats_with_pooled_stats"]):
        assert set(figures) == set(exporter.FORMATS) | {"keras"}
        for fmt in ("saved_model", "tflite", "onnx"):
            assert figures[fmt]["same_class_share"] == 1.0, fmt
            assert figures[fmt]["max_abs_prob_diff"] < 1e-4, fmt
        assert all(np.isfinite(f["max_abs_prob_diff"]) for f in figures.values())
    assert card["files"]["onnx"]["path"] == "model.onnx" and "onnxruntime" in card["versions"]
    assert parity["utterance_signature_max_abs_diff"] < 1e-4

    # Both SavedModel signatures take speaker_stats.
    loaded = tf.saved_model.load(str(out / "saved_model"))
    inputs = {name: loaded.signatures[name].structured_input_signature[1]
              for name in ("serving_default", "utterance")}
    assert inputs["serving_default"]["speaker_stats"].shape.as_list() == [None, 2, 16, 1]
    assert inputs["utterance"]["speaker_stats"].shape.as_list() == [2, 16, 1]

    # Every TFLite file: two float32 inputs; float32 equals Keras on a segment.
    rng = np.random.default_rng(0)
    segment = np.zeros((1, 16000), np.float32)
    segment[0, :12000] = 0.1 * rng.standard_normal(12000)
    expected = runners.KerasRunner(model)(segment, pooled[None])["emotion_probs"]
    for fmt, (file_name, _) in tflite.TFLITE_FORMATS.items():
        runner = runners.TFLiteRunner(out / file_name)
        details = runner.runner.get_input_details()
        assert set(details) == {"waveform", "speaker_stats"}, fmt
        assert list(details["speaker_stats"]["shape"]) == [1, 2, 16, 1], fmt
        assert details["speaker_stats"]["dtype"] == np.float32, fmt
        got = runner(segment, pooled[None])["emotion_probs"]
        assert np.all(np.isfinite(got)), fmt
        if fmt == "tflite":
            np.testing.assert_allclose(got, expected, atol=1e-5)
    # The ONNX file (ONNX Runtime): the same named inputs and outputs.
    onnx_runner = runners.load_runner(out / "model.onnx", num_threads=1)
    assert isinstance(onnx_runner, runners.OnnxRunner) and onnx_runner.stats_shape == (2, 16, 1)
    got = onnx_runner(segment, pooled[None])
    assert set(got) == {"emotion_probs", "domain_probs"}
    np.testing.assert_allclose(got["emotion_probs"], expected, atol=1e-5)
    # The mel product reads spectral power: float32 weights and activations in the
    # quantised files; the DFT product (waveform frames) has int8 weights.
    for file_name in ("model_dynamic_int8.tflite", "model_int8.tflite"):
        interpreter = litert.Interpreter(model_path=str(out / file_name))
        tensors = {t["index"]: t for t in interpreter.get_tensor_details()}
        # Both spectrogram layers (the emotion input and ADARL's domain input);
        # the converter may share their identical constants under either name.
        frontend = [tensors[o["inputs"][1]] for o in interpreter._get_ops_details()
                    if o["op_name"] == "FULLY_CONNECTED"
                    and re.search(tflite.FRONTEND_SCOPE, tensors[o["inputs"][1]]["name"])]
        mel = [t for t in frontend if "/mel_bands/" in t["name"]]
        assert mel and all(t["dtype"] == np.float32 for t in mel), file_name
        dft = [t["dtype"] for t in frontend if t not in mel]
        assert dft and all(d == np.int8 for d in dft), file_name


def test_missing_data_dir_names_the_path_and_the_flag(tmp_path):
    data = DataConfig(dataset="iemocap", data_dir=str(tmp_path / "elsewhere" / "IEMOCAP"))
    with pytest.raises(exporter.ExportError, match=r"elsewhere/IEMOCAP.*--data_dir"):
        exporter._corpus(data)


def test_missing_run_files_and_unknown_formats_fail_clearly(tmp_path):
    with pytest.raises(exporter.ExportError, match="results.json not found"):
        exporter.export_fold(tmp_path)
    with pytest.raises(exporter.ExportError, match="unknown"):
        exporter.export_fold(tmp_path, formats=["coreml"])


class _Fixed:
    """A runner that returns fixed segment probabilities."""

    segment_samples = 100

    def __init__(self, probs):
        self.probs = np.asarray(probs, np.float32)

    def __call__(self, segments):
        return {"emotion_probs": np.repeat(self.probs[None], len(segments), 0)}


def test_parity_figures():
    waves = [np.ones(250, np.float32), np.ones(80, np.float32)]
    figures, _ = exporter.parity(
        {"keras": _Fixed([0.7, 0.1, 0.1, 0.1]), "other": _Fixed([0.4, 0.5, 0.05, 0.05])},
        waves, np.array([0, 1]), min_tail_samples=50)
    assert figures["keras"]["same_class_share"] == 1.0
    assert figures["other"]["same_class_share"] == 0.0
    assert figures["other"]["max_abs_prob_diff"] == pytest.approx(0.4)
    assert figures["keras"]["wa"] == 0.5 and figures["other"]["wa"] == 0.5


def test_serving_model_drops_training_only_parts():
    full = model_lib.build_model(TINY_MODEL)
    serving = runners.serving_model(full)
    layers = {layer.name for layer in serving.layers}
    assert "center_loss" not in layers and "spectrogram" in layers
    assert set(serving.output) == {"emotion_probs", "domain_probs"}
    adversarial = model_lib.build_model(ModelConfig(
        variant="domain_invariant", frontend=TINY_MODEL.frontend,
        trunk_filters=TINY_MODEL.trunk_filters))
    serving = runners.serving_model(adversarial)
    assert set(serving.output) == {"emotion_probs"}
    assert not {"gradient_reversal", "center_loss"} & {layer.name for layer in serving.layers}


@pytest.mark.parametrize("n", [1, 50, 99, 100, 149, 150, 250, 399])
@pytest.mark.parametrize("min_tail,tail", [(0, "pad"), (50, "pad"), (33, "overlap")])
def test_the_serving_cut_is_the_scoring_cut(n, min_tail, tail):
    """The SavedModel's cut (in the graph, also inside tf.data) and the runners' cut are
    `plan.starts`' scoring windows."""
    from adarl_tf.export import serving
    from adarl_tf.pipelines.plan import Cut, starts
    x = np.arange(1, n + 1, dtype="float32")
    cut = Cut(100, min_tail, tail)
    got = runners.segment_array(x, 100, min_tail, tail)
    padded = np.pad(x, (0, 100))
    np.testing.assert_array_equal(got, [padded[s:s + 100] for s in starts(n, cut)])
    in_graph = next(iter(tf.data.Dataset.from_tensors(x).map(
        lambda w: serving.segment_graph(w, cut)))).numpy()
    np.testing.assert_array_equal(in_graph, got)
    np.testing.assert_array_equal(serving.segment_graph(tf.constant(x), cut).numpy(), got)


def test_compress_weights_keeps_small_constants_float32():
    # A model whose output needs a tiny constant: float16 would round it to 0.
    inputs = keras.Input((2048,), batch_size=1)
    dense = keras.layers.Dense(8, use_bias=False)
    x = keras.ops.log(keras.ops.square(dense(inputs)) + 1e-10)
    model = keras.Model(inputs, x)
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    content = converter.convert()
    small, names = weights.compress_weights(content, "float16")
    assert len(names) == 1 and len(small) < 0.6 * len(content)
    zeros = np.zeros((1, 2048), np.float32)
    interpreter = litert.Interpreter(model_content=small)
    run = interpreter.get_signature_runner()
    out = list(run(**{list(run.get_input_details())[0]: zeros}).values())[0]
    np.testing.assert_allclose(out, np.log(1e-10), rtol=1e-5)  # Not -inf.
    int8, names = weights.compress_weights(content, "int8")
    assert len(names) == 1 and len(int8) < 0.35 * len(content)
    x = np.random.default_rng(0).standard_normal((1, 2048)).astype(np.float32)
    interpreter = litert.Interpreter(model_content=int8)
    run = interpreter.get_signature_runner()
    got = list(run(**{list(run.get_input_details())[0]: x}).values())[0]
    # Compare |dense(x)|: the log magnifies errors near zero.
    magnitude, want = np.exp(got / 2), np.exp(np.asarray(model(x)) / 2)
    np.testing.assert_allclose(magnitude, want, atol=0.02 * want.max())


@pytest.mark.parametrize("layout", inference_graph.LAYOUTS)
@pytest.mark.parametrize("kernel_sizes", [((3, 3), (5, 5)), ((2, 2), (3, 1))])
def test_fused_trunks_equal_the_model(layout, kernel_sizes):
    import dataclasses

    from adarl_tf.export.framed_spectrogram import FramedSpectrogram
    keras.utils.set_random_seed(1)
    model = model_lib.build_model(dataclasses.replace(TINY_MODEL, kernel_sizes=kernel_sizes))
    # Non-trivial inference statistics, so that folding them is really tested.
    rng = np.random.default_rng(1)
    for layer in model.layers:
        if "unit" in layer.name:
            bn = layer.batch_norm
            n = bn.moving_mean.shape[0]
            bn.moving_mean.assign(rng.normal(0, 0.3, n).astype("float32"))
            bn.moving_variance.assign(rng.uniform(0.5, 2.0, n).astype("float32"))
            bn.gamma.assign(rng.uniform(0.5, 1.5, n).astype("float32"))
            bn.beta.assign(rng.normal(0, 0.2, n).astype("float32"))
    serving = runners.serving_model(model)
    folded = inference_graph.fuse(serving, layout)
    kinds = [type(layer).__name__ for layer in folded.layers]
    assert isinstance(folded.get_layer("spectrogram"), FramedSpectrogram)
    assert "MultiScaleConv" not in kinds
    if layout == "float":
        assert kinds.count("FusedMultiScaleConv") == 8
    else:
        # Both unit 1s read the spectrogram: one joint convolution; 2 x 2 pools
        # as depthwise convolutions, unit 4's 6 x 6 pool stays a pool.
        joint = folded.get_layer("domain_unit1_emotion_unit1_joint")
        assert isinstance(joint, inference_graph.JointMultiScaleConv)
        assert kinds.count("FusedMultiScaleConv") == 6
        assert isinstance(folded.get_layer("emotion_unit2").pool, keras.layers.DepthwiseConv2D)
        assert isinstance(folded.get_layer("emotion_unit4").pool, keras.layers.AveragePooling2D)
    x = (0.1 * rng.standard_normal((3, 16000))).astype(np.float32)
    x[2, 9000:] = 0.0  # A padded tail.
    for name in ("emotion_unit4", "domain_unit4"):  # Deep maps, before the softmax flattens them.
        want = keras.Model(serving.input, serving.get_layer(name).output)(x)
        got = keras.Model(folded.input, folded.get_layer(name).output)(x)
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), atol=1e-5)
    want, got = serving(x), folded(x)
    for key in want:
        np.testing.assert_allclose(np.asarray(got[key]), np.asarray(want[key]), atol=1e-5)


def test_fuse_refuses_an_unknown_layout():
    with pytest.raises(ValueError, match="'int4'"):
        inference_graph.fuse(runners.serving_model(model_lib.build_model(TINY_MODEL)), "int4")


def test_hybrid_fully_connected_runs_int8_weights_on_float_input():
    inputs = keras.Input((30, 64), batch_size=1)
    model = keras.Model(inputs, keras.layers.Dense(800, use_bias=False, name="dft")(inputs))
    content = tf.lite.TFLiteConverter.from_keras_model(model).convert()
    hybrid, names = weights.hybrid_fully_connected(content, select=lambda n: "dft" in n)
    assert len(names) == 1 and len(hybrid) < 0.35 * len(content)
    interpreter = litert.Interpreter(model_content=bytes(hybrid))
    ops = interpreter._get_ops_details()
    assert [o["op_name"] for o in ops] == ["FULLY_CONNECTED"]
    tensors = {t["index"]: t for t in interpreter.get_tensor_details()}
    assert tensors[ops[0]["inputs"][1]]["dtype"] == np.int8
    assert tensors[ops[0]["inputs"][0]]["dtype"] == np.float32
    # Quiet and loud rows alike: the input is quantised per row at run time.
    x = np.random.default_rng(0).standard_normal((1, 30, 64)).astype(np.float32)
    x[0, :10] *= 1e-4
    run = interpreter.get_signature_runner()
    got = list(run(**{list(run.get_input_details())[0]: x}).values())[0]
    want = np.asarray(model(x))
    for row in (0, 20):
        np.testing.assert_allclose(got[0, row], want[0, row],
                                   atol=0.03 * np.abs(want[0, row]).max())
    untouched, names = weights.hybrid_fully_connected(content, select=lambda n: False)
    assert names == []


def test_a_model_with_spec_augment_exports_without_random_ops(tmp_path):
    # The robust recipe's SpecAugment sits in the model; it is the identity at
    # inference, so the serving graph, the SavedModel and TFLite (builtin ops
    # only) hold no random op and give Keras' probabilities.
    import dataclasses

    from adarl_tf.export import serving
    config = dataclasses.replace(TINY_MODEL, time_masks=2, time_mask_frames=10, freq_masks=2,
                                 freq_mask_bins=10)
    model = model_lib.build_model(config)
    segment = (0.1 * np.random.default_rng(1).standard_normal((1, 16000))).astype("float32")
    expected = model.predict(segment, verbose=0)["emotion_probs"]
    serving.write_saved_model(model, tmp_path / "sm", min_tail_samples=8000)
    content = tflite.convert(tmp_path / "sm", "float32")
    tflite.check_builtin_only(content)
    assert not [op for op in tflite.op_names(content) if "RANDOM" in op.upper()]
    got = runners.TFLiteRunner(content)(segment)["emotion_probs"]
    np.testing.assert_allclose(got, expected, atol=1e-4)


@pytest.mark.parametrize("options", [{"attention_input": "embedding"},
                                     {"attention_standardize": True},
                                     {"attention_input": "embedding", "speaker_bn_group": 4,
                                      "domain_speaker_mean": True}])
def test_the_attention_options_export_to_tflite_with_keras_probabilities(tmp_path, options):
    # The attention reading the domain head's embedding (or its speaker mean: a
    # stored vector), or a standardised profile, rewires the graph: SavedModel and
    # TFLite (builtin ops only) must still give Keras' probabilities.
    import dataclasses

    from adarl_tf.export import serving
    model = model_lib.build_model(dataclasses.replace(TINY_MODEL, **options))
    segment = (0.1 * np.random.default_rng(2).standard_normal((1, 16000))).astype("float32")
    expected = model.predict(segment, verbose=0)
    serving.write_saved_model(model, tmp_path / "sm", min_tail_samples=8000)
    content = tflite.convert(tmp_path / "sm", "float32")
    tflite.check_builtin_only(content)
    got = runners.TFLiteRunner(content)(segment)
    for key in ("emotion_probs", "domain_probs"):
        np.testing.assert_allclose(got[key], expected[key], atol=1e-4)


def test_an_export_for_one_speaker_scores_as_the_keras_model_adapted_to_them(
        fold_dir, small_demo_corpus, tmp_path):
    # --speaker_bn_files bakes the speaker's emotion-pathway statistics into the export:
    # each of their recordings then scores in TFLite as the .keras model scores them
    # together (predict_speaker).
    import adarl_tf
    from adarl_tf.corpora import demo, iemocap
    corpus = iemocap.load_iemocap(small_demo_corpus, name=demo.DEMO_CORPUS_NAME)
    # Two demo speakers' recordings taken as one person's (one gives 23 windows).
    paths = [str(u.path) for u in corpus.utterances if u.speaker in ("Ses02F", "Ses02M")]
    out = tmp_path / "anna"
    card = exporter.export_fold(fold_dir, ("tflite",), out, speaker_bn_files=paths)
    adapted = adarl_tf.load(fold_dir / "model.keras").predict_speaker(paths)
    assert card["speaker_bn"]["windows"] == adapted[0].speaker_bn_windows
    assert card["speaker_bn"]["recordings"] == [p.split("/")[-1] for p in paths]
    assert json.loads((out / "model_card.json").read_text())["speaker_bn"] == card["speaker_bn"]
    exported = adarl_tf.load(out)
    for path, p in zip(paths, adapted):
        np.testing.assert_allclose(list(exported.predict_file(path).probabilities.values()),
                                   list(p.probabilities.values()), atol=1e-4)
    plain = adarl_tf.load(fold_dir / "model.keras").predict_file(paths[0])
    assert max(abs(a - b) for a, b in zip(plain.probabilities.values(),
                                          adapted[0].probabilities.values())) > 1e-3


def test_an_export_for_one_speaker_refuses_what_it_cannot_use(fold_dir, speaker_fold_dir,
                                                              tmp_path):
    from tests.audio_files import tone, write_pcm
    short = write_pcm(tmp_path / "short.wav", tone(2.0, 16000), 16000)
    silent = write_pcm(tmp_path / "silent.wav", np.zeros((32000, 1)), 16000)
    for run_dir, paths, message in (
            (fold_dir, [short], r"1 recording\(s\) give 2 window\(s\); at least 16"),
            (fold_dir, [short, silent], f"{silent}: .*readable recordings of the speaker"),
            (speaker_fold_dir, [short], "normalises with speaker profiles")):
        out = tmp_path / "out"
        with pytest.raises(exporter.ExportError, match=message):
            exporter.export_fold(run_dir, ("tflite",), out, speaker_bn_files=paths)
        assert not out.exists()  # Refused before anything is written.
