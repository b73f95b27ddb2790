"""The data of a fold stated once, without TensorFlow: every element of every batch.

A `Plan` lists, element by element and in batch order, the utterance, the
window (start, read rate), the augmentation draws (gain, noise SNR and seed),
the labels and the speaker whose statistics ride along (speaker
normalisation). The renderers only read it: `render_tf.py` (tf.data) and
`render_numpy.py` (numpy, JAX without TensorFlow) give the same batches.

The cut (`Cut`, samples; an utterance of n samples, segment L, hop h):
  * scoring, and training without `train_hop_s`/`random_crop` (the paper,
    SPEC §2): windows L apart; the tail left after the last full window is
    one more window when at least `min_tail` long (always when n < L), read
    as tail and zeros (`tail="pad"`) or as the last L samples (`"overlap"`).
  * the robust recipe (h = `train_hop_s` or L): `1 + (n - L) // h` windows h
    apart, offset by a draw in [0, r] with `random_crop` (r: what they leave),
    plus one ending at the last sample when r >= `min_tail`; n < L: one
    window, the utterance at a random place inside it with `random_crop`.
Reads outside the utterance are zeros, the padding the model masks.

Per training element (`TrainConfig`): a rate from `speed_factors` (linear
interpolation), a gain uniform in +-`gain_db`, white noise at an SNR uniform
in [`noise_snr_db`, 40] dB of the window's RMS, on the real samples only.
With `mixup_alpha`, each element is also mixed with a `partner` in its batch
(a local index, a permutation of the batch) at weight `mix` = max(b, 1 - b),
b ~ Beta(alpha, alpha): the renderers mix the rendered windows and speaker
statistics (`mix_batch`), and the targets carry the partner's labels and the
weight (the model's loss mixes the two). Without it `mix` is 1, the element
itself its partner.
Every draw of utterance i in epoch e is seeded by (`epoch_seed(seed, e,
DRAWS)`, i), the orders by `epoch_seed(seed, e, ORDER | SHUFFLE | SAMPLER)`:
epoch e is the same whether training started at 0 or resumed at e.
Order: utterances shuffled, then all their windows (a complete shuffle); with
`class_balance="sampler"` each element's class is drawn uniformly among those
present and filled from that class's windows, cycled in shuffled passes.
With `speaker_group` n (`--speaker_bn_group`), each batch is then laid out as
runs of n consecutive elements of one speaker: each speaker's shuffled windows
are cut into runs of n (its last run filled from its first windows), the runs
shuffled, and as many taken (cycled when short) as fill the epoch's usual
number of full batches. With `speaker_runs="stratified"` each speaker's windows
are first ordered so that every run holds its emotions in the speaker's own
proportions: a run's statistics then match those of all the speaker's windows,
which score it (`--speaker_bn`), instead of leaning towards the emotions a random
run happens to hold.
"""

import dataclasses

import numpy as np

from adarl_tf.corpora.corpus import EMOTIONS, GENDERS

ORDER, SHUFFLE, DRAWS, SAMPLER, MIX, RUNS = range(6)  # `epoch_seed` streams.
MAX_SNR_DB = 40.0  # Noise SNRs are drawn in [noise_snr_db, this].
_CROP, _SPEED, _GAIN, _SNR, _NOISE = range(5)  # Sub-streams of an utterance's draws.
FIELDS = ("utterance", "start", "factor", "gain", "snr_db", "draw_seed", "window",
          "emotion", "domain", "speaker", "partner", "mix")


@dataclasses.dataclass(frozen=True)
class Cut:
    """How utterances are cut, in samples (`Cut.of` converts seconds, once)."""

    segment: int  # Samples per window (L).
    min_tail: int  # Shortest kept tail.
    tail: str = "pad"  # "pad" | "overlap": what the paper cut's kept tail holds.
    hop: int = 0  # The robust recipe's hop (0: the paper's cut).
    random_crop: bool = False  # Windows placed by a draw per utterance and epoch.

    @classmethod
    def of(cls, frontend, min_tail_s, tail="pad", train=None):
        """The scoring cut, or `train`'s training cut (`train_hop_s`, `random_crop`)."""
        rate, L = frontend.sample_rate_hz, frontend.segment_samples
        hop = 0
        if train is not None and (train.train_hop_s or train.random_crop):
            hop = max(int(round(train.train_hop_s * rate)), 1) if train.train_hop_s else L
        return cls(L, round(min_tail_s * rate), tail, hop,
                   bool(train is not None and train.random_crop))


def starts(n, cut, u=0.0):
    """(k,) int64 window starts in an utterance of `n` samples; `u` in [0, 1) places them."""
    n, L = int(n), cut.segment
    if n < L:
        return np.array([-int(np.floor(np.float32(u) * np.float32(L - n + 1)))
                         if cut.random_crop else 0], "int64")
    h = cut.hop or L
    regular = 1 + (n - L) // h
    rest = n - ((regular - 1) * h + L)
    offset = int(np.floor(np.float32(u) * np.float32(rest + 1))) if cut.random_crop else 0
    out = offset + np.arange(regular, dtype="int64") * h
    if rest > 0 and rest >= cut.min_tail:
        out = np.append(out, n - L if cut.hop or cut.tail == "overlap" else regular * L)
    return out


def counts(utterances, cut):
    """Windows per utterance (from its 16 kHz length), as an int64 array."""
    return np.array([len(starts(u.samples_16k, cut)) for u in utterances], "int64")


def steps(utterances, cut, batch_size):
    """Batches per epoch (the last one may be short)."""
    return -(-int(counts(utterances, cut).sum()) // batch_size)


def labels_of(utterances, corpus=None):
    """(emotion index or -1, domain index) int32 arrays, in the corpus's class and domain
    order (the paper's four classes and gender without one)."""
    emotions, domain, values = ((EMOTIONS, "gender", GENDERS) if corpus is None else
                                (tuple(corpus.emotions), corpus.domain,
                                 tuple(corpus.domain_values)))
    emotion = np.array([emotions.index(u.label) if u.label is not None else -1
                        for u in utterances], "int32")
    return emotion, np.array([u.domain_index(domain, values) for u in utterances], "int32")


def epoch_seed(seed, epoch, stream):
    """A seed that depends on (run seed, epoch, stream) only, so that resuming replays."""
    return int(np.random.SeedSequence([seed, epoch, stream]).generate_state(1)[0])


def class_weights(utterances, cut, n_classes, corpus=None):
    """Per-class loss weights n / (k n_c) over the training windows (scikit-learn's
    "balanced"); a class absent from the fold gets 0. float32 (n_classes,)."""
    from sklearn.utils.class_weight import compute_class_weight
    per_window = np.repeat(labels_of(utterances, corpus)[0], counts(utterances, cut))
    per_window = per_window[per_window >= 0]
    present = np.unique(per_window)
    weights = np.zeros(n_classes, "float32")
    weights[present] = compute_class_weight("balanced", classes=present, y=per_window)
    return weights


def _rng(draw_seed, index, *key):
    return np.random.default_rng(np.random.SeedSequence([int(draw_seed), int(index)],
                                                        spawn_key=key))


def noise(draw_seed, index, window, n):
    """The white noise of one element: (n,) float32, from its seeds alone."""
    return _rng(draw_seed, index, _NOISE, window).standard_normal(n, "float32")


@dataclasses.dataclass
class Plan:
    """Every element of every batch, in order: one (m,) array per `FIELDS` name.

    `batches` holds (begin, end) element ranges (`batch_size` long but an
    epoch's last); `speakers` the speaker of each `speaker` index, the key of
    its statistics; `mixup` whether the batches are mixed (`mix_batch`).
    """

    cut: Cut
    batch_size: int
    batches: list
    speakers: tuple
    columns: dict
    mixup: bool = False

    def __getattr__(self, name):
        if name in FIELDS:
            return self.columns[name]
        raise AttributeError(name)

    def stats(self, table):
        """(n_speakers, ...) statistics in `speaker` order, or None without a table."""
        return None if table is None else np.stack([table[s] for s in self.speakers]
                                                   ).astype("float32")


def _draws(n, index, draw_seed, cut, train):
    """One utterance's (starts, factors, gains, snr_db) for one epoch (NaN: no noise)."""
    u = _rng(draw_seed, index, _CROP).random() if cut.random_crop else 0.0
    at = starts(n, cut, u)
    k = len(at)
    factors, gains = np.ones(k, "float32"), np.ones(k, "float32")
    snr_db = np.full(k, np.nan, "float32")
    if train is not None and train.speed_factors:
        choice = _rng(draw_seed, index, _SPEED).integers(0, len(train.speed_factors), k)
        factors = np.asarray(train.speed_factors, "float32")[choice]
    if train is not None and train.gain_db:
        gain_db = _rng(draw_seed, index, _GAIN).uniform(-train.gain_db, train.gain_db, k)
        gains = (10.0 ** (gain_db / 20.0)).astype("float32")
    if train is not None and train.noise_snr_db is not None:
        high = max(MAX_SNR_DB, train.noise_snr_db)
        snr_db = _rng(draw_seed, index, _SNR).uniform(train.noise_snr_db, high, k
                                                      ).astype("float32")
    return at, factors, gains, snr_db


def _order(k, emotion, train, epoch):
    """(utterance, window) pairs of one epoch in training order: (m, 2) int64."""
    def pairs_of(utts):
        return np.array([(i, j) for i in utts for j in range(k[i])], "int64").reshape(-1, 2)

    s0, s1 = epoch_seed(train.seed, epoch, ORDER), epoch_seed(train.seed, epoch, SHUFFLE)
    if train.class_balance != "sampler":
        pairs = pairs_of(np.random.default_rng(s0).permutation(len(k)))
        return pairs[np.random.default_rng(s1).permutation(len(pairs))]
    classes = sorted({int(c) for c in emotion if c >= 0})
    if not classes:
        raise ValueError("class_balance=sampler: no emotion-labelled training utterance")
    m = int(np.sum(k))
    choice = np.random.default_rng(epoch_seed(train.seed, epoch, SAMPLER)).integers(
        0, len(classes), m)
    out = np.zeros((m, 2), "int64")
    for g, c in enumerate(classes):
        where, pool = np.flatnonzero(choice == g), pairs_of(np.flatnonzero(emotion == c))
        rng = np.random.default_rng(np.random.SeedSequence(s1, spawn_key=(g,)))
        cycled = [pool[rng.permutation(len(pool))] for _ in range(-(-len(where) // len(pool)))]
        out[where] = np.concatenate(cycled or [pool[:0]])[:len(where)]
    return out


def _speaker_runs(pairs, speaker, n, batch_size, seed, emotion=None):
    """`pairs` (shuffled (utterance, window) pairs) laid out as runs of `n` pairs of one
    speaker (`speaker[utterance]`), ceil(m / batch_size) full batches of them.

    With `emotion` (per utterance), each speaker's pairs are first put in stratified
    order: a pair's key is (its rank among the speaker's pairs of its emotion + an
    offset drawn per emotion) / that emotion's count, so that any n consecutive pairs
    hold each emotion in about the speaker's proportions (systematic sampling).
    """
    rng = np.random.default_rng(seed)
    runs, owner = [], speaker[pairs[:, 0]]
    for s in np.unique(owner):
        own = pairs[owner == s]
        if emotion is not None:
            label = emotion[own[:, 0]]
            key = np.zeros(len(own))
            for c in np.unique(label):
                at = np.flatnonzero(label == c)
                key[at] = (np.arange(len(at)) + rng.random()) / len(at)
            own = own[np.argsort(key, kind="stable")]
        runs.append(np.resize(own, (-(-len(own) // n) * n, 2)).reshape(-1, n, 2))
    runs = np.concatenate(runs)
    runs = runs[rng.permutation(len(runs))]
    batches = -(-len(pairs) // batch_size)
    return np.resize(runs, (batches * (batch_size // n), n, 2)).reshape(-1, 2)


def _mixup(sizes, alpha, seed):
    """(partner, mix) of one epoch's elements: a permutation of each batch (local
    indices) and weights max(b, 1 - b), b ~ Beta(alpha, alpha); alpha 0: (self, 1)."""
    partner = np.concatenate([np.arange(n, dtype="int64") for n in sizes] or
                             [np.zeros(0, "int64")])
    mix = np.ones(len(partner), "float32")
    if alpha > 0:
        rng = np.random.default_rng(seed)
        partner = np.concatenate([rng.permutation(n) for n in sizes]).astype("int64")
        b = rng.beta(alpha, alpha, len(partner))
        mix = np.maximum(b, 1.0 - b).astype("float32")
    return partner, mix


def mix_batch(x, targets, take):
    """A batch mixed as its plan says: `targets` holds `partner` and `mix` (dropped)
    beside the labels; returns (x, targets) with the mixed inputs (waveform and
    speaker statistics) and `emotion_mix`, `domain_mix` (the partners' labels) and
    `mix`. `take(a, indices, axis=0)` is `np.take` or `tf.gather`."""
    targets = dict(targets)
    partner, mix = targets.pop("partner"), targets.pop("mix")

    def mixed(a):
        w = mix[(slice(None),) + (None,) * (len(a.shape) - 1)]  # Broadcast over a's rows.
        return w * a + (1 - w) * take(a, partner, axis=0)

    x = ({k: mixed(v) for k, v in x.items()} if isinstance(x, dict) else mixed(x))
    targets.update(emotion_mix=take(targets["emotion"], partner, axis=0),
                   domain_mix=take(targets["domain"], partner, axis=0), mix=mix)
    return x, targets


def _plan(utterances, cut, batch_size, epochs, corpus, train=None, speaker_group=0):
    """A `Plan` of `epochs` (each a list of (utterance, window) pairs, or None: scoring)."""
    if train is None:  # Scoring needs no targets (and may hold labels of another set).
        emotion = domain = np.zeros(len(utterances), "int32")
    else:
        emotion, domain = labels_of(utterances, corpus)
    alpha = 0.0 if train is None else float(train.mixup_alpha)
    speakers = tuple(sorted({u.speaker for u in utterances}))
    speaker = np.array([speakers.index(u.speaker) for u in utterances], "int64")
    parts, batches, begin = [], [], 0
    for epoch in epochs:
        seed = 0 if epoch is None else epoch_seed(train.seed, epoch, DRAWS)
        draws = [_draws(u.samples_16k, i, seed, cut, train) for i, u in enumerate(utterances)]
        k = np.array([len(d[0]) for d in draws], "int64")
        pairs = (np.array([(i, j) for i in range(len(k)) for j in range(k[i])], "int64")
                 if epoch is None else _order(k, emotion, train, epoch)).reshape(-1, 2)
        if epoch is not None and speaker_group:
            pairs = _speaker_runs(pairs, speaker, speaker_group, batch_size,
                                  epoch_seed(train.seed, epoch, RUNS),
                                  emotion if train.speaker_runs == "stratified" else None)
        i, j = pairs[:, 0], pairs[:, 1]
        at = (np.cumsum(k) - k)[i] + j  # Each element's place in the utterances' draws.
        drawn = [np.concatenate([d[f] for d in draws])[at] for f in range(4)]
        epoch_batches = [(s, min(s + batch_size, begin + len(i)))
                         for s in range(begin, begin + len(i), batch_size)]
        partner, mix = _mixup([e - s for s, e in epoch_batches], alpha,
                              0 if epoch is None else epoch_seed(train.seed, epoch, MIX))
        parts.append(dict(utterance=i, start=drawn[0].astype("int64"),
                          factor=drawn[1].astype("float32"), gain=drawn[2].astype("float32"),
                          snr_db=drawn[3].astype("float32"),
                          draw_seed=np.full(len(i), seed, "int64"), window=j,
                          emotion=emotion[i], domain=domain[i], speaker=speaker[i],
                          partner=partner, mix=mix))
        batches += epoch_batches
        begin += len(i)
    columns = {f: np.concatenate([p[f] for p in parts]) for f in FIELDS}
    return Plan(cut, batch_size, batches, speakers, columns, mixup=alpha > 0)


def scoring_plan(utterances, cut, batch_size):
    """Every window of every utterance, in utterance order, unaugmented (the paper's cut)."""
    return _plan(utterances, cut, batch_size, [None], None)


def training_plan(utterances, cut, train, batch_size, first_epoch=0, corpus=None,
                  speaker_group=0):
    """Epochs `first_epoch` ... `train.epochs - 1`, each shuffled and drawn by its seeds;
    with `speaker_group` n, batches of runs of n windows of one speaker."""
    if not 0 <= first_epoch < train.epochs:
        raise ValueError(f"first_epoch={first_epoch} must be in 0..{train.epochs - 1}")
    if speaker_group and batch_size % speaker_group:
        raise ValueError(f"batch_size={batch_size} is not a multiple of speaker_group="
                         f"{speaker_group}")
    return _plan(utterances, cut, batch_size, range(first_epoch, train.epochs), corpus, train,
                 speaker_group)
