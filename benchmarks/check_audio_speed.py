r"""Seconds the corpus loaders spend checking audio (`corpus.check_audio`), per folder.

  python benchmarks/check_audio_speed.py ../shared/data/ravdess_dev ../shared/data/ased_dev

Every WAV and FLAC file below each folder is read once first, so that the
figure is the check's work with a warm page cache, not the disk's. Prints one
JSON line per folder: the file count, seconds, and the files the check skips.
"""

import json
import pathlib
import sys
import time

from adarl_tf.corpora.corpus import check_audio


def main(folders):
    for folder in folders:
        paths = sorted(p for p in pathlib.Path(folder).rglob("*")
                       if p.suffix.lower() in (".wav", ".flac"))
        for path in paths:
            path.read_bytes()
        start = time.perf_counter()
        skipped = sum(check_audio(path)[1] is not None for path in paths)
        print(json.dumps({"folder": str(folder), "files": len(paths),
                          "seconds": round(time.perf_counter() - start, 3), "skipped": skipped}))


if __name__ == "__main__":
    main(sys.argv[1:] or ["../shared/data/ravdess_dev", "../shared/data/ased_dev"])
