"""A synthetic stand-in for IEMOCAP, written to disk in IEMOCAP's own layout.

IEMOCAP is licensed and not shipped, so `python -m adarl_tf.main` would have
nothing to run on. This module synthesises a small corpus of speech-like
signals (not real speech: voiced harmonics shaped by vowel formants,
fricative and burst noise, pauses) and writes it exactly as the release is
laid out, so that `adarl_tf.corpora.iemocap.load_iemocap` reads it unchanged::

    <root>/Session{1..5}/dialog/EmoEvaluation/<dialog>.txt
    <root>/Session{1..5}/sentences/wav/<dialog>/<utterance>.wav   16 kHz mono int16

What makes it a useful test of the method rather than of file handling:

- 10 speakers (`Ses01F` ... `Ses05M`) with their own fundamental frequency
  (female 180-240 Hz, male 95-140 Hz), vocal-tract length (female formants
  1.12-1.2x the male ones), speaking rate, breathiness, spectral tilt,
  loudness and expressiveness.
- 4 emotions expressed *relative to the speaker* (pitch in semitones above
  the speaker's own f0, tempo as a ratio of their own rate, ...), so that the
  same absolute pitch means "happy" for one speaker and "neutral" for
  another: knowing the speaker's domain (gender) helps, as in the paper.
- Per-utterance variation (emotion intensity, a shared arousal shift,
  independent jitter of every cue) overlaps the classes, so the task is
  learnable but not trivial.

Generation is deterministic: every random draw comes from a stream keyed by
(seed, session, gender, index), so the files are byte-identical for a seed
whatever order they are produced in.
"""

import dataclasses
import functools
import json
import math
import os
import pathlib
import shutil
import tempfile
import time
import wave

import numpy as np
from absl import logging

DEMO_CORPUS_NAME = "synthetic demo corpus"
# Bump whenever the generated audio or labels change: the cache folder name
# contains it, so a stale cached corpus is never mistaken for the new one.
DEMO_VERSION = 3
# Per speaker and class: 480 labelled utterances, enough steps in 3 epochs for
# the paper-size model to get well above chance on a held-out speaker.
DEFAULT_UTTERANCES_PER_EMOTION = 12

SAMPLE_RATE = 16000
_NOTE = "synthetic demo corpus: generated speech-like signals, not real recordings"
_MARKER = "COMPLETE"
_SESSIONS = (1, 2, 3, 4, 5)
_GENDERS = ("F", "M")
# Majority-label codes of the paper's four classes (IEMOCAP spelling).
_CLASS_CODES = ("neu", "hap", "sad", "ang")
# Labels outside the class set, so that a loader's exclusion path is exercised.
_OTHER_CODES = ("fru", "xxx", "exc")
# Dialog names per session. Session 3 uses the `05a/05b` suffixes of the real
# release on purpose: loaders that parse names by fixed character index
# mis-read them (SPEC section 7), and the demo corpus should catch that.
_DIALOGS = {
        s: (f"Ses{s:02d}F_impro01", f"Ses{s:02d}M_impro01",
            f"Ses{s:02d}F_impro02", f"Ses{s:02d}M_impro02")
        for s in _SESSIONS
}
_DIALOGS[3] = ("Ses03F_impro01", "Ses03M_impro01", "Ses03M_impro05a", "Ses03M_impro05b")
# Share of utterances longer than 3 s (the pipeline cuts 3 s segments; the
# real improvised set has 59 %).
_LONG_SHARE = 0.45
# Stream tags keep the random streams of planning, voices and synthesis apart.
_VOICE_STREAM, _PLAN_STREAM, _SYNTH_STREAM = 7001, 7002, 7003

# Male vowel formants F1-F3 in Hz (Peterson & Barney averages): the vowel of
# each syllable is drawn from this table and scaled by the speaker's tract.
_VOWELS = np.array([
        [730.0, 1090.0, 2440.0],  # a (father)
        [270.0, 2290.0, 3010.0],  # i (beet)
        [300.0, 870.0, 2240.0],  # u (boot)
        [530.0, 1840.0, 2480.0],  # e (bet)
        [570.0, 840.0, 2410.0],  # o (bought)
        [660.0, 1720.0, 2410.0],  # ae (bat)
        [490.0, 1350.0, 1690.0],  # er (bird)
        [440.0, 1020.0, 2240.0],  # U (book)
])
# Bandwidths of F1-F5 in Hz; F4 and F5 are fixed per speaker (scaled 3.5/4.5 kHz).
_BANDWIDTHS = np.array([70.0, 90.0, 140.0, 220.0, 300.0])
_HIGHEST_HARMONIC_HZ = 7000.0
_HOP = 80  # control rate for pitch, formants and harmonic amplitudes: 5 ms


@dataclasses.dataclass(frozen=True)
class _Voice:
    """One speaker's voice; everything emotional is relative to it."""

    speaker: str
    gender: str
    f0_hz: float  # habitual pitch
    formant_scale: float  # vocal-tract length: scales the male vowel table
    syllable_rate: float  # syllables per second when neutral
    breathiness: float  # aspiration noise relative to the voiced part
    tilt_db: float  # speaker's offset to the source spectral tilt, dB/octave
    level_db: float  # speaker's habitual loudness offset
    expressiveness: float  # scales how far emotions move away from neutral
    pitch_range: float  # scales accents and contour slopes


@dataclasses.dataclass(frozen=True)
class _Style:
    """Delivery parameters of one utterance, relative to the speaker's voice."""

    f0_st: float  # mean pitch, semitones above the speaker's f0
    accent_st: float  # size of pitch accents on stressed syllables
    slope_st: float  # spread of rises/falls within a syllable
    declination_st: float  # pitch drift over the utterance
    tempo: float  # ratio to the speaker's syllable rate
    level_db: float  # loudness re neutral
    tilt_db: float  # source + radiation tilt, dB/octave (steep = dark)
    formant_ratio: float  # F2-F3 shift (smiling shortens the tract)
    f1_ratio: float  # F1 shift (wider jaw opening raises F1)
    jitter: float  # relative f0 perturbation every 5 ms (roughness)
    shimmer: float  # relative amplitude perturbation every 5 ms
    breath: float  # multiplies the speaker's breathiness
    pause_prob: float  # chance of a pause between words
    pause_s: float  # mean pause length
    attack_s: float  # syllable onset time (short = abrupt, forceful)
    stress_db: float  # loudness contrast of stressed syllables


# Prototypes at full intensity. Each utterance interpolates between neutral
# and its class's prototype by a random intensity, then adds a shared arousal
# shift and independent jitter (see `_utterance_style`).
_PROTOTYPES = {
        "neu": _Style(f0_st=0.0, accent_st=2.0, slope_st=1.2, declination_st=-3.0,
                      tempo=1.0, level_db=0.0, tilt_db=-6.0, formant_ratio=1.0,
                      f1_ratio=1.0, jitter=0.006, shimmer=0.04, breath=1.0,
                      pause_prob=0.25, pause_s=0.15, attack_s=0.025, stress_db=3.0),
        # x1.3 pitch, wide rising/falling contours, brisk, bright.
        "hap": _Style(f0_st=12 * math.log2(1.3), accent_st=4.5, slope_st=3.5,
                      declination_st=-1.0, tempo=1.1, level_db=2.5, tilt_db=-4.5,
                      formant_ratio=1.05, f1_ratio=1.05, jitter=0.008, shimmer=0.05,
                      breath=0.8, pause_prob=0.2, pause_s=0.12, attack_s=0.018,
                      stress_db=5.0),
        # x0.85 pitch, flat and falling, slow, quiet, dark, breathy, long pauses.
        "sad": _Style(f0_st=12 * math.log2(0.85), accent_st=0.8, slope_st=0.5,
                      declination_st=-3.5, tempo=0.75, level_db=-5.0, tilt_db=-10.0,
                      formant_ratio=0.97, f1_ratio=0.95, jitter=0.005, shimmer=0.04,
                      breath=1.8, pause_prob=0.45, pause_s=0.3, attack_s=0.04,
                      stress_db=1.5),
        # x1.15 pitch, fast, loud, flat tilt (strong upper harmonics), rough.
        "ang": _Style(f0_st=12 * math.log2(1.15), accent_st=3.0, slope_st=2.0,
                      declination_st=-2.5, tempo=1.2, level_db=5.0, tilt_db=-3.0,
                      formant_ratio=1.03, f1_ratio=1.12, jitter=0.025, shimmer=0.1,
                      breath=0.6, pause_prob=0.15, pause_s=0.1, attack_s=0.008,
                      stress_db=5.5),
}
# Audio for the labels outside the class set: which prototype and intensity
# range (frustration sounds like mild anger, excitement like strong joy; no
# agreement `xxx` is a weak version of a random class).
_OTHER_SOUND = {"fru": ("ang", 0.2, 0.6), "exc": ("hap", 0.7, 1.2), "xxx": (None, 0.1, 0.5)}
# Fields combined in the log domain (ratios); the rest linearly.
_RATIO_FIELDS = ("tempo", "formant_ratio", "f1_ratio", "jitter", "shimmer", "breath",
                 "pause_s", "attack_s")
# How one unit of the per-utterance arousal shift moves a style: a fraction of
# the way from neutral towards angry, on the cues arousal drives in speech.
_AROUSAL_FIELDS = ("f0_st", "tempo", "level_db", "tilt_db", "jitter", "stress_db")

# What the EmoEvaluation files say about each label: the categorical
# annotators' wording and a typical valence/activation/dominance.
_CATEGORY_WORDS = {
        "neu": "Neutral state", "hap": "Happiness", "sad": "Sadness", "ang": "Anger",
        "fru": "Frustration", "exc": "Excited",
}
_VAD = {
        "neu": (2.5, 2.5, 2.5), "hap": (4.0, 3.0, 3.0), "sad": (2.0, 2.0, 2.5),
        "ang": (1.5, 4.0, 4.0), "fru": (2.0, 3.5, 3.5), "exc": (4.0, 4.0, 3.5),
        "xxx": (2.5, 3.0, 3.0),
}


@dataclasses.dataclass(frozen=True)
class _Planned:
    """One utterance as planned before any audio exists."""

    session: int
    gender: str
    index: int  # position in its speaker's list; keys its random stream
    code: str  # EmoEvaluation label
    n_samples: int
    dialog: str
    name: str = ""
    start_s: float = 0.0


def default_cache_dir():
    """Where generated data is cached: `$ADARL_TF_CACHE`, else `~/.cache/adarl_tf`.

    Returns:
        A `pathlib.Path` (not created here).
    """
    env = os.environ.get("ADARL_TF_CACHE")
    if env:
        return pathlib.Path(os.path.expanduser(env))
    return pathlib.Path.home() / ".cache" / "adarl_tf"


def _voices(seed):
    """The 10 speakers' voices, Ses01F, Ses01M, ..., Ses05M."""
    rng = np.random.default_rng([seed, _VOICE_STREAM])
    # Stratified pitches (a permuted grid plus a little jitter) so that every
    # speaker has a clearly different f0 within the gender's range.
    f0 = {
            "F": rng.permutation(np.linspace(186.0, 234.0, 5)) + rng.uniform(-5, 5, 5),
            "M": rng.permutation(np.linspace(99.0, 136.0, 5)) + rng.uniform(-3, 3, 5),
    }
    voices = []
    for s in _SESSIONS:
        for gender in _GENDERS:
            female = gender == "F"
            voices.append(_Voice(
                    speaker=f"Ses{s:02d}{gender}",
                    gender=gender,
                    f0_hz=float(f0[gender][s - 1]),
                    formant_scale=float(rng.uniform(1.12, 1.2) if female
                                        else rng.uniform(0.95, 1.05)),
                    syllable_rate=float(rng.uniform(3.6, 5.0)),
                    breathiness=float(rng.uniform(0.05, 0.12) if female
                                      else rng.uniform(0.03, 0.08)),
                    tilt_db=float(rng.uniform(-1.5, 1.5)),
                    level_db=float(rng.uniform(-1.5, 1.5)),
                    expressiveness=float(rng.uniform(0.75, 1.15)),
                    pitch_range=float(rng.uniform(0.8, 1.2)),
            ))
    return voices


def _plan_session(seed, session, utterances_per_emotion):
    """Labels, lengths, dialogs, names and turn times of one session.

    Drawn from the session's own stream, before and apart from synthesis, so
    the label files do not depend on how the audio is produced.
    """
    rng = np.random.default_rng([seed, session, _PLAN_STREAM])
    dialogs = _DIALOGS[session]
    by_dialog = {d: [] for d in dialogs}
    for gender in _GENDERS:
        codes = [c for c in _CLASS_CODES for _ in range(utterances_per_emotion)]
        # A small share of other labels (1 or 2 per speaker), as in IEMOCAP
        # where they are the majority, but they only matter for exclusions.
        codes += list(rng.choice(_OTHER_CODES, size=1 + int(rng.random() < 0.5)))
        codes = [codes[i] for i in rng.permutation(len(codes))]
        n = len(codes)
        # A fixed share of long utterances, so even tiny corpora have both kinds.
        long = np.zeros(n, dtype=bool)
        long[rng.permutation(n)[:round(_LONG_SHARE * n)]] = True
        durations = np.where(long, rng.uniform(3.05, 5.5, n), rng.uniform(1.0, 2.95, n))
        for i, code in enumerate(codes):
            # Round-robin over the dialogs: with 4+ utterances per speaker
            # every dialog holds both actors, as in the real corpus.
            dialog = dialogs[i % len(dialogs)]
            by_dialog[dialog].append(_Planned(
                    session=session, gender=gender, index=i, code=str(code),
                    n_samples=int(round(durations[i] * SAMPLE_RATE)), dialog=dialog))
    planned = []
    for dialog in dialogs:
        turns = [by_dialog[dialog][i] for i in rng.permutation(len(by_dialog[dialog]))]
        # Real names number each actor's turns separately: F000, F001, M000 ...
        counter = {g: 0 for g in _GENDERS}
        t = float(rng.uniform(1.5, 6.0))
        for turn in turns:
            t += float(rng.uniform(0.2, 2.5))
            name = f"{dialog}_{turn.gender}{counter[turn.gender]:03d}"
            counter[turn.gender] += 1
            planned.append(dataclasses.replace(turn, name=name, start_s=t))
            t += turn.n_samples / SAMPLE_RATE
    return planned


def _utterance_style(code, voice, rng):
    """Draws the delivery of one utterance: prototype, intensity, variation."""
    neutral = dataclasses.asdict(_PROTOTYPES["neu"])
    if code in _PROTOTYPES:
        target_code, low, high = code, 0.75, 1.2
    else:
        target_code, low, high = _OTHER_SOUND[code]
        if target_code is None:
            target_code = _CLASS_CODES[int(rng.integers(len(_CLASS_CODES)))]
    target = dataclasses.asdict(_PROTOTYPES[target_code])
    angry = dataclasses.asdict(_PROTOTYPES["ang"])
    # Intensity makes some utterances barely distinguishable from neutral;
    # the arousal shift moves any class (neutral included) towards or away
    # from angry; both blur the class boundaries the way real speech does.
    intensity = float(rng.uniform(low, high)) * voice.expressiveness
    arousal = float(rng.normal(0.0, 0.2))
    jitter_sd = {"f0_st": 0.8, "accent_st": 0.5, "slope_st": 0.4, "declination_st": 1.0,
                 "tempo": 0.08, "level_db": 1.5, "tilt_db": 1.2, "formant_ratio": 0.02,
                 "f1_ratio": 0.03, "jitter": 0.25, "shimmer": 0.25, "breath": 0.25,
                 "pause_prob": 0.05, "pause_s": 0.25, "attack_s": 0.25, "stress_db": 1.0}
    values = {}
    for field in dataclasses.fields(_Style):
        key = field.name
        to_unit = math.log if key in _RATIO_FIELDS else float
        value = to_unit(neutral[key]) + intensity * (to_unit(target[key]) - to_unit(neutral[key]))
        if key in _AROUSAL_FIELDS:
            value += arousal * (to_unit(angry[key]) - to_unit(neutral[key]))
        value += float(rng.normal(0.0, jitter_sd[key]))
        values[key] = math.exp(value) if key in _RATIO_FIELDS else value
    values["pause_prob"] = min(max(values["pause_prob"], 0.02), 0.8)
    return _Style(**values)


def _raised_cosine(n):
    """A rising half-cosine ramp of n samples from 0 to 1."""
    return 0.5 - 0.5 * np.cos(np.pi * (np.arange(n) + 0.5) / max(n, 1))


def _add_segment(env, start, stop, attack, release, gain):
    """Adds a gain-scaled segment with raised-cosine attack and release to env."""
    start, stop = max(start, 0), min(stop, len(env))
    n = stop - start
    if n <= 2:
        return
    attack, release = min(attack, n // 2), min(release, n // 2)
    shape = np.ones(n)
    shape[:attack] = _raised_cosine(attack)
    shape[n - release:] = _raised_cosine(release)[::-1]
    env[start:stop] += gain * shape


def _syllables(n_samples, voice, style, rng):
    """Lays out words and syllables over the utterance.

    Returns:
        A list of dicts with the vowel nucleus `start`/`stop` (samples), an
        optional `onset` consonant, `stress` (bool) and `vowel` (table row).
    """
    fs = SAMPLE_RATE
    rate = voice.syllable_rate * style.tempo
    t = int(rng.uniform(0.05, 0.3) * fs)  # leading silence, as in the real cuts
    end = n_samples - int(rng.uniform(0.05, 0.25) * fs)
    syllables = []
    done = False
    while not done:
        n_syl = int(rng.choice([1, 2, 3], p=[0.4, 0.4, 0.2]))
        stressed = int(rng.integers(n_syl))
        for j in range(n_syl):
            length = rng.lognormal(0.0, 0.25) / rate * (1.3 if j == stressed else 0.9)
            onset = None
            if rng.random() < 0.6:
                kind = "fricative" if rng.random() < 0.5 else "plosive"
                # Fricatives last longer than a stop's closure plus burst.
                low, high = (0.04, 0.09) if kind == "fricative" else (0.02, 0.04)
                onset = (kind, int(rng.uniform(low, high) * fs))
            onset_n = onset[1] if onset else 0
            vowel_n = max(int(length * fs) - onset_n, int(0.05 * fs))
            if t + onset_n + vowel_n > end:
                # The speaker stops mid-word rather than overrunning the cut.
                done = True
                break
            syllables.append({"onset": onset, "onset_start": t, "start": t + onset_n,
                              "stop": t + onset_n + vowel_n, "stress": j == stressed,
                              "vowel": int(rng.integers(len(_VOWELS)))})
            t += onset_n + vowel_n
        if rng.random() < style.pause_prob:
            t += int(rng.exponential(style.pause_s) * fs + 0.04 * fs)
        else:
            t += int(rng.uniform(0.0, 0.03) * fs)
    if not syllables:
        # Only when even one syllable is longer than the speech span.
        start = int(0.1 * fs)
        syllables.append({"onset": None, "onset_start": start, "start": start,
                          "stop": max(end, start + int(0.1 * fs)), "stress": True,
                          "vowel": int(rng.integers(len(_VOWELS)))})
    return syllables


def _pitch_track(syllables, n_frames, voice, style, rng):
    """f0 in Hz at the 5 ms control rate: declination, accents, slopes, jitter."""
    first, last = syllables[0]["start"], syllables[-1]["stop"]
    span = max(last - first, 1)
    knots_t, knots_st = [], []
    for k, syl in enumerate(syllables):
        decl = style.declination_st * (syl["start"] - first) / span
        accent = voice.pitch_range * style.accent_st * (
                (1.0 if syl["stress"] else 0.0) + 0.3 * rng.normal())
        slope = voice.pitch_range * style.slope_st * rng.normal()
        if k == len(syllables) - 1:
            # Phrase-final movement: questions/joy often rise, statements fall.
            slope += 3.0 if rng.random() < (0.4 if style.slope_st > 2.5 else 0.1) else -1.5
        centre = style.f0_st + decl + accent
        knots_t += [syl["start"] / _HOP, syl["stop"] / _HOP]
        knots_st += [centre - 0.5 * slope, centre + 0.5 * slope]
    frames = np.arange(n_frames, dtype=float)
    st = np.interp(frames, knots_t, knots_st)
    # Smooth the corners between syllables (25 ms moving average).
    st = np.convolve(np.pad(st, 2, mode="edge"), np.ones(5) / 5, mode="valid")
    # Jitter: fast random pitch perturbation; large values sound rough/harsh.
    st += 12 * np.log2(1.0 + style.jitter * rng.standard_normal(n_frames).clip(-3, 3))
    # The clip only guards against extreme draws; typical values are far inside.
    return np.clip(voice.f0_hz * 2.0 ** (st / 12.0), 55.0, 600.0)


def _formant_tracks(syllables, n_frames, voice, style):
    """F1-F5 in Hz at the control rate, interpolated between vowel centres."""
    table = _VOWELS[[s["vowel"] for s in syllables]] * voice.formant_scale
    table = table * np.array([style.f1_ratio, style.formant_ratio, style.formant_ratio])
    centres = np.array([(s["start"] + s["stop"]) / 2 / _HOP for s in syllables])
    frames = np.arange(n_frames, dtype=float)
    tracks = [np.interp(frames, centres, table[:, i]) for i in range(3)]
    tracks.append(np.full(n_frames, 3500.0 * voice.formant_scale * style.formant_ratio))
    tracks.append(np.full(n_frames, 4500.0 * voice.formant_scale * style.formant_ratio))
    return np.stack(tracks, axis=1)  # (n_frames, 5)


def _voiced(n_samples, f0, formants, voice, style, rng):
    """Sum of harmonics with formant-shaped, tilted amplitudes.

    Returns:
        (signal, phase): the unit-envelope voiced signal and the glottal phase
        (used to pulse the aspiration noise).
    """
    n_frames = len(f0)
    frame_pos = np.arange(n_samples) / _HOP
    f0_samples = np.interp(frame_pos, np.arange(n_frames), f0)
    phase = 2 * np.pi * np.cumsum(f0_samples) / SAMPLE_RATE
    n_harmonics = int(_HIGHEST_HARMONIC_HZ // f0.min())
    k = np.arange(1, n_harmonics + 1, dtype=float)
    freqs = f0[:, None] * k[None, :]  # (n_frames, n_harmonics)
    # Cascade of resonators: unit gain at DC, peak F/B at each formant, which
    # is how an all-pole vocal tract shapes the harmonic amplitudes.
    bandwidths = _BANDWIDTHS * (1.0 + 2.0 * voice.breathiness * style.breath)
    envelope = np.ones_like(freqs)
    for i in range(formants.shape[1]):
        fi = formants[:, i:i + 1]
        envelope *= fi ** 2 / np.sqrt((fi ** 2 - freqs ** 2) ** 2 + (freqs * bandwidths[i]) ** 2)
    # Source + radiation tilt per octave of harmonic number: steep = dark (sad),
    # flat = many strong upper harmonics (angry).
    tilt = k[None, :] ** ((style.tilt_db + voice.tilt_db) / (20 * math.log10(2)))
    # Fade harmonics out between 6 and 7 kHz so none pops in or out abruptly.
    fade = np.clip((_HIGHEST_HARMONIC_HZ - freqs) / 1000.0, 0.0, 1.0)
    amps = envelope * tilt * fade
    # Shimmer: fast random loudness perturbation, common to all harmonics.
    amps *= (1.0 + style.shimmer * rng.standard_normal(n_frames).clip(-3, 3))[:, None]
    amps = np.concatenate([amps, amps[-1:]], axis=0)  # a frame past the end

    # Harmonic synthesis: sin(k*phase) by the Chebyshev recurrence (no sin per
    # harmonic), in float32 with in-place updates since this loop is most of
    # the generation time. Amplitudes are linear between control frames:
    # sum_k s_k (A_k[f] (1 - w) + A_k[f+1] w) = (1 - w) P + w Q.
    n_full = n_frames * _HOP
    phase_full = np.zeros(n_full)
    phase_full[:n_samples] = phase
    shape = (n_frames, _HOP)
    two_cos = (2.0 * np.cos(phase_full)).astype(np.float32).reshape(shape)
    s_cur = np.sin(phase_full).astype(np.float32).reshape(shape)
    s_prev = np.zeros(shape, np.float32)
    tmp = np.empty(shape, np.float32)
    amps_now = np.ascontiguousarray(amps[:-1].T, dtype=np.float32)[:, :, None]
    amps_next = np.ascontiguousarray(amps[1:].T, dtype=np.float32)[:, :, None]
    p_sum = np.zeros(shape, np.float32)
    q_sum = np.zeros(shape, np.float32)
    for h in range(n_harmonics):
        np.multiply(s_cur, amps_now[h], out=tmp)
        p_sum += tmp
        np.multiply(s_cur, amps_next[h], out=tmp)
        q_sum += tmp
        np.multiply(two_cos, s_cur, out=tmp)
        tmp -= s_prev
        s_prev, s_cur, tmp = s_cur, tmp, s_prev
    weight = (np.arange(_HOP, dtype=np.float32) / _HOP)[None, :]
    out = p_sum * (1.0 - weight) + q_sum * weight
    return out.ravel()[:n_samples].astype(np.float64), phase


def _fft_size(n):
    """The smallest 2^a 3^b 5^c >= n: fast for numpy's FFT, unlike a large prime."""
    best = 1 << int(math.ceil(math.log2(max(n, 2))))
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            size = p35 << max(0, int(math.ceil(math.log2(n / p35))))
            best = min(best, size)
            p35 *= 3
        p5 *= 5
    return best


@functools.lru_cache(maxsize=64)
def _noise_gain(size, low, high, order):
    """Butterworth-like magnitude response on the rfft bins (cached: few sizes)."""
    freqs = np.fft.rfftfreq(size, 1.0 / SAMPLE_RATE)
    gain = np.ones_like(freqs)
    if low is not None:
        gain /= np.sqrt(1.0 + (low / np.maximum(freqs, 1e-3)) ** (2 * order))
    if high is not None:
        gain /= np.sqrt(1.0 + (freqs / high) ** (2 * order))
    return gain


def _shaped_noise(rng, n, low=None, high=None, order=4):
    """Gaussian noise with a Butterworth-like magnitude response, unit RMS.

    Shaped in the frequency domain with numpy alone (scipy is not a declared
    dependency): the spectrum of white Gaussian noise is itself complex
    Gaussian, so it is drawn directly and only the inverse FFT is computed.

    Args:
        rng: numpy Generator.
        n: number of samples.
        low: high-pass corner in Hz, or None.
        high: low-pass corner in Hz, or None.
        order: steepness, 6 * order dB per octave beyond each corner.
    """
    size = _fft_size(n)
    bins = size // 2 + 1
    spectrum = rng.standard_normal(bins) + 1j * rng.standard_normal(bins)
    noise = np.fft.irfft(spectrum * _noise_gain(size, low, high, order), size)[:n]
    return noise / (np.sqrt(np.mean(noise ** 2)) + 1e-12)


def _synthesize(plan, voice, seed):
    """Renders one planned utterance to float samples in [-1, 1]."""
    rng = np.random.default_rng(
            [seed, plan.session, _GENDERS.index(plan.gender), plan.index, _SYNTH_STREAM])
    n = plan.n_samples
    fs = SAMPLE_RATE
    style = _utterance_style(plan.code, voice, rng)
    syllables = _syllables(n, voice, style, rng)
    n_frames = -(-n // _HOP)
    f0 = _pitch_track(syllables, n_frames, voice, style, rng)
    formants = _formant_tracks(syllables, n_frames, voice, style)
    voiced, phase = _voiced(n, f0, formants, voice, style, rng)
    # Normalise the voiced part so levels below are relative to a unit-RMS vowel.
    voiced /= np.sqrt(np.mean(voiced ** 2)) + 1e-12

    voicing = np.zeros(n)  # envelope of the vowel nuclei
    frication = np.zeros(n)  # envelope of fricatives and bursts
    attack = max(int(style.attack_s * fs), 16)
    for syl in syllables:
        gain = 10 ** ((style.stress_db * (1.0 if syl["stress"] else 0.0)
                       + rng.normal(0.0, 1.5)) / 20)
        _add_segment(voicing, syl["start"], syl["stop"], attack, int(0.04 * fs), gain)
        if syl["onset"] is not None:
            kind, length = syl["onset"]
            if kind == "fricative":
                _add_segment(frication, syl["onset_start"], syl["start"] + int(0.01 * fs),
                             int(0.015 * fs), int(0.01 * fs), 0.35 * gain)
            else:
                # Closure (silence) then a short decaying burst before the
                # vowel; the onset (>= 20 ms) always has room for the 12 ms burst.
                burst = int(0.012 * fs)
                decay = np.exp(-np.arange(burst) / (0.004 * fs))
                frication[syl["start"] - burst:syl["start"]] += 0.8 * gain * decay
    # Fricative spectra sit high (s/sh: 2.5-7 kHz), bursts are broadband; one
    # band for both keeps it simple and still clearly unlike the vowels.
    hiss = _shaped_noise(rng, n, low=2500.0, high=7200.0)
    # Aspiration: breath noise during voicing, pulsed by the glottal cycle. It
    # passes the vocal tract too, so it is kept low-ish (mostly below 3 kHz);
    # a flat band would bury the upper harmonics in noise.
    aspiration = _shaped_noise(rng, n, low=300.0, high=3000.0, order=2)
    aspiration *= 1.0 + 0.6 * np.cos(phase)
    breath = voice.breathiness * style.breath
    speech = voicing * (voiced + breath * aspiration) + frication * hiss

    # Loudness: the speech parts at a target RMS set by emotion and speaker.
    active = voicing > 0.1
    rms = np.sqrt(np.mean(speech[active] ** 2)) if active.any() else 1.0
    target_db = -20.0 + style.level_db + voice.level_db + rng.normal(0.0, 1.0)
    speech *= 10 ** (target_db / 20) / (rms + 1e-12)
    # Room noise at a fixed absolute level (so loud speech has a higher SNR),
    # pinkish like a quiet studio.
    room = _shaped_noise(rng, n, high=300.0, order=1)
    room *= 10 ** (rng.uniform(-58.0, -50.0) / 20)
    out = speech + room
    # Like a recording engineer riding the gain: peaks are pulled towards 0.5
    # full scale (their spread in dB shrunk to 60 %), then kept within
    # [0.25, 0.9]; never clipped, never nearly silent. Louder deliveries stay
    # louder, only less so.
    peak = float(np.max(np.abs(out)))
    new_peak = min(max(0.5 * (peak / 0.5) ** 0.6, 0.25), 0.9)
    return out * (new_peak / peak)


def _write_wav(path, samples):
    data = np.clip(np.round(samples * 32767.0), -32767, 32767).astype("<i2")
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(SAMPLE_RATE)
        f.writeframes(data.tobytes())


def _annotation_block(plan, rng):
    """The EmoEvaluation lines of one utterance, ending with a blank line."""
    end_s = plan.start_s + plan.n_samples / SAMPLE_RATE
    vad = np.clip(np.array(_VAD[plan.code]) + rng.choice([-0.5, 0.0, 0.5], size=3), 1.0, 5.0)
    lines = [f"[{plan.start_s:.4f} - {end_s:.4f}]\t{plan.name}\t{plan.code}\t"
             f"[{vad[0]:.4f}, {vad[1]:.4f}, {vad[2]:.4f}]"]
    if plan.code == "xxx":
        # No agreement: the annotators each say something different.
        words = list(rng.choice(list(_CATEGORY_WORDS.values()), size=3, replace=False))
    else:
        words = [_CATEGORY_WORDS[plan.code]] * 3
        # One annotator often disagrees in the real files.
        if rng.random() < 0.4:
            words[int(rng.integers(3))] = str(rng.choice(list(_CATEGORY_WORDS.values())))
    for annotator, word in zip(("C-E1", "C-E2", "C-E3"), words):
        lines.append(f"{annotator}:\t{word};\t()")
    for annotator in ("A-E1", "A-E2"):
        v, a, d = np.clip(np.round(vad + rng.choice([-1, 0, 1], size=3)), 1, 5).astype(int)
        lines.append(f"{annotator}:\tval {v}; act {a}; dom  {d};\t()")
    return "\n".join(lines) + "\n\n"


def generate_demo_corpus(root, seed=0, utterances_per_emotion=DEFAULT_UTTERANCES_PER_EMOTION):
    """Writes the synthetic demo corpus under `root` in IEMOCAP's layout.

    Args:
        root: str or path. Target folder; must not exist or be empty.
        seed: int. Selects the voices, labels and audio; the same seed gives
            byte-identical files. Defaults to 0.
        utterances_per_emotion: int. Utterances per speaker and class
            (neutral, happy, sad, angry); each speaker also gets 1-2 with a
            label outside the classes (`fru`, `xxx`, `exc`). Defaults to 12.

    Returns:
        `root` as a `pathlib.Path`.

    Raises:
        ValueError: `root` is a non-empty folder or a file, or
            `utterances_per_emotion` < 1.
    """
    if utterances_per_emotion < 1:
        raise ValueError(f"utterances_per_emotion={utterances_per_emotion!r} must be >= 1")
    root = pathlib.Path(root)
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise ValueError(f"demo corpus root {root} exists and is not an empty folder")
    root.mkdir(parents=True, exist_ok=True)
    voices = {v.speaker: v for v in _voices(seed)}
    n_utterances = 0
    for session in _SESSIONS:
        planned = _plan_session(seed, session, utterances_per_emotion)
        session_dir = root / f"Session{session}"
        labels_dir = session_dir / "dialog" / "EmoEvaluation"
        labels_dir.mkdir(parents=True)
        for dialog in _DIALOGS[session]:
            turns = sorted((p for p in planned if p.dialog == dialog), key=lambda p: p.start_s)
            wav_dir = session_dir / "sentences" / "wav" / dialog
            wav_dir.mkdir(parents=True)
            rng = np.random.default_rng([seed, session, _DIALOGS[session].index(dialog)])
            text = "% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]\n\n"
            for plan in turns:
                text += _annotation_block(plan, rng)
                voice = voices[f"Ses{session:02d}{plan.gender}"]
                _write_wav(wav_dir / f"{plan.name}.wav", _synthesize(plan, voice, seed))
                n_utterances += 1
            (labels_dir / f"{dialog}.txt").write_text(text, encoding="utf-8")
    (root / "README.txt").write_text(
            f"{DEMO_CORPUS_NAME} (version {DEMO_VERSION}, seed {seed}, "
            f"{n_utterances} utterances)\n\n"
            "A synthetic demo corpus in IEMOCAP's layout, generated by adarl_tf\n"
            "(adarl_tf/corpora/demo.py). The audio is speech-like synthetic signals\n"
            "(harmonics shaped by vowel formants, noise consonants, pauses): not real\n"
            "speech and not IEMOCAP. It is laid out exactly like the IEMOCAP release\n"
            "(Session{1..5}/dialog/EmoEvaluation/*.txt,\n"
            "Session{1..5}/sentences/wav/<dialog>/<utterance>.wav, 16 kHz mono 16-bit)\n"
            "so that the IEMOCAP loader and the whole pipeline run without the licensed\n"
            "corpus. Results on it say nothing about emotion recognition on real speech.\n",
            encoding="utf-8")
    return root


def ensure_demo_corpus(cache_dir=None, seed=0):
    """Returns the cached demo corpus for `seed`, generating it on first use.

    Generation goes to a temporary sibling folder that is renamed into place
    only after a `COMPLETE` marker is written, so an interrupted run never
    leaves a half-written corpus under the final name. A final folder without
    the marker (e.g. copied or damaged by hand) is removed and regenerated.

    Args:
        cache_dir: str or path. Parent folder; defaults to `default_cache_dir()`.
        seed: int. Passed to `generate_demo_corpus`. Defaults to 0.

    Returns:
        `<cache_dir>/demo_corpus_v{DEMO_VERSION}_seed{seed}` as a `pathlib.Path`.
    """
    cache_dir = pathlib.Path(cache_dir) if cache_dir is not None else default_cache_dir()
    final = cache_dir / f"demo_corpus_v{DEMO_VERSION}_seed{seed}"
    if (final / _MARKER).is_file():
        return final
    cache_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    tmp = pathlib.Path(tempfile.mkdtemp(prefix=f".{final.name}.partial-", dir=cache_dir))
    try:
        # mkdtemp makes the folder private (0700); the corpus is not secret and
        # a shared cache should be readable like any other folder.
        os.chmod(tmp, 0o755)
        generate_demo_corpus(tmp, seed=seed)
        n_utterances = sum(1 for _ in tmp.glob("Session*/sentences/wav/*/*.wav"))
        (tmp / _MARKER).write_text(json.dumps(
                {"version": DEMO_VERSION, "seed": seed, "n_utterances": n_utterances,
                 "note": _NOTE}, indent=2) + "\n", encoding="utf-8")
        if final.exists() and not (final / _MARKER).is_file():
            # A copy without the marker (damaged, or written by hand) cannot be
            # trusted. One with the marker was finished meanwhile by another
            # process; the rename below then fails and theirs is used.
            shutil.rmtree(final)
        try:
            os.rename(tmp, final)
        except OSError:
            # Another process finished the same corpus first; use theirs.
            if not (final / _MARKER).is_file():
                raise
            shutil.rmtree(tmp, ignore_errors=True)
            return final
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    logging.info("Generated the %s (%d utterances, seed %d) in %s in %.1f s",
                 DEMO_CORPUS_NAME, n_utterances, seed, final, time.monotonic() - started)
    return final
