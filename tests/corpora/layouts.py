"""Synthetic corpora in EmoDB's, CREMA-D's and a manifest's layout (for tests)."""

import csv

from adarl_tf.corpora import emodb
from tests.audio_files import write_speech_like

# A few seconds of audio per file would be realistic; 1.1 s keeps tests fast.
SECONDS = 1.1


def make_emodb(root, speakers=("03", "08", "09", "10"), letters="WLEAFTN", per_letter=2,
               subfolder=True, rate=16000):
    """`<root>/wav/SSTTTEV.wav` for each speaker x emotion letter x `per_letter` texts."""
    wav_dir = root / "wav" if subfolder else root
    for si, s in enumerate(speakers):
        for li, letter in enumerate(letters):
            for k in range(per_letter):
                f0 = (120 if emodb.SPEAKER_GENDERS[s] == "M" else 210) * (1 + 0.08 * li)
                write_speech_like(wav_dir / f"{s}a0{k + 1}{letter}a.wav", SECONDS, rate,
                                  seed=si * 100 + li * 10 + k, freq=f0)
    return root


def make_cremad(root, actors=((1001, "Male", 51), (1002, "Female", 21), (1003, "Female", 33),
                              (1004, "Male", 42)),
                emotions=("ANG", "DIS", "FEA", "HAP", "NEU", "SAD")):
    wav_dir = root / "AudioWAV"
    with open(root.joinpath("VideoDemographics.csv") if root.exists() else
              _mkdir(root) / "VideoDemographics.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["ActorID", "Age", "Sex", "Race", "Ethnicity"])
        for actor, sex, age in actors:
            w.writerow([actor, age, sex, "Caucasian", "Not Hispanic"])
    for ai, (actor, sex, _) in enumerate(actors):
        for ei, emo in enumerate(emotions):
            for sentence, level in (("DFA", "XX"), ("IEO", "HI")):
                write_speech_like(wav_dir / f"{actor}_{sentence}_{emo}_{level}.wav", SECONDS,
                                  seed=ai * 50 + ei, freq=130 if sex == "Male" else 220)
    return root


def _mkdir(p):
    p.mkdir(parents=True, exist_ok=True)
    return p


def make_manifest(path, rows, sep=","):
    """Writes `rows` (dicts; `audio` = (relative or absolute path, seconds, rate,
    channels)) and their audio files; returns the manifest path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = [c for c in rows[0] if c != "audio"]
    with open(path, "w", newline="") as f:
        w = csv.writer(f, delimiter=sep)
        w.writerow(["path"] + columns)
        for i, row in enumerate(rows):
            rel, seconds, rate, channels = row["audio"]
            target = rel if rel.is_absolute() else path.parent / rel
            if not target.exists():
                write_speech_like(target, seconds, rate, channels, seed=i,
                                  freq=130 + 10 * (i % 7))
            w.writerow([str(rel)] + [row[c] for c in columns])
    return path
