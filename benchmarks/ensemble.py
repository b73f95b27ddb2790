r"""Score an ensemble: the mean of several finished runs' class probabilities, fold by fold.

  python benchmarks/ensemble.py \
      --members=runs/a/adarl_compact_adarl,runs/b/adarl_compact_adarl \
      [--against=runs/a/adarl_compact_backbone,runs/b/adarl_compact_backbone]

Each member is one `python -m adarl_tf.main` run folder (e.g. a seed, or the
same recipe under another normalisation), or several joined by "+" when one
recipe's folds were trained in separate runs, all on one corpus and protocol. On
every fold all members finished, the test utterances' class probabilities
(`predictions.csv`, `p_<class>`) are averaged and scored as training scores a
fold (`evaluation.classification_scores`: WA, UA); where every member saved
its domain probabilities (`test_features.npz`, variants with a domain head),
their mean scores the ensemble's test-speaker gender (domain) accuracy too.
`--against` scores a second ensemble (or one run) the same way, and the two
are paired over their common folds (`accuracy_table.paired_difference`): e.g.
ADARL members against backbone members trained alike. A second line pairs the
members' own UA averaged per fold: with seeds as members, the recipes' expected
single-run difference. A table pairs each class's recall, the ensembles' own
(the paper's confusion-matrix reading: which classes a recipe gains on). With as
many members as `--against` runs, a last line pairs member i with run i of
`--against` (the same seed of two recipes) and gives the spread of those
differences over the seeds, which the second line's standard error (over folds)
does not show. Nothing is trained or
chosen here: no epoch, weight or member is picked on a test speaker; which runs
to combine is the user's, and is best fixed before looking at their figures.

Members must agree fold by fold (corpus, protocol, class names, test speakers,
test utterances); a fold that some member lacks is left out and named. With
`--against`, every fold paired must hold the same test speakers on both sides,
and all the runs must have been trained on one kind of CPU (results.json's
`versions.cpu`; `--allow_mixed_cpus` pairs them anyway): the same fold and seed
trained on two kinds differed by as much as two seeds do. Runs older than that
record are listed as "CPU not recorded" and cannot be checked.
Prints one JSON line per fold, then a table. Measured figures: RESULTS.md.
"""

import json
import pathlib
import sys
import typing

import numpy as np
from absl import app, flags
from sklearn import metrics

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import accuracy_table  # noqa: E402  (same folder)

FLAGS = flags.FLAGS
NOT_RECORDED = "CPU not recorded"  # A run older than results.json's versions.cpu.


class MemberFold(typing.NamedTuple):
    """One member's finished fold: its results.json and its test utterances' probabilities."""
    run_dir: str
    result: typing.Any  # FoldResult.
    names: list
    y_true: np.ndarray
    probs: np.ndarray  # (utterances, classes).
    domain: typing.Any  # (probabilities, true indices) in `names` order, or None.


def load_member(spec):
    """{fold: MemberFold} of a member: a run folder, or folders joined by "+" (one
    recipe whose folds were trained in several runs)."""
    from adarl_tf import fold_files
    from adarl_tf.fold_result import FoldResult
    folds = {}
    for run_dir in spec.split("+"):
        for path in sorted(pathlib.Path(run_dir).glob("fold_*/results.json")):
            result = FoldResult.read(path)
            if result.fold in folds:
                raise app.UsageError(f"{spec}: fold {result.fold} is in both "
                                     f"{folds[result.fold].run_dir} and {run_dir}; join "
                                     "folders that hold different folds")
            try:  # A damaged file: its message names it and the fix, without a traceback.
                names, y_true, probs = fold_files.read_probabilities(
                    path.parent / fold_files.PREDICTIONS, list(result.labels))
                domain = _domain(path.parent / fold_files.FEATURES, names)
            except fold_files.RunFileError as e:
                raise app.UsageError(str(e)) from None
            folds[result.fold] = MemberFold(run_dir, result, names, y_true, probs, domain)
    if not folds:
        raise app.UsageError(f"{spec}: no finished fold (fold_NN/results.json); a member is a "
                             "python -m adarl_tf.main --out_dir folder with trained folds")
    return folds


def _domain(path, names):
    """(domain probabilities, true domain indices) of a fold's test utterances in
    `names` order, from its `test_features.npz`; None where it has none (a
    backbone, or a run trained before they were saved)."""
    from adarl_tf import fold_files
    if not path.is_file():
        return None
    arrays = fold_files.read_features(path, keys=())
    if not {"names", "domain_probs", "domain_labels"} <= set(arrays):
        return None
    row = {str(name): i for i, name in enumerate(arrays["names"])}
    if set(row) != set(names):
        raise app.UsageError(f"{path}: its utterances are not those of its predictions.csv; "
                             "train the fold again")
    order = [row[name] for name in names]
    return arrays["domain_probs"][order], arrays["domain_labels"][order]


def _check_same(fold, a, b, what="ensemble"):
    """Refuses to average or pair (`what`) two members' folds that are not the same test set."""
    for key in ("corpus", "protocol_id", "labels", "test_speaker"):
        if getattr(a.result, key) != getattr(b.result, key):
            raise app.UsageError(
                f"fold {fold}: {a.run_dir} and {b.run_dir} differ in {key} "
                f"({getattr(a.result, key)!r} against {getattr(b.result, key)!r}); {what} "
                "runs of one corpus, split (--protocol, --n_folds) and class list")
    if sorted(zip(a.names, a.y_true.tolist())) != sorted(zip(b.names, b.y_true.tolist())):
        raise app.UsageError(f"fold {fold}: {a.run_dir} and {b.run_dir} scored different test "
                             f"utterances (or labels); {what} runs of the same data")


def _aligned(member, first, values=None):
    """The member's probabilities (or `values`, rows in its `names` order), rows in
    the first member's utterance order."""
    row = {name: i for i, name in enumerate(member.names)}
    return (member.probs if values is None else values)[[row[name] for name in first.names]]


def _domain_accuracy(parts):
    """The accuracy of the members' mean domain probabilities, or None unless all have them."""
    if any(p.domain is None for p in parts):
        return None
    first = parts[0]
    probs = np.mean([_aligned(p, first, p.domain[0]) for p in parts], axis=0)
    return float(np.mean(probs.argmax(axis=1) == first.domain[1]))


def ensemble(run_dirs):
    """(per-fold rows, {fold: [run folders without it]}) of the probability mean.

    Each row has the keys `accuracy_table.summarise` reads, plus the members'
    own UA (`members_ua`) and whether any used test-speaker audio.
    """
    from adarl_tf import evaluation
    members = [load_member(d) for d in run_dirs]
    all_folds = sorted(set().union(*members))
    skipped = {f: [str(d) for d, m in zip(run_dirs, members) if f not in m] for f in all_folds}
    skipped = {f: missing for f, missing in skipped.items() if missing}
    rows = []
    for fold in (f for f in all_folds if f not in skipped):
        parts = [m[fold] for m in members]
        first = parts[0]
        for other in parts[1:]:
            _check_same(fold, first, other)
        probs = np.mean([_aligned(p, first) for p in parts], axis=0)
        labels = list(first.result.labels)
        scores = evaluation.classification_scores(first.y_true, probs, len(labels))
        rows.append({
            "fold": fold, "test_speaker": first.result.test_speaker, "wa": scores["wa"],
            "ua": scores["ua"], "domain_accuracy": _domain_accuracy(parts),
            "n_test": len(first.names),
            "train_seconds": sum(p.result.train_seconds or 0.0 for p in parts),
            "selected_epoch": None,
            "uses_test_speaker_audio": any(bool(p.result.uses_test_speaker_audio)
                                           for p in parts),
            "members_ua": [p.result.ua for p in parts],
            "cpus": sorted({(p.result.versions or {}).get("cpu") or NOT_RECORDED
                            for p in parts}),
            "y_true": [labels[i] for i in first.y_true],
            "y_pred": [labels[i] for i in probs.argmax(axis=1)],
            "first_member": first})  # For check_pairable; not printed.
    if not rows:
        raise app.UsageError(f"no fold finished by every member of {', '.join(map(str, run_dirs))}"
                             f" (missing: {skipped}); train the missing folds first")
    return rows, skipped


def check_pairable(members, against, allow_mixed_cpus=False):
    """Refuses to pair two ensembles' folds that are not the same test set (corpus, split,
    class list, test speakers, utterances), or runs trained on different kinds of CPU (one
    fold and seed trained on an AVX-512 Xeon and on an AVX2-only EPYC differed by as much as
    two seeds: RESULTS.md, thirty-fourth session) unless `allow_mixed_cpus`. Returns the
    CPUs the runs were trained on."""
    first_of = {r["fold"]: r["first_member"] for r in against}
    for r in members:
        if r["fold"] in first_of:
            _check_same(r["fold"], r["first_member"], first_of[r["fold"]], what="pair")
    cpus = sorted({c for r in members + against for c in r["cpus"]})
    recorded = [c for c in cpus if c != NOT_RECORDED]
    if len(recorded) > 1 and not allow_mixed_cpus:
        raise app.UsageError(
            f"the runs were trained on {len(recorded)} kinds of CPU ({'; '.join(recorded)}), "
            "which moves a fold's UA as much as a seed does: train both sides on one kind, "
            "or pass --allow_mixed_cpus to pair them anyway")
    return cpus


def table(named):
    """Markdown rows: name, folds, UA mean +- std, pooled UA, WA mean, gender accuracy
    (mean / worst fold, where every member saved its domain probabilities), UA per fold."""
    lines = ["| ensemble | folds | UA mean +- std | UA pooled | WA mean | members' UA mean | "
             "gender acc. (mean / min) | test-speaker audio | UA per fold |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, rows in named.items():
        s = accuracy_table.summarise(rows)
        members = np.mean([np.mean(r["members_ua"]) for r in rows])
        audio = "yes" if any(r["uses_test_speaker_audio"] for r in rows) else "no"
        # Only when every fold has it: a mean over some folds would read as the whole.
        gender = ("n/a" if any(r["domain_accuracy"] is None for r in rows) else
                  f"{s['domain_accuracy_mean']:.3f} / {s['domain_accuracy_min']:.3f}")
        lines.append(f"| {name} | {s['n_folds']} | {s['ua_mean']:.3f} +- {s['ua_std']:.3f} | "
                     f"{s['ua_pooled']:.3f} | {s['wa_mean']:.3f} | {members:.3f} | {gender} | "
                     f"{audio} | "
                     f"{', '.join(f'{v:.3f}' for v in s['ua_per_fold'])} |")
    return "\n".join(lines)


def main(argv):
    del argv
    named = {"members": ensemble(FLAGS.members)}
    if FLAGS.against:
        named["against"] = ensemble(FLAGS.against)
        # Before anything is printed: a refused pairing prints no half of its figures.
        cpus = check_pairable(named["members"][0], named["against"][0], FLAGS.allow_mixed_cpus)
    for name, (rows, skipped) in named.items():
        for fold, missing in skipped.items():
            print(f"{name}: fold {fold} left out: not finished in {', '.join(missing)}")
        for r in rows:
            print(json.dumps({"ensemble": name, **{k: r[k] for k in (
                "fold", "test_speaker", "ua", "wa", "domain_accuracy", "members_ua")}}),
                  flush=True)
    print(table({name: rows for name, (rows, _) in named.items()}))
    if FLAGS.against:
        members, against = named["members"][0], named["against"][0]
        print()
        for what, a, b in (("", members, against),
                           ("members' own UA averaged, ", _runs_averaged(members),
                            _runs_averaged(against))):
            d = accuracy_table.paired_difference(a, b)
            print(f"{what}members - against: UA {d['mean']:+.3f} +- {d['se']:.3f} (standard "
                  f"error over {d['n']} paired folds; per fold "
                  f"{', '.join(f'{v:+.3f}' for v in d['per_fold'])})"
                  if d else f"{what}members - against: no fold in common")
        print()
        print(class_recall_table(members, against))
        if len(FLAGS.members) == len(FLAGS.against):
            # Member i against member i of --against (e.g. the same seed of two recipes).
            spread = accuracy_table.per_seed_line("members - against", _pairs_by_member(
                members, against))
            if spread:
                print(spread)
        print(f"trained on: {'; '.join(cpus)}")


def class_recalls(rows):
    """{fold: each class's recall on that fold} (scikit-learn's `recall_score`), classes in
    the runs' label order; NaN for a class the fold's test speakers have no utterance of."""
    labels = list(rows[0]["first_member"].result.labels)
    return labels, {r["fold"]: metrics.recall_score(r["y_true"], r["y_pred"], labels=labels,
                                                    average=None, zero_division=np.nan)
                    for r in rows}


def class_recall_table(members, against):
    """Markdown rows: each class's recall, mean over the paired folds, of both sides and
    their difference +- standard error over those folds. The paper reads ADARL's gain off
    its confusion matrices this way (SPEC section 6: all of its +9 UA is happy's recall);
    UA is the mean of these recalls."""
    labels, a = class_recalls(members)
    _, b = class_recalls(against)
    folds = sorted(set(a) & set(b))
    lines = ["| class | members' recall | against's recall | members - against (+- SE) | folds |",
             "|---|---|---|---|---|"]
    for i, label in enumerate(labels):
        pairs = np.array([(a[f][i], b[f][i]) for f in folds])
        pairs = pairs[~np.isnan(pairs).any(axis=1)]  # Folds that test the class.
        if not len(pairs):
            lines.append(f"| {label} | n/a | n/a | n/a | 0 |")
            continue
        d = pairs[:, 0] - pairs[:, 1]
        se = f"{d.std(ddof=1) / np.sqrt(len(d)):.3f}" if len(d) > 1 else "n/a"
        lines.append(f"| {label} | {pairs[:, 0].mean():.3f} | {pairs[:, 1].mean():.3f} | "
                     f"{d.mean():+.3f} +- {se} | {len(d)} |")
    return "\n".join(lines)


def _member_runs(rows):
    """The ensemble's rows as one run per member: [[{fold, ua}, ...], ...]."""
    return [[{"fold": r["fold"], "ua": r["members_ua"][i]} for r in rows]
            for i in range(len(rows[0]["members_ua"]))]


def _pairs_by_member(members, against):
    """`accuracy_table.per_seed_differences` of member i against member i of `against`."""
    a = _member_runs(members)
    return accuracy_table.per_seed_differences(a, _member_runs(against),
                                               [f"member {i + 1}" for i in range(len(a))])


def _runs_averaged(rows):
    """Each fold's members' own UA, averaged. With members that are seeds of one recipe,
    paired fold by fold, this is the recipe's expected single-run difference (the issue's
    "ADARL minus backbone, paired over folds"), which the ensembles' own UA can overstate
    or hide."""
    return accuracy_table.seeds_averaged(_member_runs(rows))


if __name__ == "__main__":
    flags.DEFINE_list("members", None, "Run folders (python -m adarl_tf.main --out_dir) "
                      "whose class probabilities are averaged.")
    flags.DEFINE_list("against", [], "Run folders of a second ensemble (or one run) to pair "
                      "with, fold by fold.")
    flags.DEFINE_bool("allow_mixed_cpus", False, "Pair --members with --against even where "
                      "their runs were trained on different kinds of CPU.")
    flags.mark_flag_as_required("members")
    app.run(main)
