#!/usr/bin/env bash
# npm run models:train:gen — trains the shape-world text-to-image generator
# (gen.py; wall-clock budget, default 70 minutes on one CPU thread, CUDA when
# PyTorch sees it) and exports it to models/imagegen/shapes-gen (gen_export.py).
# Arguments go to gen.py, e.g. `npm run models:train:gen -- --minutes 10 --seed 7`.
# Needs Debian's python3-torch, libopenblas0-pthread, python3-pil and python3-numpy;
# PYTHON picks the interpreter (default /usr/bin/python3, Debian's).
set -euo pipefail
cd "$(dirname "$0")/../.."
python="${PYTHON:-/usr/bin/python3}"
# One BLAS thread (more is slower on this machine); glibc malloc tuned so
# backward passes do not spend their time in page faults (as train-all.sh).
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
export MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=68719476736 MALLOC_TOP_PAD_=536870912
"$python" models/train/gen.py "$@"
"$python" models/train/gen_export.py
