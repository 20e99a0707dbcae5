#!/usr/bin/env bash
# Distributed training: tools/dist_train.sh CONFIG NUM_PROCS [train.py args...]
# On a machine without CUDA the processes train with gloo on the CPU (cl_dense.engine.dist).
set -euo pipefail
TOOLS="$(cd "$(dirname "$0")" && pwd)"
exec "$TOOLS/torchrun.sh" "$2" "$TOOLS/train.py" "$1" --launcher pytorch "${@:3}"
