#!/usr/bin/env bash
# Sets up everything rt-sfamnet needs: system libraries through apt-get (as root, or through
# sudo when it is allowed; skipped with SKIP_APT=1 or on a machine without apt) and a virtual
# environment at .venv/ with the package and its extras. Safe to run again: it skips what is
# already in place, and re-installs when pyproject.toml, setup.py or this script change.
#
# Environment:
#   PYTHON=python3.12      the interpreter for .venv (default: the first of python3.12,
#                          python3.11, python3 that is 3.11 or 3.12)
#   SKIP_APT=1             never call apt-get (no root; install the libraries yourself)
#   TORCH_INDEX_URL=URL    where pip takes torch from, e.g. the PyTorch CPU wheel index
#                          (https://download.pytorch.org/whl/cpu) on an ordinary machine, where
#                          PyPI's Linux build brings gigabytes of CUDA libraries
#   EXTRAS=realsense,gui,dev   the extras to install
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "[setup] $*"; }
warn() { echo "[setup] warning: $*" >&2; }

good_python() {  # 3.11 or 3.12 (mediapipe 0.10.21 has no wheel for 3.13; the code needs 3.11)
  "$1" -c 'import sys; sys.exit(0 if (3, 11) <= sys.version_info[:2] <= (3, 12) else 1)' 2>/dev/null
}
PY=${PYTHON:-}
if [ -z "$PY" ]; then
  for cand in python3.12 python3.11 python3; do
    if command -v "$cand" >/dev/null && good_python "$cand"; then PY=$cand; break; fi
  done
fi
if [ ! -x .venv/bin/python ] && { [ -z "$PY" ] || ! good_python "$PY"; }; then
  echo "[setup] error: rt-sfamnet needs Python 3.11 or 3.12; found $(python3 --version 2>&1)." >&2
  echo "[setup] On Ubuntu 22.04: 'uv python install 3.12' then PYTHON=\$(uv python find 3.12)," >&2
  echo "[setup] or the deadsnakes PPA: apt-get install python3.11 python3.11-venv (README)." >&2
  exit 1
fi

APT_PKGS="libusb-1.0-0 libgl1 libegl1 libglib2.0-0 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 libxcb-xinerama0 libxcb-randr0 libxcb-render-util0 libxcb-image0"

apt_install() {  # never fatal: a refused sudo or a failed apt-get only warns
  local pkgs=" $*" run=""
  if [ "$(id -u)" = 0 ]; then
    run=""
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    run="sudo"
  elif command -v sudo >/dev/null && [ -t 0 ] && sudo -v; then
    run="sudo"
  else
    warn "missing system packages:$pkgs (not root and no sudo: ask an administrator for"
    warn "  apt-get install$pkgs — or run again with SKIP_APT=1 to stop this check)"
    return 0
  fi
  say "installing system packages:$pkgs"
  if ! { $run apt-get update -qq && $run env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq $pkgs >/dev/null; }; then
    warn "apt-get failed; the app may miss:$pkgs"
  fi
}

if [ "${SKIP_APT:-0}" != 1 ] && command -v dpkg-query >/dev/null && command -v apt-get >/dev/null; then
  missing=""
  for p in $APT_PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
  done
  # Debian/Ubuntu split venv + ensurepip out of python3: python3-venv or python3.X-venv
  if [ ! -x .venv/bin/python ] && ! "$PY" -c 'import ensurepip, venv' 2>/dev/null; then
    ver=$("$PY" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
    if apt-cache show "python$ver-venv" >/dev/null 2>&1; then missing="$missing python$ver-venv"
    else missing="$missing python3-venv"; fi
  fi
  if [ -n "$missing" ]; then apt_install $missing; fi
fi

if [ ! -x .venv/bin/python ]; then
  say "creating .venv with $($PY --version)"
  "$PY" -m venv .venv
fi
stamp=.venv/.rt-sfamnet-installed
want=$(cat pyproject.toml setup.py scripts/setup.sh | sha256sum | cut -c1-16)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  say "installing rt-sfamnet and its dependencies into .venv (first run takes a few minutes)"
  .venv/bin/python -m pip install -q --upgrade pip
  # torch first, with the exact pin of pyproject.toml, from TORCH_INDEX_URL when it is given
  # (the CPU build); the package install below then finds it satisfied.
  .venv/bin/python -m pip install -q ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"} "torch==2.13.0"
  .venv/bin/python -m pip install -q -e ".[${EXTRAS:-realsense,gui,dev}]"
  echo "$want" > "$stamp"
fi
say "ready: $(.venv/bin/rt-sfamnet --version)"
