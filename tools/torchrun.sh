#!/usr/bin/env bash
# torchrun wrapper shared by dist_train.sh and dist_test.sh: tools/torchrun.sh NUM_PROCS SCRIPT [args...]
# NNODES, NODE_RANK, MASTER_ADDR, PORT and PYTHON may be set in the environment.
set -euo pipefail
NPROCS=$1
SCRIPT=$2
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PYTHON=${PYTHON:-python}
PYTHONPATH="$ROOT:${PYTHONPATH:-}" OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} \
exec "$PYTHON" -m torch.distributed.run --nnodes="${NNODES:-1}" --node_rank="${NODE_RANK:-0}" \
  --master_addr="${MASTER_ADDR:-127.0.0.1}" --master_port="${PORT:-29500}" --nproc_per_node="$NPROCS" \
  "$SCRIPT" "${@:3}"
