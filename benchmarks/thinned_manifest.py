r"""A corpus thinned to given class proportions, written as a manifest (`--dataset=manifest`).

  python benchmarks/thinned_manifest.py --dataset=ased --data_dir=../shared/data/ased_dev \
      --out=runs/ased_iemocap_ratios.csv
  python -m adarl_tf.main --flagfile=configs/adarl_compact.cfg --dataset=manifest \
      --data_dir=runs/ased_iemocap_ratios.csv --emotions=default --protocol=speaker_kfold \
      --n_folds=5 --class_balance=none --fold=all

The paper's gain over its backbone is all in one scarce class (happy: README, "IEMOCAP"),
on IEMOCAP's improvised utterances, whose four classes are far from balanced
(neutral 1,099, sad 608, angry 289, happy 284). The development corpora are balanced.
This keeps, of each speaker's recordings of each class, the first round(n x p / p_max)
in name order (at least one), where p is the class's --proportions value and p_max
the largest: a balanced corpus then has the proportions' class ratios, for every
speaker alike, so a speaker-disjoint split keeps them too. Test speakers are thinned
like training speakers, as IEMOCAP's are. Only names and labels are read, no audio.
Measured use: RESULTS.md, forty-sixth and forty-seventh sessions (three seeds).
"""

import collections
import math
import os
import pathlib
import sys

from absl import app, flags

from adarl_tf.files import write_csv

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import harness  # noqa: E402  (same folder)
from domain_manifest import COLUMNS  # noqa: E402

FLAGS = flags.FLAGS
# IEMOCAP's improvised utterances of the paper's four classes (SPEC section 7; the
# counts of ../shared/data/iemocap_metadata.jsonl).
IEMOCAP_IMPROVISED = "neutral:1099,sad:608,angry:289,happy:284"


def parse_proportions(text):
    """{class: weight} of "neutral:1099,sad:608"; refuses an empty list, a class named
    twice and a weight that is not a finite positive number."""
    out = {}
    for item in filter(None, (s.strip() for s in text.split(","))):
        name, _, value = (part.strip() for part in item.partition(":"))
        try:
            weight = float(value)
        except ValueError:
            weight = float("nan")
        if not name or not math.isfinite(weight) or weight <= 0:
            raise app.UsageError(f"--proportions: {item!r} is not <class>:<positive number>, "
                                 f"e.g. {IEMOCAP_IMPROVISED}")
        if name in out:
            raise app.UsageError(f"--proportions names {name} twice; give each class once")
        out[name] = weight
    if not out:
        raise app.UsageError(f"--proportions is empty; e.g. {IEMOCAP_IMPROVISED}")
    return out


def thin(utterances, proportions):
    """Of each speaker's utterances of each class, the first round(n x p / p_max) in name
    order, at least one; classes not in `proportions` are refused."""
    labels = {u.label for u in utterances}
    missing, unknown = sorted(labels - set(proportions)), sorted(set(proportions) - labels)
    if missing:
        raise app.UsageError(f"--proportions has no weight for {', '.join(missing)}; give "
                             "every class of --emotions one, or leave it out of --emotions")
    if unknown:  # e.g. a class --emotions leaves out: say so rather than ignore it.
        raise app.UsageError(f"--proportions names {', '.join(unknown)}, which no utterance "
                             f"of --emotions has (classes: {', '.join(sorted(labels))})")
    top = max(proportions.values())
    groups = collections.defaultdict(list)
    for u in utterances:
        groups[(u.speaker, u.label)].append(u)
    kept = []
    for (_, label), group in sorted(groups.items()):
        group.sort(key=lambda u: u.name)
        kept += group[:max(1, round(len(group) * proportions[label] / top))]
    return kept


def main(argv):
    del argv
    proportions = parse_proportions(FLAGS.proportions)  # Refused before the corpus loads.
    corpus = harness.load_flag_corpus(FLAGS.dataset, FLAGS.data_dir, FLAGS.emotions,
                                      FLAGS.cache_dir)
    kept = thin([u for u in corpus.utterances if u.label is not None], proportions)
    write_csv(FLAGS.out, COLUMNS, [[os.path.abspath(u.path), u.speaker,
                                    corpus.gender_of(u.speaker), u.label, u.name] for u in kept])
    counts = collections.Counter(u.label for u in kept)
    print(f"{FLAGS.out}: {len(kept)} utterances of {len({u.speaker for u in kept})} speakers "
          f"from {corpus.name}: " + ", ".join(f"{c} {counts[c]}" for c in corpus.emotions
                                              if counts[c]))


if __name__ == "__main__":
    flags.DEFINE_string("dataset", "demo", "Corpus name, as adarl_tf.main's --dataset.")
    flags.DEFINE_string("data_dir", None, "Corpus folder, as adarl_tf.main's --data_dir.")
    flags.DEFINE_string("emotions", "default", "Classes kept, as adarl_tf.main's --emotions.")
    flags.DEFINE_string("proportions", IEMOCAP_IMPROVISED, "<class>:<weight>,... for every "
                        "class of --emotions (default: IEMOCAP improvised's counts).")
    flags.DEFINE_string("out", None, "The manifest to write (CSV).")
    flags.DEFINE_string("cache_dir", None, "Demo corpus cache (default $ADARL_TF_CACHE).")
    flags.mark_flag_as_required("out")
    app.run(main)
