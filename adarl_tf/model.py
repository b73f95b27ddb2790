"""The ADARL network as a functional Keras model, a function of `ModelConfig`.

Graph (paper Fig. 2, Table 1), tensors (batch, freq, time, channels):

    waveform (48000,) -> Spectrogram -> (400, 300, 3) [-> SpecAugment, training only, optional]
      domain trunk:  4 x MultiScaleConv -> F^D (8, 6, 64) -> flatten -> FC 64 -> ReLU -> BN -> FC 2
      emotion trunk: 4 x MultiScaleConv -> F^E (8, 6, 64)
      DomainFrequencyAttention(F^D, F^E) -> F^E' = I^D[f] * F^E
        (or, with attention_input="embedding", from the domain head's BN output)
      F^E' -> time pooling (8, 64) -> ChannelwiseFC (64) -> FC 64 -> ReLU -> BN = deep feature
           -> FC 4 (emotion);  deep feature -> CenterLoss (distances to the class centres)

Variants (paper Table 3): "backbone" keeps the emotion pathway alone;
"domain_invariant" puts the domain head on the emotion trunk's features behind
a GradientReversal and has no attention.

The multi-task objective lives in `compute_loss`, which the stock `train_step`
of every Keras backend calls, so one implementation trains under TensorFlow
and JAX alike. No TensorFlow import here.
"""

import dataclasses

import keras
from keras import ops

from adarl_tf.config import DOMAIN_PROBS, EMOTION_PROBS, SPEAKER_STATS, WAVEFORM, ModelConfig
from adarl_tf.distribute import logs_for_reduction, scale_loss_for_replicas
from adarl_tf.layers import (
    CenterLoss,
    ChannelwiseFC,
    DomainFrequencyAttention,
    GhostBatchNorm,
    GradientReversal,
    GroupMean,
    MultiScaleConv,
    SpecAugment,
    Spectrogram,
)
from adarl_tf.metrics import BalancedAccuracy

# Input names and the serving outputs' names (WAVEFORM, SPEAKER_STATS, EMOTION_PROBS,
# DOMAIN_PROBS) are in `config.py`, which runtimes import without Keras. Training outputs:
DEEP_FEATURES = "deep_features"
CENTER_DISTANCES = "center_distances"
ATTENTION = "attention"


def _trunk(x, config, prefix, bn_group_size=0):
    """Four multi-scale units; weights are not shared between pathways."""
    for i, (filters, pool) in enumerate(zip(config.trunk_filters, config.trunk_pools)):
        x = MultiScaleConv(filters, config.kernel_sizes, pool, config.bn_momentum,
                           bn_group_size=bn_group_size, name=f"{prefix}_unit{i + 1}")(x)
    return x


def _domain_head(maps, config, prefix):
    """Eq. 1: flatten -> FC(3072, 64) -> ReLU -> BN -> FC(64, n_domains).

    Returns (domain probabilities, the hidden embedding after the BN).
    """
    x = keras.layers.Flatten(name=f"{prefix}_flatten")(maps)
    x = keras.layers.Dense(config.hidden_units, activation="relu", name=f"{prefix}_fc1")(x)
    x = keras.layers.BatchNormalization(momentum=config.bn_momentum, name=f"{prefix}_bn")(x)
    probs = keras.layers.Dense(config.n_domains, activation="softmax", dtype="float32",
                               name=DOMAIN_PROBS)(x)
    return probs, x


def build_network(config: ModelConfig):
    """Returns the (inputs, outputs) tensors of the functional graph."""
    frontend = config.frontend
    waveform = keras.Input((frontend.segment_samples,), name=WAVEFORM)
    if frontend.normalization == "speaker":
        # The speaker's statistics are an input, not weights: a new speaker
        # needs only a profile (speaker_norm.py), never retraining.
        stats = keras.Input(frontend.stats_shape, name=SPEAKER_STATS)
        inputs = {WAVEFORM: waveform, SPEAKER_STATS: stats}
        spec = Spectrogram(frontend, name="spectrogram")([waveform, stats])
    else:
        inputs = waveform
        spec = Spectrogram(frontend, name="spectrogram")(waveform)
    if config.time_masks or config.freq_masks:
        # Training-time masks; the identity in predict and export. Absent from
        # the paper's model, whose graph is unchanged.
        spec = SpecAugment(config.time_masks, config.time_mask_frames, config.freq_masks,
                           config.freq_mask_bins, name="spec_augment")(spec)
    # With speaker_bn_group, the emotion pathway's BNs (never the domain pathway's,
    # whose job is telling speakers apart) normalise each speaker's run of the
    # batch with its own statistics in training.
    emotion_maps = _trunk(spec, config, "emotion", config.speaker_bn_group)
    outputs = {}
    if config.variant == "adarl":
        domain_spec = spec
        if frontend.normalization == "speaker" and config.domain_input == "segment":
            # The domain (gender) pathway needs the speaker's spectral envelope,
            # which speaker normalisation removes from the emotion input.
            domain_spec = Spectrogram(dataclasses.replace(frontend, normalization="segment"),
                                      name="domain_spectrogram")(waveform)
        domain_maps = _trunk(domain_spec, config, "domain")
        outputs[DOMAIN_PROBS], domain_embedding = _domain_head(domain_maps, config, "domain")
        domain = domain_maps if config.attention_input == "maps" else domain_embedding
        if config.domain_speaker_mean:
            # The speaker's mean embedding: its gender, read from all its windows.
            # Named emotion_* so that --speaker_bn sets it to the test speaker's.
            domain = GroupMean(config.speaker_bn_group, momentum=config.bn_momentum,
                               name="emotion_domain_mean")(domain)
        excite_init = {"glorot": "glorot_uniform", "uniform": "zeros"}[config.attention_init]
        emotion_maps, outputs[ATTENTION] = DomainFrequencyAttention(
            config.attention_units, excite_init, config.attention_trains_domain,
            config.attention_standardize, config.bn_momentum, name="domain_attention")(
                [domain, emotion_maps])
    elif config.variant == "domain_invariant":
        reversed_maps = GradientReversal(config.grl_scale, name="gradient_reversal")(
            emotion_maps)
        outputs[DOMAIN_PROBS], _ = _domain_head(reversed_maps, config, "adversary")

    freq, time, channels = config.feature_shape
    x = keras.layers.AveragePooling2D((1, time), name="time_pool")(emotion_maps)
    x = keras.layers.Reshape((freq, channels), name="squeeze_time")(x)
    x = ChannelwiseFC(name="channelwise_fc")(x)
    x = keras.layers.Dense(config.hidden_units, activation="relu", name="emotion_fc1")(x)
    bn_args = dict(momentum=config.bn_momentum, scale=config.feature_bn_scale, epsilon=1e-5,
                   name="emotion_bn")
    # A plain BatchNormalization without groups: `.keras` files key a layer's
    # variables by its class, so models saved before the groups existed still load.
    features = (GhostBatchNorm(config.speaker_bn_group, **bn_args) if config.speaker_bn_group
                else keras.layers.BatchNormalization(**bn_args))(x)
    outputs[DEEP_FEATURES] = features
    outputs[EMOTION_PROBS] = keras.layers.Dense(
        config.n_emotions, activation="softmax", dtype="float32", name=EMOTION_PROBS)(features)
    outputs[CENTER_DISTANCES] = CenterLoss(
        config.n_emotions, config.center_alpha, name="center_loss")(features)
    return inputs, outputs


def _crossentropy(labels, probs):
    return keras.losses.sparse_categorical_crossentropy(labels, ops.cast(probs, "float32"))


def _mixed_mean(per_sample, labels, y_pred, class_weights=None, mixup=None):
    """The weighted mean of `per_sample(labels, y_pred)` over the labelled samples
    (label >= 0), weights `class_weights[label]` (or 1).

    With `mixup` = (the partners' labels, lambda): each sample counts twice, at
    lambda with its own label and 1 - lambda with its partner's (mixup's target).
    """
    targets = [(labels, 1.0)]
    if mixup is not None:
        other, lam = mixup
        lam = ops.cast(lam, "float32")
        targets = [(labels, lam), (other, 1.0 - lam)]
    total = weight = 0.0
    for target, share in targets:
        target = ops.cast(target, "int32")
        w = ops.cast(target >= 0, "float32") * share
        if class_weights is not None:
            w = w * ops.take(ops.convert_to_tensor(class_weights, "float32"),
                             ops.maximum(target, 0))
        total = total + ops.sum(w * per_sample(ops.maximum(target, 0), y_pred))
        weight = weight + ops.sum(w)
    # An all-unlabelled batch: 0 (its numerator is 0).
    return total / ops.maximum(weight, 1e-12)


def _correct(labels, probs):
    """(per-sample correctness, mask of labelled samples), both float32."""
    labels = ops.cast(labels, "int32")
    hit = ops.cast(ops.equal(ops.argmax(probs, axis=-1), labels), "float32")
    return hit, ops.cast(labels >= 0, "float32")


@keras.saving.register_keras_serializable(package="adarl_tf")
class ADARLModel(keras.Model):
    """ADARL, its ablations, and their multi-task loss.

    Args:
        config: `ModelConfig` or its dict. Defaults to the paper's model.
        **kwargs: `keras.Model` arguments (`name`).

    Call arguments:
        inputs: `(batch, segment_samples)` float audio in [-1, 1]; with
            `normalization="speaker"` a dict of that `waveform` and
            `speaker_stats` `(batch,) + frontend.stats_shape`.
        training: bool.

    Returns:
        A dict: `emotion_probs` (batch, n_emotions), `deep_features`
        (batch, hidden_units), `center_distances` (batch, n_emotions), and for
        "adarl" and "domain_invariant" `domain_probs` (batch, n_domains); for
        "adarl" also `attention` (batch, freq rows), the weights I^D.

    Training targets are a dict `{"emotion": int, "domain": int}` per segment;
    a negative label means "unknown": a segment without an emotion label
    trains the domain pathway only (paper §2.3), and vice versa.
    """

    def __init__(self, config=None, **kwargs):
        if config is None:
            config = ModelConfig()
        elif isinstance(config, dict):
            config = ModelConfig.from_dict(config)
        kwargs.setdefault("name", config.variant)
        inputs, outputs = build_network(config)
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
        self.model_config = config
        # Per-class emotion loss weights (`set_class_weights`); None: unweighted.
        self.class_weights = None
        # Per-term trackers, reported each epoch beside the total `loss`.
        self.emotion_loss_tracker = keras.metrics.Mean(name="emotion_loss")
        self.center_loss_tracker = keras.metrics.Mean(name="center_loss")
        self.emotion_accuracy = keras.metrics.Mean(name="emotion_accuracy")  # WA.
        self.emotion_ua = BalancedAccuracy(config.n_emotions, name="emotion_ua")
        if self.has_domain_head:
            self.domain_loss_tracker = keras.metrics.Mean(name="domain_loss")
            self.domain_accuracy = keras.metrics.Mean(name="domain_accuracy")

    def set_class_weights(self, weights):
        """Weights the emotion cross-entropy per class (`class_balance=weighted_loss`).

        A training setting of one fold, not part of the model's config: set it
        before `fit` (the train step is traced with it). None: unweighted.
        """
        if weights is not None and len(weights) != self.model_config.n_emotions:
            raise ValueError(f"{len(weights)} class weights for "
                             f"{self.model_config.n_emotions} emotion classes")
        self.class_weights = None if weights is None else [float(w) for w in weights]

    @property
    def has_domain_head(self):
        return self.model_config.variant != "backbone"

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """L = l1 CE(domain) + l2 CE(emotion) + l3 L_center (paper Eq. 9).

        Under mixup each term is lambda times its value for the sample's own
        label plus 1 - lambda times its value for its partner's.

        When training, it also moves the class centres one step (Wen et al.);
        the centres are not optimiser variables.
        """
        c = self.model_config
        emotion = y["emotion"]
        # Mixup batches (pipelines/plan.py) carry the partners' labels and lambda.
        mixed = "mix" in y
        emotion_mix = (y["emotion_mix"], y["mix"]) if mixed else None
        emotion_loss = _mixed_mean(_crossentropy, emotion, y_pred[EMOTION_PROBS],
                                   self.class_weights, emotion_mix)
        center_loss = _mixed_mean(CenterLoss.true_distance, emotion,
                                  ops.cast(y_pred[CENTER_DISTANCES], "float32"),
                                  mixup=emotion_mix)
        total = c.emotion_loss_weight * emotion_loss + c.center_loss_weight * center_loss
        self.emotion_loss_tracker.update_state(emotion_loss)
        self.center_loss_tracker.update_state(center_loss)
        if self.has_domain_head:
            domain_loss = _mixed_mean(_crossentropy, y["domain"], y_pred[DOMAIN_PROBS],
                                      mixup=(y["domain_mix"], y["mix"]) if mixed else None)
            total = total + c.domain_loss_weight * domain_loss
            self.domain_loss_tracker.update_state(domain_loss)
        if training:  # Under mixup, by each sample's own label (lambda >= 0.5).
            self.get_layer("center_loss").update_centers(y_pred[DEEP_FEATURES], emotion)
        if self.losses:
            total = total + ops.sum(self.losses)
        # Each replica's share under tf.distribute (gradients are summed over them).
        return scale_loss_for_replicas(total)

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        hit, mask = _correct(y["emotion"], y_pred[EMOTION_PROBS])
        self.emotion_accuracy.update_state(hit, sample_weight=mask)
        self.emotion_ua.update_state(y["emotion"], y_pred[EMOTION_PROBS])
        if self.has_domain_head:
            hit, mask = _correct(y["domain"], y_pred[DOMAIN_PROBS])
            self.domain_accuracy.update_state(hit, sample_weight=mask)
        return logs_for_reduction(self.get_metrics_result())

    def get_config(self):
        return {"config": self.model_config.to_dict(), "name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def build_model(config: ModelConfig = None) -> ADARLModel:
    """The model for `config` (the paper's ADARL by default)."""
    return ADARLModel(config)
