#!/usr/bin/env bash
# Installs everything, then runs the linters and the whole test suite (unit, integration
# on SQLite and a throwaway PostgreSQL, CLI, API, and the real SIP stack).
set -euo pipefail
cd "$(dirname "$0")/.."
# Python keeps its bytecode (in .venv, outside the tree), even where the environment says
# not to (PYTHONDONTWRITEBYTECODE): each test process and each `privline` a test runs
# would otherwise compile the app and its libraries again (~0.4 s of CPU per process).
export PYTHONDONTWRITEBYTECODE="" PYTHONPYCACHEPREFIX="$PWD/.venv/pycache"
bash scripts/install.sh
.venv/bin/ruff check .
.venv/bin/mypy
# Two workers (pytest-xdist): the real SIP stack's tests in two groups, each in one worker,
# in order (the session switch's, the voice menu's), everything else beside and after them
# (tests/conftest.py groups them and stops if the grouping does not hold).
exec .venv/bin/python -m pytest -p no:cacheprovider -n 2 --dist loadgroup "$@"
