r"""How much ADARL's domain-aware attention differs between test utterances and genders.

  python benchmarks/attention_spread.py --runs=runs/a/adarl_compact_adarl[,runs/b/...]

The attention (paper Eq. 4) rescales each frequency row of the emotion maps by a
weight computed from the domain pathway. If those weights come out the same for
every utterance, the domain pathway cannot adapt the emotion features to the
speaker's domain, and ADARL is its backbone with a constant gain per row (which
the next linear layer absorbs). This reads the weights that training saved for
every test utterance (`test_features.npz`: `attention`, `genders`) and prints,
per fold: the mean weight, the spread between utterances (the standard deviation
over utterances, averaged over rows, and relative to the mean weight), and the
largest female - male difference of a row's mean weight, also relative to the
mean (n/a where the fold's test speakers share a gender). Nothing is trained.
Measured figures: RESULTS.md (eighth session).
"""

import json
import pathlib
import sys

import numpy as np
from absl import app, flags

FLAGS = flags.FLAGS


def spread(attention, genders):
    """The figures of one fold: `attention` (utterances, rows), `genders` ("F"/"M")."""
    attention = np.asarray(attention, "float64")
    genders = np.asarray(genders).astype(str)
    mean = float(attention.mean())
    sd = float(attention.std(axis=0).mean())
    female, male = genders == "F", genders == "M"
    gap = None
    if female.any() and male.any():
        gap = float(np.abs(attention[female].mean(0) - attention[male].mean(0)).max())
    return {"utterances": len(attention), "mean_weight": mean, "sd_between_utterances": sd,
            "relative_sd": sd / mean, "max_gender_gap": gap,
            "relative_gender_gap": None if gap is None else gap / mean}


def run_spread(run_dir):
    """[(fold, figures)] of a run folder's finished folds with saved attention."""
    from adarl_tf import fold_files
    try:
        folds = fold_files.adarl_fold_features(
            run_dir, ("genders",), "attention",
            "no attention weights; only --variant=adarl has them (a backbone or "
            "domain_invariant run has none): give an ADARL run folder")
    except fold_files.RunFileError as e:
        raise app.UsageError(str(e)) from None
    return [(fold, spread(a["attention"], a["genders"])) for fold, a in folds]


def _fmt(value, spec):
    return "n/a" if value is None else format(value, spec)


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments {argv[1:]}")
    print("| run | fold | utterances | mean weight | sd between utterances (relative) "
          "| largest gender gap (relative) |")
    print("|---|---|---|---|---|---|")
    for run_dir in FLAGS.runs:
        for fold, row in run_spread(run_dir):
            print(json.dumps({"run": run_dir, "fold": fold, **row}), file=sys.stderr)
            print(f"| {run_dir} | {fold} | {row['utterances']} | {row['mean_weight']:.3f} | "
                  f"{row['sd_between_utterances']:.4f} ({row['relative_sd']:.2%}) | "
                  f"{_fmt(row['max_gender_gap'], '.4f')} "
                  f"({_fmt(row['relative_gender_gap'], '.2%')}) |")


if __name__ == "__main__":
    flags.DEFINE_list("runs", None, "ADARL run folders (python -m adarl_tf.main --out_dir).")
    flags.mark_flag_as_required("runs")
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
    app.run(main)
