#!/usr/bin/env bash
# Set up cl_dense's environment in <clone>/.venv (idempotent).
#
#   bash tools/setup_env.sh
#
# Installs the pinned OpenMMLab 2.x stack on torch 2.14.1. mmcv 2.1.0 has no wheel for this torch,
# so it is built once from its sdist (with compiled ops; ~12 min on 2 cores) and the wheel is cached
# outside the clone under $CL_DENSE_CACHE (default ~/.cache/cl_dense), keyed by the mmcv, torch and
# Python versions and the ops flavour (cpu / cuda). Later set-ups install the cached wheel.
#
# Environment: PYTHON (interpreter for the venv, default python3.11), VENV (default <clone>/.venv),
# CL_DENSE_CACHE (wheel cache), MAX_JOBS (compile jobs for mmcv, default: number of cores).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3.11}"
VENV="${VENV:-$ROOT/.venv}"
# absolute, because the mmcv build runs from another directory
case "$VENV" in /*) ;; *) VENV="$PWD/$VENV" ;; esac
CACHE="${CL_DENSE_CACHE:-$HOME/.cache/cl_dense}"
TORCH_VERSION=2.14.1
TORCHVISION_VERSION=0.29.1
MMCV_VERSION=2.1.0
STEP="start"

fail() {
  echo "" >&2
  echo "[setup_env] FAILED at step: $STEP" >&2
  echo "[setup_env] $1" >&2
  exit 1
}
trap 'fail "see the output above; fix the cause and rerun: bash tools/setup_env.sh (finished steps are skipped)"' ERR
say() { echo "[setup_env] $*"; }

STEP="find python ($PYTHON)"
command -v "$PYTHON" >/dev/null || fail "no '$PYTHON' on PATH: install Python 3.11 or set PYTHON=/path/to/python3.11"
"$PYTHON" -c 'import sys; assert sys.version_info[:2] == (3, 11), sys.version' \
  || fail "'$PYTHON' is not Python 3.11: set PYTHON=/path/to/python3.11"

STEP="create venv $VENV"
if [ ! -x "$VENV/bin/python" ]; then
  say "creating $VENV"
  "$PYTHON" -m venv "$VENV" || fail "python -m venv failed: install the venv module (e.g. apt-get install python3.11-venv)"
fi
PY="$VENV/bin/python"
PIP=("$PY" -m pip --disable-pip-version-check)

STEP="install build tools (setuptools<80, wheel)"
# setuptools<80 is needed at build AND run time: mmcv's setup.py and mmengine's `mmseg::` config
# bases both use pkg_resources.
"${PIP[@]}" install -q "setuptools<80" wheel

STEP="install torch==$TORCH_VERSION torchvision==$TORCHVISION_VERSION"
if ! "$PY" -c "import torch, torchvision, sys; sys.exit(torch.__version__.split('+')[0] != '$TORCH_VERSION' or torchvision.__version__.split('+')[0] != '$TORCHVISION_VERSION')" 2>/dev/null; then
  say "installing torch $TORCH_VERSION and torchvision $TORCHVISION_VERSION"
  "${PIP[@]}" install -q "torch==$TORCH_VERSION" "torchvision==$TORCHVISION_VERSION" "setuptools<80" \
    || fail "pip could not install torch==$TORCH_VERSION torchvision==$TORCHVISION_VERSION (check network access to PyPI)"
fi

# torch pulls in the newest setuptools; put the pkg_resources-bearing one back.
"${PIP[@]}" install -q "setuptools<80"

STEP="mmcv $MMCV_VERSION with compiled ops"
FLAVOUR=cpu
if command -v nvcc >/dev/null && "$PY" -c 'import torch, sys; sys.exit(not torch.cuda.is_available())' 2>/dev/null; then
  FLAVOUR=cuda
fi
PYTAG=$("$PY" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')
WHEEL_DIR="$CACHE/wheels/mmcv-$MMCV_VERSION-torch$TORCH_VERSION-$PYTAG-$FLAVOUR"
MMCV_WHEEL=""
if "$PY" -c "import mmcv, mmcv.ops, sys; sys.exit(mmcv.__version__ != '$MMCV_VERSION')" 2>/dev/null; then
  say "mmcv $MMCV_VERSION with ops already installed"
else
  if ! ls "$WHEEL_DIR"/mmcv-*.whl >/dev/null 2>&1; then
    say "building mmcv $MMCV_VERSION ($FLAVOUR ops) from its sdist; this takes ~12 min on 2 cores, once per machine"
    [ "$FLAVOUR" = cuda ] && say "nvcc and a GPU found: building the CUDA ops too"
    BUILD="$(mktemp -d)"
    "${PIP[@]}" download -q --no-deps --no-binary :all: --no-build-isolation "mmcv==$MMCV_VERSION" -d "$BUILD" \
      || fail "could not download the mmcv $MMCV_VERSION sdist from PyPI"
    tar -xzf "$BUILD"/mmcv-"$MMCV_VERSION".tar.gz -C "$BUILD"
    SRC="$BUILD/mmcv-$MMCV_VERSION"
    # torch >= 2.10 headers need C++20; mmcv hard-codes older standards after CFLAGS.
    sed -i -e 's/-std=c++14/-std=c++20/g' -e 's/-std=c++17/-std=c++20/g' "$SRC/setup.py"
    export MMCV_WITH_OPS=1 MAX_JOBS="${MAX_JOBS:-$(nproc)}"
    if [ "$FLAVOUR" = cuda ]; then export FORCE_CUDA=1; else export FORCE_CUDA=0; fi
    mkdir -p "$WHEEL_DIR"
    (cd "$SRC" && "$PY" -m pip --disable-pip-version-check wheel -q --no-build-isolation --no-deps . -w "$WHEEL_DIR.tmp") \
      || fail "mmcv compilation failed: the compiler output is above (a C++ compiler and the Python headers are needed: apt-get install g++ python3-dev)"
    mv "$WHEEL_DIR.tmp"/mmcv-*.whl "$WHEEL_DIR"/ && rm -rf "$WHEEL_DIR.tmp" "$BUILD"
  fi
  MMCV_WHEEL=$(ls "$WHEEL_DIR"/mmcv-*.whl | head -n 1)
  say "installing the cached mmcv wheel $MMCV_WHEEL"
fi

STEP="install the OpenMMLab stack and cl_dense (editable, with test extras)"
# one resolution for the mmcv wheel (when not installed yet) and everything else
"${PIP[@]}" install -q $MMCV_WHEEL -e "$ROOT[tests]" \
  || fail "pip could not install cl_dense and its pinned dependencies (see setup.py)"

STEP="check imports"
"$PY" - <<'PY' || fail "an installed package does not import; see the traceback above"
import torch, mmcv, mmcv.ops, mmengine, mmseg, mmseg.models, mmdet, mmdet.models, mmpretrain, cl_dense
print(f"[setup_env] ok: torch {torch.__version__}, mmcv {mmcv.__version__} (ops), mmengine {mmengine.__version__}, "
      f"mmseg {mmseg.__version__}, mmdet {mmdet.__version__}, mmpretrain {mmpretrain.__version__}, cl_dense {cl_dense.__version__}")
PY
