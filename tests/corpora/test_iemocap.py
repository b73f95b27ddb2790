"""Tests of the IEMOCAP loader against a tree built from the real metadata.

Expected counts come from two independent places: figures checked by hand
against `shared/data/iemocap_metadata.jsonl` and the paper/SPEC (hard-coded
below), and a plain recount of the jsonl in this file that does not use the
loader's parsing code.
"""

import collections
import json
import re
import shutil

import pytest

from adarl_tf.corpora.corpus import EMOTIONS
from adarl_tf.corpora.iemocap import LABEL_CODES, SPEAKER_ORDER, load_iemocap, parse_utterance_name
from tests.iemocap_fixture import (
    BAIT_INDICES,
    EXTRA_UTTERANCES,
    build_iemocap_tree,
    require_metadata,
)

# Improvised, 4 classes, exc not merged: {speaker: (neu, hap, sad, ang)},
# counted from the jsonl with the last-token speaker rule (and checked to sum
# to SPEC section 7's 1099/284/608/289).
PAPER_SET = {
        "Ses01F": (119, 18, 43, 37), "Ses01M": (104, 15, 61, 25),
        "Ses02F": (90, 25, 63, 7), "Ses02M": (127, 29, 37, 15),
        "Ses03F": (95, 39, 108, 22), "Ses03M": (103, 21, 82, 68),
        "Ses04F": (51, 10, 41, 47), "Ses04M": (123, 21, 40, 37),
        "Ses05F": (151, 56, 73, 18), "Ses05M": (136, 50, 60, 13),
}
_CODE_OF = {"neutral": "neu", "happy": "hap", "sad": "sad", "angry": "ang"}


@pytest.fixture(scope="module")
def metadata():
    """[(name, code)] read with plain json, independently of the fixture module."""
    with open(require_metadata(), encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return [(r["key"][len("iemocap-"):], r["emo"]) for r in rows]


def _recount(rows, improvised_only, codes):
    """{speaker: {code: n}} with speaker = SesNN + first letter of the last token."""
    counts = collections.defaultdict(collections.Counter)
    for name, code in rows:
        if improvised_only and "_impro" not in name:
            continue
        if code in codes:
            counts[name[:5] + name.rsplit("_", 1)[1][0]][code] += 1
    return counts


def _as_codes(corpus):
    """{speaker: {code: n}} of a Corpus, for comparison with `_recount`."""
    out = {}
    for speaker, by_label in corpus.counts().items():
        out[speaker] = {_CODE_OF[label]: n for label, n in by_label.items() if n}
    return out


def _wav(data_dir, name):
    """Where IEMOCAP keeps the WAV of utterance `name` under `data_dir`."""
    info = parse_utterance_name(name)
    wav_dir = data_dir / f"Session{info['session']}" / "sentences" / "wav" / info["dialog"]
    return wav_dir / f"{name}.wav"


@pytest.fixture(scope="module")
def improvised(iemocap_tree):
    return load_iemocap(iemocap_tree)


# ---------------------------------------------------------------- counts


def test_paper_set_counts(improvised):
    report = improvised.report()
    assert report["n_utterances"] == 2280
    assert report["label_totals"] == {"neutral": 1099, "happy": 284, "sad": 608, "angry": 289}
    assert improvised.counts() == {
            s: dict(zip(EMOTIONS, PAPER_SET[s])) for s in SPEAKER_ORDER}
    # The fold whose UA is noisy (SPEC section 7).
    assert improvised.counts()["Ses02F"]["angry"] == 7
    # Nothing was dropped silently: exc and the fixture's extra labels are
    # counted, and the clean tree skips nothing.
    assert improvised.excluded_labels == {"exc": 663, "fru": 1, "xxx": 1, "sur": 1}
    assert improvised.skipped == []


def test_per_speaker_counts_equal_a_plain_recount(improvised, metadata):
    expected = _recount(metadata, improvised_only=True, codes=set(LABEL_CODES))
    assert _as_codes(improvised) == {s: dict(c) for s, c in expected.items()}


def test_merge_excited_adds_exc_to_happy(iemocap_tree, metadata):
    merged = load_iemocap(iemocap_tree, merge_excited=True)
    assert len(merged.utterances) == 2280 + 663 == 2943
    assert merged.report()["label_totals"]["happy"] == 284 + 663
    assert merged.excluded_labels == {"fru": 1, "xxx": 1, "sur": 1}
    recount = _recount(metadata, improvised_only=True, codes={"neu", "hap", "exc", "sad", "ang"})
    assert {s: sum(c.values()) for s, c in merged.counts().items()} == {
            s: sum(c.values()) for s, c in recount.items()}


def test_all_sessions_merged_is_5531(iemocap_tree, metadata):
    corpus = load_iemocap(iemocap_tree, subset="all", merge_excited=True)
    assert len(corpus.utterances) == len(metadata) == 5531
    assert corpus.report()["label_totals"] == {
            "neutral": 1708, "happy": 595 + 1041, "sad": 1084, "angry": 1103}
    # The scripted extra (fru) is counted only when scripted turns are in.
    assert corpus.excluded_labels == {"fru": 2, "xxx": 1, "sur": 1}
    recount = _recount(metadata, improvised_only=False, codes={"neu", "hap", "exc", "sad", "ang"})
    assert {s: sum(c.values()) for s, c in corpus.counts().items()} == {
            s: sum(c.values()) for s, c in recount.items()}
    assert {s: sum(c.values()) for s, c in corpus.counts().items()}["Ses05M"] == 651


def test_scripted_subset(iemocap_tree):
    corpus = load_iemocap(iemocap_tree, subset="scripted")
    assert all("_script" in u.name for u in corpus.utterances)
    assert len(corpus.utterances) == 5531 - 2943 - (1041 - 663)
    assert corpus.excluded_labels == {"exc": 1041 - 663, "fru": 1}


def test_utterance_fields(improvised, iemocap_tree):
    for utt in improvised.utterances:
        assert utt.path == str(_wav(iemocap_tree, utt.name))
        assert utt.duration_s == pytest.approx(0.05)
        assert utt.label in EMOTIONS
        assert utt.gender == utt.speaker[-1]


def test_check_audio_false_touches_no_file(tmp_path):
    data_dir = build_iemocap_tree(tmp_path, metadata_path=require_metadata(), limit_sessions=(2,))
    checked = load_iemocap(data_dir)
    for session in data_dir.glob("Session*"):
        shutil.rmtree(session / "sentences")
    unchecked = load_iemocap(data_dir, check_audio=False)
    assert [u.name for u in unchecked.utterances] == [u.name for u in checked.utterances]
    assert {u.duration_s for u in unchecked.utterances} == {0.0}
    assert unchecked.skipped == []


def test_name_is_stored(iemocap_tree):
    corpus = load_iemocap(iemocap_tree, name="synthetic demo corpus", check_audio=False)
    assert corpus.name == "synthetic demo corpus"
    assert corpus.report()["corpus"] == "synthetic demo corpus"


# ---------------------------------------------------------------- speakers


def test_speaker_order(improvised):
    assert SPEAKER_ORDER == ("Ses01F", "Ses01M", "Ses02F", "Ses02M", "Ses03F",
                             "Ses03M", "Ses04F", "Ses04M", "Ses05F", "Ses05M")
    assert improvised.speakers == list(SPEAKER_ORDER)
    rank = {s: i for i, s in enumerate(SPEAKER_ORDER)}
    keys = [(rank[u.speaker], u.name) for u in improvised.utterances]
    assert keys == sorted(keys)
    assert [improvised.gender_of(s) for s in SPEAKER_ORDER] == ["F", "M"] * 5


def test_some_sessions_only(tmp_path, metadata):
    data_dir = build_iemocap_tree(tmp_path, metadata_path=require_metadata(),
                                  limit_sessions=(1, 2))
    corpus = load_iemocap(data_dir)
    assert corpus.speakers == ["Ses01F", "Ses01M", "Ses02F", "Ses02M"]
    assert corpus.counts() == {s: dict(zip(EMOTIONS, PAPER_SET[s])) for s in corpus.speakers}


def test_mocap_letter_is_not_the_speaker(improvised, metadata):
    # Every female turn of the Ses03M impro05a dialog is Ses03F's.
    impro05a_f = [u for u in improvised.utterances if u.name.startswith("Ses03M_impro05a_F")]
    assert impro05a_f
    assert {(u.speaker, u.gender) for u in impro05a_f} == {("Ses03F", "F")}
    # The dialogs that break fixed-index parsing: 56 female turns of the
    # paper's set are in `Ses03M_impro0{5,8}{a,b}`.
    suffixed = [u for u in improvised.utterances if re.match(r"Ses03M_impro0[58][ab]_", u.name)]
    assert sum(u.gender == "F" for u in suffixed) == 56
    # Over the whole metadata the dialog letter differs from the speaker's for
    # about half of the names (2,750 of 5,531).
    assert sum(n[5] != n.rsplit("_", 1)[1][0] for n, _ in metadata) == 2750
    for name, _ in metadata:
        info = parse_utterance_name(name)
        assert info["speaker"] == name[:5] + name.rsplit("_", 1)[1][0]


@pytest.mark.parametrize("name, expected", [
        ("Ses01F_impro01_F000", (1, "Ses01F_impro01", "Ses01F", "F", True)),
        ("Ses02F_impro03_M020", (2, "Ses02F_impro03", "Ses02M", "M", True)),
        ("Ses03M_impro05a_F000", (3, "Ses03M_impro05a", "Ses03F", "F", True)),
        ("Ses03M_impro08b_M012", (3, "Ses03M_impro08b", "Ses03M", "M", True)),
        ("Ses01M_script02_2_F010", (1, "Ses01M_script02_2", "Ses01F", "F", False)),
        ("Ses05M_script01_1b_M011", (5, "Ses05M_script01_1b", "Ses05M", "M", False)),
        ("Ses05M_script01_1b_F003", (5, "Ses05M_script01_1b", "Ses05F", "F", False)),
])
def test_parse_utterance_name(name, expected):
    keys = ("session", "dialog", "speaker", "gender", "improvised")
    assert parse_utterance_name(name) == dict(zip(keys, expected))


@pytest.mark.parametrize("name", [
        "", "Ses01F_impro01", "Ses01F_impro01_X000", "ses01F_impro01_F000",
        "Ses01F_improv01_F000", "Ses01F_impro01_F000.wav", "Ses1F_impro01_F000",
        "Ses01F_impro01_F00", "._Ses01F_impro01_F000",
])
def test_parse_rejects_bad_names(name):
    with pytest.raises(ValueError, match=re.escape(repr(name)) + ".*IEMOCAP"):
        parse_utterance_name(name)


# ---------------------------------------------------------------- traps


def test_traps_are_present_and_ignored(improvised, iemocap_tree, metadata):
    labels_dir = iemocap_tree / "Session1" / "dialog" / "EmoEvaluation"
    wav_dir = iemocap_tree / "Session1" / "sentences" / "wav" / "Ses01F_impro01"
    # The traps exist, so the counts above mean they were skipped.
    for path in (labels_dir / "._Ses01F_impro01.txt", labels_dir / ".DS_Store",
                 wav_dir / ".DS_Store", wav_dir / "._Ses01F_impro01_F000.wav"):
        assert path.is_file(), path
    for folder in BAIT_INDICES:
        assert list((labels_dir / folder).glob("*.txt")), folder
    names = {u.name for u in improvised.utterances}
    assert not any(f"Ses01F_impro01_{i}" in names for i in BAIT_INDICES.values())
    # The AppleDouble file relabels Ses01F_impro01_F000; the real label won.
    label = {u.name: u.label for u in improvised.utterances}["Ses01F_impro01_F000"]
    assert label == LABEL_CODES[dict(metadata)["Ses01F_impro01_F000"]] == "neutral"


def test_extra_labels_are_counted_not_kept(improvised):
    names = {u.name for u in improvised.utterances}
    assert not names & {name for name, _ in EXTRA_UTTERANCES}


@pytest.fixture
def session1(tmp_path):
    """A Session1-only tree that a test may damage."""
    return build_iemocap_tree(tmp_path, metadata_path=require_metadata(), limit_sessions=(1,))


def test_missing_and_corrupt_wavs_are_skipped(session1):
    before = load_iemocap(session1)
    missing, corrupt, resampled = (
            "Ses01F_impro01_F001", "Ses01F_impro02_F000", "Ses01M_impro02_M000")
    assert {missing, corrupt, resampled} <= {u.name for u in before.utterances}
    _wav(session1, missing).unlink()
    _wav(session1, corrupt).write_text("this is not audio\n")
    with open(_wav(session1, resampled), "r+b") as f:
        f.seek(24)  # the sample-rate field of the fmt chunk
        f.write((8000).to_bytes(4, "little"))
    after = load_iemocap(session1)
    reasons = {entry["path"]: entry["reason"] for entry in after.skipped}
    assert reasons.keys() == {str(_wav(session1, n)) for n in (missing, corrupt)}
    assert "not found" in reasons[str(_wav(session1, missing))]
    assert "not a readable WAV or FLAC file" in reasons[str(_wav(session1, corrupt))]
    assert all("Ses01" in r and "line" in r for r in reasons.values())
    kept = {u.name: u for u in after.utterances}
    assert not kept.keys() & {missing, corrupt}
    assert len(after.utterances) == len(before.utterances) - 2
    # Another rate is no longer an error: the file is kept, twice as long at
    # 8 kHz, and decoded through the resampler (2x the samples at 16 kHz).
    old = {u.name: u for u in before.utterances}[resampled]
    new = kept[resampled]
    assert new.duration_s == pytest.approx(2 * old.duration_s)
    assert not new.fast_decode and new.n_samples == 2 * old.n_samples


def test_duplicate_name_keeps_the_first(session1):
    labels_dir = session1 / "Session1" / "dialog" / "EmoEvaluation"
    # Ses01M_impro07.txt sorts after Ses01F_impro01.txt, which labels F000 neu.
    with open(labels_dir / "Ses01M_impro07.txt", "a", encoding="utf-8") as f:
        f.write("[1.0000 - 2.0000]\tSes01F_impro01_F000\tang\t[1.5000, 4.0000, 4.0000]\n")
    corpus = load_iemocap(session1)
    assert {u.name: u.label for u in corpus.utterances}["Ses01F_impro01_F000"] == "neutral"
    assert len(corpus.skipped) == 1
    assert corpus.skipped[0]["path"] == str(labels_dir / "Ses01M_impro07.txt")
    assert re.search(r"duplicate utterance Ses01F_impro01_F000.*Ses01F_impro01\.txt",
                     corpus.skipped[0]["reason"])


def test_bad_label_lines_are_reported(session1):
    label_file = session1 / "Session1" / "dialog" / "EmoEvaluation" / "Ses01F_impro01.txt"
    with open(label_file, "a", encoding="utf-8") as f:
        f.write("[1.0000 - 2.0000]\tSes01F_impro01_F000\n")
        f.write("[1.0000 - 2.0000]\tSes01F_impro01_Q000\tneu\t[2.5, 2.5, 2.5]\n")
    reasons = [e["reason"] for e in load_iemocap(session1).skipped]
    assert len(reasons) == 2
    assert "malformed label line" in reasons[0]
    assert "'Ses01F_impro01_Q000' is not an IEMOCAP utterance name" in reasons[1]


# ---------------------------------------------------------------- errors


def test_missing_data_dir(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"does not exist.*point --data_dir at the "
                                                r"folder that holds Session1 \.\.\. Session5"):
        load_iemocap(tmp_path / "nowhere")


def test_session_folder_instead_of_root(iemocap_tree):
    with pytest.raises(ValueError, match=r"single session folder.*point --data_dir at the "
                                         r"folder that holds Session1 \.\.\. Session5"):
        load_iemocap(iemocap_tree / "Session1")


def test_parent_of_root_names_the_root(iemocap_tree):
    with pytest.raises(FileNotFoundError, match=r"no Session1 \.\.\. Session5 folders.*"
                                                r"did you mean .*IEMOCAP_full_release"):
        load_iemocap(iemocap_tree.parent)


def test_data_dir_is_a_file(tmp_path):
    (tmp_path / "labels.txt").write_text("x")
    with pytest.raises(ValueError, match="is a file, not a folder"):
        load_iemocap(tmp_path / "labels.txt")


def test_session_without_emoevaluation(tmp_path):
    data_dir = build_iemocap_tree(tmp_path, metadata_path=require_metadata(),
                                  limit_sessions=(1, 2))
    shutil.rmtree(data_dir / "Session2" / "dialog" / "EmoEvaluation")
    with pytest.raises(FileNotFoundError, match=r"Session2.dialog.EmoEvaluation not found.*"
                                                r"re-extract Session2"):
        load_iemocap(data_dir)


@pytest.mark.parametrize("subset", ["impro", "Improvised", "", None])
def test_bad_subset(iemocap_tree, subset):
    with pytest.raises(ValueError, match=r"not one of improvised, scripted, all"):
        load_iemocap(iemocap_tree, subset=subset)


def test_nothing_left_after_filters(session1):
    for wav in (session1 / "Session1" / "sentences" / "wav").rglob("*.wav"):
        wav.unlink()
    with pytest.raises(ValueError, match=r"no improvised utterances.*first skipped: .*"
                                         r"file not found.*--iemocap_subset"):
        load_iemocap(session1)
