"""Class sets: `--emotions` specs, resolved against a corpus's label names.

Every loader names its labels with the same words (`CANONICAL`), so that
"angry" means one class whether it came from IEMOCAP's `ang`, EmoDB's `W`,
RAVDESS's `05` or CREMA-D's `ANG`, and several corpora can share a class set.

Spec forms (`DataConfig.emotions`):
  "default": the paper's four classes, neutral, happy, sad, angry, on every
      corpus (IEMOCAP's set; `merge_excited` adds IEMOCAP's excited to happy);
  "all": every label the corpus has (the union, for several corpora), in
      `CANONICAL` order;
  a comma list, each item `class` or `class=label+label...`, e.g.
      `neutral,happy=happy+excited,sad,angry`.
A label outside the chosen set is counted in `excluded_labels` (never
silently dropped).
"""

import dataclasses
import difflib

from adarl_tf.corpora.corpus import EMOTIONS

# Every corpus's label names, in the order "all" lists them.
CANONICAL = ("neutral", "calm", "happy", "excited", "sad", "angry", "frustrated", "fearful",
             "disgust", "surprised", "boredom", "other")


def resolve(spec, names, default=EMOTIONS):
    """Resolves an `--emotions` spec against the label names a corpus has.

    Args:
        spec: str. See the module docstring.
        names: iterable of str. Label names present in the corpus (or corpora).
        default: tuple of str. The "default" class set.

    Returns:
        `(classes, mapping)`: the class names in index order, and
        {label name: class name} for every label that is kept.

    Raises:
        ValueError: an empty spec, a duplicate class, a label the corpus
            does not have (the message lists the names it has), or with "all"
            a label that looks like a misspelt other one ("hapy").
    """
    names = list(dict.fromkeys(names))
    spec = (spec or "default").strip()
    if spec == "default":
        return tuple(default), {e: e for e in default}
    if spec == "all":
        _check_spelling(names)
        classes = ordered(names)
        return classes, {n: n for n in classes}
    classes, mapping = [], {}
    for item in spec.split(","):
        item = item.strip()
        if not item:
            continue
        cls, _, sources = item.partition("=")
        cls = cls.strip()
        labels = [s.strip() for s in sources.split("+")] if sources else [cls]
        if cls in classes:
            raise ValueError(f"--emotions={spec!r}: class {cls!r} is listed twice")
        classes.append(cls)
        for label in labels:
            if label not in names:
                raise ValueError(f"--emotions={spec!r}: no label {label!r} in the data; its "
                                 f"labels are {', '.join(sorted(names))}")
            if label in mapping:
                raise ValueError(f"--emotions={spec!r}: label {label!r} is mapped twice")
            mapping[label] = cls
    if not classes:
        raise ValueError(f"--emotions={spec!r} names no class; use default, all, or a comma "
                         "list such as neutral,happy,sad,angry")
    return tuple(classes), mapping


def ordered(names):
    """Label names in `CANONICAL` order, any others after them alphabetically."""
    order = {n: i for i, n in enumerate(CANONICAL)}
    return tuple(sorted(set(names), key=lambda n: (order.get(n, len(order)), n)))


def _check_spelling(names):
    """Refuses a label that looks like a misspelt other one: with "all" it would be a class."""
    for name in names:
        if name in CANONICAL:
            continue
        others = [n for n in (*CANONICAL, *names) if n != name]
        close = difflib.get_close_matches(name, others, n=1, cutoff=0.8)
        if close:
            raise ValueError(f"--emotions=all: label {name!r} looks like a misspelt "
                             f"{close[0]!r}, and would become a class of its own; correct "
                             "the data, or list the classes in --emotions (e.g. "
                             f"--emotions={','.join(ordered(set(names) - {name}))})")


def apply(utterances, mapping):
    """Maps labels to classes; (kept utterances, {label: n excluded}).

    Domain-only utterances (label None) are kept as they are.
    """
    kept, excluded = [], {}
    for u in utterances:
        if u.label is None:
            kept.append(u)
        elif u.label in mapping:
            kept.append(u if mapping[u.label] == u.label
                        else dataclasses.replace(u, label=mapping[u.label]))
        else:
            excluded[u.label] = excluded.get(u.label, 0) + 1
    return kept, excluded
