"""One persistent connection from the web server to the engine's controller.

The controller (in the engine process) listens on ``<data-dir>/control.sock``
and speaks protocol v1: newline-delimited JSON (see ``docs/protocol.md``). The
web server keeps exactly one connection to it, however many phones are
connected, and multiplexes over it:

* **requests**: every command gets a fresh link-level id; the reply (ack or
  error) with that id resolves the caller's future. The caller's own id (a
  phone's request id) never travels to the controller, so two phones using
  the same id cannot confuse each other.
* **broadcasts**: events, state, meters and tuner messages go to every
  subscriber through its own bounded queue. A full queue never blocks the
  reader: meters and tuner readings are simply skipped for that subscriber
  (the next one comes 100 ms later), and a subscriber that cannot keep up
  with revisioned events is told so (``overflowed``) and dropped, so it
  reconnects and starts again from a fresh state instead of silently
  missing a change.
* **reconnects**: when the engine restarts the link keeps retrying (backoff
  up to one second); subscribers are notified with ``on_link_change`` so the
  WebSocket layer can close phones with "service restart" and let them come
  back to the new state.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger("pedalboard.server")

#: Protocol limit for one line (256 KiB); the library export can be larger,
#: so the reader accepts more than it ever sends.
MAX_LINE_BYTES = 64 * 1024 * 1024
#: Messages a subscriber may have waiting before it counts as stalled.
QUEUE_SIZE = 512
#: Lossy messages (meters, tuner) are skipped once a queue is this full.
LOSSY_LIMIT = 32
LOSSY_TYPES = frozenset({"meters", "tuner"})


class EngineUnavailableError(Exception):
    """The controller's socket is not there or the connection dropped."""


@dataclass(eq=False)
class Subscriber:
    """A consumer of broadcasts (one per WebSocket client)."""

    queue: asyncio.Queue[dict[str, Any]] = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))
    wants_meters: bool = False
    wants_tuner: bool = False
    overflowed: asyncio.Event = field(default_factory=asyncio.Event)

    def offer(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind in LOSSY_TYPES:
            wanted = self.wants_meters if kind == "meters" else self.wants_tuner
            if wanted and self.queue.qsize() < LOSSY_LIMIT:
                self.queue.put_nowait(message)
            return
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            self.overflowed.set()


class EngineLink:
    """The shared connection; start it once with :meth:`start`."""

    def __init__(self, socket_path: str | Path, *, request_timeout_s: float = 10.0) -> None:
        self.socket_path = Path(socket_path)
        self.request_timeout_s = request_timeout_s
        self.subscribers: set[Subscriber] = set()
        self.last_tuner: dict[str, Any] | None = None
        self.last_meters: dict[str, Any] | None = None
        #: The newest revision seen in any reply, state or event.
        self.revision = 0
        self.on_link_change: list[Callable[[bool], None]] = []
        self._ids = itertools.count(1)
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        self._write_lock = asyncio.Lock()

    # ---------------------------------------------------------------- life
    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="engine-link")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._task = None
        self._drop_connection()

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    async def wait_connected(self, timeout_s: float) -> bool:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._connected.wait(), timeout_s)
        return self.connected

    async def _run(self) -> None:
        delay_s = 0.05
        while True:
            try:
                reader, writer = await asyncio.open_unix_connection(
                    str(self.socket_path), limit=MAX_LINE_BYTES
                )
            except OSError:
                await asyncio.sleep(delay_s)
                delay_s = min(1.0, delay_s * 2)
                continue
            delay_s = 0.05
            self._writer = writer
            self._connected.set()
            log.info("connected to the engine at %s", self.socket_path)
            self._notify(True)
            try:
                # Meters and tuner readings flow all the time; each phone
                # chooses whether it gets them (Subscriber.wants_*).
                asyncio.get_running_loop().create_task(self._subscribe_all())
                await self._read(reader)
            except (OSError, asyncio.IncompleteReadError, ValueError) as error:
                log.warning("engine connection lost: %s", error)
            finally:
                self._drop_connection()
                self._notify(False)
            await asyncio.sleep(delay_s)

    async def _subscribe_all(self) -> None:
        with contextlib.suppress(EngineUnavailableError, TimeoutError):
            await self.request("subscribe", {"meters": True, "tuner": True})

    def _drop_connection(self) -> None:
        self._connected.clear()
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        for future in self._pending.values():
            if not future.done():
                future.set_exception(EngineUnavailableError("the engine connection dropped"))
        self._pending.clear()

    def _notify(self, up: bool) -> None:
        for callback in list(self.on_link_change):
            try:
                callback(up)
            except Exception:  # a broken listener must not stop the link
                log.exception("link listener failed")

    # ------------------------------------------------------------- reading
    async def _read(self, reader: asyncio.StreamReader) -> None:
        while True:
            line = await reader.readline()
            if not line:
                return
            try:
                message = json.loads(line)
            except json.JSONDecodeError:
                log.warning("engine sent a line that is not JSON: %.80r", line)
                continue
            if isinstance(message, dict):
                self._dispatch(message)

    def _dispatch(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        revision = message.get("revision")
        if isinstance(revision, int) and revision > self.revision:
            self.revision = revision
        request_id = message.get("id")
        if kind in ("ack", "error", "state") and isinstance(request_id, str):
            future = self._pending.pop(request_id, None)
            if future is not None:
                if not future.done():
                    future.set_result(message)
                return
        if kind == "meters":
            self.last_meters = message.get("data")
        elif kind == "tuner":
            self.last_tuner = message.get("data")
        elif kind not in ("event", "state"):
            return  # an error for nobody (id null): nothing to fan out
        for subscriber in list(self.subscribers):
            subscriber.offer(message)

    # ------------------------------------------------------------ requests
    async def request(self, cmd: str, args: dict[str, Any] | None = None) -> dict[str, Any]:
        """Send one command and return the controller's reply (an ack, an
        error or a state message). Raises :class:`EngineUnavailableError`."""
        writer = self._writer
        if writer is None or not self.connected:
            raise EngineUnavailableError(f"no engine is listening on {self.socket_path}")
        request_id = f"s{next(self._ids)}"
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        line = json.dumps({"v": 1, "id": request_id, "cmd": cmd, "args": args or {}},
                          separators=(",", ":")) + "\n"
        try:
            async with self._write_lock:
                writer.write(line.encode())
                await writer.drain()
        except OSError as error:
            self._pending.pop(request_id, None)
            raise EngineUnavailableError(f"cannot write to the engine: {error}") from None
        try:
            return await asyncio.wait_for(future, self.request_timeout_s)
        except TimeoutError:
            self._pending.pop(request_id, None)
            raise EngineUnavailableError(f"the engine did not answer {cmd!r} within "
                                    f"{self.request_timeout_s:g} s") from None

    async def get_state(self) -> dict[str, Any]:
        """The controller's current state object (with its revision)."""
        reply = await self.request("get_state")
        if reply.get("type") == "state":
            return reply["state"]
        if reply.get("type") == "ack" and isinstance(reply.get("result"), dict):
            result = reply["result"]
            return result.get("state", result) if "chain" not in result else result
        detail = reply.get("message", reply)
        raise EngineUnavailableError(f"unexpected reply to get_state: {detail}")

    # --------------------------------------------------------- subscribers
    def subscribe(self) -> Subscriber:
        subscriber = Subscriber()
        self.subscribers.add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self.subscribers.discard(subscriber)
