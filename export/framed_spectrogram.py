"""`FramedSpectrogram`, the inference graph's frontend: the DFT as one matrix product.

`Spectrogram` computes each window's DFT as a strided 1-D convolution of the
waveform with the windowed basis (one input channel, a 320-640 tap kernel).
The frames can be cut without a convolution: the padded waveform is
reshaped into hop-long blocks, and frame `t` is blocks `t .. t + length //
hop - 1` side by side, then, for a window that is not a whole number of
hops (the compact preset's 25 ms at a 10 ms hop), the first `length % hop`
samples of the next block (a few shifted slices and one concatenation).
The DFT of all frames is then one `(frames, length) x (length, 2 * bins)`
matrix product, a FULLY_CONNECTED op in TFLite: the same sums in another
order (float32 rounding differences only), and faster than the
convolutions. In the full-integer model the matrix keeps int8 weights and
float32 activations (`tflite.py`); XNNPACK runs such a FULLY_CONNECTED with
the frames quantised to int8 on the fly, one scale per frame, which keeps
each frame's dynamic range and is several times faster than float32
(timings: BUILD.md, "Inference graph timings").
"""

from keras import ops

from adarl_tf.layers import Spectrogram


class FramedSpectrogram(Spectrogram):
    """`Spectrogram` with the DFT as a matrix product over cut frames; inference only.

    Same arguments, weights, inputs and outputs as `Spectrogram` (the mel
    matrix and speaker normalisation come after the DFT, unchanged); a
    window shorter than the hop falls back to the convolution.
    """

    def _frame_dft(self, x, basis, length):
        hop, frames = self.config.hop_samples, self.config.n_frames
        whole, part = divmod(length, hop)
        if not whole:
            return super()._frame_dft(x, basis, length)
        if part:  # Whole hop blocks for the reshape; the zeros are never read.
            x = ops.pad(x, [[0, 0], [0, hop - part]])
        blocks = ops.reshape(x, (-1, x.shape[1] // hop, hop))  # (b, frames + n - 1, hop)
        # Frame t: blocks t .. t + whole - 1, then the first `part` samples of the next.
        pieces = [blocks[:, j:j + frames] for j in range(whole)]
        if part:
            pieces.append(blocks[:, whole:whole + frames, :part])
        framed = ops.concatenate(pieces, axis=-1)
        # Rank 2 for the product (static shapes: one FULLY_CONNECTED, no shape ops).
        spec = ops.matmul(ops.reshape(framed, (-1, length)), ops.reshape(basis, (length, -1)))
        spec = ops.reshape(spec, (-1, frames, spec.shape[-1]))
        block_energy = ops.sum(blocks * blocks, axis=-1, keepdims=True)
        energy = block_energy[:, :frames]
        for j in range(1, whole):
            energy = energy + block_energy[:, j:j + frames]
        if part:
            energy = energy + ops.sum(pieces[-1] * pieces[-1], axis=-1, keepdims=True)
        return spec, energy


def framed(layer):
    """A `FramedSpectrogram` with `layer`'s config, name and weights.

    Its weights are constants of the config but for `pooled_stats` (speaker
    normalisation), which training sets: copied, not rebuilt.
    """
    copy = FramedSpectrogram.from_config(layer.get_config())
    if layer.built:
        copy.build((None, layer.config.segment_samples))
        copy.set_weights(layer.get_weights())
    return copy

