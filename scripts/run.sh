#!/usr/bin/env bash
# Installs everything, creates var/ with demo data if absent, and starts the API on
# 127.0.0.1:8000 (set PRIVLINE_HOME, PRIVLINE_API_PORT... to change).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
export PRIVLINE_HOME="${PRIVLINE_HOME:-$PWD/var}"
if [ ! -e "$PRIVLINE_HOME/privline.db" ] && [ -z "${PRIVLINE_DATABASE_URL:-}" ]; then
  .venv/bin/privline init --demo
  echo "demo admin token: $PRIVLINE_HOME/demo-admin.token"
fi
exec .venv/bin/privline serve
