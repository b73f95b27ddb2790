r"""The paper's tables and figures from any set of runs, beside the published numbers.

  python -m adarl_tf.report runs/iemocap_adarl runs/iemocap_backbone [--out=report]

Reads each run folder (`data_report.json`, `fold_NN/results.json`,
`fold_NN/test_features.npz`) and writes into `--out`:

  report.md                 WA/UA beside the paper (SPEC §6), per-fold table, confusion
                            diagonals, male/female centre distances, domain accuracy
  wa_ua.png                 WA/UA of every run and of the paper's three models
  confusion_<run>.png       averaged row-normalised confusion matrix (paper Fig. 4)
  tsne_<run>.png            t-SNE of the test utterances' deep features, one panel per
                            gender, class centres marked (paper Fig. 5)
  centre_distances.png      male/female centre distance per class (paper Table 4)
  domain_accuracy.png       gender accuracy on the test speakers, per fold

Partial runs are fine: the report says which folds are missing. A damaged
file (a torn `results.json`, a `test_features.npz` that is not an archive of
arrays) stops it with one `error:` line naming the file and the fix, exit
status 2, before anything is written: every input is read and every figure
drawn first, then the files are written (each atomically, `files.py`) and
`--out` is created only then. No TensorFlow import: it runs wherever
matplotlib and scikit-learn do.
"""

import pathlib
import re
import sys

import numpy as np
from absl import app, flags
from matplotlib.figure import Figure
from sklearn.manifold import TSNE

from adarl_tf import files, fold_files
from adarl_tf.fold_result import FoldResult
from adarl_tf.plots import confusion_figure, figure_to_png

# SPEC §6: IEMOCAP improvised, 4 classes, LOSO (paper Tables 2-4, Fig. 4).
PAPER = {
    "adarl": {"name": "ADARL", "wa": 73.02, "ua": 65.86,
              "recall": {"angry": 64.83, "happy": 38.55, "sad": 83.68, "neutral": 76.36},
              "distance": {"angry": 6.32, "happy": 3.23, "sad": 5.41, "neutral": 4.66}},
    "backbone": {"name": "Backbone", "wa": 69.96, "ua": 56.78,
                 "recall": {"angry": 61.77, "happy": 2.20, "sad": 83.28, "neutral": 79.88},
                 "distance": {"angry": 11.58, "happy": 9.16, "sad": 8.61, "neutral": 10.14}},
    "domain_invariant": {"name": "Domain-invariant", "wa": 71.47, "ua": 61.91},
}
PAPER_ORDER = ("angry", "happy", "sad", "neutral")  # The paper's confusion-matrix order.
EMOTION_COLOURS = {"angry": "tab:red", "happy": "tab:orange", "sad": "tab:blue",
                   "neutral": "tab:gray"}
GENDER_NAMES = {"F": "female", "M": "male"}
_OTHER_COLOURS = ("tab:green", "tab:purple", "tab:brown", "tab:pink", "tab:olive", "tab:cyan")


def class_order(runs):
    """The paper's class order for runs on its four classes; else the runs' own class set.

    Runs with different class sets cannot share the per-class tables.
    """
    sets = {tuple(r["labels"]) for r in runs}
    if all(set(s) == set(PAPER_ORDER) for s in sets):
        return PAPER_ORDER
    if len(sets) > 1:
        raise ValueError("the runs have different class sets (" + "; ".join(
            ", ".join(s) for s in sorted(sets)) + "); report them separately")
    return tuple(runs[0]["labels"])


def _colour(label, order):
    if label in EMOTION_COLOURS:
        return EMOTION_COLOURS[label]
    others = [l for l in order if l not in EMOTION_COLOURS]
    return _OTHER_COLOURS[others.index(label) % len(_OTHER_COLOURS)]
NOT_COMPARABLE = "synthetic demo corpus — not comparable to the paper's IEMOCAP figures"


DATA_REPORT_FIX = ("write it again with the run's `python -m adarl_tf.main` flags and "
                   "--dry_run, or delete it (the report then knows only the folds present)")


def load_run(run_dir):
    """Everything the report needs from one run folder, every file checked.

    Raises:
        ValueError: the folder holds no finished fold, or a damaged file
            (`fold_files.RunFileError`, naming it and the fix).
    """
    run_dir = pathlib.Path(run_dir)
    folds, features = [], []
    for path in sorted(run_dir.glob("fold_*/" + fold_files.RESULTS)):
        folds.append(FoldResult.read(path, fold_files.RESULTS_KEYS + ("confusion_matrix",)))
        npz = path.parent / fold_files.FEATURES
        features.append(fold_files.read_features(npz) if npz.exists() else None)
    if not folds:
        raise ValueError(f"{run_dir}: no fold_NN/results.json; is it a run folder of "
                         "adarl_tf.main, and has a fold finished?")
    report_path = run_dir / "data_report.json"
    data_report = (fold_files.read_json(report_path, "data_report.json", DATA_REPORT_FIX)
                   if report_path.exists() else {})
    # The protocol's folds (one speaker each with LOSO); older reports have speakers only.
    if "folds" in data_report:
        speakers = ["+".join(f["test_speakers"]) for f in data_report["folds"]]
    elif "speakers" in data_report:
        speakers = [s["id"] for s in data_report["speakers"]]
    else:
        speakers = [f.test_speaker for f in folds]
    done = {f.fold for f in folds}
    return {"dir": run_dir, "name": run_dir.name, "folds": folds, "features": features,
            "corpus": folds[0].corpus, "variant": folds[0].variant, "config": folds[0].config,
            "labels": list(folds[0].labels), "speakers": speakers,
            "missing": [(i, s) for i, s in enumerate(speakers) if i not in done]}


def protocol_notes(run):
    """Ways in which a run differs from the paper's protocol (empty: none)."""
    notes = []
    if run["corpus"] != "IEMOCAP":
        notes.append(NOT_COMPARABLE if "demo" in run["corpus"] else
                     f"{run['corpus']}: not IEMOCAP, not comparable to the paper's figures")
    data, train = run["config"]["data"], run["config"]["train"]
    if run["corpus"] == "IEMOCAP":
        if data["iemocap_subset"] != "improvised" or data["merge_excited"]:
            notes.append(f"IEMOCAP subset {data['iemocap_subset']}, excited merged: "
                         f"{data['merge_excited']} (paper: improvised, not merged)")
    if train["epochs"] != 50 or {f.epochs_completed for f in run["folds"]} != {50}:
        notes.append(f"{train['epochs']} epochs (paper: 50)")
    if run["missing"]:
        notes.append(f"{len(run['missing'])} of {len(run['speakers'])} folds missing: "
                     + ", ".join(f"{i} ({s})" for i, s in run["missing"]))
    return notes


def averaged_confusion(run, order=PAPER_ORDER):
    """Mean over folds of the row-normalised confusion matrices, in percent.

    A fold without an example of a class does not count for that row.
    """
    index = [run["labels"].index(l) for l in order]
    rows = []
    for f in run["folds"]:
        m = np.asarray(f.confusion_matrix, dtype=np.float64)[np.ix_(index, index)]
        support = m.sum(axis=1, keepdims=True)
        rows.append(np.divide(100 * m, support, out=np.full_like(m, np.nan),
                              where=support > 0))
    with np.errstate(invalid="ignore"):
        return np.nanmean(np.stack(rows), axis=0) if rows else None


def pooled_features(run):
    """The test utterances' deep features of all folds, with labels and genders."""
    kept = [(f, p) for f, p in zip(run["folds"], run["features"]) if p is not None]
    parts = [p for _, p in kept]
    if not parts:
        return None
    names = [str(n) for n in parts[0]["label_names"]]
    return {"features": np.concatenate([p["deep_features"] for p in parts]),
            "labels": np.concatenate([[names[i] for i in p["labels"]] for p in parts]),
            "genders": np.concatenate([p["genders"].astype(str) for p in parts]),
            "folds": np.concatenate([[f.fold] * len(p["labels"]) for f, p in kept])}


def centre_distances(pooled, order=PAPER_ORDER):
    """{class: L2 distance between the male and female class centres} (paper Table 4)."""
    out = {}
    for label in order:
        centres = []
        for g in ("M", "F"):
            mask = (pooled["labels"] == label) & (pooled["genders"] == g)
            centres.append(pooled["features"][mask].mean(axis=0) if mask.any() else None)
        out[label] = (None if any(c is None for c in centres)
                      else float(np.linalg.norm(centres[0] - centres[1])))
    return out


def _mean_std(values):
    values = np.asarray([v for v in values if v is not None], dtype=np.float64)
    if not len(values):
        return None, None
    return float(values.mean()), float(values.std(ddof=1)) if len(values) > 1 else 0.0


def _pct(value, std=None):
    if value is None:
        return "n/a"
    return f"{100 * value:.2f}" + ("" if std is None else f" ± {100 * std:.2f}")


# ---------------------------------------------------------------- figures


def _draw(pngs, fig, path):
    """Draws `fig` into `pngs` under `path` (written once everything is drawn)."""
    pngs[path] = figure_to_png(fig)
    return path


def wa_ua_figure(runs):
    fig = Figure(figsize=(7, 3.6), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    names, wa, ua, hatch = [], [], [], []
    for run in runs:
        names.append(f"{run['label']}\n({len(run['folds'])} folds)")
        wa.append(100 * _mean_std(f.wa for f in run["folds"])[0])
        ua.append(100 * _mean_std(f.ua for f in run["folds"])[0])
        hatch.append("")
    for key, paper in PAPER.items():
        names.append(f"paper: {paper['name']}\n(IEMOCAP)")
        wa.append(paper["wa"])
        ua.append(paper["ua"])
        hatch.append("//")
    x = np.arange(len(names))
    for offset, values, label, colour in ((-0.2, wa, "WA", "tab:blue"),
                                          (0.2, ua, "UA", "tab:orange")):
        bars = ax.bar(x + offset, values, 0.4, label=label, color=colour)
        for bar, h, v in zip(bars, hatch, values):
            bar.set_hatch(h)
            ax.text(bar.get_x() + bar.get_width() / 2, v + 1, f"{v:.1f}", ha="center",
                    fontsize=7)
    ax.set_xticks(x, names, fontsize=7)
    ax.set_ylim(0, 105)
    ax.set_ylabel("%")
    ax.legend(loc="upper left", fontsize=8)
    ax.set_title("WA/UA, mean over folds (hatched: the paper's IEMOCAP figures)", fontsize=9)
    return fig


def tsne_figure(pooled, title, seed=0, order=PAPER_ORDER):
    """t-SNE of the deep features, one panel per gender, class centres marked.

    One embedding for all points (so the panels share coordinates); a centre is
    the mean of a class's embedded points in that panel.
    """
    n = len(pooled["features"])
    perplexity = float(min(30.0, max(2.0, (n - 1) / 3)))
    xy = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(
        pooled["features"].astype(np.float64))
    genders = [g for g in ("F", "M") if (pooled["genders"] == g).any()]
    fig = Figure(figsize=(4.2 * max(len(genders), 1) + 0.8, 4.8), dpi=100, layout="constrained")
    axes = fig.subplots(1, max(len(genders), 1), sharex=True, sharey=True, squeeze=False)[0]
    for ax, g in zip(axes, genders):
        for label in order:
            mask = (pooled["genders"] == g) & (pooled["labels"] == label)
            if not mask.any():
                continue
            colour = _colour(label, order)
            ax.scatter(xy[mask, 0], xy[mask, 1], s=12, alpha=0.6, color=colour,
                       label=f"{label} ({int(mask.sum())})")
            cx, cy = xy[mask].mean(axis=0)
            ax.scatter([cx], [cy], marker="X", s=160, color=colour, edgecolor="black",
                       linewidth=1.2)
        ax.set_title(f"{GENDER_NAMES[g]} test speakers", fontsize=9)
        # Below the panel: inside, the legend hides points.
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.02), ncol=4,
                  title="emotion (utterances); X = class centre", title_fontsize=7,
                  frameon=False)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(f"{title}: t-SNE of the 64-d deep features (perplexity {perplexity:.0f})",
                 fontsize=9)
    return fig


def centre_distance_figure(runs, order=PAPER_ORDER):
    fig = Figure(figsize=(6.5, 3.4), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    series = [(r["label"], r["distances"]) for r in runs if r.get("distances")]
    if tuple(order) == PAPER_ORDER:
        series += [(f"paper: {PAPER[k]['name']} (IEMOCAP)", PAPER[k]["distance"])
                   for k in ("backbone", "adarl")]
    width = 0.8 / max(len(series), 1)
    x = np.arange(len(order))
    for i, (name, distances) in enumerate(series):
        values = [np.nan if distances.get(l) is None else distances[l] for l in order]
        ax.bar(x - 0.4 + width * (i + 0.5), values, width, label=name,
               hatch="//" if name.startswith("paper") else "")
    ax.set_xticks(x, order)
    ax.set_ylabel("L2 distance, male vs female centre")
    ax.legend(fontsize=7)
    ax.set_title("Male/female class-centre distance of the deep feature (paper Table 4)",
                 fontsize=9)
    return fig


def domain_accuracy_figure(runs):
    fig = Figure(figsize=(6.5, 3.2), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    shown = [r for r in runs if any(f.domain_accuracy is not None for f in r["folds"])]
    width = 0.8 / max(len(shown), 1)
    all_folds = sorted({f.fold for r in shown for f in r["folds"]})
    for i, run in enumerate(shown):
        acc = {f.fold: f.domain_accuracy for f in run["folds"]}
        values = [100 * acc[k] if acc.get(k) is not None else np.nan for k in all_folds]
        ax.bar(np.arange(len(all_folds)) - 0.4 + width * (i + 0.5), values, width,
               label=run["label"])
    ax.set_xticks(range(len(all_folds)), [f"fold {k}" for k in all_folds], fontsize=7)
    ax.set_ylim(0, 105)
    ax.set_ylabel("gender accuracy on the test speaker, %")
    if shown:
        ax.legend(fontsize=7)
    else:
        ax.text(0.5, 0.5, "no run has a domain head (backbone only)", ha="center",
                transform=ax.transAxes)
    ax.set_title("Domain (gender) accuracy per fold (paper: close to 100 %)", fontsize=9)
    return fig


# ---------------------------------------------------------------- report


def _slug(text):
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "run"


def build_report(run_dirs, out_dir, seed=0):
    """Writes `report.md` and the figures into `out_dir`; returns the written paths.

    Everything is read and drawn before the first file is written, and
    `out_dir` is created only then: a run that cannot be reported leaves an
    earlier report (and the run folders) as they were.

    Raises:
        ValueError: no finished fold, runs with different class sets, or a
            damaged file (`fold_files.RunFileError`).
        OSError: `out_dir` cannot be written.
    """
    runs = [load_run(d) for d in run_dirs]
    order = class_order(runs)
    _label_runs(runs)
    out_dir = pathlib.Path(out_dir)
    pngs = {}  # {path: PNG bytes}, drawn now, written at the end.
    _draw(pngs, wa_ua_figure(runs), out_dir / "wa_ua.png")
    lines = (_intro_lines(runs) + _wa_ua_lines(runs) + _per_fold_lines(runs)
             + _confusion_lines(runs, order, pngs, out_dir)
             + _feature_lines(runs, order, seed, pngs, out_dir)
             + _domain_lines(runs, pngs, out_dir))
    report = out_dir / "report.md"
    out_dir.mkdir(parents=True, exist_ok=True)
    for path, png in pngs.items():
        with files.atomic_path(path) as tmp:
            tmp.write_bytes(png)
    files.write_text(report, "\n".join(lines) + "\n")
    return [report] + list(pngs)


def _label_runs(runs):
    """Gives each run a unique `label`: two run folders may share a name."""
    labels_seen = {}
    for run in runs:
        base = run["name"]
        labels_seen[base] = labels_seen.get(base, 0) + 1
        run["label"] = base if labels_seen[base] == 1 else f"{base}_{labels_seen[base]}"


def _intro_lines(runs):
    lines = ["# ADARL report", "",
             "Utterance-level WA (overall accuracy) and UA (mean per-class recall), "
             "leave-one-speaker-out; each fold's model is the one after its last epoch. "
             "The paper's figures are IEMOCAP improvised, 4 classes, 10 folds (SPEC §6).", ""]
    lines += ["## Runs", ""]
    for run in runs:
        notes = protocol_notes(run)
        lines.append(f"- **{run['label']}** (`{run['dir']}`): {run['variant']} on the "
                     f"{run['corpus']}, {len(run['folds'])} of {len(run['speakers'])} folds"
                     + ("" if not notes else "; " + "; ".join(f"**{n}**" for n in notes)))
    return lines


def _wa_ua_lines(runs):
    lines = ["", "## WA / UA beside the paper", "", "![WA/UA](wa_ua.png)", "",
             "| model | data | folds | WA % (mean ± std) | UA % (mean ± std) | "
             "domain acc. % | comparable to the paper |", "|---|---|---|---|---|---|---|"]
    for run in runs:
        wa, wa_s = _mean_std(f.wa for f in run["folds"])
        ua, ua_s = _mean_std(f.ua for f in run["folds"])
        dom, _ = _mean_std(f.domain_accuracy for f in run["folds"])
        notes = protocol_notes(run)
        comparable = "yes" if not notes else f"no: {notes[0]}" + (
            " (more under Runs)" if len(notes) > 1 else "")
        lines.append(f"| {run['label']} ({run['variant']}) | {run['corpus']} | "
                     f"{len(run['folds'])}/{len(run['speakers'])} | {_pct(wa, wa_s)} | "
                     f"{_pct(ua, ua_s)} | {_pct(dom)} | {comparable} |")
    for paper in PAPER.values():
        lines.append(f"| paper: {paper['name']} | IEMOCAP improvised | 10/10 | "
                     f"{paper['wa']:.2f} | {paper['ua']:.2f} | close to 100 | (reference) |")
    return lines


def _per_fold_lines(runs):
    lines = ["", "## Per fold", ""]
    for run in runs:
        lines += [f"### {run['label']}", "",
                  "| fold | test speaker | gender | utterances | epochs | WA % | UA % | "
                  "domain acc. % |", "|---|---|---|---|---|---|---|---|"]
        for f in sorted(run["folds"], key=lambda f: f.fold):
            lines.append(f"| {f.fold} | {f.test_speaker} | {f.test_gender or ''} | "
                         f"{f.n_test_utterances} | {f.epochs_completed} | "
                         f"{_pct(f.wa)} | {_pct(f.ua)} | {_pct(f.domain_accuracy)} |")
        if run["missing"]:
            lines.append("")
            lines.append("Missing folds (no `results.json`): "
                         + ", ".join(f"{i} ({s})" for i, s in run["missing"]) + ".")
        lines.append("")
    return lines


def _confusion_lines(runs, order, pngs, out_dir):
    lines = ["## Confusion matrices (paper Fig. 4)", "",
             "Row-normalised per fold, then averaged over the folds (a fold without an "
             "example of a class does not count for that row); rows truth.", ""]
    diag_rows = []
    for run in runs:
        percent = averaged_confusion(run, order)
        name = f"confusion_{_slug(run['label'])}.png"
        _draw(pngs, confusion_figure(
            percent, list(order),
            f"{run['label']}: mean of {len(run['folds'])} folds, % of row"), out_dir / name)
        lines += [f"![{run['label']}]({name})", ""]
        diag_rows.append((run["label"], dict(zip(order, np.diag(percent)))))
    for key in ("adarl", "backbone") if order == PAPER_ORDER else ():
        diag_rows.append((f"paper: {PAPER[key]['name']} (IEMOCAP)", PAPER[key]["recall"]))
    lines += ["Recall per class (the diagonal), %:", "",
              "| model | " + " | ".join(order) + " |",
              "|---|" + "---|" * len(order)]
    for name, diag in diag_rows:
        lines.append(f"| {name} | " + " | ".join(
            "n/a" if np.isnan(diag[label]) else f"{diag[label]:.2f}" for label in order)
            + " |")
    return lines


def _feature_lines(runs, order, seed, pngs, out_dir):
    """t-SNE figures and the centre distances (sets each run's `distances`)."""
    lines = ["", "## Deep features (paper Fig. 5 and Table 4)", "",
             "The 64-d deep feature of each test utterance (mean over its segments), pooled "
             "over the folds. Each fold's model has its own feature space, so pooled "
             "features mix spaces; with one fold per speaker this is the closest "
             "analogue of the paper's figure.", ""]
    for run in runs:
        pooled = pooled_features(run)
        if pooled is None:
            lines += [f"{run['label']}: no `test_features.npz` (run trained before they "
                      "were written); no t-SNE or centre distances.", ""]
            continue
        name = f"tsne_{_slug(run['label'])}.png"
        _draw(pngs, tsne_figure(pooled, run["label"], seed, order), out_dir / name)
        lines += [f"![t-SNE {run['label']}]({name})", ""]
        run["distances"] = centre_distances(pooled, order)
        if not all(g in set(pooled["genders"]) for g in ("F", "M")):
            lines += [f"{run['label']}: test speakers of one gender only, so no male/female "
                      "centre distance.", ""]
    _draw(pngs, centre_distance_figure(runs, order), out_dir / "centre_distances.png")
    lines += ["L2 distance between the male and female centres of each class "
              "(smaller: more gender-invariant):", "",
              "![centre distances](centre_distances.png)", "",
              "| model | " + " | ".join(order) + " |", "|---|" + "---|" * len(order)]
    for run in runs:
        d = run.get("distances") or {}
        lines.append(f"| {run['label']} | " + " | ".join(
            "n/a" if d.get(label) is None else f"{d[label]:.2f}" for label in order) + " |")
    for key in ("backbone", "adarl") if order == PAPER_ORDER else ():
        lines.append(f"| paper: {PAPER[key]['name']} (IEMOCAP) | " + " | ".join(
            f"{PAPER[key]['distance'][label]:.2f}" for label in order) + " |")
    return lines


def _domain_lines(runs, pngs, out_dir):
    _draw(pngs, domain_accuracy_figure(runs), out_dir / "domain_accuracy.png")
    return ["", "## Domain (gender) accuracy", "",
            "On the test speaker's utterances, per fold (backbone has no domain head; the "
            "domain-invariant model's adversary is trained to fail).", "",
            "![domain accuracy](domain_accuracy.png)", ""]


FLAGS = flags.FLAGS
flags.DEFINE_string("out", "report", "Folder for report.md and the figures.")
flags.DEFINE_integer("tsne_seed", 0, "Random state of the t-SNE.")


def main(argv):
    if len(argv) < 2:
        raise app.UsageError("usage: python -m adarl_tf.report RUN_DIR [RUN_DIR ...] "
                             "[--out=DIR]")
    try:
        written = build_report(argv[1:], FLAGS.out, FLAGS.tsne_seed)
    except ValueError as e:  # They name their file (or the runs) and the fix.
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"error: --out={FLAGS.out}: cannot be written ({e.strerror or e}); choose "
              "another folder with --out", file=sys.stderr)
        return 2
    print(f"Wrote {written[0]} and {len(written) - 1} figures into {FLAGS.out}")
    return 0


def run():
    app.run(lambda argv: sys.exit(main(argv)))


if __name__ == "__main__":
    run()
