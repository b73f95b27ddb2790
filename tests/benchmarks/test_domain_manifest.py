"""benchmarks/domain_manifest.py: which utterances it draws, and a manifest that loads."""

import dataclasses
import importlib.util
import pathlib
import subprocess
import sys

from adarl_tf.config import DataConfig
from adarl_tf.corpora import manifest
from adarl_tf.corpora.load import load_corpus

ROOT = pathlib.Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("domain_manifest",
                                               ROOT / "benchmarks" / "domain_manifest.py")
domain_manifest = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(domain_manifest)


@dataclasses.dataclass
class _Utt:
    name: str
    speaker: str


def test_pick_spreads_each_speakers_draw_over_its_names():
    utts = [_Utt(f"a{i:02d}", "a") for i in range(10)] + [_Utt("b0", "b"), _Utt("b1", "b")]
    chosen = domain_manifest.pick(list(reversed(utts)), per_speaker=4)
    # Evenly spaced in name order (first and last included); a speaker with fewer keeps all.
    assert [u.name for u in chosen] == ["a00", "a03", "a06", "a09", "b0", "b1"]
    assert len(domain_manifest.pick(utts, per_speaker=0)) == 12


def _write(corpus_dir, out, *more):
    return subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "domain_manifest.py"), "--dataset=demo",
         f"--data_dir={corpus_dir}", f"--out={out}", *more],
        capture_output=True, text=True, timeout=300)


def test_manifest_loads_as_domain_only_data_with_the_speakers_genders(small_demo_corpus,
                                                                      tmp_path):
    out = _write(small_demo_corpus, tmp_path / "extra.csv", "--emotions=neutral",
                 "--per_speaker=1", "--prefix=other")
    assert out.returncode == 0, out.stderr[-3000:]
    assert "10 utterances of 10 speakers (5 F, 5 M)" in out.stdout
    extra = manifest.load_manifest(tmp_path / "extra.csv", domain_only=True)
    corpus = load_corpus(dataclasses.replace(DataConfig(), dataset="demo",
                                             data_dir=str(small_demo_corpus),
                                             emotions="neutral"))
    assert all(u.label is None for u in extra.utterances)
    assert {u.speaker: u.gender for u in extra.utterances} == {
        f"other/{s}": corpus.gender_of(s) for s in corpus.speakers}
    assert {u.path for u in extra.utterances} <= {u.path for u in corpus.utterances}


def test_no_utterance_of_the_classes_is_an_error(small_demo_corpus, tmp_path):
    out = _write(small_demo_corpus, tmp_path / "extra.csv", "--emotions=fearful")
    assert out.returncode != 0 and not (tmp_path / "extra.csv").exists()
    assert "--emotions=fearful: no utterance of synthetic demo corpus" in out.stderr
