#!/usr/bin/env bash
# Create .venv and install everything in the order that works on a bare machine:
# pip tooling -> torch/torchvision -> pinned requirements -> sam2 (sdist, no isolation).
# Idempotent: a stamp of the requirement files' hashes makes a second run take seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
VENV="${VENV:-.venv}"
TORCH_PINS="torch==2.14.1 torchvision==0.29.1"
STAMP="$VENV/.annotator-install-stamp"

want_stamp() {
  cat requirements.txt requirements-dev.txt requirements-sam2.txt scripts/install.sh \
    | sha256sum | cut -d' ' -f1
}

if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$(want_stamp)" && -x "$VENV/bin/python" ]]; then
  exit 0
fi

if [[ ! -x "$VENV/bin/python" ]]; then
  echo "==> creating $VENV"
  "$PYTHON" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)
# This machine's pip config lists local wheel folders that may be absent; hide that noise.
quiet() { "$@" 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2); }

echo "==> upgrading pip, setuptools, wheel"
quiet "${PIP[@]}" install -q --upgrade pip setuptools wheel

echo "==> installing $TORCH_PINS (several GB; taken from local disk where present)"
quiet "${PIP[@]}" install -q $TORCH_PINS

echo "==> installing pinned requirements"
quiet "${PIP[@]}" install -q -r requirements.txt -r requirements-dev.txt $TORCH_PINS

echo "==> installing sam2 (sdist, no build isolation, no CUDA extension)"
SAM2_BUILD_CUDA=0 quiet "${PIP[@]}" install -q --no-deps --no-build-isolation --require-hashes \
  -r requirements-sam2.txt

want_stamp > "$STAMP"
echo "==> environment ready in $VENV"
