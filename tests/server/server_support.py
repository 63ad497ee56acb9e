"""Helpers for the web service tests: a real pedal process (virtual audio),
the real web service (uvicorn in its own process), a local-socket client
that checks the engine's state without going through the web service, and
Debian's Chromium for playwright."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

DEVICE_CONFIG = """\
gpio = "none"

[actions]
fs1.press = "toggle:reverb"
fs2.press = "preset:next"
fs3.press = "snapshot:1"
fs4.press = "tap"
"""
CHROMIUM_ARGS = ["--no-sandbox", "--headless=new", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync"]
REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def short_tmpdir() -> Path:
    """A data dir short enough for a Unix socket path."""
    return Path(tempfile.mkdtemp(prefix="pds-"))


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    env.pop("PEDAL_DATA_DIR", None)
    return env


class Output:
    """Drains a child's output in a thread (a full pipe would stall it)."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._drain, args=(proc,), daemon=True)
        self._thread.start()

    def _drain(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def text(self) -> str:
        return "\n".join(self.lines)


def stop_process(proc: subprocess.Popen[str], timeout_s: float = 10.0) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


class SocketClient:
    """Protocol v1 over ``<data-dir>/control.sock``, straight to the controller."""

    def __init__(self, data_dir: Path) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(10.0)
        self.sock.connect(str(data_dir / "control.sock"))
        self.file = self.sock.makefile("rwb")
        self._n = 0
        self.initial = self._read()

    def _read(self) -> dict[str, Any]:
        line = self.file.readline()
        if not line:
            raise ConnectionError("control socket closed")
        return json.loads(line)

    def request(self, cmd: str, **args: Any) -> dict[str, Any]:
        self._n += 1
        request_id = f"t{self._n}"
        self.file.write(json.dumps({"v": 1, "id": request_id, "cmd": cmd, "args": args}).encode()
                        + b"\n")
        self.file.flush()
        while True:
            message = self._read()
            if message.get("id") == request_id:
                return message

    def state(self) -> dict[str, Any]:
        return self.request("get_state")["state"]

    def close(self) -> None:
        self.file.close()
        self.sock.close()


def slot_of(state: dict[str, Any], slot_id: str) -> dict[str, Any]:
    for node in state["chain"]:
        if node.get("id") == slot_id:
            return node
    raise AssertionError(f"no slot {slot_id!r} in {[n.get('id') for n in state['chain']]}")


class PedalProcess:
    """``pedal run --audio virtual --no-server`` on a fresh data dir."""

    def __init__(self, data_dir: Path | None = None) -> None:
        self.data_dir = data_dir or short_tmpdir()
        config = self.data_dir / "pedal.toml"
        if not config.exists():
            config.write_text(DEVICE_CONFIG)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pedalboard", "run", "--audio", "virtual", "--no-server",
             "--data-dir", str(self.data_dir)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True,
            env=_env(), start_new_session=True, cwd=REPO)
        self.output = Output(self.proc)
        self._wait_ready(60.0)

    def _wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"pedal run exited:\n{self.output.text()}")
            if "running" in self.output.text() or (self.data_dir / "control.sock").exists():
                try:
                    SocketClient(self.data_dir).close()
                    return
                except OSError:
                    pass
            time.sleep(0.05)
        raise RuntimeError(f"pedal run did not start:\n{self.output.text()}")

    def client(self) -> SocketClient:
        return SocketClient(self.data_dir)

    def pair_code(self) -> str:
        client = self.client()
        try:
            return str(client.request("get_pair_code")["result"]["code"])
        finally:
            client.close()

    def stop(self) -> None:
        stop_process(self.proc)


class ServerProcess:
    """``python -m pedalboard.server`` on a free port, pointed at a pedal."""

    def __init__(self, data_dir: Path, *, extra: list[str] | None = None,
                 scheme: str = "http", wait_engine: bool = True) -> None:
        self.port = free_port()
        self.base_url = f"{scheme}://127.0.0.1:{self.port}"
        self.ws_url = f"{'wss' if scheme == 'https' else 'ws'}://127.0.0.1:{self.port}/api/v1/ws"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pedalboard.server", "--data-dir", str(data_dir),
             "--port", str(self.port), "--log-level", "warning", *(extra or [])],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True,
            env=_env(), start_new_session=True, cwd=REPO)
        self.output = Output(self.proc)
        self._wait_ready(30.0, wait_engine)

    def _wait_ready(self, timeout_s: float, wait_engine: bool) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"web service exited:\n{self.output.text()}")
            try:
                reply = httpx.get(f"{self.base_url}/api/v1/session", timeout=2.0, verify=False)
                if reply.status_code == 200 and (reply.json()["engine"] or not wait_engine):
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"web service did not start:\n{self.output.text()}")

    def pair(self, code: str) -> str:
        reply = httpx.post(f"{self.base_url}/api/v1/pair", json={"code": code}, timeout=10.0,
                           verify=False)
        reply.raise_for_status()
        return reply.json()["token"]

    def stop(self) -> None:
        stop_process(self.proc)


def launch_chromium(playwright: Any) -> Any:
    return playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
