"""The functional model: paper Table 1 shapes, variants, loss, training, saving.

Backend-neutral: CI runs this file under TensorFlow and under JAX without TensorFlow.
"""

import dataclasses

import keras
import numpy as np
import pytest

from adarl_tf import precise_bn
from adarl_tf.config import ModelConfig
from adarl_tf.model import ADARLModel, build_model
from tests.model_files import TINY  # 1 s segments, 0-2 kHz, few filters.


def _batch(config, n=8, seed=0):
    rng = np.random.default_rng(seed)
    x = (0.1 * rng.normal(size=(n, config.frontend.segment_samples))).astype("float32")
    y = {"emotion": np.arange(n) % config.n_emotions, "domain": (np.arange(n) // 2) % 2}
    return x, y


def _shapes(model):
    return {layer.name: layer for layer in model.layers}


def test_table_1_shapes():
    model = build_model(ModelConfig())
    layers = _shapes(model)
    assert tuple(model.input.shape) == (None, 48000)
    assert tuple(layers["spectrogram"].output.shape) == (None, 400, 300, 3)
    for pathway in ("domain", "emotion"):
        expected = [(200, 150, 32), (100, 75, 32), (50, 37, 32), (8, 6, 64)]
        for i, shape in enumerate(expected, 1):
            unit = layers[f"{pathway}_unit{i}"]
            assert tuple(unit.output.shape) == (None,) + shape
            assert [c.kernel.shape[2:] for c in unit.convs] == [
                (3 if i == 1 else 32, 16 if i < 4 else 32)] * 2
    assert ModelConfig().feature_shape == (8, 6, 64)  # 3072 values.
    # Domain head 3072 -> 64 -> 2.
    assert layers["domain_fc1"].kernel.shape == (3072, 64)
    assert layers["domain_probs"].kernel.shape == (64, 2)
    # Attention 8 -> 4 -> 8.
    attention = layers["domain_attention"]
    assert attention.squeeze.kernel.shape == (8, 4)
    assert attention.excite.kernel.shape == (4, 8)
    # Channel-wise FC 64 x (8 -> 1), emotion head 64 -> 64 -> 4.
    assert layers["channelwise_fc"].kernel.shape == (8, 64)
    assert layers["emotion_fc1"].kernel.shape == (64, 64)
    assert layers["emotion_probs"].kernel.shape == (64, 4)
    assert layers["center_loss"].centers.shape == (4, 64)


def test_variants_have_the_right_parts():
    names = {v: set(_shapes(build_model(dataclasses.replace(TINY, variant=v))))
             for v in ("adarl", "backbone", "domain_invariant")}
    assert {"domain_unit1", "domain_attention", "domain_probs"} <= names["adarl"]
    assert not any(n.startswith("domain") for n in names["backbone"])
    assert {"gradient_reversal", "domain_probs"} <= names["domain_invariant"]
    assert "domain_attention" not in names["domain_invariant"]
    assert "domain_unit1" not in names["domain_invariant"]


@pytest.mark.parametrize("variant", ["adarl", "backbone", "domain_invariant"])
def test_trains_and_reports_each_loss_term(variant):
    model = build_model(dataclasses.replace(TINY, variant=variant))
    model.compile(optimizer=keras.optimizers.SGD(0.05, weight_decay=4e-5))
    x, y = _batch(TINY)
    history = model.fit(x, y, batch_size=4, epochs=2, verbose=0).history
    expected = {"loss", "emotion_loss", "center_loss", "emotion_accuracy", "emotion_ua"}
    if variant != "backbone":
        expected |= {"domain_loss", "domain_accuracy"}
    assert expected == set(history)
    assert all(np.isfinite(v).all() for v in history.values())
    out = model.predict(x, verbose=0)
    np.testing.assert_allclose(out["emotion_probs"].sum(-1), 1.0, rtol=1e-5)
    assert ("attention" in out) == (variant == "adarl")


def test_uniform_attention_starts_every_row_at_one_half_and_learns():
    model = build_model(dataclasses.replace(TINY, attention_init="uniform"))
    x, y = _batch(TINY)
    np.testing.assert_allclose(model.predict(x, verbose=0)["attention"], 0.5)
    model.compile(optimizer=keras.optimizers.SGD(0.05))
    model.fit(x, y, batch_size=4, epochs=2, verbose=0)
    attention = model.predict(x, verbose=0)["attention"]
    # It moved (the excite bias always learns; whether the weights also differ
    # per input depends on the bottleneck's ReLUs, which may all be off).
    assert np.abs(attention - 0.5).max() > 1e-4


@pytest.mark.parametrize("trains_domain", [True, False])
def test_attention_trains_the_domain_trunk_only_when_asked(trains_domain):
    # No domain loss: whatever moves the domain trunk's kernels came through the attention.
    # The standardised profile keeps some bottleneck ReLUs on, so that the gradient
    # has a path to stop (with the raw profile they may all be off at random).
    config = dataclasses.replace(TINY, domain_loss_weight=0.0, attention_standardize=True,
                                 attention_trains_domain=trains_domain)
    model = build_model(config)
    unit = _shapes(model)["domain_unit1"]
    before = [keras.ops.convert_to_numpy(c.kernel).copy() for c in unit.convs]
    model.compile(optimizer=keras.optimizers.SGD(0.05))
    x, y = _batch(config)
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    moved = max(np.abs(keras.ops.convert_to_numpy(c.kernel) - b).max()
                for c, b in zip(unit.convs, before))
    assert (moved > 0) == trains_domain


def test_standardized_attention_is_in_the_graph_and_survives_a_round_trip(tmp_path):
    model = build_model(dataclasses.replace(TINY, attention_standardize=True))
    attention = _shapes(model)["domain_attention"]
    assert attention.profile_norm is not None
    model.compile(optimizer=keras.optimizers.SGD(0.05))
    x, y = _batch(TINY)
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    reloaded = keras.saving.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(model.predict(x, verbose=0)["attention"],
                               reloaded.predict(x, verbose=0)["attention"], rtol=1e-5)


def test_total_loss_is_the_weighted_sum():
    config = dataclasses.replace(TINY, domain_loss_weight=0.3, emotion_loss_weight=2.0,
                                 center_loss_weight=0.25)
    model = build_model(config)
    model.compile(optimizer="sgd")
    x, y = _batch(config)
    pred = model(x, training=False)
    total = float(model.compute_loss(x, y, pred, training=False))
    probs = keras.ops.convert_to_numpy(pred["emotion_probs"])
    dom = keras.ops.convert_to_numpy(pred["domain_probs"])
    dist = keras.ops.convert_to_numpy(pred["center_distances"])
    idx = np.arange(len(x))
    ce_e = -np.log(probs[idx, y["emotion"]]).mean()
    ce_d = -np.log(dom[idx, y["domain"]]).mean()
    center = dist[idx, y["emotion"]].mean()
    np.testing.assert_allclose(total, 0.3 * ce_d + 2.0 * ce_e + 0.25 * center, rtol=1e-4)


def test_mixup_targets_weigh_both_labels_by_lambda():
    config = dataclasses.replace(TINY, domain_loss_weight=0.3, center_loss_weight=0.25)
    model = build_model(config)
    model.compile(optimizer="sgd")
    x, y = _batch(config)
    pred = model(x, training=False)
    probs = keras.ops.convert_to_numpy(pred["emotion_probs"])
    dom = keras.ops.convert_to_numpy(pred["domain_probs"])
    dist = keras.ops.convert_to_numpy(pred["center_distances"])
    # lambda 1 with any partner is the unmixed loss.
    unmixed = float(model.compute_loss(x, y, pred, training=False))
    ones = dict(y, emotion_mix=y["emotion"][::-1], domain_mix=y["domain"][::-1],
                mix=np.ones(len(x), "float32"))
    np.testing.assert_allclose(float(model.compute_loss(x, ones, pred, training=False)),
                               unmixed, rtol=1e-5)
    # Partners' labels, one unknown: each term lam * own + (1 - lam) * partner's,
    # over the weights of the known labels.
    lam = np.linspace(0.5, 1.0, len(x)).astype("float32")
    other = np.roll(y["emotion"], 3)
    other[2] = -1
    mixed = dict(y, emotion_mix=other, domain_mix=1 - y["domain"], mix=lam)
    total = float(model.compute_loss(x, mixed, pred, training=False))
    idx, known = np.arange(len(x)), other >= 0

    def mean(values, own, theirs, known):
        w = np.concatenate([lam, (1 - lam) * known])
        v = np.concatenate([values[idx, own], values[idx, np.maximum(theirs, 0)]])
        return (w * v).sum() / w.sum()

    expected = (0.3 * mean(-np.log(dom), y["domain"], 1 - y["domain"], np.ones(len(x)))
                + mean(-np.log(probs), y["emotion"], other, known)
                + 0.25 * mean(dist, y["emotion"], other, known))
    np.testing.assert_allclose(total, expected, rtol=1e-4)


def test_samples_without_emotion_label_train_the_domain_path_only():
    model = build_model(TINY)
    model.compile(optimizer="sgd")
    x, y = _batch(TINY)
    pred = model(x, training=False)
    masked = {"emotion": np.full(len(x), -1), "domain": y["domain"]}
    model.emotion_loss_tracker.reset_state()
    total = float(model.compute_loss(x, masked, pred, training=False))
    assert float(model.emotion_loss_tracker.result()) == 0.0
    dom = keras.ops.convert_to_numpy(pred["domain_probs"])
    np.testing.assert_allclose(
        total, -np.log(dom[np.arange(len(x)), y["domain"]]).mean(), rtol=1e-4)


def test_training_moves_the_centres_not_the_optimiser():
    model = build_model(TINY)
    model.compile(optimizer=keras.optimizers.SGD(0.05))
    centres = model.get_layer("center_loss").centers
    before = keras.ops.convert_to_numpy(centres).copy()
    assert all(v is not centres for v in model.trainable_variables)
    x, y = _batch(TINY)
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    after = keras.ops.convert_to_numpy(centres)
    assert np.abs(after - before).max() > 1e-4


def test_keras_file_round_trip(tmp_path):
    model = build_model(dataclasses.replace(TINY, variant="adarl", kernel_sizes=((10, 2), (2, 8))))
    model.compile(optimizer="sgd")
    x, y = _batch(TINY)
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    path = tmp_path / "adarl.keras"
    model.save(path)
    reloaded = keras.saving.load_model(path)  # Safe mode; no custom_objects needed.
    assert isinstance(reloaded, ADARLModel)
    assert reloaded.model_config == model.model_config
    a, b = model.predict(x, verbose=0), reloaded.predict(x, verbose=0)
    for key in a:
        np.testing.assert_allclose(a[key], b[key], rtol=1e-5, atol=1e-5)


def test_speaker_groups_change_the_emotion_pathway_only_and_old_files_still_load():
    # `.keras` files key a top-level layer's variables by its class: without
    # groups the deep feature's BN stays a plain BatchNormalization, so models
    # saved before --speaker_bn_group existed load (their emotion_bn's weights).
    plain = build_model(dataclasses.replace(TINY, variant="adarl"))
    assert type(plain.get_layer("emotion_bn")) is keras.layers.BatchNormalization
    grouped = build_model(dataclasses.replace(TINY, variant="adarl", speaker_bn_group=4))
    assert grouped.get_layer("emotion_bn").group_size == 4
    assert grouped.get_layer("emotion_unit1").batch_norm.group_size == 4
    assert grouped.get_layer("domain_unit1").batch_norm.group_size == 0
    assert type(grouped.get_layer("domain_bn")) is keras.layers.BatchNormalization
    assert grouped.count_params() == plain.count_params()


def test_config_rejects_bad_values():
    with pytest.raises(ValueError, match="variant"):
        ModelConfig(variant="adarl2")
    with pytest.raises(ValueError, match="one entry per unit"):
        ModelConfig(trunk_filters=(16, 16))
    with pytest.raises(ValueError, match="attention_init"):
        ModelConfig(attention_init="zeros")
    for wrong in (dict(attention_input="maps"), dict(speaker_bn_group=0),
                  dict(variant="backbone")):
        with pytest.raises(ValueError, match="--domain_speaker_mean"):
            ModelConfig(**{**dict(domain_speaker_mean=True, attention_input="embedding",
                                  speaker_bn_group=4), **wrong})
    assert ModelConfig.from_dict(ModelConfig().to_dict()) == ModelConfig()


def test_class_weights_give_the_weighted_mean_cross_entropy():
    config = dataclasses.replace(TINY, variant="backbone", center_loss_weight=0.0)
    model = build_model(config)
    x, y = _batch(config)
    y["emotion"] = np.array([0, 0, 0, 0, 0, 1, 2, -1])
    pred = model(x, training=False)
    probs = keras.ops.convert_to_numpy(pred["emotion_probs"])
    ce = -np.log(probs[np.arange(7), y["emotion"][:7]])
    plain = float(model.compute_loss(x, y, pred, training=False))
    np.testing.assert_allclose(plain, ce.mean(), rtol=1e-4)
    weights = [0.2, 1.5, 3.0, 0.0]
    model.set_class_weights(weights)
    weighted = float(model.compute_loss(x, y, pred, training=False))
    w = np.array(weights)[y["emotion"][:7]]
    np.testing.assert_allclose(weighted, (w * ce).sum() / w.sum(), rtol=1e-4)
    with pytest.raises(ValueError, match="3 class weights for 4"):
        model.set_class_weights([1.0, 1.0, 1.0])


def test_spec_augment_is_in_the_graph_only_when_asked_and_off_in_predict():
    assert "spec_augment" not in _shapes(build_model(TINY))  # The paper's graph.
    config = dataclasses.replace(TINY, time_masks=2, time_mask_frames=20, freq_masks=2,
                                 freq_mask_bins=20)
    model = build_model(config)
    assert "spec_augment" in _shapes(model)
    x, _ = _batch(config)
    a = model.predict(x, verbose=0)["emotion_probs"]
    b = model.predict(x, verbose=0)["emotion_probs"]
    np.testing.assert_array_equal(a, b)  # No random op at inference.
    plain = build_model(TINY)  # Same weights, no masks: only SpecAugment can differ.
    plain.set_weights(model.get_weights())
    np.testing.assert_allclose(plain.predict(x, verbose=0)["emotion_probs"], a, rtol=1e-5)

    def features(m):
        return keras.ops.convert_to_numpy(m(x, training=True)["deep_features"])

    assert not np.allclose(features(model), features(plain))


def test_attention_reading_the_domain_embedding_trains_and_round_trips(tmp_path):
    # No domain loss: the domain head's first layer then learns only through the
    # attention, which shows that the attention reads its embedding.
    config = dataclasses.replace(TINY, attention_input="embedding", domain_loss_weight=0.0)
    model = build_model(config)
    layers = _shapes(model)
    assert layers["domain_attention"].squeeze.kernel.shape == (config.hidden_units,
                                                              config.attention_units)
    fc1 = layers["domain_fc1"].kernel
    before = keras.ops.convert_to_numpy(fc1).copy()
    model.compile(optimizer=keras.optimizers.SGD(0.05))
    x, y = _batch(config)
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    assert np.abs(keras.ops.convert_to_numpy(fc1) - before).max() > 0
    model.save(tmp_path / "m.keras")
    reloaded = keras.saving.load_model(tmp_path / "m.keras")
    assert reloaded.model_config.attention_input == "embedding"
    np.testing.assert_allclose(model.predict(x, verbose=0)["attention"],
                               reloaded.predict(x, verbose=0)["attention"], rtol=1e-5)


def test_domain_speaker_mean_gives_a_speakers_windows_one_attention():
    keras.utils.set_random_seed(0)
    config = dataclasses.replace(TINY, attention_input="embedding", speaker_bn_group=4,
                                 domain_speaker_mean=True)
    model = build_model(config)
    assert "emotion_domain_mean" in [n.path.split("/")[0] for n in precise_bn.emotion_norms(model)]
    # Speakers are told apart by the mean the attention reads, not by the
    # attention: with few squeeze units a random initialisation can leave every
    # ReLU dead for both means, and both attentions are then 0.5.
    mean_of = keras.Model(model.inputs[0], model.get_layer("emotion_domain_mean").output)
    x, y = _batch(config)
    x[4:] = 3.0 * x[4:] + 0.05  # The second run of 4 windows: another "speaker".

    def one_per_speaker(values, n):
        np.testing.assert_allclose(values[:n], np.broadcast_to(values[0], (n,) + values.shape[1:]),
                                   atol=1e-6)

    trained = keras.ops.convert_to_numpy(model(x, training=True)["attention"])
    trained_mean = keras.ops.convert_to_numpy(mean_of(x, training=True))
    for run in (slice(0, 4), slice(4, 8)):  # Each run of 4 windows reads its own mean.
        one_per_speaker(trained[run], 4)
        one_per_speaker(trained_mean[run], 4)
    assert not np.allclose(trained_mean[0], trained_mean[4], atol=1e-4)
    speakers = []
    for windows in (x[:4], x[4:]):  # Scored per speaker, as --speaker_bn scores.
        with precise_bn.speaker_adapted(model, [windows]):
            one_per_speaker(model.predict(x, verbose=0)["attention"], len(x))
            scored = mean_of.predict(x, verbose=0)
        one_per_speaker(scored, len(x))
        speakers.append(scored[0])
    assert not np.allclose(*speakers, atol=1e-4)
