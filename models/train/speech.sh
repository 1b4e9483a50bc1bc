#!/usr/bin/env bash
# npm run models:train:speech — trains the demo speech recogniser (speech.py)
# on speech espeak-ng synthesises, on one CPU thread, in two phases, and
# exports it to models/speech/shapes-asr (each phase exports):
#   1. from scratch, SPEECH_MINUTES (default 25) on 9 000 utterances (seed 1);
#   2. SPEECH_TAIL_MINUTES (default 20) more from that checkpoint, on 9 000
#      fresh utterances (seed 2) at a lower rate.
# Needs Debian's python3-torch, python3-numpy and espeak-ng; PYTHON picks the
# interpreter (default /usr/bin/python3, Debian's).
set -euo pipefail
cd "$(dirname "$0")/../.."
python="${PYTHON:-/usr/bin/python3}"
command -v espeak-ng >/dev/null || { echo "espeak-ng is needed: apt-get install espeak-ng" >&2; exit 1; }
# One BLAS thread (more is slower on this machine); glibc malloc tuned so
# backward passes do not spend their time in page faults (as train-all.sh).
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
export MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=68719476736 MALLOC_TOP_PAD_=536870912
"$python" models/train/speech.py --minutes "${SPEECH_MINUTES:-25}" --utterances 9000 --seed 1
"$python" models/train/speech.py --resume --minutes "${SPEECH_TAIL_MINUTES:-20}" --utterances 9000 --seed 2 --lr 6e-4
