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
With `KERAS_BACKEND=jax` in the environment and `--module` naming a JAX entry
point, the same harness drives a JAX run.

Prints one JSON line per preset x variant, then a table: UA and WA as mean
+- std (ddof=1) over folds and pooled over all test utterances, the gender
(domain) accuracy on the test speakers (mean over folds; n/a for the
backbone, which has no domain head), the folds run and the time; then, per
preset, ADARL minus backbone UA over the folds both ran (mean +- standard
error). The table also goes to `--markdown` (default `<out_dir>/accuracy.md`)
and everything to `<out_dir>/accuracy.json`.
"""

import csv
import json
import pathlib
import shlex
import subprocess
import sys
import time

import numpy as np
from absl import app, flags
from sklearn import metrics

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
flags.DEFINE_string("module", "adarl_tf.main", "The training entry point run per preset.")
flags.DEFINE_string("out_dir", "runs/accuracy", "One run folder per preset x variant here.")
flags.DEFINE_string("markdown", None, "Table file; default <out_dir>/accuracy.md.")
flags.DEFINE_bool("dry_run", False, "Print the commands, run nothing.")
flags.DEFINE_bool("collect_only", False, "Train nothing: the table from the folds already in "
                  "--out_dir (e.g. of a run that was stopped; a preset x variant with fewer "
                  "folds shows its count).")


def _overrides():
    out = []
    for name in ("epochs", "max_freq_hz", "segment_s", "batch_size"):
        if getattr(FLAGS, name) is not None:
            out.append(f"--{name}={getattr(FLAGS, name)}")
    if FLAGS.trunk_filters:
        out.append(f"--trunk_filters={','.join(FLAGS.trunk_filters)}")
    return out


def run_dir(out_dir, preset, variant):
    return pathlib.Path(out_dir) / f"{pathlib.Path(preset).stem}_{variant}"


def command(preset, variant, out):
    cmd = [sys.executable, "-m", FLAGS.module, f"--flagfile={preset}", f"--variant={variant}",
           f"--dataset={FLAGS.dataset}", f"--fold={FLAGS.folds}", f"--out_dir={out}"]
    if FLAGS.data_dir:
        cmd.append(f"--data_dir={FLAGS.data_dir}")
    return cmd + _overrides() + shlex.split(FLAGS.main_flags)


def collect(out, folds_flag="all"):
    """Per-fold results of one run folder: the figures and the labels of each test utterance.

    Only the folds `folds_flag` names ("all": every fold folder with a result).
    """
    wanted = None if folds_flag.strip().lower() == "all" else \
        {int(v) for v in folds_flag.split(",")}
    folds = []
    for path in sorted(pathlib.Path(out).glob("fold_*/results.json")):
        r = json.loads(path.read_text())
        if wanted is not None and r["fold"] not in wanted:
            continue
        rows = (path.parent / "predictions.csv").read_text().splitlines()
        table = list(csv.DictReader(rows))
        folds.append({"fold": r["fold"], "test_speaker": r["test_speaker"], "wa": r["wa"],
                      "ua": r["ua"], "domain_accuracy": r.get("domain_accuracy"),
                      "n_test": len(table), "train_seconds": r.get("train_seconds", 0.0),
                      "epochs_completed": r.get("epochs_completed"),
                      "selected_epoch": r.get("selected_epoch"),
                      "epoch_selection": r.get("epoch_selection"),
                      "y_true": [t["label"] for t in table],
                      "y_pred": [t["prediction"] for t in table]})
    return folds


def summarise(folds):
    """Mean +- std over folds, pooled WA/UA, domain accuracy, time."""
    if not folds:
        return None
    out = {"n_folds": len(folds), "folds": [f["fold"] for f in folds],
           "test_speakers": [f["test_speaker"] for f in folds]}
    for key in ("ua", "wa"):
        values = np.array([f[key] for f in folds])
        out[f"{key}_mean"] = float(values.mean())
        out[f"{key}_std"] = float(values.std(ddof=1)) if len(values) > 1 else 0.0
        out[f"{key}_per_fold"] = [round(float(v), 4) for v in values]
    y_true = sum((f["y_true"] for f in folds), [])
    y_pred = sum((f["y_pred"] for f in folds), [])
    out["ua_pooled"] = float(metrics.balanced_accuracy_score(y_true, y_pred))
    out["wa_pooled"] = float(metrics.accuracy_score(y_true, y_pred))
    out["n_utterances"] = len(y_true)
    domain = [f["domain_accuracy"] for f in folds if f["domain_accuracy"] is not None]
    out["domain_accuracy_mean"] = float(np.mean(domain)) if domain else None
    out["domain_accuracy_min"] = float(np.min(domain)) if domain else None
    out["train_seconds"] = float(sum(f["train_seconds"] or 0.0 for f in folds))
    out["selected_epochs"] = [f["selected_epoch"] for f in folds]
    return out


def paired_difference(a_folds, b_folds):
    """UA(a) - UA(b) over the folds both ran: mean, standard error, n."""
    a = {f["fold"]: f["ua"] for f in a_folds}
    b = {f["fold"]: f["ua"] for f in b_folds}
    common = sorted(set(a) & set(b))
    if not common:
        return None
    d = np.array([a[k] - b[k] for k in common])
    se = float(d.std(ddof=1) / np.sqrt(len(d))) if len(d) > 1 else float("nan")
    return {"mean": float(d.mean()), "se": se, "n": len(d), "per_fold": d.round(4).tolist()}


def _pm(mean, std):
    return f"{mean:.3f} +- {std:.3f}"


def table(rows, diffs):
    lines = ["| preset | variant | folds | UA mean +- std | UA pooled | WA mean +- std | "
             "WA pooled | gender acc. (mean / min) | train time |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        s = r["summary"]
        if s is None:
            lines.append(f"| {r['preset']} | {r['variant']} | 0 | (no fold finished) "
                         "| | | | | |")
            continue
        dom = "n/a" if s["domain_accuracy_mean"] is None else \
            f"{s['domain_accuracy_mean']:.3f} / {s['domain_accuracy_min']:.3f}"
        lines.append(
            f"| {r['preset']} | {r['variant']} | {s['n_folds']} | "
            f"{_pm(s['ua_mean'], s['ua_std'])} | {s['ua_pooled']:.3f} | "
            f"{_pm(s['wa_mean'], s['wa_std'])} | {s['wa_pooled']:.3f} | {dom} | "
            f"{s['train_seconds'] / 60:.1f} min |")
    for preset, d in diffs.items():
        if d is not None:
            lines.append("")
            lines.append(f"{preset}: ADARL - backbone UA = {d['mean']:+.3f} +- {d['se']:.3f} "
                         f"(standard error over {d['n']} paired folds; per fold "
                         f"{', '.join(f'{v:+.3f}' for v in d['per_fold'])})")
    return "\n".join(lines)


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    out_dir = pathlib.Path(FLAGS.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for preset in FLAGS.presets:
        if not pathlib.Path(preset).is_file():
            raise app.UsageError(f"--presets: {preset} is not a file; presets are flagfiles "
                                 "such as configs/adarl_robust.cfg")
    rows, runs = [], {}
    for preset in FLAGS.presets:
        for variant in FLAGS.variants:
            out = run_dir(out_dir, preset, variant)
            cmd = command(preset, variant, out)
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
            runs[(preset, variant)] = folds
            summary = summarise(folds)
            row = {"preset": pathlib.Path(preset).stem, "variant": variant,
                   "command": cmd, "wall_seconds": round(wall, 1),
                   "exit_status": status, "summary": summary}
            rows.append(row)
            print(json.dumps({k: v for k, v in row.items() if k != "command"}), flush=True)
    if FLAGS.dry_run:
        return 0
    diffs = {}
    for preset in FLAGS.presets:
        a, b = runs.get((preset, "adarl")), runs.get((preset, "backbone"))
        if a and b:
            diffs[pathlib.Path(preset).stem] = paired_difference(a, b)
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
