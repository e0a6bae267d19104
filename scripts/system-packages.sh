#!/usr/bin/env bash
# Debian packages the test suite needs beyond Python: chromium for the portal's Playwright
# tests (tests/portal/test_e2e.py) and nodejs for its JavaScript tests. Installed once; a
# no-op when present.
set -euo pipefail
if [[ ! -x /usr/bin/chromium ]]; then
  echo "==> installing Debian's chromium (portal end-to-end tests)"
  SUDO=""
  [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
# node runs the workspace's JavaScript against the shared track vectors and pycocotools
# (tests/portal/test_track_interpolation_js.py); npm only re-vendors Konva (scripts/vendor.sh).
if ! command -v node >/dev/null; then
  echo "==> installing Debian's nodejs (portal JavaScript tests)"
  SUDO=""
  [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nodejs >/dev/null
fi
