"""The SavedModel: a segment signature and an utterance signature.

`serving_default`: float32 `waveform` [batch, segment_samples] (one segment
  of raw 16 kHz audio in [-1, 1] per row) -> `emotion_probs` [batch,
  n_emotions] and `domain_probs` [batch, n_domains].
`utterance`: float32 `waveform` [n] (a whole utterance, any length) ->
  `emotion_probs` [n_emotions], `domain_probs` [n_domains] and `n_segments`,
  the utterance cut by the training rule (`pipelines/plan.py`) inside the
  graph and its segment probabilities averaged.

The graph is the model's serving sub-model (`runners.serving_model`) with
each trunk unit's batch norm folded into its convolutions and its two
branches merged into one (`inference_graph.py`; `layout="int8"` writes the variant the
full-integer TFLite file is converted from).
Written with `keras.export.ExportArchive`, which tracks the model's variables
itself: converting a hand-made `tf.function` around the Keras model gave
constant outputs here (its variables were not captured), so nothing in this
package builds the graph that way.
"""

from adarl_tf import files
from adarl_tf.export import inference_graph
from adarl_tf.export.runners import (
    OUTPUTS,
    SERVING_SIGNATURE,
    SPEAKER_STATS,
    WAVEFORM,
    input_shapes,
    serving_model,
)

UTTERANCE_SIGNATURE = "utterance"


def _inputs(waveform, speaker_stats):
    """The model's input: the waveforms alone, or with their speakers' statistics."""
    return waveform if speaker_stats is None else {"waveform": waveform,
                                                   "speaker_stats": speaker_stats}


def segment_graph(waveform, cut):
    """(k, L) windows of one (n,) waveform by `cut`'s scoring rule, in the graph
    (`plan.starts` without draws; `runners.segment_array` in numpy)."""
    import tensorflow as tf
    L, n = cut.segment, tf.shape(waveform)[0]
    full, rest = n // L, n % L
    keep = tf.logical_and(rest > 0, tf.logical_or(rest >= cut.min_tail, full == 0))
    k = tf.maximum(full + tf.cast(keep, tf.int32), 1)
    kept = waveform[:k * L]
    windows = tf.reshape(tf.pad(kept, [[0, k * L - tf.shape(kept)[0]]]), [k, L])
    if cut.tail == "overlap":
        last = tf.slice(tf.pad(waveform, [[0, L]]), [tf.maximum(n - L, 0)], [L])
        windows = tf.cond(tf.logical_and(n > L, k * L > n),
                          lambda: tf.concat([windows[:-1], last[None]], 0), lambda: windows)
    return windows


def write_saved_model(model, path, min_tail_samples, layout="float", tail="pad"):
    """Exports the inference graph of `model` as a SavedModel at `path`.

    The folder is written under a temporary name beside `path` and renamed
    into place (`files.atomic_dir`), so an interrupted export never leaves
    half a SavedModel.

    Args:
        model: `ADARLModel`, trained.
        path: str or path-like. The SavedModel folder (replaced if present).
        min_tail_samples: int. The fold's tail policy, baked into `utterance`.
        layout: str. `inference_graph.fuse`'s layout: "float" for the exported
            SavedModel and the float TFLite files, "int8" for the graph the
            full-integer TFLite file is converted from.
        tail: str. The fold's `DataConfig.tail`, baked into `utterance`.

    Returns:
        The (fused) serving `keras.Model` that was exported.
    """
    # BN folded into the trunk convolutions (export/inference_graph.py): same outputs,
    # fewer full-size passes; parity compares it with the unfused model.
    serving = inference_graph.fuse(serving_model(model), layout)
    write_graph(serving, path, min_tail_samples, tail)
    return serving


def write_graph(serving, path, min_tail_samples, tail="pad"):
    """Exports a serving graph (`write_saved_model`'s, or an ensemble's) as a SavedModel.

    Args:
        serving: functional `keras.Model`: `waveform` (and `speaker_stats`, if
            it takes them) -> a dict holding `emotion_probs`.
        path: str or path-like. The SavedModel folder (replaced if present).
        min_tail_samples: int. The tail policy, baked into `utterance`.
        tail: str. `DataConfig.tail`, baked into `utterance`.
    """
    import keras
    import tensorflow as tf

    from adarl_tf.pipelines.plan import Cut

    segment_samples, stats_shape = input_shapes(serving)

    def segments_fn(waveform, speaker_stats=None):
        return serving(_inputs(waveform, speaker_stats), training=False)

    def utterance_fn(waveform, speaker_stats=None):
        segments = segment_graph(waveform, Cut(segment_samples, min_tail_samples, tail))
        if speaker_stats is not None:  # One utterance: its statistics for each segment.
            speaker_stats = tf.repeat(speaker_stats[None], tf.shape(segments)[0], axis=0)
        out = serving(_inputs(segments, speaker_stats), training=False)
        result = {k: tf.reduce_mean(out[k], axis=0) for k in OUTPUTS if k in out}
        result["n_segments"] = tf.shape(segments)[0]
        return result

    segments_specs = [tf.TensorSpec([None, segment_samples], tf.float32, name=WAVEFORM)]
    utterance_specs = [tf.TensorSpec([None], tf.float32, name=WAVEFORM)]
    if stats_shape is not None:
        segments_specs.append(tf.TensorSpec((None,) + stats_shape, tf.float32,
                                            name=SPEAKER_STATS))
        utterance_specs.append(tf.TensorSpec(stats_shape, tf.float32, name=SPEAKER_STATS))
    archive = keras.export.ExportArchive()
    archive.track(serving)
    archive.add_endpoint(SERVING_SIGNATURE, segments_fn, input_signature=segments_specs)
    archive.add_endpoint(UTTERANCE_SIGNATURE, utterance_fn, input_signature=utterance_specs)

    with files.atomic_dir(path) as tmp:
        archive.write_out(str(tmp), verbose=False)
