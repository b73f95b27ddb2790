r"""Each speaker's voice pitch beside its gender label: an audit of the domain labels.

  python benchmarks/speaker_pitch.py --dataset=ased --data_dir=../shared/data/ased_dev \
      --emotions=all

ADARL's domain head learns gender from the corpus's labels, and its test-speaker
gender accuracy is a target. Whether a corpus's gender labels can be learnt from
the voice is a property of the data, not of the model: this prints, per speaker,
the label beside the fundamental frequency (F0) of its calm utterances (the
classes in --calm: raised arousal raises F0). Adult men speak at about
85-180 Hz, women at about 165-255 Hz.

F0 per 50 ms frame (20 ms hop) by YIN (de Cheveigne & Kawahara 2002: cumulative
mean normalised difference, first dip under 0.15, 60-400 Hz), on the louder
half of each utterance's frames; an utterance's F0 is the median of its voiced
frames. One JSON line per speaker (label, utterances, F0 10th/50th/90th
percentile over utterances, share of utterances under --split_hz), then the
share of each label's speakers on the side of --split_hz their label predicts.
No network, no fold: seconds on a CPU. Measured figures: RESULTS.md.
"""

import dataclasses
import json
from collections import defaultdict

import numpy as np
from absl import app, flags

from adarl_tf import audio
from adarl_tf.config import DataConfig
from adarl_tf.corpora.load import load_corpus

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


def audit(corpus, calm, split_hz):
    """Per speaker: {speaker, gender, utterances, f0_hz (10/50/90th pct), share_below}."""
    f0s, genders = defaultdict(list), {}
    for u in corpus.utterances:
        if u.label not in calm:
            continue
        genders[u.speaker] = u.gender
        f0 = utterance_f0(audio.load_audio(u.path))
        if f0 is not None:
            f0s[u.speaker].append(f0)
    rows = []
    for speaker, values in f0s.items():
        values = np.array(values)
        rows.append({"speaker": speaker, "gender": genders[speaker], "utterances": len(values),
                     "f0_hz": [round(float(p), 1) for p in np.percentile(values, [10, 50, 90])],
                     "share_below": round(float(np.mean(values < split_hz)), 3)})
    return sorted(rows, key=lambda r: r["f0_hz"][1])


def define_flags():
    flags.DEFINE_string("dataset", "demo", "Corpus name, as adarl_tf.main's --dataset.")
    flags.DEFINE_string("data_dir", None, "Corpus folder, as adarl_tf.main's --data_dir.")
    flags.DEFINE_string("emotions", "default", "Class set, as adarl_tf.main's --emotions.")
    flags.DEFINE_list("calm", ["neutral", "sad"], "Classes whose utterances are measured.")
    flags.DEFINE_float("split_hz", 165.0, "F0 that separates the labels' expected ranges.")
    flags.DEFINE_string("cache_dir", None, "Demo corpus cache (default $ADARL_TF_CACHE).")


def main(argv):
    del argv
    corpus = load_corpus(dataclasses.replace(DataConfig(), dataset=FLAGS.dataset,
                                             data_dir=FLAGS.data_dir, emotions=FLAGS.emotions),
                         cache_dir=FLAGS.cache_dir)
    if not set(FLAGS.calm) & set(corpus.emotions):
        raise app.UsageError(f"--calm={','.join(FLAGS.calm)}: none of {corpus.name}'s classes "
                             f"{list(corpus.emotions)}")
    rows = audit(corpus, set(FLAGS.calm), FLAGS.split_hz)
    for row in rows:
        print(json.dumps(row))
    # A speaker is on its label's side when its median utterance is.
    for gender, side in (("M", "under"), ("F", "over")):
        mine = [r for r in rows if r["gender"] == gender]
        agree = sum((r["f0_hz"][1] < FLAGS.split_hz) == (gender == "M") for r in mine)
        print(f"{corpus.name}: {agree} of {len(mine)} speakers labelled {gender} have a median "
              f"F0 {side} {FLAGS.split_hz:g} Hz in {','.join(FLAGS.calm)} utterances")


if __name__ == "__main__":
    define_flags()
    app.run(main)
