#!/usr/bin/env bash
# Install everything (idempotent) and run the whole test suite against the real
# PostgreSQL and Redis on 127.0.0.1. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install.sh
./scripts/system-packages.sh
./scripts/services.sh

echo "==> lint"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
./scripts/audit.sh  # warns, never fails, when no vulnerability service is reachable (docs/operations.md)
echo "==> migrations are up to date"
DJANGO_SETTINGS_MODULE=annotator.test_settings .venv/bin/python manage.py makemigrations --check --dry-run >/dev/null
echo "==> tests"
.venv/bin/pytest "$@"
