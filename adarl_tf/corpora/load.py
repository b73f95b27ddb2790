"""`--dataset` to a `Corpus`: the one place that knows every corpus by name."""

from adarl_tf.corpora import demo, iemocap

DATASETS = ("demo", "iemocap")


def load_corpus(data, cache_dir=None):
    """Loads the corpus a `DataConfig` names.

    "demo" generates the synthetic demo corpus on first use (into `cache_dir`,
    default `$ADARL_TF_CACHE` or `~/.cache/adarl_tf`) and reads it with the
    IEMOCAP loader, since it is written in IEMOCAP's layout. With `data_dir`
    set, "demo" reads a demo corpus already generated there (another seed or
    size, from `demo.generate_demo_corpus`).
    """
    if data.dataset == "demo":
        root = data.data_dir or demo.ensure_demo_corpus(cache_dir)
        return iemocap.load_iemocap(root, subset=data.iemocap_subset,
                                    merge_excited=data.merge_excited,
                                    name=demo.DEMO_CORPUS_NAME)
    if data.dataset == "iemocap":
        if not data.data_dir:
            raise ValueError("--dataset=iemocap needs --data_dir=<path to "
                             "IEMOCAP_full_release, the folder that holds Session1 ... Session5>")
        return iemocap.load_iemocap(data.data_dir, subset=data.iemocap_subset,
                                    merge_excited=data.merge_excited, name="IEMOCAP")
    raise ValueError(f"--dataset={data.dataset!r}; expected one of {DATASETS}")
