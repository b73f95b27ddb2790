"""Bad input, end to end through `python -m adarl_tf.main` (and the tools that read
its runs: predict, export, report): every case ends in a clear message that
names the file (or flag) and the fix, or in a skip recorded in
`data_report.json` with its reason.

Each test damages a copy of the small synthetic demo corpus (IEMOCAP's
layout, no shared metadata needed) and runs `main` in process, mostly with
`--dry_run` (no TensorFlow). Loader-level details (traps of the real release,
counts) are in tests/corpora/test_iemocap.py.

| input | what you get |
|---|---|
| WAV with a truncated header | skipped: `not a readable WAV or FLAC file (<detail>); re-encode it as 16-bit PCM WAV (e.g. ...) or copy it again` |
| WAV cut short after its header | skipped: `truncated: the header promises 2.10 s of audio but the file ends after 0.06 s; copy it again` |
| zero-length file | skipped: `empty file (0 bytes), probably an interrupted copy; copy it again` |
| text file named `.wav` | skipped: `not a readable WAV or FLAC file (not a WAV file (no RIFF/WAVE header) ...); re-encode it ...` |
| NaN or infinite samples (float WAV) | skipped: `32-bit float WAV with NaN or infinite samples, which would poison training and scoring; re-export the recording from its source, or remove it` |
| all-silent file (every sample within 1 step of 0) | skipped: `silent: every sample is within 1 step(s) of 0, so there is nothing to learn from or score; check the recording, or remove it` |
| clipped file (more than 5 % of the samples at full scale), or a float WAV stored at the wrong scale | skipped: `clipped: 100% of the samples are at full scale (peak 50: stored at the wrong scale?), distorted beyond what the model learns from; record or export it again at a lower level, or remove it` |
| WAV header with an absurd rate or channel count (1 Hz, 4 GHz, 65535 channels) | skipped before any sample is read: `not a readable WAV or FLAC file (the header's sample rate, 1 Hz, is outside 4000-384000 Hz, so the header is damaged; re-encode the file (e.g. ...)) ...` |
| `predict` (and `--enrol`, `--timeline`, `predict_waveform`) on a file training would skip: truncated, silent, clipped, an absurd header, NaN | `error: <file>: <training's reason>` (the same rules, `audio.check_contents`), exit status 1; the other files are still scored |
| `predict --speaker_bn` (one speaker's recordings scored together) or `export --speaker_bn_files` with too few windows, an export instead of a `.keras` model, or a file training would skip (tested in tests/test_recognizer.py and tests/export/test_export.py) | error, exit status 2: `N recording(s) give K window(s) of 3 s; scoring a speaker's recordings together needs at least 16 (fewer score no better than the model's own statistics): give more recordings of the speaker, or score them one at a time without --speaker_bn`, `<model>: ... re-estimates the model's BatchNorm statistics, which a tflite model holds as constants; give the fold's model.keras, or export one speaker's statistics into a model ...`; a file that cannot be used: `predict` names it (`error: <file>: <training's reason>`, exit status 1) and leaves it out of the statistics, `export` refuses before anything is written |
| `predict` (or `--timeline`) without `--speaker_bn` on a model trained per speaker (`--speaker_bn_group`, `configs/adarl_compact_speaker_bn.cfg`) that holds no one speaker's statistics (tested in tests/test_predict.py) | scored, with one note on stderr: `note: this model was trained per speaker (--speaker_bn_group) and is scored here one file at a time, with its training speakers' BatchNorm statistics, which loses accuracy; score one person's recordings together with --speaker_bn (a .keras model), or export one speaker's statistics (python -m adarl_tf.export --speaker_bn_files=...)` |
| a `.tflite` int8 file that XNNPACK cannot run (exported before the int8 conversion kept such products float32; tested in tests/export/test_tflite.py) | `predict` and the recognizer score it with LiteRT's builtin kernels after one warning: `XNNPACK (LiteRT's default CPU delegate, a phone's too) cannot run <file>: an int8 product's requantisation scale is out of its range (export/tflite.py, xnnpack_refused); scoring it with LiteRT's builtin kernels instead. Export it again for a phone.`; the exporter's parity check refuses it: `... cannot run <file>: ...; export the model again with this version (python -m adarl_tf.export), which keeps such products float32` |
| 0.05 s file | kept: one zero-padded segment, finite outputs; `duration_s` in `data_report.json` shows the shortest |
| 10-minute file | kept: 200 segments of 3 s (19 MB on disk, 38 MB decoded, cached once) |
| label line whose WAV is missing | skipped: `file not found; restore it from the corpus release or remove its label line (<file>.txt line N)` |
| WAV that no label line names | not an error: counted under `unlabelled_wavs` (count and the first ten paths) |
| duplicate utterance name | the later line is skipped: `duplicate utterance <name>, already labelled in <file>; kept the first label` |
| unknown label code | skipped: `unknown label 'Happy' for <name>; IEMOCAP's codes are ...: correct the label line`; known codes outside the class set are counted under `excluded_labels` |
| manifest row whose file is a symlink loop | skipped: `cannot be read (Too many levels of symbolic links) ...` |
| `--data_dir` at `Session1` | error: `... Session1 is a single session folder; point --data_dir at the folder that holds Session1 ... Session5 (here probably ...)` |
| a session without `dialog/EmoEvaluation` | error: `.../Session3/dialog/EmoEvaluation not found ...; re-extract Session3 ...` |
| two manifests with one file name (`a/manifest.csv`, `b/manifest.csv`) | error: `--data_dir: a/manifest.csv and b/manifest.csv both load as the corpus 'manifest', so their speaker ids would merge (two people as one speaker); rename one manifest file, or give each a corpus column with its own value` |
| one corpus twice in `--data_dir` | error: `--data_dir lists <path> twice, which would count every speaker twice; give each corpus once` |
| one audio file in two utterances (a duplicate line, a corpus and a manifest of its files, `--extra_domain_data` with the corpus's audio) | error: `audio file <path> is used twice, by <name> (speaker <id>) and by <name> (speaker <id>); a recording belongs to one utterance: remove the duplicate line, the corpus given twice, or the corpus's own files from --extra_domain_data` |
| `--extra_domain_data` with a speaker id of the corpus (any case) | error: `--extra_domain_data=<file>: speaker 'ses03m' is the corpus's speaker 'Ses03M', whose audio must not reach training when they are tested; remove their rows, or give them another id if they are another person` |
| manifest column named twice | error: `manifest <file>: column emotion appears more than once in the header; keep one column of each name (rename or delete the others)` |
| manifest with a stray `"` | error: `manifest <file> line 5: a quote (") opens a value that runs on to line N; remove the stray quote or close it` (or, in a large file, `line N: <csv error>; look for a stray quote (") there or above it`) |
| manifest row with more values than columns | error: `manifest <file> line 5 has 5 values but the header 4 columns; quote a value that holds the separator` |
| manifest in Latin-1 (or UTF-16 without a byte-order mark) | error: `manifest <file> is not utf-8 text (byte 0xe9 at offset N); save it as UTF-8 (e.g. iconv ...)`; UTF-8 and UTF-16 with a byte-order mark are read |
| manifest speaker ids that differ by case or spacing (`Ses01F`, `ses01f`, `Ses 01F`) | error: `manifest <file>: speaker ids 'Ses01F' (line 2) and 'ses01f' (line 3) differ only by case or spacing; write one person's id the same way on every line` |
| manifest speaker with rows of both genders | error: `manifest <file>: speaker 'Ses02M' is M on line N but F on line M; give each speaker one gender` |
| `--emotions` that no utterance has (`fearful,disgust` on IEMOCAP) | error: `--emotions=fearful,disgust: no utterance of <corpus> has one of the classes fearful, disgust; its labels: angry, excited, frustrated, ...` |
| `--emotions=all` with a misspelt label (`hapy`) | error: `--emotions=all: label 'hapy' looks like a misspelt 'happy', and would become a class of its own; correct the data, or list the classes in --emotions (e.g. ...)` |
| a count or size flag out of range (`--epochs=0`, `--batch_size=0`, `--segment_s=0`, `--learning_rate=nan`, ...) | error before the corpus is read: `--epochs=0; expected > 0`; pools that leave nothing: `--trunk_pools=... pool a 400 x 20 input to nothing; use smaller pools or a longer --segment_s` |
| `--trunk_filters=a,b` | error: `--trunk_filters=a,b; expected whole numbers such as 16,16,16,32` |
| `--epochs` and `--train_steps` both (e.g. `--epochs=3` over `configs/adarl_compact.cfg`, which sets `--train_steps=960`; tested in tests/test_main.py) | error: `--epochs=3 and --train_steps=960 both set the run's length; give one (--train_steps=0 counts it in epochs where a preset sets --train_steps)` |
| `--domain_speaker_mean` without what it needs (tested in tests/test_main.py and tests/test_model.py) | error before the corpus is read: `--domain_speaker_mean needs --speaker_bn: the test speaker's mean domain embedding comes from its windows scored together`, or `--domain_speaker_mean averages the attention's domain embedding over each speaker's windows: it needs --variant=adarl, --attention_input=embedding and --speaker_bn_group > 0; got ...` |
| `--speaker_runs=stratified` without `--speaker_bn_group` (tested here) | error before the corpus is read: `--speaker_runs=stratified lays out runs of one speaker's windows: it needs --speaker_bn_group > 0` |
| a fold listed twice (`--fold=0,0`) | error: `--fold=0,0: fold 0 is listed twice (it would be trained and counted twice); list each once` |
| fold index out of range | error: `--fold=10: [10] out of range; this corpus has 10 folds, 0..9` |
| a fold emptied by the filters | the dry run lists it under `empty_folds` with a warning; training it stops before any fold trains: `fold 1: test speaker Ses01M has no emotion-labelled utterances left ...; see 'skipped' in data_report.json ... or leave the fold out of --fold` |
| `--init_from` naming a missing file, or one that is not a Keras model (random bytes, a cut file; tested in tests/test_warm_start.py) | error before anything is written, exit status 1: `--init_from=<path>: no such file; give a finished fold's model.keras (<run>/fold_NN/model.keras) or its fold folder`, or `... cannot be loaded as a Keras model (<detail>); give a model.keras written by adarl_tf.main`; a model whose trunks have other shapes is refused when the fold builds its model, before it trains: `that model is built otherwise (<layer>: <shapes>); start from a model of the same preset (--trunk_filters, ...)` |
| unwritable `--out_dir` | error: `--out_dir=... is not writable (Permission denied); choose another folder with --out_dir` |
| any refused command aimed at an existing run | the run's files (`data_report.json` included) are left as they were; a missing `--out_dir` is not created |
| `export` with a missing or corrupt `results.json` or `model.keras` | error, exit status 2, no folder created: `<file>: not a complete results.json (...); train the fold again ...`, `<file>: not a .keras file (not a zip archive: ...); restore the file, or train the fold again ...` |
| `predict` with a damaged or foreign model: random bytes or an empty zip named `.keras`, a Keras model that is not ADARL's, a corrupt `saved_model.pb`, a `.tflite` or `.onnx` of random bytes | error, exit status 2: `<file>: not a .keras file (not a zip archive: damaged, cut short or another format); restore the file, or train the fold again ...`, `<file>: a Keras model, but not an ADARL one (Sequential ...)`, `<file>: not a readable ADARL TFLite model (<detail>); export the model again ... or restore the file` |
| `predict` with a torn or incomplete `model_card.json` (or `results.json`) beside the model, or labels that do not fit it | error, exit status 2: `<card>: not a complete model_card.json (not valid JSON: ...); export the model again ...`; `<model>: the model scores 4 classes but the files beside it name 5 (...; <card>); keep the model_card.json or results.json of this model beside it` |
| `report`, `main --summarize` or `export` on an empty, torn or incomplete `results.json`, or a damaged `test_features.npz` (random bytes, a cut zip, Python objects) | error before anything is written, exit status 2 (`main`: 1): `<file>: not a complete results.json (no corpus, ...); train the fold again (its python -m adarl_tf.main command with --fold=N --overwrite)`; `.npz` files are never unpickled |
| `report` or `--summarize` aimed at an existing run with one damaged fold | the run's files and an earlier report are left as they were (bytes and times); a missing `--out` is not created |
| a corpus folder (or a folder in it) or manifest this user may not read | error: `--data_dir: <path> cannot be read (Permission denied); give this user read access (e.g. chmod -R u+rX <path>) or copy the corpus somewhere readable` |
"""

import json
import os
import re
import resource
import shutil
import struct
import wave
import zipfile

import numpy as np
import pytest
from absl import app
from absl.testing import flagsaver

from adarl_tf import experiment
from adarl_tf import main as main_lib
from adarl_tf.corpora import demo, iemocap
from tests.audio_files import set_header
from tests.cli_checks import one_error

pytestmark = pytest.mark.usefixtures("parsed_flags")
RATE = 16000


@pytest.fixture
def root(small_demo_corpus, tmp_path):
    """A private copy of the small demo corpus that the test may damage."""
    shutil.copytree(small_demo_corpus, tmp_path / "corpus")
    return tmp_path / "corpus"


@pytest.fixture(scope="module")
def clean(small_demo_corpus):
    return iemocap.load_iemocap(small_demo_corpus, name=demo.DEMO_CORPUS_NAME)


def _run(root, out, **overrides):
    args = dict(dataset="demo", data_dir=str(root), out_dir=str(out))
    args.update(overrides)
    if "fold" not in overrides:
        args["dry_run"] = True
    with flagsaver.flagsaver(**args):
        main_lib.main(["adarl_tf.main"])
    return json.loads((out / "data_report.json").read_text())


def _wav_of(root, clean, index):
    """(utterance name, its WAV path in `root`) for the index-th kept utterance."""
    utt = clean.utterances[index]
    return utt.name, root / os.path.relpath(utt.path, start=_root_of(clean))


def _root_of(corpus):
    # .../corpus/SessionN/sentences/wav/<dialog>/<name>.wav -> .../corpus
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.dirname(corpus.utterances[0].path)))))


def _write_pcm(path, samples):
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(np.asarray(samples, "<i2").tobytes())


def _write_float_wav(path, samples):
    """A 32-bit IEEE-float WAV (format 3), the kind that can carry NaN and inf."""
    data = np.asarray(samples, "<f4").tobytes()
    fmt = struct.pack("<HHIIHH", 3, 1, RATE, RATE * 4, 4, 32)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + \
        b"data" + struct.pack("<I", len(data)) + data
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)


def _skip_reason(report, path):
    reasons = [e["reason"] for e in report["skipped"] if e["path"] == str(path)]
    assert len(reasons) == 1, report["skipped"]
    return reasons[0]


def _kept(report):
    return report["n_utterances"]


# ---------------------------------------------------------------- audio files


def test_broken_audio_files_are_skipped_with_the_file_and_the_fix(root, clean, tmp_path):
    damaged = {}
    name, path = _wav_of(root, clean, 0)
    path.write_bytes(path.read_bytes()[:30])  # Cut inside the fmt chunk.
    damaged["header"] = path
    name, path = _wav_of(root, clean, 1)
    path.write_bytes(path.read_bytes()[:2000])  # Header intact, data cut short.
    damaged["data"] = path
    name, path = _wav_of(root, clean, 2)
    path.write_bytes(b"")
    damaged["empty"] = path
    name, path = _wav_of(root, clean, 3)
    path.write_text("Ses01F_impro01_F000: this is a transcript, not audio\n")
    damaged["text"] = path
    name, path = _wav_of(root, clean, 4)
    _write_float_wav(path, [0.1, float("nan"), float("inf"), -float("inf")] * 4000)
    damaged["float"] = path
    name, path = _wav_of(root, clean, 5)
    _write_pcm(path, np.zeros(RATE * 2))
    damaged["silent"] = path
    name, path = _wav_of(root, clean, 6)
    _write_pcm(path, np.where(np.arange(RATE) % 2, 1, -1))  # +-1 LSB: dither only.
    damaged["dither"] = path

    report = _run(root, tmp_path / "out")
    reason = {k: _skip_reason(report, p) for k, p in damaged.items()}
    assert _kept(report) == len(clean.utterances) - len(damaged)
    assert "not a readable WAV or FLAC file" in reason["header"]
    assert "copy it again" in reason["header"]
    assert reason["data"].startswith("truncated: the header promises")
    assert "copy it again" in reason["data"]
    assert reason["empty"].startswith("empty file (0 bytes)")
    assert "no RIFF/WAVE header" in reason["text"]
    assert "re-encode it as 16-bit PCM WAV" in reason["text"]
    assert "32-bit float WAV with NaN or infinite samples" in reason["float"]
    assert "re-export the recording" in reason["float"]
    assert reason["silent"].startswith("silent:") and reason["dither"].startswith("silent:")
    # The reason also says which label line wanted the file.
    assert all(".txt line" in r for r in reason.values())


def test_absurd_headers_and_clipped_audio_are_skipped_by_the_dry_run(root, clean, tmp_path):
    """Class 3: a header no recording has is refused where headers are read, before
    training (a 4 GHz rate used to fail when the test speaker was scored; a 1 Hz
    rate used to become a 7 GiB allocation); clipped audio is skipped too."""
    damaged = {}
    for i, (rate, channels) in enumerate([(1, None), (4_000_000_000, None), (None, 65535)]):
        _, path = _wav_of(root, clean, i)
        set_header(path, rate, channels)
        damaged[i] = path
    _, path = _wav_of(root, clean, 3)
    _write_pcm(path, np.where(np.arange(2 * RATE) % 80 < 40, 32767, -32768))
    damaged["clipped"] = path
    _, path = _wav_of(root, clean, 4)
    _write_float_wav(path, 50 * np.sin(np.arange(RATE) / 10))
    damaged["scale"] = path
    report = _run(root, tmp_path / "out")
    reason = {k: _skip_reason(report, p) for k, p in damaged.items()}
    assert _kept(report) == len(clean.utterances) - len(damaged)
    assert "sample rate, 1 Hz, is outside 4000-384000 Hz" in reason[0]
    assert "sample rate, 4000000000 Hz" in reason[1]
    assert "channel count, 65535, is outside 1-32" in reason[2]
    assert all("re-encode the file" in reason[i] for i in range(3))
    assert reason["clipped"].startswith("clipped: 100% of the samples are at full scale")
    assert "wrong scale" in reason["scale"]
    assert all("at a lower level" in reason[k] for k in ("clipped", "scale"))
    assert all(".txt line" in r for r in reason.values())


def test_very_short_file_is_kept_as_one_padded_segment(root, clean, tmp_path):
    pytest.importorskip("tensorflow")
    from adarl_tf import model as model_lib
    from adarl_tf.config import FrontendConfig, ModelConfig
    from adarl_tf.pipelines import plan as plan_lib
    from adarl_tf.pipelines import render_tf

    name, path = _wav_of(root, clean, 0)
    t = np.arange(int(0.05 * RATE)) / RATE
    _write_pcm(path, 3000 * np.sin(2 * np.pi * 220 * t))
    report = _run(root, tmp_path / "out")
    assert _kept(report) == len(clean.utterances)
    assert report["duration_s"]["min"] == 0.05
    assert report["duration_s"]["n_shorter_than_0.5"] >= 1

    utt = next(u for u in iemocap.load_iemocap(root).utterances if u.name == name)
    frontend = FrontendConfig(segment_s=1.0, max_freq_hz=2000.0)
    plan = plan_lib.scoring_plan([utt], plan_lib.Cut.of(frontend, 1.0), 4)
    (batch,) = list(render_tf.scoring_data([utt], plan))
    assert batch.shape == (1, RATE)  # One segment, zero-padded after 800 samples.
    assert not batch.numpy()[0, 800:].any()
    model = model_lib.build_model(ModelConfig(frontend=frontend, trunk_filters=(4, 4, 4, 8)))
    out = model.predict(batch, verbose=0)
    assert all(np.isfinite(v).all() for v in out.values())


def test_ten_minute_file_is_cut_into_200_segments(root, clean, tmp_path):
    pytest.importorskip("tensorflow")
    from adarl_tf.config import FrontendConfig
    from adarl_tf.pipelines import plan as plan_lib
    from adarl_tf.pipelines import render_tf

    name, path = _wav_of(root, clean, 0)
    rng = np.random.default_rng(0)
    _write_pcm(path, rng.integers(-2000, 2000, size=600 * RATE))  # 19 MB.
    report = _run(root, tmp_path / "out")
    assert report["duration_s"]["max"] == 600.0
    utt = next(u for u in iemocap.load_iemocap(root).utterances if u.name == name)
    frontend = FrontendConfig()  # The paper's 3 s segments.
    cut = plan_lib.Cut.of(frontend, 1.0)
    assert plan_lib.counts([utt], cut).tolist() == [200]

    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux.
    n = 0
    for batch in render_tf.scoring_data([utt], plan_lib.scoring_plan([utt], cut, 32)):
        n += int(batch.shape[0])
        assert batch.shape[1] == 48000
    assert n == 200
    growth_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before) / 1024
    # Decoded float32: 38 MB, cached once; anything near 1 GB would be a copy per segment.
    assert growth_mb < 400, f"peak memory grew by {growth_mb:.0f} MB"


# ---------------------------------------------------------------- labels


def _label_file(root, dialog):
    session = int(dialog[3:5])
    return root / f"Session{session}" / "dialog" / "EmoEvaluation" / f"{dialog}.txt"


def test_label_and_wav_mismatches(root, clean, tmp_path):
    missing_name, missing = _wav_of(root, clean, 0)
    missing.unlink()  # Its label line stays.
    orphan = missing.parent / "Ses01F_impro01_F099.wav"  # A WAV no line names.
    _write_pcm(orphan, 1000 * np.ones(RATE))
    dup_name = clean.utterances[1].name
    other_dialog = _label_file(root, "Ses01M_impro01")
    with open(other_dialog, "a", encoding="utf-8") as f:
        f.write(f"[1.0000 - 2.0000]\t{dup_name}\tang\t[1.5000, 4.0000, 4.0000]\n")
        f.write("[3.0000 - 4.0000]\tSes01M_impro01_F098\tHappy\t[2.5000, 2.5000, 2.5000]\n")

    report = _run(root, tmp_path / "out")
    reason = _skip_reason(report, missing)
    assert reason.startswith("file not found; restore it")
    assert "remove its label line" in reason and ".txt line" in reason
    assert report["unlabelled_wavs"] == {"count": 1, "first": [str(orphan)]}
    dup, unknown = [e for e in report["skipped"] if e["path"] == str(other_dialog)]
    assert f"duplicate utterance {dup_name}, already labelled in" in dup["reason"]
    assert "kept the first label" in dup["reason"]
    assert "unknown label 'Happy' for Ses01M_impro01_F098" in unknown["reason"]
    assert "correct the label line" in unknown["reason"]
    # Known IEMOCAP codes outside the four classes are counted, not errors.
    assert report["excluded_labels"]
    assert _kept(report) == len(clean.utterances) - 1


# ---------------------------------------------------------------- folders and flags


def test_session_folder_instead_of_the_corpus_root(root, tmp_path):
    with pytest.raises(app.UsageError, match=r"Session1 is a single session folder; point "
                                             r"--data_dir at the folder that holds Session1 "
                                             r"\.\.\. Session5 \(here probably .*corpus\)"):
        _run(root / "Session1", tmp_path / "out")


def test_missing_emoevaluation_folder(root, tmp_path):
    shutil.rmtree(root / "Session3" / "dialog" / "EmoEvaluation")
    with pytest.raises(app.UsageError, match=r"Session3.dialog.EmoEvaluation not found.*"
                                             r"re-extract Session3"):
        _run(root, tmp_path / "out")


def test_fold_index_out_of_range(root, tmp_path):
    with pytest.raises(app.UsageError, match=r"--fold=10: \[10\] out of range; this corpus "
                                             r"has 10 folds, 0\.\.9"):
        _run(root, tmp_path / "out", fold="10")
    with pytest.raises(app.UsageError, match="expected an index, a comma list or 'all'"):
        _run(root, tmp_path / "out", fold="first")


def test_fold_left_empty_by_the_filters(root, clean, tmp_path):
    pytest.importorskip("tensorflow")
    for utt in clean.utterances:
        if utt.speaker == "Ses01M":
            (root / os.path.relpath(utt.path, start=_root_of(clean))).unlink()
    report = _run(root, tmp_path / "out")
    # Fold 1 keeps meaning Ses01M: the other folds' indices do not shift.
    assert report["empty_folds"] == [1]
    assert [s["id"] for s in report["speakers"]][:3] == ["Ses01F", "Ses01M", "Ses02F"]
    for fold in ("1", "all"):
        with pytest.raises(app.UsageError, match=r"fold 1: test speaker Ses01M has no "
                                                 r"emotion-labelled utterances left.*"
                                                 r"data_report\.json.*--fold"):
            _run(root, tmp_path / "out", fold=fold, epochs=1)
    assert not (tmp_path / "out" / "fold_00").exists()  # Checked before any training.


def test_out_dir_under_a_file(root, tmp_path):
    (tmp_path / "taken").write_text("a file, not a folder")
    with pytest.raises(app.UsageError, match=r"--out_dir=.*taken.run is not writable "
                                             r"\(.*\); choose another folder with --out_dir"):
        _run(root, tmp_path / "taken" / "run")


def test_out_dir_check_is_safe_for_parallel_folds(tmp_path):
    # --parallel_folds starts one process per fold on the same --out_dir at once;
    # a shared probe file name let one check delete the other's (seen in CI).
    import threading

    errors = []

    def check():
        for _ in range(100):
            try:
                experiment.prepare_out_dir(tmp_path)
            except app.UsageError as e:
                errors.append(e)

    threads = [threading.Thread(target=check) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and list(tmp_path.iterdir()) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_read_only_out_dir(root, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    with pytest.raises(app.UsageError, match=r"not writable \(Permission denied\); choose "
                                             r"another folder with --out_dir"):
        _run(root, locked / "run")


# ---------------------------------------------------------------- refusals
# Every case below must stop before any work with one line that names the flag
# or file and the fix (app.run prints a UsageError as that line, exit code 1),
# and leave an existing run in --out_dir exactly as it was.


def _snapshot(folder):
    return {p: p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _refused(out, match, **flags):
    """Runs main with `flags`; it must refuse (`match`) and change nothing in `out`."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "data_report.json").write_text('{"corpus": "an earlier run"}\n')
    before = _snapshot(out)
    flags.setdefault("dry_run", "fold" not in flags)
    with pytest.raises(app.UsageError, match=match) as error:
        with flagsaver.flagsaver(out_dir=str(out), **flags):
            main_lib.main(["adarl_tf.main"])
    assert error.value.exitcode == 1 and "\n" not in str(error.value)
    assert _snapshot(out) == before
    return str(error.value)


def _manifest(path, clean, rows=None, header="path,speaker,emotion,gender", sep=","):
    """A manifest of the clean demo corpus's files (or of `rows`), one line per utterance."""
    if rows is None:
        rows = [[u.path, u.speaker, u.label, u.gender] for u in clean.utterances]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([header] + [sep.join(map(str, r)) for r in rows]) + "\n",
                    encoding="utf-8")
    return path


def _manifest_run(manifest, out, **flags):
    return _run(manifest, out, dataset="manifest", **flags)


# Class 1: corpora merged under one name, or one recording used twice.


def test_two_manifests_with_one_file_name_are_refused(clean, tmp_path):
    half = len(clean.utterances) // 2
    rows = [[u.path, u.speaker, u.label, u.gender] for u in clean.utterances]
    a = _manifest(tmp_path / "a" / "manifest.csv", clean, rows[:half])
    b = _manifest(tmp_path / "b" / "manifest.csv", clean, rows[half:])
    message = _refused(tmp_path / "out", r"both load as the corpus 'manifest'.*rename one "
                       r"manifest file, or give each a corpus column",
                       dataset="manifest,manifest", data_dir=f"{a},{b}")
    assert str(a) in message and str(b) in message


def test_the_same_corpus_twice_is_refused(root, clean, tmp_path):
    m = _manifest(tmp_path / "m.csv", clean)
    _refused(tmp_path / "out", r"--data_dir lists .*m\.csv twice.*give each corpus once",
             dataset="manifest,manifest", data_dir=f"{m},{m}")
    # Also through another spelling of the same path.
    _refused(tmp_path / "out", r"twice", dataset="manifest,manifest",
             data_dir=f"{m},{tmp_path}/./m.csv")
    # The demo corpus and a manifest of its own files: every recording twice.
    copies = [[_wav_of(root, clean, i)[1], "x" + u.speaker, u.label, u.gender]
              for i, u in enumerate(clean.utterances)]
    _refused(tmp_path / "out", r"audio file .*\.wav is used twice, by synthetic demo "
             r"corpus/\S+ \(speaker .*\) and by copies/.*remove the duplicate line",
             dataset="demo,manifest",
             data_dir=f"{root},{_manifest(tmp_path / 'copies.csv', clean, copies)}")


def test_one_file_on_two_manifest_lines_is_refused(clean, tmp_path):
    rows = [[u.path, u.speaker, u.label, u.gender, u.name] for u in clean.utterances]
    rows.append([rows[0][0], "Ses05M", "sad", "M", "another_name"])
    m = _manifest(tmp_path / "m.csv", clean, rows, header="path,speaker,emotion,gender,name")
    _refused(tmp_path / "out", r"audio file .* is used twice.*speaker Ses01F.*speaker Ses05M",
             dataset="manifest", data_dir=str(m))


def test_extra_domain_data_with_the_corpus_audio_or_speakers_is_refused(root, clean,
                                                                           tmp_path):
    own = [[_wav_of(root, clean, i)[1], "guest", "", "F"] for i in range(3)]
    extra = _manifest(tmp_path / "extra.csv", clean, own)
    _refused(tmp_path / "out", r"audio file .* is used twice.*extra/.*--extra_domain_data",
             data_dir=str(root), dataset="demo", extra_domain_data=str(extra))
    # Other recordings, but a speaker id of the corpus (here in another case).
    other = tmp_path / "other.wav"
    _write_pcm(other, 1000 * np.sin(np.arange(RATE)))
    extra = _manifest(tmp_path / "extra.csv", clean, [[other, "ses03m", "", "M"]])
    _refused(tmp_path / "out", r"--extra_domain_data=.*extra\.csv: speaker 'ses03m' is the "
             r"corpus's speaker 'Ses03M'.*remove their rows, or give them another id",
             data_dir=str(root), dataset="demo", extra_domain_data=str(extra))
    # A different person is fine.
    extra = _manifest(tmp_path / "extra.csv", clean, [[other, "guest", "", "M"]])
    report = _run(root, tmp_path / "ok", extra_domain_data=str(extra))
    assert report["domain_only_speakers"] == ["extra/guest"]


# Class 2: manifests that would lose or replace data silently.


def test_manifest_column_named_twice_is_refused(clean, tmp_path):
    rows = [[u.path, u.speaker, u.label, u.gender, "neutral"] for u in clean.utterances]
    m = _manifest(tmp_path / "m.csv", clean, rows, header="path,speaker,emotion,gender,Emotion")
    _refused(tmp_path / "out", r"manifest .*m\.csv: column emotion appears more than once "
             r"in the header; keep one column", dataset="manifest", data_dir=str(m))


def test_manifest_stray_quote_or_extra_values_are_refused(clean, tmp_path):
    rows = [[u.path, u.speaker, u.label, u.gender] for u in clean.utterances]
    rows[3][2] = '"sad'  # Swallows every line up to the next quote.
    m = _manifest(tmp_path / "m.csv", clean, rows)
    _refused(tmp_path / "out", r"manifest .*m\.csv line 5: a quote \(\"\) opens a value that "
             r"runs on to line \d+; remove the stray quote", dataset="manifest",
             data_dir=str(m))
    # So large that the csv module gives up (field larger than field limit).
    big = rows[:4] + [[f"x{i}.wav", "Ses01F", "sad", "F"] for i in range(20000)]
    m = _manifest(tmp_path / "big.csv", clean, big)
    _refused(tmp_path / "out", r"manifest .*big\.csv line \d+: .*look for a stray quote",
             dataset="manifest", data_dir=str(m))
    rows[3][2] = "sad,loud"  # An unquoted separator: a value more than the header.
    m = _manifest(tmp_path / "m.csv", clean, rows)
    _refused(tmp_path / "out", r"manifest .*m\.csv line 5 has 5 values but the header 4 "
             r"columns; quote a value", dataset="manifest", data_dir=str(m))


def test_manifest_encodings(clean, tmp_path):
    m = _manifest(tmp_path / "m.csv", clean)
    text = m.read_text() + "nowhere/caf\u00e9.wav,Ses01F,sad,F\n"
    (tmp_path / "latin1.csv").write_bytes(text.encode("latin-1"))
    _refused(tmp_path / "out", r"manifest .*latin1\.csv is not utf-8 text \(byte 0xe9 at "
             r"offset \d+\); save it as UTF-8 \(e\.g\. `iconv", dataset="manifest",
             data_dir=str(tmp_path / "latin1.csv"))
    (tmp_path / "utf16_no_bom.csv").write_bytes(text.encode("utf-16-le"))
    _refused(tmp_path / "out", r"utf16_no_bom\.csv holds NUL bytes.*save it as UTF-8",
             dataset="manifest", data_dir=str(tmp_path / "utf16_no_bom.csv"))
    # UTF-16 with a byte-order mark (Excel's "Unicode text") reads as UTF-8 does.
    (tmp_path / "utf16.csv").write_bytes(text.encode("utf-16"))
    a = _manifest_run(tmp_path / "utf16.csv", tmp_path / "a")
    b = _manifest_run(m, tmp_path / "b")
    assert a["counts"] == b["counts"] and a["n_utterances"] == b["n_utterances"] > 0


def test_manifest_speaker_ids_differing_by_case_or_space_are_refused(clean, tmp_path):
    for other in ("ses01f", "SES01F", "Ses 01F"):
        rows = [[u.path, u.speaker, u.label, u.gender] for u in clean.utterances]
        first = next(i for i, r in enumerate(rows) if r[1] == "Ses01F")
        rows[first + 1][1] = other
        m = _manifest(tmp_path / "m.csv", clean, rows)
        _refused(tmp_path / "out", rf"manifest .*m\.csv: speaker ids 'Ses01F' \(line "
                 rf"{first + 2}\) and '{other}' \(line {first + 3}\) differ only by case or "
                 r"spacing; write one person's id the same way", dataset="manifest",
                 data_dir=str(m))


def test_manifest_speaker_with_two_genders_is_refused(clean, tmp_path):
    rows = [[u.path, u.speaker, u.label, u.gender] for u in clean.utterances]
    last = max(i for i, r in enumerate(rows) if r[1] == "Ses02M")
    rows[last][3] = "female"
    m = _manifest(tmp_path / "m.csv", clean, rows)
    _refused(tmp_path / "out", rf"manifest .*m\.csv: speaker 'Ses02M' is M on line \d+ but F "
             rf"on line {last + 2}; give each speaker one gender", dataset="manifest",
             data_dir=str(m))


def test_classes_no_utterance_has_are_refused(root, tmp_path):
    # Not blamed on the domain (the emptied corpus has no gender value either).
    _refused(tmp_path / "out", r"--emotions=fearful,disgust: no utterance of synthetic demo "
             r"corpus has one of the classes fearful, disgust; its labels: angry, excited, "
             r"frustrated, happy, neutral, sad", dataset="demo", data_dir=str(root),
             emotions="fearful,disgust")


def test_misspelt_label_with_emotions_all_is_refused(clean, tmp_path):
    for typo, meant in (("hapy", "happy"), ("angy", "angry"), ("neutrl", "neutral"),
                        ("sadd", "sad")):
        rows = [[u.path, u.speaker, u.label, u.gender] for u in clean.utterances]
        rows[5][2] = typo
        m = _manifest(tmp_path / "m.csv", clean, rows)
        _refused(tmp_path / "out", rf"--emotions=all: label '{typo}' looks like a misspelt "
                 rf"'{meant}'.*correct the data, or list the classes in --emotions",
                 dataset="manifest", data_dir=str(m), emotions="all")
    # A label of its own that resembles none is a class.
    rows[5][2] = "contempt"
    report = _manifest_run(_manifest(tmp_path / "m.csv", clean, rows), tmp_path / "ok",
                           emotions="all")
    assert report["emotions"] == ["neutral", "happy", "sad", "angry", "contempt"]


# Class 4: flags, checked before any work (the corpus is not even read).


@pytest.mark.parametrize("flags,match", [
        (dict(fold="0,0"), r"--fold=0,0: fold 0 is listed twice.*list each once"),
        (dict(fold="3,1,3"), r"--fold=3,1,3: fold 3 is listed twice"),
        (dict(fold="0", epochs=0), r"--epochs=0; expected > 0"),
        (dict(fold="0", batch_size=0), r"--batch_size=0; expected > 0"),
        (dict(fold="0", train_steps=-1), r"--train_steps=-1; expected >= 0"),
        (dict(fold="0", batch_size=-4), r"--batch_size=-4; expected > 0"),
        (dict(fold="0", learning_rate=float("nan")), r"--learning_rate=nan; expected > 0"),
        (dict(segment_s=0.0), r"--segment_s=0.0; expected > 0"),
        (dict(segment_s=0.004), r"--segment_s=0.004; expected at least one 10.0 ms frame"),
        (dict(segment_s=0.2), r"--trunk_pools=.* pool a 400 x 20 input to nothing; use "
                              r"smaller pools or a longer --segment_s"),
        (dict(max_freq_hz=0.0), r"--max_freq_hz=0.0; expected > 0"),
        (dict(trunk_filters=["a", "b"]), r"--trunk_filters=a,b; expected whole numbers"),
        (dict(trunk_filters=["16", "0", "16", "32"]), r"--trunk_filters=.*expected counts >= 1"),
        (dict(n_folds=1, protocol="speaker_kfold"), r"--n_folds=1; expected >= 2"),
        (dict(min_tail_s=-1.0), r"--min_tail_s=-1.0; expected >= 0"),
        (dict(fold="0", profile_batch="x"), r"--profile_batch='x'; expected 0 \(off\)"),
        (dict(speaker_runs="stratified"), r"--speaker_runs=stratified lays out runs of one "
                                          r"speaker's windows: it needs --speaker_bn_group > 0"),
])
def test_bad_flags_stop_before_any_work(root, tmp_path, flags, match, monkeypatch):
    def no_loading(*args, **kwargs):
        raise AssertionError("the corpus was read before the flags were checked")
    if "fold=" not in match:
        monkeypatch.setattr(experiment, "load_corpus", no_loading)
    _refused(tmp_path / "out", match, dataset="demo", data_dir=str(root), **flags)


# Class 5: a failing command leaves an existing run as it was, and creates nothing.


def test_failing_command_keeps_the_existing_run_and_creates_no_folder(root, tmp_path):
    out = tmp_path / "run"
    _run(root, out)  # An earlier run's data report.
    for overrides in (dict(fold="10"), dict(fold="first"), dict(fold="0,0"),
                      dict(fold="0", emotions="neutral,hapy")):
        before = (out / "data_report.json").read_bytes()
        with pytest.raises(app.UsageError):
            with flagsaver.flagsaver(dataset="demo", data_dir=str(root), out_dir=str(out),
                                     **overrides):
                main_lib.main(["adarl_tf.main"])
        assert (out / "data_report.json").read_bytes() == before, overrides
    missing = tmp_path / "new" / "deeper" / "run"
    with pytest.raises(app.UsageError, match="--fold=10"):
        _run(root, missing, fold="10")
    assert not (tmp_path / "new").exists()


# Class 9: a usage error is one line, not the whole --help.


def test_usage_error_is_one_line_without_the_help(root, tmp_path):
    import subprocess
    import sys
    proc = subprocess.run([sys.executable, "-m", "adarl_tf.main", "--fold=0,0",
                           f"--data_dir={root}", f"--out_dir={tmp_path / 'out'}"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1
    assert "error: --fold=0,0: fold 0 is listed twice" in proc.stderr
    assert "Traceback" not in proc.stderr and "--batch_size" not in proc.stderr
    assert "fold 0 is listed twice" not in proc.stdout
    assert not (tmp_path / "out").exists()


def test_export_checks_its_inputs_before_creating_any_folder(root, tmp_path):
    keras = pytest.importorskip("keras")
    from adarl_tf.export import exporter
    fold = tmp_path / "run" / "fold_00"
    fold.mkdir(parents=True)
    out = tmp_path / "new" / "export"
    with pytest.raises(exporter.ExportError, match=r"results\.json not found: --run_dir must "
                                                   r"be a fold folder"):
        exporter.export_fold(fold, out_dir=out)
    (fold / "model.keras").write_bytes(b"PK\x03\x04 not a zip")
    for text, reason in (("", "empty file"), ('{"fold": 0, "conf', "not valid JSON"),
                         ('{"fold": 0}', "no corpus, variant, test_speaker"),
                         ("[0]", "a JSON list, not an object")):
        (fold / "results.json").write_text(text)
        with pytest.raises(exporter.ExportError, match=rf"results\.json: not a complete "
                           rf"results\.json \({reason}.*train the fold again \(its `python -m "
                           r"adarl_tf\.main` command with --fold=0 --overwrite\)"):
            exporter.export_fold(fold, out_dir=out)
    _good_results(fold, root)
    with pytest.raises(exporter.ExportError, match=r"model\.keras: not a \.keras file \(not a "
                                                   r"zip archive.*restore the file, or train "
                                                   r"the fold again"):
        exporter.export_fold(fold, out_dir=out)
    keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)]).save(fold / "model.keras")
    with pytest.raises(exporter.ExportError, match=r"model\.keras: a Keras model, but not an "
                                                   r"ADARL one"):
        exporter.export_fold(fold, out_dir=out)
    assert not (tmp_path / "new").exists() and not (fold / "export").exists()


def _good_results(fold_dir, root):
    """A results.json the exporter accepts, for a fold of the demo corpus at `root`."""
    from adarl_tf.config import DataConfig, ExperimentConfig
    config = ExperimentConfig(data=DataConfig(data_dir=str(root)))
    (fold_dir / "results.json").write_text(json.dumps({
        "corpus": "demo", "variant": "adarl", "fold": 0, "test_speaker": "Ses01F", "wa": 0.5,
        "ua": 0.5, "domain_accuracy": None, "n_test_utterances": 8, "epochs_completed": 1,
        "config": config.to_dict()}))


# Class 7: a damaged or foreign model, model card or run file is one line (the
# file, what is wrong, the fix) and a clear exit status, never a traceback.


def _junk(path, data=None):
    """`path` holding `data` (default: 3000 random bytes)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(np.random.default_rng(0).bytes(3000) if data is None else data)
    return path


def test_damaged_or_foreign_models_are_one_line_errors(tmp_path, capsys):
    keras = pytest.importorskip("keras")
    pytest.importorskip("ai_edge_litert.interpreter")
    import adarl_tf
    from adarl_tf import predict, recognizer
    foreign = tmp_path / "sequential" / "model.keras"
    foreign.parent.mkdir()
    keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)]).save(foreign)
    empty_zip = tmp_path / "empty" / "model.keras"
    empty_zip.parent.mkdir()
    zipfile.ZipFile(empty_zip, "w").close()
    cases = [
        (foreign, "a Keras model, but not an ADARL one (Sequential", "python -m adarl_tf.main"),
        (empty_zip, "not a readable .keras model (KeyError", "train the fold again"),
        (_junk(tmp_path / "random" / "model.keras"), "not a .keras file (not a zip archive",
         "restore the file"),
        (_junk(tmp_path / "cut" / "model.keras", foreign.read_bytes()[:300]),
         "not a .keras file (not a zip archive", "restore the file"),
        (_junk(tmp_path / "saved_model" / "saved_model.pb").parent,
         "not a readable ADARL SavedModel", "export the model again"),
        (_junk(tmp_path / "model.tflite"), "not a readable ADARL TFLite model",
         "export the model again"),
        (_junk(tmp_path / "empty.tflite", b""), "not a readable ADARL TFLite model",
         "export the model again"),
    ]
    for path, *parts in cases:
        one_error(capsys, predict.command(str(path), ["clip.wav"]), 2, f"error: {path}: ",
                  *parts)
        with pytest.raises(recognizer.PredictError, match=re.escape(parts[0])):
            adarl_tf.load(path)


def test_damaged_model_card_or_results_beside_a_model_are_one_line_errors(tmp_path, capsys):
    pytest.importorskip("keras")
    from adarl_tf import predict
    from tests import model_files
    folder = tmp_path / "export"
    folder.mkdir()
    model = folder / "model.keras"
    model_files.build(model_files.TINY).save(model)
    card = folder / "model_card.json"
    labels = ", ".join(f'"{l}"' for l in model_files.LABELS)
    for text, reason in (('{"labels": ["neutral", "ha', "not valid JSON"),
                         ("", "empty file"), ("[1, 2]", "a JSON list, not an object"),
                         ('{"labels": "happy", "sample_rate_hz": 16000, "min_tail_s": 1}',
                          "labels 'happy': expected a list of distinct class names"),
                         (f'{{"labels": [{labels}], "sample_rate_hz": 16000}}',
                          "min_tail_s None: expected seconds")):
        card.write_text(text)
        # The model, or (for a card that is not even JSON) the export folder that holds it.
        for given in (model, folder) if "JSON" in reason or "empty" in reason else (model,):
            one_error(capsys, predict.command(str(given), ["clip.wav"]), 2,
                      f"error: {card}: not a complete model_card.json ({reason}",
                      "export the model again")
    # An export folder's list of its models.
    card.write_text(f'{{"labels": [{labels}], "sample_rate_hz": 16000, "min_tail_s": 1, '
                    '"files": {"tflite": "model.tflite"}}')
    one_error(capsys, predict.command(str(folder), ["clip.wav"]), 2,
              f"error: {card}: not a complete model_card.json (files {{'tflite': "
              "'model.tflite'}: expected {format: {\"path\": file name}}", "export the model")
    # Labels that do not fit the model: refused when it is loaded, before any file.
    card.write_text(json.dumps({"labels": model_files.LABELS + ["fearful"],
                                "sample_rate_hz": 16000, "min_tail_s": 1.0}))
    one_error(capsys, predict.command(str(model), ["missing.wav"]), 2,
              f"error: {model}: the model scores 4 classes but the files beside it name 5",
              str(card), "keep the model_card.json")
    # A fold folder's results.json, torn, beside its model.keras.
    card.unlink()
    results = _junk(folder / "results.json", b'{"config": {"data": {"min_tai')
    one_error(capsys, predict.command(str(model), ["clip.wav"]), 2,
              f"error: {results}: not a complete results.json (not valid JSON",
              "train the fold again")


def _tree(folder):
    """Every file under `folder` with its bytes and mtime, and every folder."""
    return ({p: (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.rglob("*")
             if p.is_file()}, sorted(p for p in folder.rglob("*") if p.is_dir()))


def _npz_with_objects(path):
    np.savez(path, labels=np.array([{"a": 1}, None], dtype=object))
    return path.read_bytes()


def _damages(fold_dir, scratch):
    """{what: (file name, damaged bytes, the reason said)} for a good fold folder."""
    results = (fold_dir / "results.json").read_bytes()
    npz = (fold_dir / "test_features.npz").read_bytes()
    return {
        "empty results.json": ("results.json", b"", "empty file"),
        "torn results.json": ("results.json", results[:40], "not valid JSON"),
        "results.json without keys": ("results.json", b'{"fold": 1, "wa": 0.5}', "no corpus"),
        "random test_features.npz": ("test_features.npz", np.random.default_rng(1).bytes(900),
                                     "not an .npz archive of arrays"),
        "cut test_features.npz": ("test_features.npz", npz[:len(npz) // 2],
                                  "a damaged or cut-short archive"),
        "test_features.npz of objects": ("test_features.npz",
                                         _npz_with_objects(scratch / "objects.npz"),
                                         "an array of Python objects, which is never "
                                         "unpickled"),
    }


def test_damaged_run_files_stop_report_summarize_and_export_in_one_line(tmp_path, capsys):
    from adarl_tf import report
    from tests.run_files import data_report, fake_fold
    good = tmp_path / "good"
    data_report(good, 3)
    for fold in range(3):
        fake_fold(good, fold, [0, 1, 2, 3], [0, 1, 2, fold % 4])
    for what, (name, data, reason) in _damages(good / "fold_01", tmp_path).items():
        run = tmp_path / what.replace(" ", "_")
        shutil.copytree(good, run)
        damaged = _junk(run / "fold_01" / name, data)
        fix = "train the fold again (its `python -m adarl_tf.main` command with --fold=1 " \
              "--overwrite)"
        message = f"{damaged}: not a complete {name} ({reason}"
        with flagsaver.flagsaver(out=str(run / "report")):
            code = report.main(["adarl_tf.report", str(run)])
        one_error(capsys, code, 2, f"error: {message}", fix)
        if name == "results.json":  # What --summarize and export read.
            with pytest.raises(app.UsageError) as error:
                with flagsaver.flagsaver(summarize=True, out_dir=str(run)):
                    main_lib.main(["adarl_tf.main"])
            assert message in str(error.value) and fix in str(error.value)
            assert "\n" not in str(error.value)
        assert "allow_pickle" not in capsys.readouterr().err


def test_export_cli_says_a_damaged_results_json_in_one_line(tmp_path):
    import subprocess
    import sys
    fold = tmp_path / "run" / "fold_02"
    _junk(fold / "results.json", b'{"fold": 2, "con')
    _junk(fold / "model.keras")
    proc = subprocess.run([sys.executable, "-m", "adarl_tf.export", f"--run_dir={fold}"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    (error,) = [l for l in proc.stderr.splitlines() if "results.json" in l]
    assert error.startswith(f"error: {fold / 'results.json'}: not a complete results.json "
                            "(not valid JSON: Unterminated string")
    assert error.endswith("; train the fold again (its `python -m adarl_tf.main` command "
                          "with --fold=2 --overwrite)")
    assert not (fold / "export").exists()


def _reads_anything(tmp_path):
    """Whether this user reads files whatever their mode (root, unless its capabilities
    are dropped, e.g. `setpriv --bounding-set=-dac_override,-dac_read_search`)."""
    probe = tmp_path / "probe"
    probe.write_text("x")
    probe.chmod(0)
    return os.geteuid() == 0 and os.access(probe, os.R_OK)


def test_unreadable_corpus_folder_or_manifest(root, clean, tmp_path):
    if _reads_anything(tmp_path):
        pytest.skip("this user reads files whatever their mode")
    manifest = _manifest(tmp_path / "m.csv", clean)
    session = root / "Session2"
    for path, overrides in ((root, dict(dataset="demo", data_dir=str(root))),
                            (session, dict(dataset="demo", data_dir=str(root))),
                            (manifest, dict(dataset="manifest", data_dir=str(manifest))),
                            (manifest, dict(dataset="demo", data_dir=str(root),
                                            extra_domain_data=str(manifest)))):
        mode = path.stat().st_mode
        path.chmod(0)
        try:
            message = _refused(tmp_path / "out", r"cannot be read \(Permission denied\); give "
                               r"this user read access", **overrides)
        finally:
            path.chmod(mode)
        assert message.split(" cannot be read")[0].endswith(str(path)), message


# Class 5: a failing report or summary leaves the run and an earlier report as they were.


def test_failing_report_or_summary_changes_nothing_in_the_run(tmp_path, capsys):
    from adarl_tf import fanout, report
    from tests.run_files import data_report, fake_fold
    run = tmp_path / "run"
    data_report(run, 4)
    for fold in range(4):
        fake_fold(run, fold, [0, 1, 2, 3], [0, 1, 2, 3])
    fanout.summarize(run)  # An earlier summary and report, both replaced on success.
    (run / "report").mkdir()
    (run / "report" / "report.md").write_text("# an earlier report\n")
    (run / "report" / "wa_ua.png").write_bytes(b"\x89PNG an earlier figure")
    (run / "fold_02" / "results.json").write_text('{"corpus": "fake corpus", "fold": 2, "w')
    before = _tree(tmp_path)
    for out in (run / "report", run / "new_report", tmp_path / "new" / "report"):
        with flagsaver.flagsaver(out=str(out)):
            code = report.main(["adarl_tf.report", str(run)])
        one_error(capsys, code, 2, f"error: {run / 'fold_02' / 'results.json'}: not a "
                  "complete results.json")
        assert _tree(tmp_path) == before, out
    with pytest.raises(app.UsageError, match=r"fold_02.results\.json: not a complete"):
        with flagsaver.flagsaver(summarize=True, out_dir=str(run)):
            main_lib.main(["adarl_tf.main"])
    assert _tree(tmp_path) == before


def test_readme_bad_input_table_is_this_suites():
    import pathlib

    def table(text):
        start = text.index("| input | what you get |")
        return (text[start:] + "\n\n").split("\n\n")[0].strip()

    readme = pathlib.Path(__file__).parents[1] / "README.md"
    assert table(readme.read_text()) == table(__doc__), \
        "README's bad-input table and this module's docstring differ: copy one to the other"
