r"""Exports a trained fold to SavedModel and TFLite, with a parity check.

  python -m adarl_tf.export --run_dir=runs/demo_adarl/fold_00
  python -m adarl_tf.export --run_dir=runs/iemocap_adarl/fold_03 \
      --formats=saved_model,tflite_int8 --data_dir=/data/IEMOCAP_full_release

Writes into `--out` (default `<run_dir>/export/`): `saved_model/`,
`model_float32.tflite`, `model_float16.tflite`, `model_dynamic_int8.tflite`,
`model_int8.tflite`, `parity.json`, `model_card.json`, `labels.txt`; with
`--formats=...,onnx` also `model.onnx` (ONNX Runtime in the parity check).
Exits with 1 if float32, float16 or ONNX disagree with the Keras model on the
class of more than 1 % of the test speaker's utterances, with 2 if the export
cannot be made (a missing or damaged input: one `error:` line names it and the fix).

An export for one speaker: the emotion pathway's BatchNorm statistics re-estimated
on a few of their recordings (as `predict --speaker_bn` scores them), in every format:

  python -m adarl_tf.export --run_dir=runs/x/adarl_compact_adarl/fold_00 \
      --speaker_bn_files=anna_1.wav,anna_2.wav,anna_3.wav --out=exports/anna

Several fold folders (the same fold of runs trained alike) export their
ensemble, the mean of their probabilities in one graph (`ensemble.py`), into
`<first run_dir>/export_ensemble/` by default:

  python -m adarl_tf.export --run_dir=runs/a/adarl_compact_adarl/fold_03,\
runs/b/adarl_compact_adarl/fold_03,runs/c/adarl_compact_adarl/fold_03
"""

import sys

from absl import app, flags

from adarl_tf.export import ensemble, exporter, tflite

FLAGS = flags.FLAGS
flags.DEFINE_list("run_dir", None, "Fold folder of a training run: <out_dir>/fold_NN, "
                  "holding results.json and model.keras; or several, comma-separated (the "
                  "same fold of runs trained alike), to export their ensemble.")
flags.DEFINE_list("formats", list(exporter.DEFAULT_FORMATS),
                  f"Formats to write, from {', '.join(exporter.FORMATS)} (onnx: when asked "
                  "for; it needs tf2onnx and onnxruntime). An ensemble: from "
                  f"{', '.join(ensemble.FORMATS)}, all by default.")
flags.DEFINE_string("out", None, "Output folder. Defaults to <run_dir>/export "
                    "(an ensemble: <first run_dir>/export_ensemble).")
flags.DEFINE_string("data_dir", None, "Corpus folder, overriding the one recorded in "
                    "results.json (for a fold trained on another machine).")
flags.DEFINE_integer("representative_segments", 200, "Training segments used to "
                     "calibrate the full-integer int8 model.")
flags.DEFINE_integer("seed", 0, "Seed of the calibration draw.")
flags.DEFINE_list("int8_float_scopes", list(tflite.INT8_FLOAT_SCOPES),
                  "Regular expressions on TFLite tensor names kept float32 in the int8 "
                  "model; must cover the frontend (export/tflite.py says why).")
flags.DEFINE_list("speaker_bn_files", None, "Recordings of one speaker (comma list): the "
                  "export keeps the emotion pathway's BatchNorm statistics of these, for "
                  "that speaker's device (one fold folder, a segment-normalised model).")
flags.mark_flag_as_required("run_dir")


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    if not FLAGS.run_dir:
        raise app.UsageError("--run_dir is empty: give a fold folder (<out_dir>/fold_NN)")
    if FLAGS.speaker_bn_files and len(FLAGS.run_dir) > 1:
        raise app.UsageError("--speaker_bn_files adapts one fold's model; give one --run_dir")
    try:
        if len(FLAGS.run_dir) > 1:
            # A single fold's default list asks for every format: an ensemble's every format.
            formats = (ensemble.DEFAULT_FORMATS if FLAGS.formats == list(exporter.DEFAULT_FORMATS)
                       else FLAGS.formats)
            card = ensemble.export_ensemble(FLAGS.run_dir, formats, FLAGS.out,
                                            data_dir=FLAGS.data_dir)
        else:
            card = exporter.export_fold(FLAGS.run_dir[0], FLAGS.formats, FLAGS.out,
                                        data_dir=FLAGS.data_dir,
                                        n_representative=FLAGS.representative_segments,
                                        seed=FLAGS.seed,
                                        int8_float_scopes=FLAGS.int8_float_scopes,
                                        speaker_bn_files=FLAGS.speaker_bn_files)
    except exporter.ExportError as e:  # One line: the file, why and the fix.
        print(f"error: {e}", file=sys.stderr)
        return 1 if isinstance(e, exporter.ParityError) else 2
    for fmt, figures in card["parity"].items():
        print(f"{fmt:16s} same class {figures['same_class_share']:7.2%}  max |dp| "
              f"{figures['max_abs_prob_diff']:.2e}  WA {figures['wa']:.4f}  UA "
              f"{figures['ua']:.4f}")
    return 0


def run():
    app.run(lambda argv: sys.exit(main(argv)))


if __name__ == "__main__":
    run()
