#!/usr/bin/env bash
# Every fold of several presets x variants at once on one accelerator machine, under
# KERAS_BACKEND=jax with the numpy pipeline (no TensorFlow needed): one process per fold,
# JOBS at a time, sharing the GPU. What RESULTS.md's GPU tables come from.
#
#   benchmarks/device_matrix.sh OUT JOBS N_FOLDS "DATA FLAGS" RUNS_FILE
#
# RUNS_FILE: one run per line, "name preset [more main flags]", e.g.
#   compact_speaker_adarl configs/adarl_compact_speaker.cfg --variant=adarl
# Each run writes OUT/<name>/fold_NN/ (results.json, predictions.csv, log); afterwards
# `python benchmarks/accuracy.py --collect_only` reads them like any other run.
set -uo pipefail
out=$1 jobs=$2 n_folds=$3 data_flags=$4 runs_file=$5
repo=$(cd "$(dirname "$0")/.." && pwd)  # Preset paths are relative to the repository.
mkdir -p "$out"
export KERAS_BACKEND=jax XLA_PYTHON_CLIENT_PREALLOCATE=false PYTHONUNBUFFERED=1
# Each process gets a few host threads: the numpy pipeline and XLA's host side.
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
jobs_list=$(mktemp)
while read -r name preset extra; do
    [[ -z "$name" || "$name" == \#* ]] && continue
    [[ "$preset" == /* ]] || preset="$repo/$preset"
    mkdir -p "$out/$name"
    for ((f = 0; f < n_folds; f++)); do
        echo "python3 -m adarl_tf.main --flagfile=$preset $extra $data_flags --pipeline=numpy" \
             "--nomonitor_test --fold=$f --out_dir=$out/$name > $out/$name/fold_$f.log 2>&1" \
             >> "$jobs_list"
    done
done < "$runs_file"
echo "$(wc -l < "$jobs_list") fold jobs, $jobs at a time"
start=$(date +%s)
xargs -P "$jobs" -I{} sh -c '{}' < "$jobs_list"
echo "all done in $(( $(date +%s) - start )) s"
grep -l '"ua"' "$out"/*/fold_*/results.json | wc -l | xargs echo "folds with results:"
