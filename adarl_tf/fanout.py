"""Folds as independent jobs: local subprocesses, and a summary of folds run anywhere.

Every leave-one-speaker-out fold writes only `<out_dir>/fold_NN/`, so folds
can train in parallel processes (`--parallel_folds`), as SLURM array tasks
(examples/slurm_array.sh), or on different machines whose `fold_NN/` folders
are copied into one run folder afterwards; `summarize` then reads every
`fold_NN/results.json` and writes `summary.json`/`summary.md`, naming the
folds that are missing. No TensorFlow import here.
"""

import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import time

from absl import logging

from adarl_tf import checkpoints

FOLD_DIR = re.compile(r"^fold_(\d+)$")
LOG_NAME = "train.log"


def visible_gpus(environ=None):
    """GPU ids a child process may be given: $CUDA_VISIBLE_DEVICES, else `nvidia-smi -L`.

    Returns [] on a machine without NVIDIA GPUs (the folds then share the CPU).
    """
    environ = os.environ if environ is None else environ
    if "CUDA_VISIBLE_DEVICES" in environ:
        return [g for g in environ["CUDA_VISIBLE_DEVICES"].split(",")
                if g.strip() not in ("", "-1")]
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return []
    return [str(i) for i, line in enumerate(out.stdout.splitlines()) if line.startswith("GPU")]


def run_folds(folds, out_dir, child_args, parallel, gpus=None, poll_s=1.0):
    """Trains each fold in its own `python -m adarl_tf.main` process, `parallel` at a time.

    Args:
        folds: list of int.
        out_dir: path. The run folder (each child writes its `fold_NN/`).
        child_args: list of str. Flags for every child (the parent's own,
            without --fold and --parallel_folds); `--fold=N` is appended.
        parallel: int. Processes at once.
        gpus: list of GPU ids, given round-robin as CUDA_VISIBLE_DEVICES
            (one GPU per child); None = `visible_gpus()`; [] = leave unset.

    Returns:
        {fold: exit status}. A child's output goes to `fold_NN/train.log`.
    """
    gpus = visible_gpus() if gpus is None else list(gpus)
    pending, running, status = list(folds), {}, {}
    slot = 0
    while pending or running:
        while pending and len(running) < max(int(parallel), 1):
            fold = pending.pop(0)
            fold_dir = checkpoints.fold_dir_of(out_dir, fold)
            fold_dir.mkdir(parents=True, exist_ok=True)
            env = dict(os.environ)
            if gpus:
                env["CUDA_VISIBLE_DEVICES"] = gpus[slot % len(gpus)]
            slot += 1
            log = open(fold_dir / LOG_NAME, "w", encoding="utf-8")
            cmd = [sys.executable, "-m", "adarl_tf.main", *child_args, f"--fold={fold}"]
            logging.info("Fold %d: started%s, log in %s", fold,
                         f" on GPU {env['CUDA_VISIBLE_DEVICES']}" if gpus else "",
                         fold_dir / LOG_NAME)
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
            running[fold] = (proc, log)
        for fold, (proc, log) in list(running.items()):
            if proc.poll() is not None:
                log.close()
                status[fold] = proc.returncode
                del running[fold]
                if proc.returncode:
                    logging.error("Fold %d failed (exit %d); see %s", fold, proc.returncode,
                                  checkpoints.fold_dir_of(out_dir, fold) / LOG_NAME)
                else:
                    logging.info("Fold %d finished", fold)
        if running:
            time.sleep(poll_s)
    return status


def expected_folds(out_dir):
    """Fold indices the run's corpus has (from `data_report.json`), or None if absent."""
    try:
        report = json.loads((pathlib.Path(out_dir) / "data_report.json").read_text())
        if "folds" in report:  # The protocol's folds (one or several test speakers each).
            folds = [f["fold"] for f in report["folds"]]
        else:  # Older reports: one fold per speaker.
            folds = [s["fold"] for s in report["speakers"]]
        return [f for f in folds if f is not None and f not in report["empty_folds"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def summarize(out_dir, folds=None):
    """`summary.json`/`summary.md` from every complete `fold_NN/` under `out_dir`.

    Args:
        out_dir: path. A run folder, possibly assembled from folds trained on
            different machines.
        folds: the folds the run should have; default: every fold of
            `data_report.json` (or just those found, without it).

    Returns:
        The summary dict (with `missing_folds`).

    Raises:
        ValueError: no complete fold, folds trained with different configs, or a
            damaged results.json or predictions.csv (`fold_files.RunFileError`).
    """
    from adarl_tf import protocol
    from adarl_tf.fold_result import FoldResult

    out_dir = pathlib.Path(out_dir)
    found = sorted(int(m.group(1)) for p in out_dir.glob("fold_*")
                   if (m := FOLD_DIR.match(p.name)) and (p / "results.json").is_file()
                   and (p / "predictions.csv").is_file())
    wanted = folds if folds is not None else (expected_folds(out_dir) or found)
    missing = sorted(set(wanted) - set(found))
    # Every fold is read before anything is written: a damaged file stops the
    # summary (fold_files.RunFileError names it) and leaves the old one as it was.
    results = [FoldResult.load(checkpoints.fold_dir_of(out_dir, fold))
               for fold in sorted(set(found) & set(wanted))]
    if not results:
        raise ValueError(f"{out_dir}: no fold_NN/ folder with results.json and "
                         "predictions.csv; train some folds first (or copy them here)")
    configs = {json.dumps(r.config, sort_keys=True) for r in results}
    if len(configs) > 1:
        by_config = {}
        for r in results:
            by_config.setdefault(json.dumps(r.config, sort_keys=True), []).append(r.fold)
        raise ValueError(f"{out_dir}: the folds were trained with different configs (folds "
                         f"{' vs '.join(str(v) for v in by_config.values())}); summarise "
                         "runs of one config only")
    summary = protocol.write_summary(results, out_dir, missing_folds=missing)
    if missing:
        logging.warning("%s: folds %s are missing from the summary", out_dir,
                        ", ".join(map(str, missing)))
    return summary
