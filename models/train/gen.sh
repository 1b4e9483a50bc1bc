#!/usr/bin/env bash
# npm run models:train:gen — trains the shape-world text-to-image generator
# (gen.py, CUDA when PyTorch sees it, else one CPU thread) and exports it to
# models/imagegen/shapes-gen (gen_export.py). Two phases, 70 minutes in all:
#   1. from scratch, GEN_MINUTES (default 55) of wall-clock time;
#   2. GEN_TAIL_MINUTES (default 15) more from that checkpoint at a lower rate,
#      with the loss weighing the noisy end more (--t-mean 0.8 --t-floor 0.25),
#      where the background and the layout are decided.
# GEN_OUT (default models/train/out/gen) holds the checkpoints of both phases;
# GEN_BATCH (default 32) and GEN_SEED (default 1234) apply to both.
# Needs Debian's python3-torch, libopenblas0-pthread, python3-pil and python3-numpy;
# PYTHON picks the interpreter (default /usr/bin/python3, Debian's).
set -euo pipefail
cd "$(dirname "$0")/../.."
python="${PYTHON:-/usr/bin/python3}"
out="${GEN_OUT:-models/train/out/gen}"
common=(--out "$out" --batch "${GEN_BATCH:-32}" --seed "${GEN_SEED:-1234}")
# One BLAS thread (more is slower on this machine); glibc malloc tuned so
# backward passes do not spend their time in page faults (as train-all.sh).
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
export MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=68719476736 MALLOC_TOP_PAD_=536870912
"$python" models/train/gen.py "${common[@]}" --minutes "${GEN_MINUTES:-55}"
"$python" models/train/gen.py "${common[@]}" --resume --minutes "${GEN_TAIL_MINUTES:-15}" --lr 3e-4 --t-mean 0.8 --t-floor 0.25
"$python" models/train/gen_export.py --ckpt "$out/ckpt.pt"
