#!/usr/bin/env bash
# npm run models:train:clip — trains the CLIP-style encoders for image search
# (clip.py: 30 minutes by default, --minutes N; light, dark, coloured and
# textured backgrounds) and exports them to models/clip/shapes-clip (--out DIR
# to write elsewhere). CUDA when PyTorch sees it, else one CPU thread.
# Needs Debian's python3-torch, libopenblas0-pthread, python3-pil and
# python3-numpy; PYTHON picks the interpreter (default /usr/bin/python3).
set -euo pipefail
cd "$(dirname "$0")/../.."
# One BLAS thread (more is slower on this machine); glibc malloc tuned so
# backward passes do not spend their time in page faults (as train-all.sh).
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
export MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=68719476736 MALLOC_TOP_PAD_=536870912
exec "${PYTHON:-/usr/bin/python3}" models/train/clip.py "$@"
