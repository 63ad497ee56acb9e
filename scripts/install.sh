#!/usr/bin/env bash
# Installs everything the pedal and its tests need, idempotently:
# Debian packages (audio server, circuit simulator, browser, streaming server)
# and a virtual environment at .venv/ with the package in editable mode.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  jackd2 libportaudio2 libsndfile1 libopus0 ffmpeg
  ngspice libngspice0 libngspice0-dev
  chromium icecast2
  fluidsynth timgm6mb-soundfont
  systemd  # systemd-analyze verifies deploy/pedal.service (tests/engine/test_deploy.py)
  gcc libc6-dev python3-dev  # the generic circuit kernel compiled ahead of time (circuit/aot.py)
)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing system packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.installed-$(sha1sum pyproject.toml | cut -c1-12)
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e '.[dev]'
  rm -f .venv/.installed-*
  touch "$stamp"
fi

# Compile the generic circuit kernel ahead of time (an extension module, ~7 s,
# so that no netlist ever waits for numba) and the DSP kernels into numba's cache now (a minute or two the first time,
# 1-2 s when nothing changed): the effects', the generic circuit kernel and
# every library netlist's own, so the pedal's first start and the first
# circuit in a live chain do not wait for the compiler (a netlist from outside
# the library starts on the generic kernel while its own compiles in the
# background).
.venv/bin/python -m pedalboard.effects.warm
