"""The local control socket: protocol v1 over ``<data-dir>/control.sock``.

Newline-delimited JSON over a Unix stream socket (see ``docs/protocol.md``).
Each client gets the full state on connect, a reply to each of its
commands, and every event. Threads, not asyncio: the controller's entry point
is a plain thread-safe call, and a thread blocked on a socket holds no GIL.

Per client, a reader thread parses lines (at most 256 KiB each; a longer line
gets an error reply and is skipped) and a writer thread drains a bounded
queue. Broadcasts only *offer* a message to each queue: a client whose queue
is full has stopped reading and is disconnected, so one stalled client never
slows the others or the controller. Meters (10/s) and tuner readings (20/s)
go only to clients that subscribed, and are skipped rather than queued when
a client falls behind.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import socket
import threading
from pathlib import Path
from typing import Any

from pedalboard.errors import PedalError
from pedalboard.protocol import MAX_LINE_BYTES, error_reply

log = logging.getLogger(__name__)
#: Messages a client may have waiting before it counts as stalled.
QUEUE_SIZE = 1024
#: Meters and tuner readings are skipped once a client has this many waiting.
LOSSY_LIMIT = 64
SOCKET_NAME = "control.sock"


class ServerError(PedalError):
    """The control socket cannot be opened."""


def socket_path(data_dir: str | Path) -> Path:
    return Path(data_dir) / SOCKET_NAME


def _encode(message: dict[str, Any]) -> bytes:
    return json.dumps(message, separators=(",", ":"), allow_nan=False).encode() + b"\n"


class _Client:
    """One connection: a reader thread, a writer thread, a bounded queue."""

    def __init__(self, server: ControlServer, sock: socket.socket, number: int) -> None:
        self.server = server
        self.sock = sock
        self.name = f"client-{number}"
        self.queue: queue.Queue[bytes | None] = queue.Queue(QUEUE_SIZE)
        self.meters = False
        self.tuner = False
        self.closed = False

    def start(self) -> None:
        threading.Thread(target=self._read_loop, name=f"{self.name}-read", daemon=True).start()
        threading.Thread(target=self._write_loop, name=f"{self.name}-write", daemon=True).start()

    def offer(self, data: bytes, *, lossy: bool = False) -> None:
        """Queue without blocking; a client that stopped reading is dropped."""
        if self.closed or (lossy and self.queue.qsize() >= LOSSY_LIMIT):
            return
        try:
            self.queue.put_nowait(data)
        except queue.Full:
            log.warning("%s stopped reading; disconnecting it", self.name)
            self.close()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.server._forget(self)
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(queue.Full):
            self.queue.put_nowait(None)

    def _write_loop(self) -> None:
        try:
            while True:
                data = self.queue.get()
                if data is None or self.closed:
                    break
                self.sock.sendall(data)
        except OSError:
            pass
        finally:
            self.close()
            with contextlib.suppress(OSError):
                self.sock.close()

    def _read_loop(self) -> None:
        buffer = bytearray()
        skipping = False  # inside an oversized line: drop bytes up to its newline
        try:
            while not self.closed:
                chunk = self.sock.recv(65536)
                if not chunk:
                    break
                buffer += chunk
                while True:
                    end = buffer.find(b"\n")
                    if end < 0:
                        if len(buffer) > MAX_LINE_BYTES:
                            if not skipping:
                                self._too_long()
                            skipping = True
                            buffer.clear()
                        break
                    line = bytes(buffer[:end])
                    del buffer[: end + 1]
                    if skipping:
                        skipping = False
                        continue
                    if len(line) > MAX_LINE_BYTES:
                        self._too_long()
                        continue
                    if line.strip():
                        self._handle_line(line)
        except OSError:
            pass
        finally:
            self.close()

    def _too_long(self) -> None:
        self.offer(_encode(error_reply(
            None, "bad_request", f"message: line longer than {MAX_LINE_BYTES} bytes (the limit)")))

    def _handle_line(self, line: bytes) -> None:
        try:
            message = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            text = getattr(error, "msg", str(error))
            where = f" at column {error.colno}" if isinstance(error, json.JSONDecodeError) else ""
            self.offer(_encode(error_reply(None, "bad_request", f"message: not valid JSON{where}: {text}")))
            return
        source = "api"
        if isinstance(message, dict) and message.get("source") in ("ctl", "api"):
            source = message["source"]
        reply = self.server.controller.handle(message, source)
        if reply.get("type") == "ack" and isinstance(message, dict) and message.get("cmd") == "subscribe":
            self.meters = bool(reply["result"].get("meters"))
            self.tuner = bool(reply["result"].get("tuner"))
        self.offer(_encode(reply))


class ControlServer:
    """Listens on ``path`` and serves protocol v1 for ``controller``."""

    def __init__(self, controller: Any, path: str | Path, *, meters_interval_s: float = 0.1,
                 tuner_interval_s: float = 0.05) -> None:
        self.controller = controller
        self.path = Path(path)
        self.meters_interval_s = meters_interval_s
        self.tuner_interval_s = tuner_interval_s
        self._clients: set[_Client] = set()
        self._clients_lock = threading.Lock()
        self._count = 0
        self._listener: socket.socket | None = None
        self._stop = threading.Event()

    # ------------------------------------------------------------ lifecycle
    def start(self) -> None:
        self._listener = self._bind()
        self.controller.add_listener(self._broadcast)
        threading.Thread(target=self._accept_loop, name="control-accept", daemon=True).start()
        threading.Thread(target=self._telemetry_loop, name="control-telemetry", daemon=True).start()

    def _bind(self) -> socket.socket:
        if len(str(self.path).encode()) > 100:
            raise ServerError(f"control socket path too long for a Unix socket: {self.path} "
                              "(use a shorter --data-dir)")
        if self.path.exists():
            probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                probe.connect(str(self.path))
            except OSError:
                self.path.unlink(missing_ok=True)  # left over from a crash
            else:
                raise ServerError(f"a pedal is already running with data dir {self.path.parent}")
            finally:
                probe.close()
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            listener.bind(str(self.path))
            os.chmod(self.path, 0o660)  # the owner and its group (the web server's user)
            listener.listen(16)
        except OSError as error:
            listener.close()
            raise ServerError(f"cannot listen on {self.path}: {error.strerror}") from None
        return listener

    def stop(self) -> None:
        self._stop.set()
        self.controller.remove_listener(self._broadcast)
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None
            self.path.unlink(missing_ok=True)
        for client in list(self._clients):
            client.close()

    @property
    def client_count(self) -> int:
        return len(self._clients)

    # ------------------------------------------------------------ connections
    def _accept_loop(self) -> None:
        assert self._listener is not None
        listener = self._listener
        while not self._stop.is_set():
            try:
                sock, _ = listener.accept()
            except OSError:
                return
            self._count += 1
            client = _Client(self, sock, self._count)
            # Under the controller's lock: the state sent and the events that
            # follow are consistent (no event is missed or sent twice).
            with self.controller.lock:
                client.offer(_encode(self.controller.state_message()))
                with self._clients_lock:
                    self._clients.add(client)
            client.start()

    def _forget(self, client: _Client) -> None:
        with self._clients_lock:
            self._clients.discard(client)

    def _broadcast(self, message: dict[str, Any]) -> None:
        data = _encode(message)
        with self._clients_lock:
            clients = list(self._clients)
        for client in clients:
            client.offer(data)

    # ------------------------------------------------------------ meters and tuner
    def _telemetry_loop(self) -> None:
        ticks_per_meter = max(1, round(self.meters_interval_s / self.tuner_interval_s))
        tick = 0
        while not self._stop.wait(self.tuner_interval_s):
            tick += 1
            with self._clients_lock:
                clients = list(self._clients)
            try:
                if tick % ticks_per_meter == 0 and any(c.meters for c in clients):
                    data = _encode({"v": 1, "type": "meters", "data": self._meters()})
                    for client in clients:
                        if client.meters:
                            client.offer(data, lossy=True)
                if self.controller.tuner_on and any(c.tuner for c in clients):
                    data = _encode({"v": 1, "type": "tuner", "data": self._tuner()})
                    for client in clients:
                        if client.tuner:
                            client.offer(data, lossy=True)
            except Exception:  # telemetry must never stop the server
                log.exception("telemetry failed")

    def _meters(self) -> dict[str, Any]:
        status = self.controller.engine.status()
        return {
            "input_peak_db": float(status.get("input_peak_db", -200.0)),
            "output_peak_db": float(status.get("output_peak_db", -200.0)),
            "dsp_load_p50": float(status.get("dsp_load_p50", 0.0)),
            "dsp_load_p99": float(status.get("dsp_load_p99", 0.0)),
            "xruns": int(status.get("xruns", 0)),
        }

    def _tuner(self) -> dict[str, Any] | None:
        from pedalboard.effects.tuner import detect_pitch

        engine = self.controller.engine
        samples = engine.input_snapshot(4096)
        if samples.ndim > 1:
            samples = samples[0]
        reading = detect_pitch(samples, float(engine.status().get("sample_rate", 48000)))
        if reading is None:
            return None
        return {"frequency_hz": round(reading.frequency_hz, 3), "note": reading.note,
                "cents": round(reading.cents, 2)}
