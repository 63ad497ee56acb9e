"""``pedal run`` with the web control service: it prints the editor's URL as a
QR code with the pairing code, and stops its child on SIGTERM."""

from __future__ import annotations

import json
import re
import shutil
import socket
import time
from pathlib import Path

from control_support import SECOND_PRESET, TEST_PRESET, PedalProcess, ctl, short_tmpdir


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_pedal_run_prints_the_pairing_qr_code_and_stops_its_web_service() -> None:
    data_dir: Path = short_tmpdir()
    port = free_port()
    pedal = PedalProcess(data_dir, seed=[TEST_PRESET], extra=["--port", str(port), "--no-stream"])
    pedal.command.remove("--no-server")
    try:
        pedal.start()
        url = f"http://127.0.0.1:{port}/"
        assert pedal.line("web control service:") == f"web control service: {url}"
        assert pedal.line("Edit presets from your phone:") == f"Edit presets from your phone: {url}"
        code = pedal.line("Pairing code:").removeprefix("Pairing code: ")
        done = ctl(data_dir, "pair-code")
        assert done.returncode == 0 and done.stdout.strip() == code
        assert re.fullmatch(r"\d{6}", code)
        qr_rows = [line for line in pedal.output if line and set(line) <= set("█▀▄ ")]
        assert len(qr_rows) >= 12  # a QR code of at least 21 modules in half-block rows
        assert len({len(row) for row in qr_rows}) == 1  # square: every row equally wide
        deadline = time.monotonic() + 60
        while not listening(port):
            assert time.monotonic() < deadline, "the web service did not listen"
            time.sleep(0.05)
        assert pedal.stop() == 0
        assert not listening(port)  # the child went with the pedal
    finally:
        pedal.kill()
        shutil.rmtree(data_dir, ignore_errors=True)


def test_a_first_start_writes_a_footswitch_mapping_that_works() -> None:
    """With no pedal.toml the pedal writes the default one (four switches, keys
    1-4) and a press through the local socket runs its action."""
    data_dir: Path = short_tmpdir()
    pedal = PedalProcess(data_dir, seed=[TEST_PRESET, SECOND_PRESET])
    try:
        pedal.start()
        config = (data_dir / "pedal.toml").read_text()
        assert 'fs2.press = "preset:next"' in config
        assert pedal.line("footswitches:").startswith("footswitches: fs1 (key 1), fs2 (key 2)")
        done = ctl(data_dir, "press", "fs2")
        assert done.returncode == 0, done.stderr
        state = json.loads(ctl(data_dir, "status", "--json").stdout)
        assert state["preset"] == SECOND_PRESET["id"]
        assert pedal.stop() == 0
        assert (data_dir / "pedal.toml").read_text() == config  # a second start keeps the user's file
    finally:
        pedal.kill()
        shutil.rmtree(data_dir, ignore_errors=True)
