#!/usr/bin/env bash
# npm run models:train — retrains everything shipped under models/ from scratch:
# the demo LLaVA pair (train.py → export.ts → models/tiny/) and, on the other
# core at the same time, the CLIP-style encoders (clip.py → models/clip/).
# On a CPU: about 90 minutes on 2 cores (train.py's default budget is 80
# minutes); needs Debian's python3-torch, libopenblas0-pthread, python3-pil
# and python3-numpy. On a GPU: train.py uses CUDA when PyTorch sees it
# (the shipped pair: 7 minutes on one H200, see models/README.md).
# Arguments go to train.py, e.g. `npm run models:train -- --budget-seconds 600`;
# PYTHON picks the interpreter (default /usr/bin/python3, Debian's).
set -euo pipefail
cd "$(dirname "$0")/../.."
python="${PYTHON:-/usr/bin/python3}"
# One BLAS thread per process (more is slower here); glibc malloc tuned so
# backward passes do not spend their time in page faults.
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
export MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=68719476736 MALLOC_TOP_PAD_=536870912
# `-- --finetune` continues from the pair in models/tiny instead (the CLIP
# encoders are left as they are).
finetune=0
for a in "$@"; do [ "$a" = --finetune ] && finetune=1; done
if [ "$finetune" = 0 ]; then
  "$python" models/train/clip.py > models/train/clip.log 2>&1 &
  clip=$!
fi
"$python" models/train/train.py "$@"
node_modules/.bin/tsx models/train/export.ts
if [ "$finetune" = 0 ]; then
  wait "$clip" || { cat models/train/clip.log; exit 1; }
  tail -n 1 models/train/clip.log
fi
