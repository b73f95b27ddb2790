r"""ADARL's gender head judged per utterance and per test speaker.

  python benchmarks/speaker_gender.py --runs=runs/a/adarl_compact_speaker_bn_adarl_seed0[,...]

`results.json`'s `domain_accuracy` scores every test utterance on its own. A
speaker's gender is one fact about the speaker, and the per-speaker preset
(`configs/adarl_compact_speaker_bn.cfg`) scores a speaker's recordings together
anyway; this also judges each test speaker once, from the mean of the domain
head's probabilities over all its test utterances (a soft vote), against the
speaker's label (the majority of its utterances' labels: the loaders give each
speaker one). It reads the probabilities training saved (`test_features.npz`:
`domain_probs`, `domain_labels`, `speakers`) and prints, per fold: utterances,
utterance accuracy, speakers, speakers judged right, and the speakers judged
wrong with the share of their utterances the head gave the label's gender.
Nothing is trained. Measured figures: RESULTS.md (twenty-seventh session).
"""

import json
import pathlib
import sys

import numpy as np
from absl import app, flags

FLAGS = flags.FLAGS
KEYS = ("domain_labels", "speakers")


def judge(probs, labels, speakers):
    """The figures of one fold: `probs` (utterances, genders), integer `labels`, `speakers`."""
    probs, labels = np.asarray(probs, "float64"), np.asarray(labels, "int64")
    speakers = np.asarray(speakers).astype(str)
    hits = probs.argmax(-1) == labels
    wrong = {}
    for s in np.unique(speakers):
        own = speakers == s
        label = int(np.bincount(labels[own]).argmax())
        if int(probs[own].mean(0).argmax()) != label:
            wrong[str(s)] = round(float(hits[own].mean()), 4)
    n_speakers = len(np.unique(speakers))
    return {"utterances": len(labels), "utterance_accuracy": float(hits.mean()),
            "speakers": n_speakers, "speakers_right": n_speakers - len(wrong),
            "speaker_accuracy": (n_speakers - len(wrong)) / n_speakers, "wrong": wrong}


def run_judged(run_dir):
    """[(fold, figures)] of a run folder's finished folds with saved gender probabilities."""
    from adarl_tf import fold_files
    try:
        folds = fold_files.adarl_fold_features(
            run_dir, KEYS, "domain_probs",
            "no domain_probs; only --variant=adarl (or domain_invariant) has a gender "
            "head: give such a run folder")
    except fold_files.RunFileError as e:
        raise app.UsageError(str(e)) from None
    return [(fold, judge(a["domain_probs"], a["domain_labels"], a["speakers"]))
            for fold, a in folds]


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments {argv[1:]}")
    print("| run | fold | utterances | utterance accuracy | speakers right | "
          "speakers judged wrong (their utterances right) |")
    print("|---|---|---|---|---|---|")
    for run_dir in FLAGS.runs:
        rows = run_judged(run_dir)
        for fold, row in rows:
            print(json.dumps({"run": run_dir, "fold": fold, **row}), file=sys.stderr)
            wrong = ", ".join(f"{s} ({share:.2f})" for s, share in row["wrong"].items())
            print(f"| {run_dir} | {fold} | {row['utterances']} | "
                  f"{row['utterance_accuracy']:.3f} | {row['speakers_right']} of "
                  f"{row['speakers']} | {wrong or 'none'} |")
        right = sum(r["speakers_right"] for _, r in rows)
        total = sum(r["speakers"] for _, r in rows)
        utterance = np.mean([r["utterance_accuracy"] for _, r in rows])
        print(f"| {run_dir} | mean | | {utterance:.3f} (mean over folds) | {right} of {total} "
              f"({right / total:.3f}) | |")


if __name__ == "__main__":
    flags.DEFINE_list("runs", None, "ADARL run folders (python -m adarl_tf.main --out_dir).")
    flags.mark_flag_as_required("runs")
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
    app.run(main)
