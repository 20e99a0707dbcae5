#!/usr/bin/env bash
# Set up cl_dense's environment in <clone>/.venv (idempotent).
#
#   bash tools/setup_env.sh                      # default: mmcv-lite + torchvision-backed ops
#   CL_DENSE_MMCV=full bash tools/setup_env.sh   # mmcv 2.1.0 compiled from its sdist
#
# Installs the pinned OpenMMLab 2.x stack on torch 2.14.1. mmcv comes in one of two flavours:
#
# - lite (default): mmcv-lite 2.1.0 (a pure-Python wheel from PyPI, the same mmcv without its
#   compiled _ext) plus cl_dense's replacement of mmcv._ext on torch/torchvision kernels
#   (cl_dense/mmcv_ext), put in place for every interpreter of the venv by a .pth file. Nothing is
#   compiled; RoIAlign and NMS run on the CPU and on CUDA. Ops we do not provide raise an error
#   naming the compiled build.
# - full: mmcv 2.1.0 built once from its sdist with all its compiled ops (~15-20 min on 2 cores; the
#   CUDA ops too where nvcc and a GPU are present), the wheel cached outside the clone under
#   $CL_DENSE_CACHE (default ~/.cache/cl_dense), keyed by the mmcv, torch and Python versions and
#   the ops flavour (cpu / cuda). Later set-ups install the cached wheel.
#
# Switching flavours in an existing venv uninstalls the other one first.
#
# Environment: PYTHON (interpreter for the venv, default python3.11), VENV (default <clone>/.venv),
# CL_DENSE_MMCV (lite | full, default lite), CL_DENSE_CACHE (wheel cache of the full build),
# MAX_JOBS (compile jobs for mmcv, default: number of cores).
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
MMCV_FLAVOUR="${CL_DENSE_MMCV:-lite}"
STEP="start"

fail() {
  echo "" >&2
  echo "[setup_env] FAILED at step: $STEP" >&2
  echo "[setup_env] $1" >&2
  exit 1
}
trap 'fail "see the output above; fix the cause and rerun: bash tools/setup_env.sh (finished steps are skipped)"' ERR
say() { echo "[setup_env] $*"; }

case "$MMCV_FLAVOUR" in lite|full) ;; *) echo "[setup_env] CL_DENSE_MMCV must be 'lite' or 'full', got '$MMCV_FLAVOUR'" >&2; exit 1 ;; esac

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

STEP="mmcv $MMCV_VERSION ($MMCV_FLAVOUR)"
installed_flavour() {
  # which mmcv distribution the venv holds: lite, full or none
  "$PY" - <<'PYCODE'
from importlib.metadata import PackageNotFoundError, version
for name, flavour in (('mmcv-lite', 'lite'), ('mmcv', 'full')):
    try:
        if version(name) == '2.1.0':
            print(flavour)
            break
    except PackageNotFoundError:
        pass
else:
    print('none')
PYCODE
}
CURRENT=$(installed_flavour)
if [ "$CURRENT" != none ] && [ "$CURRENT" != "$MMCV_FLAVOUR" ]; then
  say "switching mmcv from $CURRENT to $MMCV_FLAVOUR"
  "${PIP[@]}" uninstall -q -y mmcv mmcv-lite
fi
MMCV_REQUIREMENT=""
if [ "$MMCV_FLAVOUR" = lite ]; then
  MMCV_REQUIREMENT="mmcv-lite==$MMCV_VERSION"
  say "mmcv-lite $MMCV_VERSION with torchvision-backed ops (nothing to compile; CL_DENSE_MMCV=full for mmcv's own compiled ops)"
else
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
  MMCV_REQUIREMENT="$MMCV_WHEEL"
fi

STEP="install the OpenMMLab stack and cl_dense (editable, with test extras)"
# one resolution for the mmcv wheel (when not installed yet) and everything else
"${PIP[@]}" install -q $MMCV_REQUIREMENT -e "$ROOT[tests]" \
  || fail "pip could not install cl_dense and its pinned dependencies (see setup.py)"

STEP="mmcv._ext hook"
# A .pth file runs at every interpreter start of the venv: mmcv._ext is found whatever imports mmcv
# first (see cl_dense/mmcv_ext/hook.py); beside a compiled mmcv it does nothing.
"$PY" "$ROOT/cl_dense/mmcv_ext/hook.py" --install >/dev/null

STEP="check imports"
"$PY" - <<'PY' || fail "an installed package does not import; see the traceback above"
import torch, mmcv, mmcv.ops, mmengine, mmseg, mmseg.models, mmdet, mmdet.models, mmpretrain
from mmcv import _ext
ops = "torchvision-backed ops" if getattr(_ext, "CL_DENSE_PROVIDED", False) else "compiled ops"
import cl_dense
print(f"[setup_env] ok: torch {torch.__version__}, mmcv {mmcv.__version__} ({ops}), mmengine {mmengine.__version__}, "
      f"mmseg {mmseg.__version__}, mmdet {mmdet.__version__}, mmpretrain {mmpretrain.__version__}, cl_dense {cl_dense.__version__}")
PY
