#!/usr/bin/env bash
# npm run models:train:skills — the chart skill (issue 26) on top of the shipped
# pair in models/tiny, which is not changed:
#   1. skills.py prepare: charts drawn by the app's renderer (render-charts.ts →
#      lib/media/data.ts) from random tables, and an image pool of the old
#      skills, once, into models/train/out-skills/data (kept for the next run;
#      delete that folder to draw them again);
#   2. skills.py train --mode lora: rank-8 LoRA on the frozen pair, 23 minutes
#      by default (--budget-seconds N), then export-lora.ts writes
#      models/tiny/mini-llava-shapes-chart.lora.gguf;
#   `-- --full` trains every parameter instead, on the same data for the same
#   time, into models/train/out-skills/full (not shipped; npm run
#   models:eval:skills compares the two).
# CPU by default (one torch thread), CUDA when PyTorch sees it. Needs Debian's
# python3-torch, libopenblas0-pthread, python3-pil and python3-numpy; PYTHON
# picks the interpreter (default /usr/bin/python3).
set -euo pipefail
cd "$(dirname "$0")/../.."
python="${PYTHON:-/usr/bin/python3}"
# One BLAS thread per process (more is slower here); glibc malloc tuned so
# backward passes do not spend their time in page faults (as train-all.sh).
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
export MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=68719476736 MALLOC_TOP_PAD_=536870912
mode=lora
args=()
for a in "$@"; do
  if [ "$a" = --full ]; then mode=full; else args+=("$a"); fi
done
if [ ! -f models/train/out-skills/data/pool.npz ]; then
  "$python" models/train/skills.py prepare
fi
"$python" models/train/skills.py train --mode "$mode" "${args[@]}"
if [ "$mode" = lora ]; then
  node_modules/.bin/tsx models/train/export-lora.ts
fi
