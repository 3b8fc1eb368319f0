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
# Three workers (pytest-xdist) on two cores: the real SIP stack's tests run in two groups,
# each in one worker, in order (the session switch's, the voice menu's); they mostly wait
# on calls, so a third worker runs everything else beside them (tests/conftest.py groups
# them and stops if the grouping does not hold). Measured on 2 cores, quiet: -n 2 8:17,
# -n 3 5:48 (1,394 tests).
exec .venv/bin/python -m pytest -p no:cacheprovider -n 3 --dist loadgroup "$@"
