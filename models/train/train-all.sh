#!/usr/bin/env bash
# npm run models:train — retrains everything shipped under models/ from scratch:
# the demo LLaVA pair (train.py → export.ts → models/tiny/) and, on the other
# core at the same time, the CLIP-style encoders (clip.py → models/clip/).
# About 40 minutes on a 2-core CPU. Needs Debian's python3-torch,
# libopenblas0-pthread and python3-pil.
set -euo pipefail
cd "$(dirname "$0")/../.."
# One BLAS thread per process (more is slower here); glibc malloc tuned so
# backward passes do not spend their time in page faults.
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
export MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=68719476736 MALLOC_TOP_PAD_=536870912
/usr/bin/python3 models/train/clip.py > models/train/clip.log 2>&1 &
clip=$!
/usr/bin/python3 models/train/train.py
node_modules/.bin/tsx models/train/export.ts
wait "$clip" || { cat models/train/clip.log; exit 1; }
tail -n 1 models/train/clip.log
