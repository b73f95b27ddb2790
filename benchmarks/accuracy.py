r"""Speaker-disjoint cross-validation accuracy for presets x variants, in one table.

  # Reduced CPU setting (what RESULTS.md reports): 2 folds, small trunk, fewer epochs.
  python benchmarks/accuracy.py --dataset=ravdess --data_dir=../shared/data/ravdess_dev \
      --presets=configs/adarl_robust.cfg,configs/adarl.cfg --variants=adarl,backbone \
      --folds=0,1 --epochs=20 --trunk_filters=8,8,8,16 --max_freq_hz=2000 \
      --out_dir=runs/accuracy_cpu

  # Full setting (a GPU): every fold, each preset as written.
  python benchmarks/accuracy.py --dataset=ravdess --data_dir=... --folds=all \
      --out_dir=runs/accuracy_full

For each preset (an absl flagfile in configs/) and each variant, it runs
`python -m adarl_tf.main --flagfile=<preset> --variant=<variant> --fold=<folds>`
in a subprocess (its log in `<out_dir>/<preset>_<variant>/log.txt`), then
reads the folds' `results.json` and `predictions.csv`. Flags given here
(`--epochs`, `--trunk_filters`, ...) override the preset, for a reduced
setting; `--main_flags` passes anything else (e.g. `--emotions=...`).
Reruns continue: `adarl_tf.main` skips complete folds and resumes killed ones.
`--seeds=0,1,2` trains every preset x variant once per seed (`--seed`), into
`<preset>_<variant>_seed<N>`, and pairs ADARL with its backbone on each fold's
UA averaged over the seeds: one seed's difference moves by as much as the
differences measured (RESULTS.md).
With `KERAS_BACKEND=jax` in the environment and `--module` naming a JAX entry
point, the same harness drives a JAX run.

Prints one JSON line per preset x variant, then a table: UA and WA as mean
+- std (ddof=1) over folds and pooled over all test utterances, the gender
(domain) accuracy on the test speakers (mean over folds; n/a for the
backbone, which has no domain head), the folds run and the time; then, per
preset, ADARL minus backbone UA over the folds both ran (mean +- standard
error). The table also goes to `--markdown` (default `<out_dir>/accuracy.md`)
and everything to `<out_dir>/accuracy.json`.

Beside the networks, two rows of the linear floor (`benchmarks/linear_baseline.py`,
seconds on a CPU) on the same data and folds: "linear floor (global)" and
"linear floor (per speaker, uses test-speaker audio)", whose per-speaker
z-scoring uses the test speakers' unlabelled audio (`uses_test_speaker_audio`
in the JSON). The global row's gender column is the same classifier fitted on
gender: the floor under ADARL's domain head. The data come from the runs'
`config.json`, as `adarl_tf.main` resolved them from the preset, the overrides
and `--main_flags`: nothing is parsed twice. `--nolinear_floor` leaves them out.
"""

import json
import pathlib
import shlex
import subprocess
import sys
import time

from absl import app, flags

from adarl_tf.config import DataConfig
from adarl_tf.corpora.load import load_corpus

# The figures and the table live beside this script, without flags, so tests can
# import them (absl flags are process-wide: this script's --dataset would clash
# with adarl_tf.main's).
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import linear_baseline  # noqa: E402
from accuracy_table import (  # noqa: E402
    collect,
    paired_difference,
    per_seed_differences,
    seeds_averaged,
    summarise,
    table,
    wanted_folds,
)

FLAGS = flags.FLAGS
flags.DEFINE_list("presets", ["configs/adarl_robust.cfg", "configs/adarl.cfg"],
                  "Flagfiles to compare.")
flags.DEFINE_list("variants", ["adarl", "backbone"], "Variants run under every preset.")
flags.DEFINE_string("dataset", "demo", "--dataset of adarl_tf.main.")
flags.DEFINE_string("data_dir", None, "--data_dir of adarl_tf.main.")
flags.DEFINE_string("folds", "all", "--fold of adarl_tf.main: 'all' or a comma list.")
flags.DEFINE_integer("epochs", None, "Override the presets' epochs (reduced setting).")
flags.DEFINE_list("trunk_filters", None, "Override the trunk size (reduced setting).")
flags.DEFINE_float("max_freq_hz", None, "Override the band kept (reduced setting).")
flags.DEFINE_float("segment_s", None, "Override the segment length (reduced setting).")
flags.DEFINE_integer("batch_size", None, "Override the batch size.")
flags.DEFINE_string("main_flags", "", "More flags for adarl_tf.main, one string "
                    "(e.g. \"--emotions=neutral,happy --min_tail_s=0.5\").")
flags.DEFINE_list("seeds", [], "Train every preset x variant once per seed (--seed of "
                  "adarl_tf.main) into <preset>_<variant>_seed<N>; ADARL - backbone is then "
                  "paired on each fold's UA averaged over the seeds. Empty: one run each, "
                  "the config's seed, into <preset>_<variant>.")
flags.DEFINE_string("module", "adarl_tf.main", "The training entry point run per preset.")
flags.DEFINE_string("out_dir", "runs/accuracy", "One run folder per preset x variant here.")
flags.DEFINE_string("markdown", None, "Table file; default <out_dir>/accuracy.md.")
flags.DEFINE_bool("dry_run", False, "Print the commands, run nothing.")
flags.DEFINE_bool("collect_only", False, "Train nothing: the table from the folds already in "
                  "--out_dir (e.g. of a run that was stopped; a preset x variant with fewer "
                  "folds shows its count).")
flags.DEFINE_bool("linear_floor", True, "Also the linear floor (benchmarks/linear_baseline.py) "
                  "on the runs' data and folds, with global and with per-speaker normalisation.")

# The floor's rows, by the normalisation of benchmarks/linear_baseline.py.
FLOOR_ROWS = {"global": "linear floor (global)",
              "speaker": "linear floor (per speaker, uses test-speaker audio)"}


def _overrides():
    out = []
    for name in ("epochs", "max_freq_hz", "segment_s", "batch_size"):
        if getattr(FLAGS, name) is not None:
            out.append(f"--{name}={getattr(FLAGS, name)}")
    if FLAGS.epochs is not None:  # Over a preset that counts its run in steps.
        out.append("--train_steps=0")
    if FLAGS.trunk_filters:
        out.append(f"--trunk_filters={','.join(FLAGS.trunk_filters)}")
    return out


def _seeds(values):
    """--seeds as distinct integers, or a clear `app.UsageError`."""
    try:
        seeds = [int(v) for v in values]
    except ValueError:
        raise app.UsageError(f"--seeds={','.join(values)}: give integers, e.g. --seeds=0,1,2")
    if len(set(seeds)) != len(seeds):
        raise app.UsageError(f"--seeds={','.join(values)} repeats a seed; each seed trains once")
    return seeds


def run_dir(out_dir, preset, variant, seed=None):
    suffix = "" if seed is None else f"_seed{seed}"
    return pathlib.Path(out_dir) / f"{pathlib.Path(preset).stem}_{variant}{suffix}"


def command(preset, variant, out, seed=None):
    cmd = [sys.executable, "-m", FLAGS.module, f"--flagfile={preset}", f"--variant={variant}",
           f"--dataset={FLAGS.dataset}", f"--fold={FLAGS.folds}", f"--out_dir={out}"]
    if FLAGS.data_dir:
        cmd.append(f"--data_dir={FLAGS.data_dir}")
    seed_flag = [] if seed is None else [f"--seed={seed}"]
    return cmd + _overrides() + shlex.split(FLAGS.main_flags) + seed_flag


def linear_floor(run_dirs):
    """The floor's rows for the runs `run_dirs` ((preset, folder) pairs) made.

    Each run's data are read from its `config.json`; presets with the same data
    share one floor, on the folds of --folds.
    """
    presets_of = {}
    for preset, out in run_dirs:
        path = out / "config.json"
        if not path.is_file():
            print(f"linear floor: no {path}, so none for this run", file=sys.stderr, flush=True)
            continue
        data = json.dumps(json.loads(path.read_text())["data"], sort_keys=True)
        presets_of.setdefault(data, {})[pathlib.Path(preset).stem] = None
    rows = []
    for data, presets in presets_of.items():
        start = time.time()
        try:
            corpus = load_corpus(DataConfig(**json.loads(data)))
            results = linear_baseline.evaluate(corpus, list(FLOOR_ROWS),
                                               wanted_folds(FLAGS.folds))
        except (ValueError, OSError, TypeError) as e:
            print(f"linear floor for {', '.join(presets)}: {e}", file=sys.stderr, flush=True)
            continue
        for normalization, folds in results.items():
            rows.append({"preset": ", ".join(presets), "variant": FLOOR_ROWS[normalization],
                         "normalization": normalization,
                         "uses_test_speaker_audio": normalization == "speaker",
                         "data": json.loads(data), "wall_seconds": round(time.time() - start, 1),
                         "exit_status": 0, "summary": summarise(folds)})
    return rows


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    seeds = _seeds(FLAGS.seeds) or [None]
    out_dir = pathlib.Path(FLAGS.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for preset in FLAGS.presets:
        if not pathlib.Path(preset).is_file():
            raise app.UsageError(f"--presets: {preset} is not a file; presets are flagfiles "
                                 "such as configs/adarl_robust.cfg")
    rows, runs = [], {}
    for preset in FLAGS.presets:
        for variant, seed in ((v, s) for v in FLAGS.variants for s in seeds):
            out = run_dir(out_dir, preset, variant, seed)
            cmd = command(preset, variant, out, seed)
            print("$ " + " ".join(shlex.quote(c) for c in cmd), flush=True)
            if FLAGS.dry_run:
                continue
            out.mkdir(parents=True, exist_ok=True)
            start, status = time.time(), 0
            if not FLAGS.collect_only:
                with open(out / "log.txt", "a", encoding="utf-8") as log:
                    status = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT).returncode
            wall = time.time() - start
            if status != 0:
                print(f"{preset} {variant}: exit status {status}; see {out / 'log.txt'}",
                      file=sys.stderr, flush=True)
            folds = collect(out, FLAGS.folds)
            runs[(preset, variant, seed)] = folds
            summary = summarise(folds)
            row = {"preset": pathlib.Path(preset).stem,
                   "variant": variant if seed is None else f"{variant}, seed {seed}",
                   "seed": seed, "command": cmd, "wall_seconds": round(wall, 1),
                   "exit_status": status, "summary": summary}
            rows.append(row)
            print(json.dumps({k: v for k, v in row.items() if k != "command"}), flush=True)
    if FLAGS.dry_run:
        if FLAGS.linear_floor:
            print("then the linear floor on the data of each run's config.json")
        return 0
    if FLAGS.linear_floor:
        for row in linear_floor([(p, run_dir(out_dir, p, v, s)) for p, v, s in runs]):
            rows.append(row)
            print(json.dumps({k: v for k, v in row.items() if k != "data"}), flush=True)
    diffs = {}
    for preset in FLAGS.presets:
        a = [runs.get((preset, "adarl", s)) for s in seeds]
        b = [runs.get((preset, "backbone", s)) for s in seeds]
        if all(a) and all(b):
            d = paired_difference(seeds_averaged(a), seeds_averaged(b))
            if d is not None:
                d["seeds"] = [s for s in seeds if s is not None]
                d["per_seed"] = per_seed_differences(a, b, [f"seed {s}" for s in seeds])
            diffs[pathlib.Path(preset).stem] = d
    text = table(rows, diffs)
    print(text)
    header = (f"# Accuracy: {FLAGS.dataset}, folds {FLAGS.folds}\n\n"
              f"Overrides: {' '.join(_overrides() + shlex.split(FLAGS.main_flags)) or 'none'}\n\n")
    md = pathlib.Path(FLAGS.markdown or out_dir / "accuracy.md")
    md.write_text(header + text + "\n", encoding="utf-8")
    (out_dir / "accuracy.json").write_text(
        json.dumps({"rows": rows, "paired_ua_difference": diffs}, indent=2), encoding="utf-8")
    return 0 if all(r["exit_status"] == 0 for r in rows) else 1


if __name__ == "__main__":
    app.run(main)
