"""``pedal run`` with the web control service: it prints the editor's URL as a
QR code with the pairing code, and stops its child on SIGTERM."""

from __future__ import annotations

import re
import shutil
import socket
import time
from pathlib import Path

from control_support import TEST_PRESET, PedalProcess, ctl, short_tmpdir


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
