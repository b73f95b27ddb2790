"""benchmarks/thinned_manifest.py: what it keeps, its refusals, a manifest that loads."""

import collections
import dataclasses
import pathlib
import subprocess
import sys

import pytest
from absl import app

from adarl_tf.corpora import manifest

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))  # As the script itself imports domain_manifest.
import thinned_manifest  # noqa: E402


@dataclasses.dataclass
class _Utt:
    name: str
    speaker: str
    label: str


def test_keeps_the_first_of_each_speakers_class_in_name_order_at_least_one():
    utts = [_Utt(f"{s}{c}{i}", s, c) for s in "xy" for c in "abc" for i in range(8)]
    kept = thinned_manifest.thin(list(reversed(utts)), {"a": 1099, "b": 284, "c": 10})
    per = collections.Counter((u.speaker, u.label) for u in kept)
    # 8 x 284 / 1099 = 2.07 -> 2; 8 x 10 / 1099 = 0.07 -> at least 1.
    assert per == {("x", "a"): 8, ("x", "b"): 2, ("x", "c"): 1,
                   ("y", "a"): 8, ("y", "b"): 2, ("y", "c"): 1}
    assert [u.name for u in kept if u.label == "b"] == ["xb0", "xb1", "yb0", "yb1"]


def test_a_class_without_a_weight_a_weight_without_a_class_and_bad_weights_are_refused():
    with pytest.raises(app.UsageError, match="no weight for c"):
        thinned_manifest.thin([_Utt("u", "x", "c")], {"a": 1.0})
    with pytest.raises(app.UsageError, match="names b, which no utterance"):
        thinned_manifest.thin([_Utt("u", "x", "a")], {"a": 1.0, "b": 2.0})
    for text in ("neutral:0", "neutral", "neutral:many", "neutral:nan", "neutral:inf", ":3"):
        with pytest.raises(app.UsageError, match="is not <class>:<positive number>"):
            thinned_manifest.parse_proportions(text)
    for text, message in (("sad:1,sad:2", "names sad twice"), (" , ", "is empty")):
        with pytest.raises(app.UsageError, match=message):
            thinned_manifest.parse_proportions(text)
    assert thinned_manifest.parse_proportions(thinned_manifest.IEMOCAP_IMPROVISED) == {
        "neutral": 1099, "sad": 608, "angry": 289, "happy": 284}


def _write(corpus_dir, out, proportions):
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "thinned_manifest.py"), "--dataset=demo",
         f"--data_dir={corpus_dir}", f"--out={out}", f"--proportions={proportions}"],
        capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done, manifest.load_manifest(out)


def test_manifest_loads_with_the_classes_thinned(small_demo_corpus, tmp_path):
    out, corpus = _write(small_demo_corpus, tmp_path / "thin.csv",
                         "neutral:4,happy:1,sad:4,angry:4")
    # The same corpus unthinned: every proportion equal.
    _, full = _write(small_demo_corpus, tmp_path / "all.csv", "neutral:1,happy:1,sad:1,angry:1")
    count = collections.Counter(u.label for u in corpus.utterances)
    full_count = collections.Counter(u.label for u in full.utterances)
    assert count["neutral"] == full_count["neutral"] and count["sad"] == full_count["sad"]
    assert 0 < count["happy"] < full_count["happy"]
    assert {(u.speaker, u.gender) for u in corpus.utterances} <= {
        (u.speaker, u.gender) for u in full.utterances}
    assert f"{len(corpus.utterances)} utterances" in out.stdout


def test_a_missing_corpus_folder_is_one_line_naming_it_and_nothing_is_written(tmp_path):
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "thinned_manifest.py"), "--dataset=ased",
         f"--data_dir={tmp_path / 'nowhere'}", f"--out={tmp_path / 'thin.csv'}"],
        capture_output=True, text=True, timeout=300)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert f"ASED data_dir {tmp_path / 'nowhere'} does not exist" in done.stderr
    assert not (tmp_path / "thin.csv").exists()
