#!/usr/bin/env bash
# One leave-one-speaker-out fold per SLURM array task, then the summary.
#
#   sbatch examples/slurm_array.sh                       # 10 folds on 10 GPUs
#   sbatch --dependency=afterok:<jobid> --wrap \
#       "python -m adarl_tf.main --summarize --out_dir=runs/iemocap_adarl"
#
# Every task writes only runs/iemocap_adarl/fold_NN/, so tasks never collide;
# a task that is requeued resumes from its last finished epoch. Folds trained
# on other machines can be copied into the same folder before --summarize,
# which lists any fold still missing.
#SBATCH --job-name=adarl
#SBATCH --array=0-9
#SBATCH --gres=gpu:1
#SBATCH --cpus-per-task=8
#SBATCH --mem=32G
#SBATCH --time=01:00:00
#SBATCH --output=slurm-%A_%a.out
set -euo pipefail
OUT=${OUT:-runs/iemocap_adarl}
python -m adarl_tf.main --flagfile=configs/adarl.cfg --dataset=iemocap \
    --data_dir="${IEMOCAP:?set IEMOCAP to IEMOCAP_full_release}" \
    --fold="${SLURM_ARRAY_TASK_ID}" --out_dir="$OUT" --precision=mixed_bfloat16
