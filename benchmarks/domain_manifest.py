r"""A manifest of domain-only utterances drawn from a corpus, for `--extra_domain_data`.

  python benchmarks/domain_manifest.py --dataset=ased --data_dir=../shared/data/ased_dev \
      --emotions=neutral --per_speaker=8 --out=runs/ased_neutral_domain.csv

The paper (SPEC section 4) notes that utterances with a domain label and no
emotion label can train the domain pathway. This writes such a manifest from
another corpus: up to --per_speaker utterances of each speaker (evenly spaced
in name order, so every class of --emotions is drawn from), their paths, their
speaker ids under --prefix (default: the corpus's name, so they cannot collide
with the ids of the corpus the run trains on) and the speaker's gender as the
corpus's loader gives it (ASED: the speaker's majority gender code). The
emotion column is left empty: `--extra_domain_data` ignores it anyway.
Nothing is decoded: seconds on a CPU. Measured use: RESULTS.md.
"""

import os
import pathlib
import sys
from collections import defaultdict

import numpy as np
from absl import app, flags

from adarl_tf.files import write_csv

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import harness  # noqa: E402  (same folder)

FLAGS = flags.FLAGS

COLUMNS = ("path", "speaker", "gender", "emotion", "name")


def pick(utterances, per_speaker):
    """Up to `per_speaker` of each speaker's utterances, evenly spaced in name order."""
    own = defaultdict(list)
    for u in utterances:
        own[u.speaker].append(u)
    chosen = []
    for speaker in sorted(own):
        mine = sorted(own[speaker], key=lambda u: u.name)
        if per_speaker and len(mine) > per_speaker:
            at = np.linspace(0, len(mine) - 1, per_speaker).round().astype(int)
            mine = [mine[i] for i in at]
        chosen += mine
    return chosen


def rows(corpus, per_speaker, prefix):
    """Manifest rows (dicts of COLUMNS) of the utterances `pick` keeps."""
    return [{"path": os.path.abspath(u.path), "speaker": f"{prefix}/{u.speaker}",
             "gender": corpus.gender_of(u.speaker), "emotion": "",
             "name": f"{prefix}/{u.name}"}
            for u in pick([u for u in corpus.utterances if u.label is not None], per_speaker)]


def define_flags():
    flags.DEFINE_string("dataset", "demo", "Corpus name, as adarl_tf.main's --dataset.")
    flags.DEFINE_string("data_dir", None, "Corpus folder, as adarl_tf.main's --data_dir.")
    flags.DEFINE_string("emotions", "all", "Which classes' utterances to draw from, as "
                        "adarl_tf.main's --emotions (their labels are not written).")
    flags.DEFINE_integer("per_speaker", 0, "Utterances per speaker at most (0: all).")
    flags.DEFINE_string("prefix", None, "Speaker id prefix (default: the corpus's name).")
    flags.DEFINE_string("out", None, "The manifest to write (CSV).")
    flags.DEFINE_string("cache_dir", None, "Demo corpus cache (default $ADARL_TF_CACHE).")
    flags.mark_flag_as_required("out")


def main(argv):
    del argv
    corpus = harness.load_flag_corpus(FLAGS.dataset, FLAGS.data_dir, FLAGS.emotions,
                                      FLAGS.cache_dir)
    written = rows(corpus, FLAGS.per_speaker, FLAGS.prefix or corpus.name)
    if not written:
        raise app.UsageError(f"{corpus.name}: no utterance of --emotions={FLAGS.emotions}")
    write_csv(FLAGS.out, COLUMNS, [[r[c] for c in COLUMNS] for r in written])
    genders = defaultdict(set)
    for r in written:
        genders[r["gender"]].add(r["speaker"])
    print(f"{FLAGS.out}: {len(written)} utterances of {len({r['speaker'] for r in written})} "
          f"speakers ({', '.join(f'{len(v)} {g}' for g, v in sorted(genders.items()))}) "
          f"from {corpus.name}")


if __name__ == "__main__":
    define_flags()
    app.run(main)
