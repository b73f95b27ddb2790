"""SavedModel and TFLite export of a trained fold; installed as `adarl_tf.export`.

  python -m adarl_tf.export --run_dir=runs/demo_adarl/fold_00

Modules:
  runners   one interface over .keras, SavedModel and .tflite: score segments
            and utterances (used by the parity check, `predict` and the benchmark)
  fused     the trunks' batch norms folded into their convolutions (inference only)
  serving   the SavedModel: `serving_default` (segments) and `utterance` signatures
  tflite    SavedModel -> TFLite (float32, float16, dynamic-range int8, full int8),
            builtin ops only
  weights   weight-only float16 / int8 storage of chosen constants in a .tflite file
  exporter  one fold: every format, `parity.json`, `model_card.json`, `labels.txt`

Importing `adarl_tf.export` itself loads nothing; the submodules import Keras,
and TensorFlow or LiteRT inside the functions that need them.
"""
