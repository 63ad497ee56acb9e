"""An Icecast source client: the pedal feeds a real streaming server.

Listeners beyond the pedal go through Icecast and its relays (the existing
engine for scale, not ours). The protocol is a plain HTTP ``PUT /mount`` with
Basic auth ``source:PASSWORD``, ``Content-Type: audio/ogg`` and ``Expect:
100-continue``; after the server's ``100 Continue`` the body is the Ogg
stream itself, for as long as the stream lasts. (PyAV's ``icecast://``
output sends the wrong content type, hence our own.)

The client runs in its own thread with a bounded queue: if Icecast stalls or
goes away, pages are dropped, never buffered without bound, and the client
reconnects with exponential backoff (0.5 s doubling to 10 s), resending the
Ogg headers first so new listeners can decode. The headers are asked for on
every connection, so a reconnect carries the current preset as the title.
"""

from __future__ import annotations

import base64
import os
import queue
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from pedalboard.errors import PedalError


@dataclass(frozen=True)
class IcecastTarget:
    host: str
    port: int
    mount: str
    user: str
    password: str

    @classmethod
    def parse(cls, url: str) -> IcecastTarget:
        """``icecast://source:PASSWORD@HOST:PORT/MOUNT``; the password may come
        from ``PEDAL_ICECAST_PASSWORD`` instead."""
        parts = urlsplit(url)
        if parts.scheme not in ("icecast", "http") or not parts.hostname or len(parts.path) < 2:
            raise PedalError(f"--icecast {url!r}: expected icecast://source:PASSWORD@HOST:PORT/MOUNT")
        password = unquote(parts.password or "") or os.environ.get("PEDAL_ICECAST_PASSWORD", "")
        if not password:
            raise PedalError("--icecast: no password in the URL and PEDAL_ICECAST_PASSWORD is not set")
        return cls(
            parts.hostname, parts.port or 8000, parts.path, unquote(parts.username or "source"), password
        )


class IcecastSource:
    """Streams Ogg pages to an Icecast mount, reconnecting when it goes away."""

    def __init__(
        self,
        target: IcecastTarget,
        headers: bytes | Callable[[], bytes],
        *,
        name: str = "netpedal",
        queue_pages: int = 250,
    ) -> None:
        self.target = target
        # The Ogg/Opus header pages (or what makes them), sent first on every connection.
        self.headers = headers
        self.name = name
        self.connected = threading.Event()
        self.connections = 0
        self.attempts = 0  # connection attempts, failed or not
        self.retry_in_s = 0.0  # the wait before the next attempt (0.5 s doubling to 10 s)
        self.dropped_pages = 0
        self.last_error = ""
        self._queue: queue.Queue[bytes] = queue.Queue(maxsize=queue_pages)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="icecast-source", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def send(self, page: bytes) -> None:
        """Queue one Ogg page (never blocks: a full queue drops the page)."""
        if not self.connected.is_set():
            return  # nobody to send to: a reconnect starts from fresh pages
        try:
            self._queue.put_nowait(page)
        except queue.Full:
            self.dropped_pages += 1

    def _run(self) -> None:
        backoff = 0.5
        while not self._stop.is_set():
            self.attempts += 1
            try:
                with self._connect() as connection:
                    backoff = 0.5
                    self.connections += 1
                    self._drain()
                    self.connected.set()
                    self._pump(connection)
            except OSError as error:
                self.last_error = str(error)
            self.connected.clear()
            self.retry_in_s = backoff
            self._stop.wait(backoff)
            backoff = min(10.0, backoff * 2)

    def _drain(self) -> None:
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                return

    def _connect(self) -> socket.socket:
        target = self.target
        connection = socket.create_connection((target.host, target.port), timeout=5)
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        credentials = base64.b64encode(f"{target.user}:{target.password}".encode()).decode()
        request = (
            f"PUT {target.mount} HTTP/1.1\r\n"
            f"Host: {target.host}:{target.port}\r\n"
            f"Authorization: Basic {credentials}\r\n"
            "User-Agent: netpedal\r\n"
            "Content-Type: audio/ogg\r\n"
            f"Ice-Name: {self.name}\r\n"
            "Ice-Public: 0\r\n"
            "Expect: 100-continue\r\n\r\n"
        )
        connection.sendall(request.encode())
        reply = connection.recv(4096).decode("latin-1")
        status = reply.split(" ", 2)[1] if reply.startswith("HTTP/") else ""
        if status not in ("100", "200"):
            connection.close()
            first = reply.splitlines()[0] if reply else "no reply"
            raise OSError(f"Icecast refused the source: {first}")
        connection.settimeout(5)
        connection.sendall(self.headers() if callable(self.headers) else self.headers)
        return connection

    def _pump(self, connection: socket.socket) -> None:
        while not self._stop.is_set():
            try:
                page = self._queue.get(timeout=0.5)
            except queue.Empty:
                continue
            connection.sendall(page)


def wait_until(predicate, timeout_s: float, poll_s: float = 0.05) -> bool:
    """Poll ``predicate`` until it is true or the time is up (for callers and tests)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(poll_s)
    return bool(predicate())
