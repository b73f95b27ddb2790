"""SavedModel and TFLite export of a trained fold; installed as `adarl_tf.export`.

  python -m adarl_tf.export --run_dir=runs/demo_adarl/fold_00

Modules:
  runners   one interface over .keras, SavedModel and .tflite: score segments
            and utterances (used by the parity check, `predict` and the benchmark)
  inference_graph     the serving model rewritten for inference: batch norms folded,
                      each unit's branches one convolution; an int8 layout for XNNPACK
  framed_spectrogram  the spectrogram's DFT as one matrix product over cut frames
  serving   the SavedModel: `serving_default` (segments) and `utterance` signatures
  tflite    SavedModel -> TFLite (float32, float16, dynamic-range int8, full int8),
            builtin ops only
  weights   weight-only float16 / int8 storage of chosen constants in a .tflite file;
            int8 weights for chosen FULLY_CONNECTED ops (hybrid)
  exporter  one fold: every format, `parity.json`, `model_card.json`, `labels.txt`
  ensemble  the same fold of several runs as one graph averaging their probabilities

Importing `adarl_tf.export` itself loads nothing; the submodules import Keras,
and TensorFlow or LiteRT inside the functions that need them.
"""
