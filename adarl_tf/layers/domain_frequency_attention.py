"""Domain-aware attention over frequency rows and its embedding (Eqs. 4-5)."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="adarl_tf")
class DomainFrequencyAttention(keras.layers.Layer):
    """Rescales emotion feature maps row by row with weights from the domain maps.

    `I^D = sigmoid(W_2 ReLU(W_1 CP(TP(F^D))))`, one weight per frequency row,
    where TP and CP average over time and channels; then
    `F^E'[f, t, k] = I^D[f] * F^E[f, t, k]` (the paper's `diag(I^D) x f_k`).
    Only frequency is kept because domains such as gender show in frequency.

    The domain input may instead be a vector per example, `(batch, dims)`, such
    as the domain head's hidden embedding; it then replaces the pooled profile
    `CP(TP(F^D))` (not in the paper: `ModelConfig.attention_input`).

    Args:
        units: int. Bottleneck width of the first dense layer (paper: 4).
            Defaults to 4.
        excite_initializer: initializer of the second dense layer's kernel.
            Defaults to "glorot_uniform" (the paper's Xavier). "zeros" makes
            every row's weight sigmoid(0) = 0.5 for every input at the start,
            so the network starts as its backbone (up to a constant scale) and
            the domain-dependent rescaling grows only as far as training
            pushes it. The bottleneck still learns from the second step on,
            through those of its ReLUs that are on.
        train_domain_maps: bool. Whether the gradient reaching the attention
            flows on into the domain maps or embedding (the paper: the emotion loss also
            trains the domain pathway). False stops it there: the domain
            trunk then learns from the domain loss alone, and the attention
            reads a gender representation that the emotion loss cannot
            reshape. Defaults to True.
        standardize_profile: bool. Whether a BatchNormalization standardises
            each row of the pooled profile over the batch before the
            bottleneck. The time-and-channel average of trained domain maps
            varies little between utterances (standard deviation ~0.03 per
            row against a mean ~0.4 on RAVDESS), so with the paper's
            initialisation the weights come out almost the same for every
            input, whatever its gender. Defaults to False (the paper).
        momentum: float. That BatchNormalization's moving-average momentum.
            Defaults to 0.99 (Keras').
        **kwargs: base layer arguments.

    Call arguments:
        inputs: list `[domain, emotion_maps]`.

    Input shape:
        emotion maps `(batch, freq, time, channels)`, e.g. `(batch, 8, 6, 64)`;
        domain maps of the same shape, or a domain embedding `(batch, dims)`.

    Output shape:
        List `[rescaled_emotion_maps, attention]`: the emotion maps' shape, and
        `(batch, freq)` weights in (0, 1).

    Example:
        >>> layer = DomainFrequencyAttention(units=4)
        >>> maps = np.ones((2, 8, 6, 64), "float32")
        >>> [y.shape for y in layer([maps, maps])]
        [(2, 8, 6, 64), (2, 8)]

    Reference:
        Fan et al., Interspeech 2020, §2.2 and Figure 3.
    """

    def __init__(self, units=4, excite_initializer="glorot_uniform", train_domain_maps=True,
                 standardize_profile=False, momentum=0.99, **kwargs):
        super().__init__(**kwargs)
        if int(units) <= 0:
            raise ValueError(f"units must be positive; got {units!r}")
        self.units = int(units)
        self.excite_initializer = keras.initializers.get(excite_initializer)
        self.train_domain_maps = bool(train_domain_maps)
        self.standardize_profile = bool(standardize_profile)
        self.momentum = float(momentum)

    def build(self, input_shape):
        domain_shape, emotion_shape = input_shape
        freq = emotion_shape[1]
        if len(domain_shape) == 4 and domain_shape[1] != freq:
            raise ValueError("domain and emotion maps need the same number of "
                             f"frequency rows; got {domain_shape} and {emotion_shape}")
        if len(domain_shape) not in (2, 4):
            raise ValueError("the domain input must be maps (batch, freq, time, channels) "
                             f"or an embedding (batch, dims); got {domain_shape}")
        # The bottleneck reads the pooled profile (one value per row) or the embedding.
        profile_dims = freq if len(domain_shape) == 4 else domain_shape[1]
        self.squeeze = keras.layers.Dense(
            self.units, activation="relu", dtype=self.dtype_policy, name="squeeze")
        self.excite = keras.layers.Dense(
            freq, activation="sigmoid", kernel_initializer=self.excite_initializer,
            dtype=self.dtype_policy, name="excite")
        self.profile_norm = None
        if self.standardize_profile:
            self.profile_norm = keras.layers.BatchNormalization(
                momentum=self.momentum, dtype=self.dtype_policy, name="profile_norm")
            self.profile_norm.build((None, profile_dims))
        self.squeeze.build((None, profile_dims))
        self.excite.build((None, self.units))

    def call(self, inputs, training=None):
        domain, emotion_maps = inputs
        if not self.train_domain_maps:
            domain = ops.stop_gradient(domain)
        profile = domain
        if len(domain.shape) == 4:
            profile = ops.mean(domain, axis=(2, 3))  # Time, then channel pooling.
        if self.profile_norm is not None:
            profile = self.profile_norm(profile, training=training)
        attention = self.excite(self.squeeze(profile))
        return [emotion_maps * attention[:, :, None, None], attention]

    def compute_output_shape(self, input_shape):
        domain_shape, emotion_shape = input_shape
        return [tuple(emotion_shape), (emotion_shape[0], emotion_shape[1])]

    def get_config(self):
        config = super().get_config()
        config["units"] = self.units
        config["excite_initializer"] = keras.initializers.serialize(self.excite_initializer)
        config["train_domain_maps"] = self.train_domain_maps
        config["standardize_profile"] = self.standardize_profile
        config["momentum"] = self.momentum
        return config
