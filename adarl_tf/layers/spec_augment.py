"""SpecAugment-style time and frequency masks (Park et al., 2019), training only."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="adarl_tf")
class SpecAugment(keras.layers.Layer):
    """Masks random time and frequency bands of a spectrogram when training.

    Each segment gets `time_masks` bands of 0..`time_mask_frames` frames and
    `freq_masks` bands of 0..`freq_mask_bins` bins, widths and positions
    uniform and independent per segment; a band is set to the segment's mean
    (per channel), since the input is a log spectrogram where 0 is not
    "silence". The same band covers every channel. At inference
    (`training=False`, i.e. `predict`, `evaluate`, export) it is the identity,
    so no random op reaches the serving graph.

    Args:
        time_masks: int. Time masks per segment.
        time_mask_frames: int. Widest time mask (frames).
        freq_masks: int. Frequency masks per segment.
        freq_mask_bins: int. Widest frequency mask (bins).
        seed: int or None. Seed of the layer's `keras.random.SeedGenerator`.
        **kwargs: base layer arguments.

    Input shape:
        `(batch, freq, time, channels)`.

    Output shape:
        Same as the input.

    Example:
        >>> SpecAugment(2, 30, 2, 20)(np.ones((2, 200, 100, 3), "float32"), training=True).shape
        (2, 200, 100, 3)
    """

    def __init__(self, time_masks=2, time_mask_frames=30, freq_masks=2, freq_mask_bins=20,
                 seed=None, **kwargs):
        super().__init__(**kwargs)
        self.time_masks = int(time_masks)
        self.time_mask_frames = int(time_mask_frames)
        self.freq_masks = int(freq_masks)
        self.freq_mask_bins = int(freq_mask_bins)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def _bands(self, batch, length, count, widest):
        """(batch, length) bool: the union of `count` random bands of 0..widest."""
        positions = ops.arange(length, dtype="float32")[None, :]
        masked = ops.zeros((batch, length), dtype="bool")
        for _ in range(count):
            width = ops.floor(keras.random.uniform((batch, 1), seed=self.seed_generator) *
                              (widest + 1))
            start = ops.floor(keras.random.uniform((batch, 1), seed=self.seed_generator) *
                              (length - width + 1))
            masked = ops.logical_or(masked, ops.logical_and(positions >= start,
                                                            positions < start + width))
        return masked

    def call(self, inputs, training=False):
        if not training or not (self.time_masks * self.time_mask_frames or
                                self.freq_masks * self.freq_mask_bins):
            return inputs
        batch = ops.shape(inputs)[0]
        n_freq, n_time = inputs.shape[1], inputs.shape[2]
        masked = ops.logical_or(
            self._bands(batch, n_freq, self.freq_masks, self.freq_mask_bins)[:, :, None],
            self._bands(batch, n_time, self.time_masks, self.time_mask_frames)[:, None, :])
        fill = ops.mean(inputs, axis=(1, 2), keepdims=True)
        return ops.where(masked[..., None], fill, inputs)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(time_masks=self.time_masks, time_mask_frames=self.time_mask_frames,
                      freq_masks=self.freq_masks, freq_mask_bins=self.freq_mask_bins,
                      seed=self.seed)
        return config
