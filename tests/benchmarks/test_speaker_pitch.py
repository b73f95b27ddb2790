"""benchmarks/speaker_pitch.py: F0 against known tones, and the audit of a corpus."""

import importlib.util
import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("speaker_pitch",
                                               ROOT / "benchmarks" / "speaker_pitch.py")
pitch = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(pitch)


def _voice(f0, seconds=1.0, harmonics=8):
    """A harmonic tone whose second harmonic is the loudest (YIN must not halve the period)."""
    t = np.arange(int(seconds * pitch.SAMPLE_RATE)) / pitch.SAMPLE_RATE
    amplitudes = [0.5, 1.0] + [1.0 / k for k in range(3, harmonics + 1)]
    return sum(a * np.sin(2 * np.pi * f0 * k * t) for k, a in enumerate(amplitudes, 1))


@pytest.mark.parametrize("f0", [90.0, 120.0, 210.0, 300.0])
def test_f0_of_a_harmonic_tone(f0):
    assert pitch.utterance_f0(_voice(f0)) == pytest.approx(f0, rel=0.02)


def test_no_f0_without_a_period():
    noise = np.random.default_rng(0).normal(size=pitch.SAMPLE_RATE)
    assert pitch.frame_f0(noise[:pitch.FRAME]) is None
    assert pitch.utterance_f0(noise[:pitch.FRAME - 1]) is None  # Shorter than a frame.


def test_audit_puts_the_demo_speakers_on_their_labels_side(small_demo_corpus):
    # The demo corpus draws men's F0 from 95-140 Hz and women's from 180-240 Hz; its
    # emotions move F0 by a few semitones from the speaker's own.
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "speaker_pitch.py"), "--dataset=demo",
         f"--data_dir={small_demo_corpus}"],
        capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    rows = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    assert len(rows) == 10 and [r["gender"] for r in rows] == ["F"] * 5 + ["M"] * 5
    for row in rows:
        assert set(row["f0_hz"]) == {"neutral", "happy", "sad", "angry"}, row
        assert (row["f0_hz"]["neutral"] < 165) == (row["gender"] == "M"), row
    assert "5 of 5 with neutral utterances are under 165 Hz" in out.stdout
    assert "5 of 5 with neutral utterances are over 165 Hz" in out.stdout


def test_summary_counts_speakers_on_the_wrong_side():
    rows = [{"speaker": "a", "gender": "M", "f0_hz": {"neutral": 120.0, "sad": 260.0}},
            {"speaker": "b", "gender": "M", "f0_hz": {"neutral": 210.0}},
            {"speaker": "c", "gender": "M", "f0_hz": {"sad": 110.0}},
            {"speaker": "d", "gender": "F", "f0_hz": {"neutral": 230.0, "sad": 240.0}}]
    lines = pitch.summary(rows, ["neutral", "sad"], "neutral", 165.0)
    assert lines == [
        "1 speakers labelled F, median F0 per class (Hz): neutral 230-230, sad 240-240",
        "  1 of 1 with neutral utterances are over 165 Hz in them",
        "3 speakers labelled M, median F0 per class (Hz): neutral 120-210, sad 110-260",
        "  1 of 2 with neutral utterances are under 165 Hz in them"]


def test_reference_class_must_exist(small_demo_corpus):
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "speaker_pitch.py"), "--dataset=demo",
         f"--data_dir={small_demo_corpus}", "--reference=bored"],
        capture_output=True, text=True, timeout=300)
    assert out.returncode != 0 and "--reference=bored" in out.stderr
