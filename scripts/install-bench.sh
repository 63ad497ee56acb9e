#!/usr/bin/env bash
# A separate virtual environment with Spotify's pedalboard (the peer we measure
# against). It has the same import name as ours, so it can never share a venv.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .bench-venv/bin/python ]; then
  "$PYTHON" -m venv .bench-venv
fi
if ! .bench-venv/bin/python -c "import pedalboard, numpy, soundfile" 2>/dev/null; then
  .bench-venv/bin/python -m pip install -q --upgrade pip
  .bench-venv/bin/python -m pip install -q pedalboard numpy soundfile
fi
