#!/usr/bin/env bash
# Installs everything, then runs the linters and the whole test suite (unit, integration
# on SQLite and a throwaway PostgreSQL, CLI, API, and the real SIP stack).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
.venv/bin/ruff check .
.venv/bin/mypy
exec .venv/bin/python -m pytest -p no:cacheprovider "$@"
