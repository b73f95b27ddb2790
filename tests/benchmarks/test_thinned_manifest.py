"""benchmarks/thinned_manifest.py: what it keeps, its refusals, a manifest that loads."""

import collections
import dataclasses
import importlib.util
import pathlib
import subprocess
import sys

import pytest
from absl import app

from adarl_tf.corpora import manifest

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))  # Its own import of domain_manifest.
_spec = importlib.util.spec_from_file_location("thinned_manifest",
                                               ROOT / "benchmarks" / "thinned_manifest.py")
thinned_manifest = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(thinned_manifest)


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


def test_a_class_without_a_weight_and_a_bad_weight_are_refused():
    with pytest.raises(app.UsageError, match="no weight for c"):
        thinned_manifest.thin([_Utt("u", "x", "c")], {"a": 1.0})
    for text in ("neutral:0", "neutral", "neutral:many"):
        with pytest.raises(app.UsageError, match="is not <class>:<positive number>"):
            thinned_manifest.parse_proportions(text)
    assert thinned_manifest.parse_proportions(thinned_manifest.IEMOCAP_IMPROVISED) == {
        "neutral": 1099, "sad": 608, "angry": 289, "happy": 284}


def test_manifest_loads_with_the_classes_thinned(small_demo_corpus, tmp_path):
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "thinned_manifest.py"), "--dataset=demo",
         f"--data_dir={small_demo_corpus}", f"--out={tmp_path / 'thin.csv'}",
         "--proportions=neutral:4,happy:1,sad:4,angry:4"],
        capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    corpus = manifest.load_manifest(tmp_path / "thin.csv")
    before = subprocess.run(  # The same corpus unthinned: every proportion equal.
        [sys.executable, str(ROOT / "benchmarks" / "thinned_manifest.py"), "--dataset=demo",
         f"--data_dir={small_demo_corpus}", f"--out={tmp_path / 'all.csv'}",
         "--proportions=neutral:1,happy:1,sad:1,angry:1"],
        capture_output=True, text=True, timeout=300)
    assert before.returncode == 0, before.stderr[-3000:]
    full = manifest.load_manifest(tmp_path / "all.csv")
    count = collections.Counter(u.label for u in corpus.utterances)
    full_count = collections.Counter(u.label for u in full.utterances)
    assert count["neutral"] == full_count["neutral"] and count["sad"] == full_count["sad"]
    assert 0 < count["happy"] < full_count["happy"]
    assert {(u.speaker, u.gender) for u in corpus.utterances} <= {
        (u.speaker, u.gender) for u in full.utterances}
    assert f"{len(corpus.utterances)} utterances" in out.stdout
