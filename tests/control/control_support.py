"""Helpers: a real pedal in the test process: SQLite store, virtual-backend Engine,
controller and control socket, in a fresh data directory."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pedalboard.control.controller import Controller
from pedalboard.control.server import ControlServer, socket_path
from pedalboard.control.store import Store
from pedalboard.engine import Engine

TEST_PRESET = {
    "name": "Test", "id": "test",
    "chain": [
        {"id": "boost", "effect": "gain", "params": {"gain_db": 0.0}},
        {"id": "level", "effect": "gain", "params": {"gain_db": -6.0}},
    ],
    "snapshots": [
        {"name": "Loud", "params": {"boost.gain_db": 6.0}, "bypass": {"level": True}},
        {"name": "Quiet", "params": {"boost.gain_db": -12.0}, "bypass": {"level": False}},
    ],
}
SECOND_PRESET = {"name": "Second", "id": "second",
                 "chain": [{"id": "boost", "effect": "gain", "params": {"gain_db": 3.0}}]}
ACTIONS = {"fs1": {"press": "toggle:boost", "long": "tuner"}, "fs2": {"press": "preset:next"},
           "fs3": {"press": "snapshot:1"}, "fs4": {"press": "tap"}}


def short_tmpdir() -> Path:
    """A data dir short enough for a Unix socket path (pytest's tmp_path can be long)."""
    return Path(tempfile.mkdtemp(prefix="pd-"))


class Pedal:
    def __init__(self, data_dir: Path, actions: dict | None = None,
                 presets: list[dict] | None = None, *, demo_input: str | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        """A pedal on ``data_dir``; ``presets`` pre-fill an empty library (so it
        starts on the first of them, with no factory preset ringing out);
        ``demo_input`` is the virtual backend's input, ``clock`` the controller's."""
        self.data_dir = data_dir
        self.store = Store(data_dir)
        if presets and not self.store.load("presets"):
            for position, preset in enumerate(presets):
                self.store.put("presets", preset["id"], preset, position)
            self.store.flush()
        self.engine = Engine("virtual", demo_input=demo_input)
        self.controller = Controller(self.store, self.engine, actions=actions or ACTIONS, clock=clock)
        self.controller.start()
        self.engine.start()
        self.server = ControlServer(self.controller, socket_path(data_dir))
        self.server.start()

    def close(self) -> None:
        self.server.stop()
        self.engine.stop()
        self.store.close()


class Client:
    """A protocol v1 client that keeps every message it received."""

    def __init__(self, path: Path) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(10.0)
        self.sock.connect(str(path))
        self.file = self.sock.makefile("rwb")
        self.received: list[dict[str, Any]] = []
        self.sent: list[dict[str, Any]] = []
        self.exchanges: list[tuple[Any, dict[str, Any]]] = []
        self._n = 0
        self.initial = self.read()

    def read(self) -> dict[str, Any]:
        line = self.file.readline()
        assert line, "connection closed"
        message = json.loads(line)
        self.received.append(message)
        return message

    def send_raw(self, data: bytes) -> None:
        self.file.write(data)
        self.file.flush()

    def request(self, cmd: str, **args: Any) -> dict[str, Any]:
        self._n += 1
        message = {"v": 1, "id": f"r{self._n}", "cmd": cmd, "args": args}
        return self.send(message)

    def send(self, message: Any) -> dict[str, Any]:
        self.sent.append(message)
        self.send_raw(json.dumps(message).encode() + b"\n")
        wanted = message.get("id") if isinstance(message, dict) else None
        reply = self.reply(wanted)
        self.exchanges.append((message, reply))
        return reply

    def reply(self, wanted: str | None) -> dict[str, Any]:
        while True:
            message = self.read()
            is_reply = message["type"] in ("ack", "error") or (
                message["type"] == "state" and "id" in message)
            if is_reply and message.get("id") == wanted:
                return message

    def close(self) -> None:
        self.file.close()
        self.sock.close()


def wait_for(condition: Callable[[], bool], timeout_s: float = 5.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.002)


class PedalProcess:
    """``pedal run --audio virtual --no-server --data-dir DIR`` as a child process.

    ``seed`` pre-fills an empty library with presets (through the store, as
    an earlier run would have left it) and ``config`` becomes DIR/pedal.toml."""

    def __init__(self, data_dir: Path, *, seed: list[dict] | None = None, config: str | None = None,
                 extra: list[str] | None = None) -> None:
        self.data_dir = data_dir
        if seed:
            store = Store(data_dir)
            if not store.load("presets"):
                for position, preset in enumerate(seed):
                    store.put("presets", preset["id"], preset, position)
            store.close()
        if config is not None:
            (data_dir / "pedal.toml").write_text(config)
        self.command = [sys.executable, "-m", "pedalboard.cli", "run", "--audio", "virtual",
                        "--no-server", "--data-dir", str(data_dir), *(extra or [])]
        self.process: subprocess.Popen[str] | None = None
        self.output: list[str] = []
        self._drainer: threading.Thread | None = None

    def start(self, timeout_s: float = 60.0) -> None:
        """Start and wait until the control socket answers."""
        self.output = []
        self.process = subprocess.Popen(self.command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, text=True)
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout_s
        for line in self.process.stdout:
            self.output.append(line.rstrip("\n"))
            if line.startswith("running"):
                break
            if time.monotonic() > deadline:
                break
        if not self.output or not self.output[-1].startswith("running"):
            self.kill()
            raise AssertionError("pedal run did not start:\n" + "\n".join(self.output))
        self._start_drain()

    def start_background(self) -> None:
        """Start without waiting (the caller polls the socket)."""
        self.output = []
        self.process = subprocess.Popen(self.command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, text=True)
        self._start_drain()

    def _start_drain(self) -> None:
        """Keep reading the output (a full pipe would stall the pedal); the
        reader closes the pipe when the process is gone."""
        stdout = self.process.stdout if self.process is not None else None
        if stdout is not None:
            self._drainer = threading.Thread(target=self._drain, args=(stdout,), daemon=True)
            self._drainer.start()

    def _drain(self, stdout: Any) -> None:
        with stdout:
            for line in stdout:
                self.output.append(line.rstrip("\n"))

    def _close_output(self, process: subprocess.Popen[str]) -> None:
        drainer, self._drainer = self._drainer, None
        if drainer is not None:
            drainer.join(timeout=30)
        elif process.stdout is not None:
            process.stdout.close()

    def line(self, prefix: str) -> str:
        return next(line for line in self.output if line.startswith(prefix))

    def kill(self) -> None:
        """Pull the plug: SIGKILL, nothing gets to clean up."""
        process, self.process = self.process, None
        if process is not None:
            process.kill()
            process.wait(timeout=30)
            self._close_output(process)

    def stop(self) -> int | None:
        """SIGTERM, as systemd stops it; returns the exit status."""
        process, self.process = self.process, None
        if process is None:
            return None
        process.terminate()
        try:
            code = process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            code = process.wait(timeout=30)
        self._close_output(process)
        return code


def ctl(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``pedal ctl ARGS --data-dir DATA_DIR`` and return what it printed."""
    return subprocess.run([sys.executable, "-m", "pedalboard.cli", "ctl", *args, "--data-dir", str(data_dir)],
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
