r"""Trains and evaluates ADARL, one fold of the protocol (leave one speaker out by default)
per `--fold`.

  python -m adarl_tf.main --fold=0 --epochs=3                 # synthetic demo corpus
  python -m adarl_tf.main --fold=3 --dataset=iemocap \
      --data_dir=/data/IEMOCAP_full_release                   # the paper's protocol
  python -m adarl_tf.main --fold=all --variant=backbone       # an ablation, 10 folds
  python -m adarl_tf.main --dry_run --dataset=iemocap --data_dir=...   # data report only
  python -m adarl_tf.main --fold=0 --dataset=ravdess --data_dir=/data/RAVDESS --emotions=all
  python -m adarl_tf.main --fold=all --dataset=iemocap,emodb --data_dir=A,B --domain=corpus
  python -m adarl_tf.main --fold=all --parallel_folds=4       # one process per fold (GPU)
  python -m adarl_tf.main --summarize --out_dir=runs/x        # summary of the folds on disk

Writes `<out_dir>/data_report.json`, `config.json`, one `fold_NN/` per fold
(results.json, predictions.csv, model.keras, TensorBoard logs) and, for
several folds, `summary.json` and `summary.md`.

Running the same command again after a crash continues: a fold with a
complete results.json is skipped, a killed fold resumes from its last
finished epoch (`fold_NN/checkpoint/`); `--overwrite` starts the folds anew.

The flags are defined in `flags.py` (one per config field); the steps below
are functions of `experiment.py`.
"""

import os
import pathlib
import sys

from absl import app, flags, logging

from adarl_tf import distribute, experiment
from adarl_tf import flags as run_flags

FLAGS = run_flags.FLAGS
# --help lists the flags of adarl_tf/flags.py as this module's own.
flags.adopt_module_key_flags(run_flags)


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    if FLAGS.summarize:
        return experiment.summarize(FLAGS.out_dir)
    if FLAGS.fold is None and not FLAGS.dry_run:
        raise app.UsageError("--fold is required: an index such as --fold=0, a list "
                             "--fold=0,3, or --fold=all (or use --dry_run)")
    # Everything is checked before anything is written: a command that fails
    # must leave an existing run in --out_dir as it was.
    try:
        config = run_flags.config_from_flags()
    except ValueError as e:
        raise app.UsageError(str(e))
    config = experiment.resolved_init_from(config)
    profile_batch = run_flags.profile_batch(FLAGS.profile_batch)
    out_dir = pathlib.Path(FLAGS.out_dir or os.path.join(
            "runs", f"{FLAGS.dataset.replace(',', '+')}_{FLAGS.variant}"))
    experiment.check_out_dir(out_dir)
    corpus, config, report = experiment.load(config, out_dir, FLAGS.cache_dir)
    if FLAGS.dry_run:
        return experiment.dry_run(corpus, report, out_dir, config)
    folds = experiment.parse_folds(FLAGS.fold, len(corpus.fold_list()))
    try:
        strategy = distribute.make_strategy(FLAGS.strategy)
    except ValueError as e:
        raise app.UsageError(str(e))
    config = experiment.resolved_epochs(config, corpus, strategy)
    logging.info("Config:\n%s", config.to_json())
    status, complete = experiment.check_folds(config, corpus, folds, out_dir, FLAGS.overwrite)
    out_dir = experiment.write_run_files(config, report, out_dir, FLAGS.strategy)
    done = [f for f in folds if status[f] == "complete"]
    if done:
        logging.info("Folds %s are complete in %s (results.json with %d epochs, same config): "
                     "not trained again; add --overwrite to train them anew",
                     ", ".join(map(str, done)), out_dir, config.train.epochs)
    to_train = [f for f in folds if status[f] != "complete"]
    if FLAGS.parallel_folds > 1 and len(to_train) > 1:
        return experiment.train_in_processes(corpus, config, folds, to_train, out_dir,
                                             run_flags.child_flags(out_dir),
                                             FLAGS.parallel_folds)
    results = experiment.train_folds(config, corpus, folds, status, complete, out_dir,
                                     profile_batch=profile_batch, strategy=strategy)
    experiment.print_results(corpus, config, results, out_dir)
    return 0


def _one_line_errors(main_fn):
    """`main_fn` with a usage error printed as one line and exit code 1.

    absl's `app.run` would print the whole --help (about 215 lines) before it;
    --help itself is one flag away.
    """
    def wrapped(argv):
        try:
            return main_fn(argv)
        except app.UsageError as e:
            print(f"error: {e}", file=sys.stderr)
            return e.exitcode
    return wrapped


def run():
    app.run(_one_line_errors(main))


if __name__ == "__main__":
    run()
