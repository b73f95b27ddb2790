"""`--dataset` to a `Corpus`: the one place that knows every corpus by name.

Loading is three steps, each visible in `data_report.json`:
  1. each corpus's loader reads its layout with its full label set;
  2. `--emotions` picks and maps the classes (labels.resolve); utterances
     outside the set are counted in `excluded_labels`;
  3. several corpora are merged (speaker ids prefixed with the corpus),
     domain-only data is added, the domain (`--domain`) gets its values, and
     the protocol (`--protocol`) its folds.
"""

import dataclasses
import os
import pathlib

from adarl_tf import protocol
from adarl_tf.corpora import ased, cremad, demo, emodb, iemocap, labels, manifest, ravdess
from adarl_tf.corpora.corpus import EMOTIONS, GENDERS, Corpus

DATASETS = ("demo", "iemocap", "ravdess", "emodb", "cremad", "ased", "manifest")
# What --data_dir must point at, per dataset (for error messages).
_DATA_DIR_HINT = {
        "iemocap": "IEMOCAP_full_release, the folder that holds Session1 ... Session5",
        "ravdess": "the folder that holds Actor_01 ... Actor_24",
        "emodb": "the EmoDB folder (with wav/) or the folder of its .wav files",
        "cremad": "the CREMA-D folder that holds AudioWAV/ and VideoDemographics.csv",
        "ased": "the ASED folder that holds 01Neutral/ 02Fearful/ 03Happy/ 04Sad/ 05Angry/",
        "manifest": "the CSV or TSV manifest file",
}


def _split(text):
    return [t.strip() for t in str(text).split(",")] if text else []


def _load_one(name, data_dir, data, cache_dir, codes):
    """One corpus with its full labels (IEMOCAP: the codes asked for)."""
    if name == "demo":
        root = data_dir or demo.ensure_demo_corpus(cache_dir)
        return iemocap.load_iemocap(root, subset=data.iemocap_subset,
                                    merge_excited=data.merge_excited,
                                    name=demo.DEMO_CORPUS_NAME, codes=codes)
    if name in _DATA_DIR_HINT and not data_dir:
        raise ValueError(f"--dataset={name} needs --data_dir=<{_DATA_DIR_HINT[name]}>")
    if name == "iemocap":
        return iemocap.load_iemocap(data_dir, subset=data.iemocap_subset,
                                    merge_excited=data.merge_excited, name="IEMOCAP",
                                    codes=codes)
    if name == "ravdess":
        return ravdess.load_ravdess(data_dir, include_song=data.include_song)
    if name == "emodb":
        return emodb.load_emodb(data_dir)
    if name == "cremad":
        return cremad.load_cremad(data_dir)
    if name == "ased":
        return ased.load_ased(data_dir)
    if name == "manifest":
        return manifest.load_manifest(data_dir)
    raise ValueError(f"--dataset={name!r}; expected one of {', '.join(DATASETS)} "
                     "(or a comma list of them)")


def _static_labels(name):
    """Label names a built-in corpus can have, before reading it."""
    if name in ("demo", "iemocap"):
        return tuple(iemocap.CODE_NAMES.values())
    return {"ravdess": ravdess.LABELS, "emodb": emodb.LABELS,
            "cremad": cremad.LABELS, "ased": ased.LABELS}.get(name, ())


def load_corpus(data, cache_dir=None):
    """Loads the corpus (or corpora) a `DataConfig` names.

    "demo" generates the synthetic demo corpus on first use (into `cache_dir`,
    default `$ADARL_TF_CACHE` or `~/.cache/adarl_tf`) and reads it with the
    IEMOCAP loader, since it is written in IEMOCAP's layout. With `data_dir`
    set, "demo" reads a demo corpus already generated there.

    Returns:
        A `Corpus` with `emotions`, `domain`, `domain_values`, `folds` and
        `protocol` set.

    Raises:
        ValueError, FileNotFoundError: with the flag or file to fix.
    """
    names = _split(data.dataset) or ["demo"]
    dirs = _split(data.data_dir)
    if not dirs:
        dirs = [None] * len(names)
    if len(dirs) != len(names):
        raise ValueError(f"--dataset lists {len(names)} corpora ({', '.join(names)}) but "
                         f"--data_dir lists {len(dirs)} folders; give one folder per corpus, "
                         "in the same order")
    if len(set(names)) != len(names) and "manifest" not in names:
        raise ValueError(f"--dataset={data.dataset}: a corpus is listed twice")
    spec = (data.emotions or "default").strip()
    if data.merge_excited and spec != "default":
        raise ValueError("--merge_excited applies to --emotions=default only; write "
                         "happy=happy+excited in --emotions instead")

    # IEMOCAP excludes by code while reading (its report counts codes such as
    # 'fru'); with the default set it keeps its own four classes.
    iemocap_codes = None
    if spec != "default":
        iemocap_codes = dict(iemocap.CODE_NAMES)
    for d in dirs:
        _check_readable("--data_dir", d)
    _check_readable("--extra_domain_data", data.extra_domain_data)
    try:
        corpora = [_load_one(n, d, data, cache_dir, iemocap_codes)
                   for n, d in zip(names, dirs)]
    except PermissionError as e:  # A file or folder inside the corpus.
        raise ValueError(_unreadable(_blocked(e.filename), e.strerror)) from None
    _check_names(dirs, corpora)
    present = [u.label for c in corpora for u in c.utterances if u.label is not None]
    known = set(present) | {l for n in names for l in _static_labels(n)}
    default = EMOTIONS
    classes, mapping = labels.resolve(spec, known, default)
    if spec == "default" and data.merge_excited:
        mapping = dict(mapping, excited="happy")
    selected = []
    for c in corpora:
        kept, excluded = labels.apply(c.utterances, mapping)
        c.utterances = kept
        for label, n in excluded.items():
            c.excluded_labels[label] = c.excluded_labels.get(label, 0) + n
        selected.append(c)
    corpus = selected[0] if len(selected) == 1 else merge(selected)
    if not corpus.utterances:  # Else set_domain would blame the domain.
        raise ValueError(f"--emotions={spec}: no utterance of {corpus.name} has one of the "
                         f"classes {', '.join(classes)}; its labels: "
                         f"{', '.join(sorted(set(present))) or 'none'}")
    corpus.emotions = classes
    if data.extra_domain_data:
        add_domain_only(corpus, _load_extra(data.extra_domain_data))
    check_files(corpus.utterances)
    set_domain(corpus, data.domain)
    corpus.protocol = data.protocol
    corpus.folds = protocol.make_folds(corpus, data.protocol, data.n_folds, seed=0)
    return corpus


def _unreadable(path, reason="Permission denied"):
    return (f"{path} cannot be read ({reason}); give this user read access (e.g. "
            f"`chmod -R u+rX {path}`) or copy the corpus somewhere readable")


def _blocked(path):
    """The outermost folder on the way to `path` that this user may not enter, else `path`."""
    for folder in reversed(pathlib.Path(path).absolute().parents):
        if not os.access(folder, os.R_OK | os.X_OK):
            return folder
    return path


def _check_readable(flag, path):
    """Refuses a corpus folder or manifest that this user may not read.

    Checked before loading: a folder that cannot be listed looks empty to the
    loaders' globs, which would then report missing files instead.
    """
    if not path or not os.path.exists(path):
        return  # Missing paths get each loader's own message.
    if not os.access(path, os.R_OK | (os.X_OK if os.path.isdir(path) else 0)):
        raise ValueError(f"{flag}: " + _unreadable(path))


def _load_extra(path):
    if "," in str(path):
        raise ValueError("--extra_domain_data takes one manifest file; list every extra "
                         "utterance in it")
    extra = manifest.load_manifest(path, domain_only=True)
    extra.name = f"--extra_domain_data={path}"
    return extra


def _check_names(dirs, corpora):
    """Refuses two corpora under one name: their speaker ids would merge (two people as one)."""
    seen = {}
    for d, c in zip(dirs, corpora):
        other = seen.setdefault(c.name, d)
        if other is d:
            continue
        if os.path.realpath(str(other)) == os.path.realpath(str(d)):
            raise ValueError(f"--data_dir lists {d} twice, which would count every speaker "
                             "twice; give each corpus once")
        raise ValueError(f"--data_dir: {other} and {d} both load as the corpus {c.name!r}, "
                         "so their speaker ids would merge (two people as one speaker); "
                         "rename one manifest file, or give each a corpus column with its "
                         "own value")


def check_files(utterances):
    """Refuses an audio file that two utterances use (a duplicate line, a corpus given
    twice, --extra_domain_data holding the corpus's own audio): a test speaker's
    recording could then reach training."""
    owner = {}
    for u in utterances:
        other = owner.setdefault(os.path.realpath(u.path), u)
        if other is not u:
            raise ValueError(f"audio file {u.path} is used twice, by {other.name} (speaker "
                             f"{other.speaker}) and by {u.name} (speaker {u.speaker}); a "
                             "recording belongs to one utterance: remove the duplicate line, "
                             "the corpus given twice, or the corpus's own files from "
                             "--extra_domain_data")


def merge(corpora):
    """Several corpora in one: speaker ids prefixed `<corpus>/`, every utterance's
    `meta["corpus"]` set, speakers in corpus order."""
    utterances, speakers, skipped, excluded, other, genders = [], [], [], {}, [], {}
    disagreements = []
    for c in corpora:
        prefix = f"{c.name}/"
        for u in c.utterances:
            utterances.append(dataclasses.replace(
                    u, speaker=prefix + u.speaker, name=prefix + u.name,
                    meta={"corpus": c.name, **u.meta}))
        speakers += [prefix + s for s in c.speakers]
        genders.update({prefix + s: c.gender_of(s) for s in c.speakers})
        skipped += c.skipped
        excluded.update({f"{c.name}:{k}": v for k, v in c.excluded_labels.items()})
        other += c.unlabelled_wavs
        disagreements += c.gender_code_disagreements
    return Corpus(name=" + ".join(c.name for c in corpora), utterances=utterances,
                  speakers=speakers, skipped=skipped, excluded_labels=excluded,
                  unlabelled_wavs=other, speaker_genders=genders,
                  gender_code_disagreements=disagreements)


def add_domain_only(corpus, extra):
    """Adds `extra`'s utterances as domain-only training data (labels dropped).

    Refuses a speaker id of `extra` that is one of the corpus's (with or without
    its corpus prefix, in any case): a test speaker's voice would reach training.
    """
    ids = {_speaker_key(s): s for s in corpus.speakers}
    ids.update({_speaker_key(s.split("/", 1)[-1]): s for s in corpus.speakers})
    for s in dict.fromkeys(u.speaker for u in extra.utterances):
        if _speaker_key(s) in ids:
            raise ValueError(f"{extra.name}: speaker {s!r} is the corpus's speaker "
                             f"{ids[_speaker_key(s)]!r}, whose audio must not reach "
                             "training when they are tested; remove their rows, or give "
                             "them another id if they are another person")
    for u in extra.utterances:
        corpus.utterances.append(dataclasses.replace(
                u, label=None, speaker=f"extra/{u.speaker}", name=f"extra/{u.name}"))
    corpus.skipped += extra.skipped


def _speaker_key(speaker):
    return "".join(speaker.split()).casefold()


def set_domain(corpus, domain):
    """Sets `corpus.domain` and its values; utterances without a value are skipped.

    "gender" keeps the paper's two values (F, M) whatever the data holds, so
    the head matches the paper's. Any other column takes the sorted values
    found; fewer than two is an error (nothing to tell apart).
    """
    domain = (domain or "gender").strip()
    kept = []
    for u in corpus.utterances:
        value = u.domain_value(domain)
        if value is None or (domain == "gender" and value not in GENDERS):
            corpus.skipped.append({"path": u.path, "reason": (
                    f"no {domain} value ({value!r}) for utterance {u.name}; give it one in "
                    f"the data (manifest column '{domain}'), or choose another --domain")})
            continue
        kept.append(u)
    if not kept:
        raise ValueError(f"--domain={domain}: no utterance of {corpus.name} has a {domain} "
                         f"value; columns available: {', '.join(_columns(corpus))}")
    corpus.utterances = kept
    if domain == "gender":
        values = GENDERS
    else:
        values = tuple(sorted({u.domain_value(domain) for u in kept}))
        if len(values) < 2:
            raise ValueError(f"--domain={domain}: every utterance of {corpus.name} has "
                             f"{domain}={values[0]!r}; a domain needs at least two values "
                             f"(columns available: {', '.join(_columns(corpus))})")
    corpus.domain, corpus.domain_values = domain, values
    return corpus


def _columns(corpus):
    cols = {"gender"}
    for u in corpus.utterances:
        cols.update(u.meta)
    return sorted(cols)
