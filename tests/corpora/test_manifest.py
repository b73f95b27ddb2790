"""Manifests: CSV/TSV, relative/absolute paths, empty emotions, clear errors."""

import json
import pathlib

import pytest
from absl.testing import flagsaver

from adarl_tf import main as main_lib
from adarl_tf.config import DataConfig
from adarl_tf.corpora import load, manifest
from tests.corpora.layouts import make_manifest

pytestmark = pytest.mark.usefixtures("parsed_flags")


def _rows(tmp_path, absolute_dir):
    rows = []
    for i, (spk, g, emo) in enumerate([("s1", "female", "happy"), ("s1", "F", "sad"),
                                       ("s2", "M", "neutral"), ("s2", "male", "angry"),
                                       ("s3", "F", ""), ("s3", "F", "Angry")]):
        rel = pathlib.Path(f"audio/{spk}_{i}.wav")
        if i == 3:  # An absolute path, a 44.1 kHz stereo file.
            rows.append({"audio": (absolute_dir / "abs.wav", 1.0, 44100, 2), "speaker": spk,
                         "emotion": emo, "gender": g, "language": "en"})
            continue
        rows.append({"audio": (rel, 1.0, 16000, 1), "speaker": spk, "emotion": emo,
                     "gender": g, "language": "de" if i % 2 else "en"})
    return rows


@pytest.mark.parametrize("suffix,sep", [(".csv", ","), (".tsv", "\t")])
def test_csv_and_tsv_relative_and_absolute_paths(tmp_path, suffix, sep):
    path = make_manifest(tmp_path / "m" / f"data{suffix}",
                         _rows(tmp_path, tmp_path / "elsewhere"), sep)
    corpus = manifest.load_manifest(path)
    assert len(corpus.utterances) == 6 and not corpus.skipped
    assert corpus.speakers == ["s1", "s2", "s3"]
    assert [corpus.gender_of(s) for s in corpus.speakers] == ["F", "M", "F"]
    by_name = {u.name: u for u in corpus.utterances}
    assert by_name["audio/s3_4"].label is None  # Empty emotion: domain-only.
    assert by_name["audio/s3_5"].label == "angry"  # Lower-cased.
    absolute = [u for u in corpus.utterances if "elsewhere" in u.path][0]
    assert not absolute.fast_decode and absolute.n_samples == 16000
    assert corpus.emotions == ("neutral", "happy", "sad", "angry")
    assert {u.meta["language"] for u in corpus.utterances} == {"en", "de"}


def test_dry_run_with_a_manifest_column_as_domain(tmp_path):
    path = make_manifest(tmp_path / "m.csv", _rows(tmp_path, tmp_path / "abs"))
    out = tmp_path / "out"
    with flagsaver.flagsaver(dataset="manifest", data_dir=str(path), out_dir=str(out),
                             dry_run=True, domain="language"):
        main_lib.main(["adarl_tf.main"])
    report = json.loads((out / "data_report.json").read_text())
    assert report["domain"] == "language" and report["domain_values"] == ["de", "en"]
    assert report["n_labelled"] == 5 and report["n_domain_only"] == 1
    assert [(s["id"], s["gender"]) for s in report["speakers"]] == [
            ("s1", "F"), ("s2", "M"), ("s3", "F")]


def test_missing_column_file_and_domain_values(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("file,speaker,emotion\na.wav,s1,happy\n")
    with pytest.raises(ValueError, match=r"bad.csv has no path column .*add a header row"):
        manifest.load_manifest(bad)
    with pytest.raises(FileNotFoundError, match="manifest .*nothing.csv not found"):
        manifest.load_manifest(tmp_path / "nothing.csv")
    path = make_manifest(tmp_path / "ok.csv", _rows(tmp_path, tmp_path / "abs"))
    with open(path, "a") as f:
        f.write("audio/gone.wav,s1,happy,F,en\n")
    corpus = manifest.load_manifest(path)
    assert corpus.skipped[0]["reason"].startswith("file not found")
    assert "ok.csv line 8" in corpus.skipped[0]["reason"]
    with pytest.raises(ValueError, match="--domain=colour: no utterance .* has a colour value"):
        load.load_corpus(DataConfig(dataset="manifest", data_dir=str(path), domain="colour"))


def test_symlink_loop_is_one_skipped_row(tmp_path):
    path = make_manifest(tmp_path / "ok.csv", _rows(tmp_path, tmp_path / "abs"))
    (tmp_path / "loop.wav").symlink_to(tmp_path / "loop.wav")
    with open(path, "a") as f:
        f.write("loop.wav,s1,happy,F,en\n")
    corpus = manifest.load_manifest(path)
    assert len(corpus.utterances) == 6
    assert "symbolic links" in corpus.skipped[0]["reason"]
    assert "ok.csv line 8" in corpus.skipped[0]["reason"]
