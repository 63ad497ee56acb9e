"""The systemd units in deploy/ are valid and carry the real-time settings."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
from pathlib import Path

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
INSTALLED_PEDAL = "/opt/pedal/.venv/bin/pedal"


def _read_unit(path: Path) -> configparser.ConfigParser:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # systemd keys are case-sensitive
    unit.read_string(path.read_text(encoding="utf-8"))
    return unit


def test_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    # verify checks that ExecStart exists: point it at this checkout's `pedal`
    # (the unit names the install location, /opt/pedal, documented in README.md).
    pedal = Path(sys.executable).parent / "pedal"
    assert pedal.exists(), "the package's console script `pedal` is not installed"
    for name in ("pedal.service", "jack.service"):
        text = (DEPLOY / name).read_text(encoding="utf-8").replace(INSTALLED_PEDAL, str(pedal))
        (tmp_path / name).write_text(text, encoding="utf-8")
    analyzer = shutil.which("systemd-analyze")
    assert analyzer, "systemd-analyze missing: scripts/install.sh installs the systemd package"
    units = [str(tmp_path / "pedal.service"), str(tmp_path / "jack.service")]
    result = subprocess.run([analyzer, "verify", *units], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    ours = [line for line in result.stderr.splitlines() if str(tmp_path) in line or "pedal" in line]
    assert ours == [], "\n".join(ours)


def test_pedal_unit_runs_the_pedal_with_real_time_limits() -> None:
    unit = _read_unit(DEPLOY / "pedal.service")
    service = unit["Service"]
    assert service["ExecStart"] == f"{INSTALLED_PEDAL} run"
    assert service["User"] == "pedal"
    assert int(service["LimitRTPRIO"]) >= 70
    assert service["LimitMEMLOCK"] == "infinity"
    assert int(service["Nice"]) < 0
    assert service["Restart"] in ("always", "on-failure")
    lines = (DEPLOY / "pedal.service").read_text(encoding="utf-8").splitlines()
    assert "Environment=PEDAL_DATA_DIR=/var/lib/pedal" in lines
    assert "jack.service" in unit["Unit"]["After"]


def test_jack_unit_uses_the_documented_settings() -> None:
    command = _read_unit(DEPLOY / "jack.service")["Service"]["ExecStart"]
    for part in ("-P 70", "-d alsa", "-r 48000", "-p 64", "-n 3"):
        assert part in command
