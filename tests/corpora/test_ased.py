"""ASED layout: emotion folders, xn-yy-aa-gg-bb names, majority genders, FLAC and WAV."""

import json

import pytest
from absl.testing import flagsaver

from adarl_tf import main as main_lib
from adarl_tf.config import DataConfig
from adarl_tf.corpora import ased, load
from tests.audio_files import tone, write_flac, write_speech_like
from tests.iemocap_fixture import shared_dir

pytestmark = pytest.mark.usefixtures("parsed_flags")

# speaker: (gender code, emotion codes). Ids not contiguous; 11 has no angry
# files, 40 only neutral and angry. 08's files are WAV, the others' FLAC.
SPEAKERS = {"03": ("01", "n1 f2 h3 s4 a5"), "08": ("02", "n1 f2 h3 s4 a5"),
            "11": ("01", "n1 f2 h3 s4"), "40": ("02", "n1 a5")}


def write_file(path, seed=0):
    """0.3 s of tone: FLAC or 16-bit WAV by the suffix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".flac":
        return write_flac(path, tone(0.3, 16000, seed=seed), 16000)
    return write_speech_like(path, seconds=0.3, seed=seed)


def make_ased(root):
    """Two sentences per speaker and emotion, plus README and macOS debris."""
    for si, (speaker, (gender, codes)) in enumerate(SPEAKERS.items()):
        suffix = ".wav" if speaker == "08" else ".flac"
        for code in codes.split():
            for sentence in ("01", "02"):
                write_file(root / ased.CODES[code] / f"{code}-{sentence}-01-{gender}-{speaker}"
                           f"{suffix}", seed=si)
    (root / "README.md").write_text("ASED\n")
    (root / "01Neutral" / "._n1-01-01-01-03.flac").write_bytes(b"\x00\x05\x16\x07")
    (root / "01Neutral" / ".DS_Store").write_bytes(b"\x00")
    (root / "03Happy" / "README.txt").write_text("notes\n")
    return root


@pytest.fixture
def root(tmp_path):
    return make_ased(tmp_path / "ased")


def test_parse_name():
    assert ased.parse_name("h3-07-02-02-65") == {
            "code": "h3", "sentence": "07", "repetition": "02", "gender": "02",
            "speaker": "65"}
    assert ased.parse_name("S4-04-02-01-29")["code"] == "s4"  # Upper case, as in the release.
    with pytest.raises(ValueError, match="not an ASED file name"):
        ased.parse_name("n1-01-01-01")
    with pytest.raises(ValueError, match="unknown emotion code 'n2'"):
        ased.parse_name("n2-01-01-01-05")
    with pytest.raises(ValueError, match="gender code '03'"):
        ased.parse_name("n1-01-01-03-05")


def test_speakers_genders_labels_and_formats(root):
    corpus = ased.load_ased(root)
    assert corpus.speakers == ["03", "08", "11", "40"]
    assert [corpus.gender_of(s) for s in corpus.speakers] == ["F", "M", "F", "M"]
    assert len(corpus.utterances) == 10 + 10 + 8 + 4
    assert corpus.emotions == ased.LABELS and not corpus.skipped
    counts = corpus.counts()
    assert counts["11"]["angry"] == 0 and counts["40"] == {
            "neutral": 2, "happy": 0, "sad": 0, "angry": 2, "fearful": 0}
    assert {u.encoding for u in corpus.utterances if u.speaker == "08"} == {"wav/pcm16"}
    assert {u.encoding for u in corpus.utterances if u.speaker != "08"} == {"flac/pcm_16"}
    u = corpus.utterances[0]
    assert (u.name, u.label, u.meta) == ("n1-01-01-01-03", "neutral", {
            "corpus": "ASED", "sentence": "01", "repetition": "01"})
    # README files and macOS debris are not corpus files; nothing is unlabelled.
    assert corpus.unlabelled_wavs == [] and corpus.gender_code_disagreements == []


def test_majority_gender_and_the_disagreeing_file_is_listed(root):
    odd = write_file(root / "03Happy" / "h3-03-01-02-11.flac")  # 11 is female in 8 files.
    corpus = ased.load_ased(root)
    assert corpus.gender_of("11") == "F"
    assert {u.gender for u in corpus.utterances if u.speaker == "11"} == {"F"}
    assert corpus.gender_code_disagreements == [str(odd)]
    assert corpus.report()["gender_code_disagreements"] == [str(odd)]
    assert ased.majority_genders([("a", "M"), ("a", "F"), ("b", "M")]) == {"b": "M"}
    # A tie leaves the speaker's gender unknown: its files are skipped, with the reason.
    write_file(root / "01Neutral" / "n1-01-01-01-77.flac")
    write_file(root / "01Neutral" / "n1-02-01-02-77.flac")
    reasons = [e["reason"] for e in ased.load_ased(root).skipped]
    assert len(reasons) == 2 and "speaker 77 has as many files coded 01" in reasons[0]


def test_bad_names_mismatched_folders_and_copies_are_skipped(root):
    write_file(root / "01Neutral" / "take1.wav")
    write_file(root / "01Neutral" / "h3-05-01-01-03.flac")  # Happy code in Neutral.
    write_file(root / "04Sad" / "s4-01-01-01-03.wav")  # The FLAC's copy.
    write_file(root / "04Sad" / "S4-03-01-01-03.flac")  # Upper case letter: kept.
    (root / "05Angry" / "notes.txt").write_text("x")
    corpus = ased.load_ased(root)
    reasons = {e["path"].rsplit("/", 1)[1]: e["reason"] for e in corpus.skipped}
    assert "not an ASED file name" in reasons["take1.wav"]
    assert ("emotion code h3 (happy) in the name but the file is in 01Neutral; move it to "
            "03Happy/") in reasons["h3-05-01-01-03.flac"]
    assert "the same recording as" in reasons["s4-01-01-01-03.wav"]
    assert len(reasons) == 3
    assert "S4-03-01-01-03" in {u.name for u in corpus.utterances}
    assert corpus.unlabelled_wavs == [str(root / "05Angry" / "notes.txt")]


def test_missing_or_misnamed_folder(root, tmp_path):
    with pytest.raises(FileNotFoundError, match="ASED data_dir .*nope does not exist"):
        ased.load_ased(tmp_path / "nope")
    with pytest.raises(ValueError, match="single emotion's folder"):
        ased.load_ased(root / "04Sad")
    with pytest.raises(FileNotFoundError, match=r"no ASED emotion folders .*here probably "
                                                f"{root}"):
        ased.load_ased(root.parent)
    (root / "02Fearful").rename(root / "02fearful")
    with pytest.raises(FileNotFoundError) as e:
        ased.load_ased(root)
    message = str(e.value)
    assert "\n" not in message
    assert f"{root / '02Fearful'} not found (02fearful looks like it: rename it to " \
           "02Fearful)" in message
    assert "holds 01Neutral/ 02Fearful/ 03Happy/ 04Sad/ 05Angry/" in message
    with pytest.raises(ValueError, match="--dataset=ased needs --data_dir"):
        load.load_corpus(DataConfig(dataset="ased"))


def test_class_sets(root):
    corpus = load.load_corpus(DataConfig(dataset="ased", data_dir=str(root)))
    assert corpus.emotions == ("neutral", "happy", "sad", "angry")
    assert corpus.excluded_labels == {"fearful": 6}
    full = load.load_corpus(DataConfig(dataset="ased", data_dir=str(root), emotions="all"))
    assert full.emotions == ("neutral", "happy", "sad", "angry", "fearful")


def test_dry_run_through_main(root, tmp_path, capsys):
    odd = write_file(root / "04Sad" / "s4-03-01-01-40.flac")
    out = tmp_path / "out"
    with flagsaver.flagsaver(dataset="ased", data_dir=str(root), out_dir=str(out),
                             dry_run=True, emotions="all", protocol="speaker_kfold",
                             n_folds=2):
        main_lib.main(["adarl_tf.main"])
    report = json.loads((out / "data_report.json").read_text())
    assert report["n_utterances"] == 33
    assert [(s["id"], s["gender"]) for s in report["speakers"]] == [
            ("03", "F"), ("08", "M"), ("11", "F"), ("40", "M")]
    assert report["gender_code_disagreements"] == [str(odd)]
    assert len(report["folds"]) == 2
    assert "4 speakers (2 F, 2 M)" in capsys.readouterr().out


def test_development_set_counts():
    data_dir = shared_dir() / "data" / "ased_dev"
    if not data_dir.is_dir():
        pytest.skip(f"ASED development set not found at {data_dir}; set ADARL_SHARED_DIR to "
                    "the folder holding data/ased_dev")
    corpus = load.load_corpus(DataConfig(dataset="ased", data_dir=str(data_dir),
                                         emotions="all", protocol="speaker_kfold", n_folds=5))
    genders = [corpus.gender_of(s) for s in corpus.speakers]
    assert (len(corpus.utterances), len(corpus.speakers)) == (1302, 33)
    assert (genders.count("F"), genders.count("M")) == (13, 20)
    assert not corpus.skipped and len(corpus.gender_code_disagreements) == 3
    assert corpus.report()["label_totals"] == {
            "neutral": 270, "happy": 254, "sad": 242, "angry": 262, "fearful": 274}
