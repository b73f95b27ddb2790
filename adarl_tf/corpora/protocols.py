"""Evaluation protocols: which speakers each fold tests (`--protocol`).

  loso: leave one speaker out, one fold per speaker in the corpus's speaker
      order (the paper's protocol on IEMOCAP: 10 folds).
  loso_session: leave one session out, for corpora whose utterances carry a
      `session` metadata column (IEMOCAP: 5 folds of 2 speakers).
  speaker_kfold: K speaker-disjoint folds of about equal size, for corpora
      with many speakers (CREMA-D's 91 actors).

Every fold is speaker-disjoint from its training data and every speaker with
emotion-labelled data is tested exactly once. Speakers of domain-only data
are never in a fold (they only train).
"""

import numpy as np

PROTOCOLS = ("loso", "loso_session", "speaker_kfold")


def make_folds(corpus, protocol="loso", n_folds=5, seed=0):
    """The test speakers of every fold.

    Args:
        corpus: Corpus. Its `speakers` (fold order) and utterances.
        protocol: str. One of `PROTOCOLS`.
        n_folds: int. Folds of `speaker_kfold`.
        seed: int. Tie-breaking order of `speaker_kfold` (the split is a
            function of the data and the seed only).

    Returns:
        A list of lists of speaker ids.

    Raises:
        ValueError: unknown protocol, no session column, or more folds than
            speakers.
    """
    speakers = list(corpus.speakers)
    if protocol == "loso":
        return [[s] for s in speakers]
    labelled = [u for u in corpus.utterances if u.label is not None]
    if protocol == "loso_session":
        session_of = {}
        for u in labelled:
            session = u.meta.get("session")
            if session in (None, ""):
                raise ValueError(
                        f"--protocol=loso_session needs a session for every utterance, but "
                        f"{u.path} ({corpus.name}) has none; use --protocol=loso or "
                        "speaker_kfold, or add a 'session' column to the manifest")
            session_of.setdefault(u.speaker, str(session))
        sessions = sorted(set(session_of.values()),
                          key=lambda v: (not v.isdigit(), int(v) if v.isdigit() else 0, v))
        return [[s for s in speakers if session_of.get(s) == v] for v in sessions]
    if protocol == "speaker_kfold":
        sizes = {s: 0 for s in speakers}
        for u in labelled:
            sizes[u.speaker] = sizes.get(u.speaker, 0) + 1
        present = [s for s in speakers if sizes[s]]
        if not 2 <= n_folds <= len(present):
            raise ValueError(f"--n_folds={n_folds}: speaker_kfold needs 2 to {len(present)} "
                             f"folds for the {len(present)} speakers with labelled data")
        # Largest speakers first, each into the fold with the fewest utterances
        # so far (as scikit-learn's GroupKFold), with a seeded order among
        # speakers of equal size so that the seed picks one balanced split.
        rank = np.random.default_rng(seed).permutation(len(present))
        order = sorted(range(len(present)), key=lambda i: (-sizes[present[i]], rank[i]))
        totals, members = [0] * n_folds, [[] for _ in range(n_folds)]
        for i in order:
            k = min(range(n_folds), key=lambda j: (totals[j], len(members[j]), j))
            totals[k] += sizes[present[i]]
            members[k].append(present[i])
        position = {s: i for i, s in enumerate(speakers)}
        return [sorted(m, key=position.get) for m in members]
    raise ValueError(f"--protocol={protocol!r}; expected one of {', '.join(PROTOCOLS)}")


def protocol_name(protocol):
    """Human-readable name for results.json and summaries."""
    return {"loso": "leave-one-speaker-out", "loso_session": "leave-one-session-out",
            "speaker_kfold": "speaker-disjoint k-fold"}.get(protocol, protocol)
