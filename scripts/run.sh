#!/usr/bin/env bash
# Installs everything, creates var/ with demo data if absent, brings the switch up
# (Kamailio + rtpengine + call agent + vault ingest, on 127.0.0.1) and serves the API and
# the portal on 127.0.0.1:8000. Ctrl-C stops the server and brings the switch down.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
export PRIVLINE_HOME="${PRIVLINE_HOME:-$PWD/var}"
if [ ! -e "$PRIVLINE_HOME/privline.db" ] && [ -z "${PRIVLINE_DATABASE_URL:-}" ]; then
  .venv/bin/privline init --demo
  echo "demo admin token: $PRIVLINE_HOME/demo-admin.token"
fi
.venv/bin/privline switch up
trap '.venv/bin/privline switch down' EXIT
.venv/bin/privline serve
