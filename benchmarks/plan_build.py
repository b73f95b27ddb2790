r"""Seconds and memory to build a fold's training plan (`pipelines/plan.py`), on IEMOCAP's sizes.

  python benchmarks/plan_build.py                     # ../shared/data/iemocap_metadata.jsonl
  python benchmarks/plan_build.py --metadata=PATH --epochs=50

The training plan states every element of every remaining epoch and is built
once, when a fold's training starts (or resumes). This measures that build for
the paper's fold (IEMOCAP's improvised utterances of the four classes, one
speaker held out, chosen as `load_iemocap` does, from the real durations in
the metadata file; no audio is read; --iemocap_subset=all for the whole release)
under three recipes: the paper's cut, the robust recipe's windows with every
draw, and the class-balanced sampler.
Prints one JSON line per recipe, then a table; CPU seconds (this process's) beside
the wall clock, which a loaded machine inflates. No TensorFlow import.
"""

import json
import pathlib
import sys
import time

from absl import app, flags, logging

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests/iemocap_fixture.py reads the metadata.

from adarl_tf.config import FrontendConfig, TrainConfig  # noqa: E402
from adarl_tf.corpora import iemocap  # noqa: E402
from adarl_tf.corpora.corpus import Utterance  # noqa: E402
from adarl_tf.pipelines import plan  # noqa: E402
from tests import iemocap_fixture  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_string("metadata", None, "EmoBox-style IEMOCAP jsonl; default: "
                    "../shared/data/iemocap_metadata.jsonl.")
flags.DEFINE_integer("epochs", 50, "Epochs in the plan (the paper: 50).")
flags.DEFINE_integer("batch_size", 32, "Segments per batch.")
flags.DEFINE_string("test_speaker", "Ses01F", "The held-out speaker.")
flags.DEFINE_enum("iemocap_subset", "improvised", iemocap.SUBSETS,
                  "Utterances used (as adarl_tf.main; the paper: improvised).")

ROBUST = dict(train_hop_s=1.0, random_crop=True, speed_factors=(0.9, 1.0, 1.1), gain_db=6.0,
              noise_snr_db=20.0)
RECIPES = {"paper": {}, "robust": ROBUST,
           "robust + sampler": dict(ROBUST, class_balance="sampler")}


def training_utterances(metadata, test_speaker, subset):
    """The fold's training utterances, durations from the metadata (no audio), chosen and
    labelled as `iemocap.load_iemocap` does (its name parser, classes and subsets)."""
    out = []
    for name, code, length_s in iemocap_fixture.read_metadata(metadata):
        info = iemocap.parse_utterance_name(name)
        if (code in iemocap.LABEL_CODES and info["speaker"] != test_speaker and
                iemocap.in_subset(info, subset)):
            out.append(Utterance(name, f"{name}.wav", info["speaker"], info["gender"],
                                 iemocap.LABEL_CODES[code], length_s))
    return out


def measure(utterances, name, overrides):
    train = TrainConfig(epochs=FLAGS.epochs, batch_size=FLAGS.batch_size, **overrides)
    cut = plan.Cut.of(FrontendConfig(), 0.1, train=train)
    start, cpu = time.perf_counter(), time.process_time()
    built = plan.training_plan(utterances, cut, train, FLAGS.batch_size)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {"recipe": name, "utterances": len(utterances), "epochs": FLAGS.epochs,
            "elements": len(built.utterance), "batches": len(built.batches),
            "seconds": round(seconds, 2), "cpu_seconds": round(cpu, 2),
            "cpu_seconds_per_epoch": round(cpu / FLAGS.epochs, 3),
            "columns_mb": round(sum(c.nbytes for c in built.columns.values()) / 2**20, 1)}


def main(argv):
    del argv
    metadata = FLAGS.metadata or iemocap_fixture.default_metadata_path()
    utterances = training_utterances(metadata, FLAGS.test_speaker, FLAGS.iemocap_subset)
    hours = sum(u.duration_s for u in utterances) / 3600
    logging.info("%d training utterances, %.1f h (IEMOCAP %s, durations only, %s held out), "
                 "%d epochs", len(utterances), hours, FLAGS.iemocap_subset, FLAGS.test_speaker,
                 FLAGS.epochs)
    rows = [measure(utterances, name, overrides) for name, overrides in RECIPES.items()]
    for row in rows:
        print(json.dumps(row))
    print("\n| recipe | segments (elements) | batches | build s (wall) | CPU s | CPU s per epoch "
          "| columns MB |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['recipe']} | {r['elements']} | {r['batches']} | {r['seconds']} | "
              f"{r['cpu_seconds']} | {r['cpu_seconds_per_epoch']} | {r['columns_mb']} |")


if __name__ == "__main__":
    app.run(main)
