"""The figures and table of `benchmarks/accuracy.py` (no flags, so tests can import it).

Reads the fold folders `adarl_tf.main` writes (`results.json`, `predictions.csv`).
"""

import pathlib

import numpy as np
from sklearn import metrics


def wanted_folds(folds_flag):
    """--folds as fold indices: None for "all", else the comma list's integers."""
    return None if folds_flag.strip().lower() == "all" else [int(v) for v in folds_flag.split(",")]


def collect(out, folds_flag="all"):
    """Per-fold results of one run folder: the figures and the labels of each test utterance.

    Only the folds `folds_flag` names ("all": every fold folder with a result).
    Each fold is read by `FoldResult.load` (results.json and predictions.csv).
    """
    from adarl_tf.fold_result import FoldResult

    wanted = wanted_folds(folds_flag)
    folds = []
    for path in sorted(pathlib.Path(out).glob("fold_*/results.json")):
        r = FoldResult.load(path.parent)
        if wanted is not None and r.fold not in wanted:
            continue
        folds.append({"fold": r.fold, "test_speaker": r.test_speaker, "wa": r.wa,
                      "ua": r.ua, "domain_accuracy": r.domain_accuracy,
                      "n_test": len(r.y_true), "train_seconds": r.train_seconds or 0.0,
                      "epochs_completed": r.epochs_completed,
                      "selected_epoch": r.selected_epoch,
                      "epoch_selection": r.epoch_selection,
                      "y_true": [r.labels[i] for i in r.y_true],
                      "y_pred": [r.labels[i] for i in r.y_pred]})
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


def seeds_averaged(runs):
    """Per-fold UA of several runs of one recipe (seeds), averaged over them: the folds
    every run finished, as rows `paired_difference` reads."""
    common = set.intersection(*({f["fold"] for f in folds} for folds in runs))
    return [{"fold": k, "ua": float(np.mean([f["ua"] for folds in runs for f in folds
                                              if f["fold"] == k]))} for k in sorted(common)]


def per_seed_differences(a_runs, b_runs, names):
    """UA(a) - UA(b) run by run (`a_runs[i]` against `b_runs[i]`, named `names[i]`),
    each a `paired_difference` with its `name`. The standard error of a seeds-averaged
    difference measures the spread over folds only; these show the seeds' own."""
    out = []
    for name, a, b in zip(names, a_runs, b_runs):
        d = paired_difference(a, b)
        if d is not None:
            out.append({"name": name, **d})
    return out


def per_seed_line(label, per_seed):
    """One line: each run pair's mean difference, and the standard deviation of those
    means over the pairs (the seed-to-seed spread); "" for fewer than two pairs."""
    if len(per_seed) < 2:
        return ""
    means = [d["mean"] for d in per_seed]
    each = ", ".join(f"{d['mean']:+.3f} +- {d['se']:.3f} ({d['name']})" for d in per_seed)
    return (f"{label} seed by seed: {each}; the seeds' means spread {np.std(means, ddof=1):.3f} "
            f"(standard deviation over {len(means)} seeds), positive for "
            f"{sum(m > 0 for m in means)} of {len(means)}")


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
    if any(r.get("uses_test_speaker_audio") for r in rows):
        lines += ["", "linear floor: utterance log-mel statistics + logistic regression "
                  "(benchmarks/linear_baseline.py) on the same data and folds; \"per speaker\" "
                  "first z-scores every speaker, the test speakers included, with its own "
                  "statistics over all of its utterances: it uses the test speakers' unlabelled "
                  "audio, which the networks never see."]
    for preset, d in diffs.items():
        if d is not None:
            lines.append("")
            seeds = (f", seeds {', '.join(map(str, d['seeds']))} averaged per fold"
                     if len(d.get("seeds") or []) > 1 else "")
            lines.append(f"{preset}: ADARL - backbone UA = {d['mean']:+.3f} +- {d['se']:.3f} "
                         f"(standard error over {d['n']} paired folds{seeds}; per fold "
                         f"{', '.join(f'{v:+.3f}' for v in d['per_fold'])})")
            spread = per_seed_line(f"{preset}: ADARL - backbone", d.get("per_seed") or [])
            if spread:
                lines.append(spread)
    return "\n".join(lines)
