#!/usr/bin/env bash
# Installs everything privline needs on Debian 12 (run as root): system packages, then a
# virtualenv in .venv with privline and its test tools. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  postgresql                                   # the system of record (tests start their own)
  kamailio kamailio-python3-modules            # SIP proxy, routing in Python via KEMI
  rtpengine-daemon                             # media relay, recording, prompts
  sip-tester                                   # sipp: facility phones and far ends in tests
  espeak-ng sox                                # spoken prompts
  baresip-core                                 # a real softphone to try the voice menu
  poppler-utils chromium                       # report and browser tests
  fonts-dejavu-core libpango-1.0-0 libpangoft2-1.0-0  # WeasyPrint renders statements
  python3-venv
)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Packaged daemons may start on install where systemd runs; privline starts its own.
if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
  systemctl disable --now kamailio rtpengine-daemon >/dev/null 2>&1 || true
fi

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade "pip>=25.1"
.venv/bin/python -m pip install -q -e . --group test --group dev
