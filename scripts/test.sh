#!/usr/bin/env bash
# Installs everything, then runs the linters and the whole test suite (unit, integration
# on SQLite and a throwaway PostgreSQL, CLI, API, and the real SIP stack).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
.venv/bin/ruff check .
.venv/bin/mypy
# Two workers (pytest-xdist): the real SIP stack's tests in one, in order, everything else
# beside them in the other (tests/conftest.py groups them).
exec .venv/bin/python -m pytest -p no:cacheprovider -n 2 --dist loadgroup "$@"
