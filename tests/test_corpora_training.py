"""A fold end to end on corpora other than IEMOCAP, through `python -m adarl_tf.main`.

Synthetic files in EmoDB's layout and in a two-corpus manifest (one corpus
at 16 kHz, one at 48 kHz stereo, so both decode paths train); tiny model,
one epoch: this checks the plumbing (class set, domain head, folds), not
accuracy.
"""

import csv
import json
import pathlib

import numpy as np
import pytest
from absl.testing import flagsaver

tf = pytest.importorskip("tensorflow")

from adarl_tf import experiment
from adarl_tf import main as main_lib
from adarl_tf import model as model_lib
from adarl_tf.config import DataConfig, ExperimentConfig
from adarl_tf.corpora import load
from tests.corpora.layouts import make_emodb, make_manifest

pytestmark = pytest.mark.usefixtures("parsed_flags")


@pytest.fixture
def train(tiny_flags):
    """Trains fold 0 of the tiny model with these flags: (results.json, predictions.csv rows)."""
    def run(out, **flag_values):
        with flagsaver.flagsaver(out_dir=str(out), fold="0", min_tail_s=0.5, monitor_test=True,
                                 **tiny_flags, **flag_values):
            main_lib.main(["adarl_tf.main"])
        fold_dir = out / "fold_00"
        results = json.loads((fold_dir / "results.json").read_text())
        with open(fold_dir / "predictions.csv", newline="") as f:
            rows = list(csv.DictReader(f))
        return results, rows
    return run


def test_loso_fold_on_emodb_layout(train, tmp_path):
    root = make_emodb(tmp_path / "emodb", speakers=("03", "08", "09"), per_letter=2)
    results, rows = train(tmp_path / "run", dataset="emodb", data_dir=str(root),
                           emotions="all")
    labels = ["neutral", "happy", "sad", "angry", "fearful", "disgust", "boredom"]
    assert results["labels"] == labels
    assert results["test_speakers"] == ["03"] and results["test_gender"] == "M"
    assert results["protocol"] == "leave-one-speaker-out"
    assert results["config"]["model"]["n_emotions"] == 7
    assert results["domain_labels"] == ["F", "M"]
    assert len(rows) == 14 and all(r["speaker"] == "03" for r in rows)
    assert list(rows[0])[-7:] == [f"p_{e}" for e in labels]
    assert np.array(results["confusion_matrix"]).shape == (7, 7)
    # The report takes the run's own class set (no paper rows: not the paper's classes).
    from adarl_tf import report
    report.build_report([tmp_path / "run"], tmp_path / "report")
    text = (tmp_path / "report" / "report.md").read_text()
    assert "| model | " + " | ".join(labels) + " |" in text
    assert "paper: ADARL (IEMOCAP) | " not in text.split("Recall per class")[1].split("##")[0]


def test_two_corpus_manifest_with_corpus_domain(train, tmp_path):
    rows = []
    for corpus, rate, channels in (("alpha", 16000, 1), ("beta", 48000, 2)):
        for spk in ("s1", "s2"):
            for i, emo in enumerate(("neutral", "happy", "sad", "angry") * 2):
                rows.append({"audio": (pathlib.Path(f"{corpus}/{spk}_{i}.wav"), 1.3, rate,
                                       channels),
                             "speaker": spk, "emotion": emo, "corpus": corpus,
                             "gender": "F" if spk == "s1" else "M"})
    path = make_manifest(tmp_path / "two.csv", rows)
    out = tmp_path / "run"
    results, preds = train(out, dataset="manifest", data_dir=str(path), domain="corpus")
    report = json.loads((out / "data_report.json").read_text())
    assert [s["id"] for s in report["speakers"]] == ["alpha/s1", "alpha/s2", "beta/s1",
                                                     "beta/s2"]
    assert results["domain"] == "corpus" and results["domain_labels"] == ["alpha", "beta"]
    assert results["test_speakers"] == ["alpha/s1"]
    assert results["n_train_utterances"] == 24 and len(preds) == 8
    assert results["domain_accuracy"] is not None


def test_domain_head_sizes_itself_to_the_domain_values(tmp_path):
    rows = [{"audio": (pathlib.Path(f"{i}.wav"), 0.5, 16000, 1), "speaker": f"s{i % 4}",
             "emotion": ("sad", "happy")[i % 2], "language": ("de", "en", "fr")[i % 3]}
            for i in range(6)]
    path = make_manifest(tmp_path / "m.csv", rows)
    corpus = load.load_corpus(DataConfig(dataset="manifest", data_dir=str(path),
                                         domain="language", emotions="all"))
    config = experiment.sized_to(ExperimentConfig(), corpus)
    assert (config.model.n_emotions, config.model.n_domains) == (2, 3)
    model = model_lib.build_model(config.model)
    out = model(np.zeros((2, config.model.frontend.segment_samples), "float32"))
    assert out[model_lib.DOMAIN_PROBS].shape == (2, 3)
