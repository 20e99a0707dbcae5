#!/usr/bin/env bash
# Distributed testing: tools/dist_test.sh CONFIG CHECKPOINT NUM_PROCS [test.py args...]
set -euo pipefail
TOOLS="$(cd "$(dirname "$0")" && pwd)"
exec "$TOOLS/torchrun.sh" "$3" "$TOOLS/test.py" "$1" "$2" --launcher pytorch "${@:4}"
