r"""Each speaker's voice pitch beside its gender label: an audit of the domain labels.

  python benchmarks/speaker_pitch.py --dataset=ased --data_dir=../shared/data/ased_dev \
      --emotions=all

ADARL's domain head learns gender from the corpus's labels, and its test-speaker
gender accuracy is a target. Whether a corpus's gender labels can be learnt from
the voice is a property of the data, not of the model: this prints, per speaker,
the label beside the fundamental frequency (F0) of its utterances of each class
(raised arousal raises F0, so --reference, neutral by default, is the class held
against --split_hz). Adult men speak at about 85-180 Hz, women at about
165-255 Hz.

F0 per 50 ms frame (20 ms hop) by YIN (de Cheveigne & Kawahara 2002: cumulative
mean normalised difference, first dip under 0.15, 60-400 Hz), on the louder
half of each utterance's frames; an utterance's F0 is the median of its voiced
frames. One JSON line per speaker (label, utterances, median F0 per class), then
per label the range of those medians per class and how many speakers' --reference
utterances lie on the side of --split_hz their label predicts.
No network, no fold: seconds on a CPU. Measured figures: RESULTS.md.
"""

import json
import pathlib
import sys
from collections import defaultdict

import numpy as np
from absl import app, flags

from adarl_tf import audio

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import harness  # noqa: E402  (same folder)

FLAGS = flags.FLAGS

SAMPLE_RATE = 16000
FRAME, HOP, WINDOW = 800, 320, 400  # Samples: 50 ms frames, 20 ms hop, 25 ms YIN window.
MIN_HZ, MAX_HZ = 60, 400
THRESHOLD = 0.15  # YIN's absolute threshold on the normalised difference.


def frame_f0(frame):
    """F0 in Hz of one (FRAME,) frame by YIN, or None where no lag dips under THRESHOLD."""
    max_lag = SAMPLE_RATE // MIN_HZ
    x = frame - frame.mean()
    lags = np.arange(max_lag + 1)
    # d(tau) = sum_j (x_j - x_{j+tau})^2 over one window.
    windows = np.lib.stride_tricks.sliding_window_view(x, WINDOW)[lags]
    diff = np.sum((windows[0] - windows) ** 2, axis=1)
    cmnd = diff[1:] * lags[1:] / np.maximum(np.cumsum(diff[1:]), 1e-12)
    first = SAMPLE_RATE // MAX_HZ - 1  # cmnd[i] is lag i + 1.
    below = np.flatnonzero(cmnd[first:] < THRESHOLD)
    if not below.size:
        return None
    i = first + below[0]
    while i + 1 < len(cmnd) and cmnd[i + 1] < cmnd[i]:  # Down to the dip's bottom.
        i += 1
    return SAMPLE_RATE / (i + 1)


def utterance_f0(waveform):
    """Median F0 in Hz over the voiced frames of the louder half, or None."""
    if len(waveform) < FRAME:
        return None
    frames = np.lib.stride_tricks.sliding_window_view(waveform, FRAME)[::HOP]
    energy = np.sum(frames.astype("float64") ** 2, axis=1)
    loud = frames[energy >= np.median(energy)]
    f0 = [f for f in map(frame_f0, loud.astype("float64")) if f is not None]
    return float(np.median(f0)) if f0 else None


def audit(corpus):
    """Per speaker: {speaker, gender, utterances, f0_hz: {class: median over utterances}}."""
    f0s, genders = defaultdict(list), {}
    for u in corpus.utterances:
        if u.label is None:
            continue
        genders[u.speaker] = u.gender
        f0 = utterance_f0(audio.load_audio(u.path))
        if f0 is not None:
            f0s[u.speaker, u.label].append(f0)
    return [{"speaker": speaker, "gender": gender,
             "utterances": sum(len(f0s[speaker, e]) for e in corpus.emotions),
             "f0_hz": {e: round(float(np.median(f0s[speaker, e])), 1)
                       for e in corpus.emotions if f0s[speaker, e]}}
            for speaker, gender in sorted(genders.items(), key=lambda kv: (kv[1], kv[0]))]


def summary(rows, emotions, reference, split_hz):
    """Lines: per label and class the range of speaker medians; who is on its label's side."""
    lines = []
    for gender in ("F", "M"):
        mine = [r for r in rows if r["gender"] == gender]
        ranges = []
        for e in emotions:
            values = [r["f0_hz"][e] for r in mine if e in r["f0_hz"]]
            if values:
                ranges.append(f"{e} {min(values):.0f}-{max(values):.0f}")
        lines.append(f"{len(mine)} speakers labelled {gender}, median F0 per class (Hz): "
                     + ", ".join(ranges))
        heard = [r for r in mine if reference in r["f0_hz"]]
        agree = sum((r["f0_hz"][reference] < split_hz) == (gender == "M") for r in heard)
        side = "under" if gender == "M" else "over"
        lines.append(f"  {agree} of {len(heard)} with {reference} utterances are {side} "
                     f"{split_hz:g} Hz in them")
    return lines


def define_flags():
    flags.DEFINE_string("dataset", "demo", "Corpus name, as adarl_tf.main's --dataset.")
    flags.DEFINE_string("data_dir", None, "Corpus folder, as adarl_tf.main's --data_dir.")
    flags.DEFINE_string("emotions", "default", "Class set, as adarl_tf.main's --emotions.")
    flags.DEFINE_string("reference", "neutral", "Class whose F0 is held against --split_hz.")
    flags.DEFINE_float("split_hz", 165.0, "F0 that separates the labels' expected ranges.")
    flags.DEFINE_string("cache_dir", None, "Demo corpus cache (default $ADARL_TF_CACHE).")


def main(argv):
    del argv
    corpus = harness.load_flag_corpus(FLAGS.dataset, FLAGS.data_dir, FLAGS.emotions,
                                      FLAGS.cache_dir)
    if FLAGS.reference not in corpus.emotions:
        raise app.UsageError(f"--reference={FLAGS.reference}: not one of {corpus.name}'s "
                             f"classes {list(corpus.emotions)}")
    rows = audit(corpus)
    for row in rows:
        print(json.dumps(row))
    print(f"{corpus.name}:")
    print("\n".join(summary(rows, corpus.emotions, FLAGS.reference, FLAGS.split_hz)))


if __name__ == "__main__":
    define_flags()
    app.run(main)
