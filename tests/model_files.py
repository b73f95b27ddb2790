"""Tiny untrained models written in every format, for the predict, API and timeline tests.

Untrained: these tests check that every format scores audio the same way,
not what it predicts. `export_folder` also writes what the exporter puts
beside the files (`model_card.json` with its "files", `pooled_profile.json`).
"""

import json

import numpy as np

from adarl_tf.config import DataConfig, ExperimentConfig, FrontendConfig, ModelConfig

LABELS = ["neutral", "happy", "sad", "angry"]
# The paper's frontend, 1 s segments, few filters.
TINY = ModelConfig(frontend=FrontendConfig(segment_s=1.0, max_freq_hz=2000.0),
                   trunk_filters=(4, 4, 4, 8))
# The compact preset's kind of frontend (mel bands, one 25 ms window, which is not a
# whole number of 10 ms hops) with speaker normalisation (the preset's option that
# needs a second input), tiny.
SPEAKER = ModelConfig(
    frontend=FrontendConfig(segment_s=1.0, max_freq_hz=4000.0, bin_spacing_hz=31.25,
                            scale="mel", n_mels=16, channel_mode="mono", single_window_ms=25.0,
                            normalization="speaker"),
    trunk_filters=(4, 4, 4, 8), trunk_pools=((2, 2), (2, 2), (2, 2), (1, 6)))


def build(config, seed=0, head_gain=1.0):
    """An untrained `ADARLModel`; `head_gain` scales the emotion head (decided classes)."""
    import keras

    from adarl_tf import model as model_lib
    keras.utils.set_random_seed(seed)
    model = model_lib.build_model(config)
    if head_gain != 1.0:
        head = model.get_layer("emotion_probs")
        head.kernel.assign(head.kernel * head_gain)
    return model


def export_folder(model, out, data=DataConfig(), formats=("saved_model", "tflite")):
    """Writes `model` as the exporter lays it out (without parity): the formats asked
    for, `model.keras`, `model_card.json` (labels, tail rule, config, files) and, for a
    speaker-normalised model, `pooled_profile.json`. Returns {format: path}."""
    from adarl_tf.export import exporter, serving, tflite
    out.mkdir(parents=True, exist_ok=True)
    rate = model.model_config.frontend.sample_rate_hz
    min_tail = round(data.min_tail_s * rate)
    written = {}
    model.save(out / "model.keras")
    serving.write_saved_model(model, out / "saved_model", min_tail_samples=min_tail,
                              tail=data.tail)
    if "saved_model" in formats:
        written["saved_model"] = "saved_model"
    for fmt, (name, quantization) in tflite.TFLITE_FORMATS.items():
        if fmt in formats and quantization in ("float32", "float16"):
            (out / name).write_bytes(tflite.convert(out / "saved_model", quantization))
            written[fmt] = name
    if "onnx" in formats:
        from adarl_tf.export import onnx
        onnx.write_onnx(model, out / onnx.ONNX_FILE)
        written["onnx"] = onnx.ONNX_FILE
    config = ExperimentConfig(model=model.model_config, data=data)
    (out / "model_card.json").write_text(json.dumps({
        "labels": LABELS, "sample_rate_hz": rate, "min_tail_s": data.min_tail_s,
        "config": config.to_dict(), "files": {f: {"path": p} for f, p in written.items()}}))
    if model.model_config.frontend.normalization == "speaker":
        exporter.write_pooled_profile(model, out, "the test's training speakers")
    paths = {"keras": out / "model.keras"}
    paths.update({f: out / p for f, p in written.items()})
    return paths


def set_pooled(model, waveforms):
    """Gives a speaker-normalised model pooled statistics from `waveforms`."""
    from adarl_tf import speaker_norm
    pooled = speaker_norm.make_profile(waveforms, model.model_config.frontend)
    model.get_layer("spectrogram").pooled_stats.assign(np.asarray(pooled["stats"]))
