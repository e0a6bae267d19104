#!/usr/bin/env bash
# Install everything (idempotent) and run the whole product on its embedded default:
# SQLite + local files under ./data, in-process Dramatiq workers, daphne on :8000.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install.sh
exec .venv/bin/python manage.py embedded "$@"
