"""The control WebSocket ``/api/v1/ws``: protocol v1, relayed to the controller.

A phone speaks exactly what ``pedal ctl`` speaks on the local socket
(``docs/protocol.md``), so there is one protocol to learn, documented and
published as a JSON Schema (MOD's editor protocol is neither):

1. **Authentication first.** The token comes from the HttpOnly cookie set at
   pairing, from ``?token=``, or, for clients that can do neither, from the
   first message ``{"v": 1, "type": "auth", "token": "..."}``. Without a
   valid one the socket is closed with code **4401** before any state is
   sent.
2. **State.** A ``state`` message with the current revision.
3. **Events**, each with its revision, as footswitches, MIDI, ``pedal ctl``
   and other phones change things; ``meters`` and ``tuner`` readings after
   ``subscribe {"meters": true, "tuner": true}``.
4. **Commands** ``{"v": 1, "id": "...", "cmd": "...", "args": {...}}`` get an
   ``ack`` or an ``error`` carrying the same id. Malformed, unknown or
   oversized messages get an ``error`` naming the field and change nothing.

Close codes: 4401 unauthorized (or revoked), 4403 foreign origin, 1012 the
engine restarted (reconnect), 1013 too slow to keep up or engine unreachable
(reconnect), 1001 server shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from pedalboard.protocol import MAX_LINE_BYTES, ProtocolError, parse_command
from pedalboard.server.app import ServerContext
from pedalboard.server.auth import COOKIE_NAME, TokenRecord
from pedalboard.server.engine_link import EngineUnavailableError, Subscriber

log = logging.getLogger("pedalboard.server")
router = APIRouter()

PROTOCOL_VERSION = 1
MAX_MESSAGE_BYTES = MAX_LINE_BYTES
AUTH_TIMEOUT_S = 10.0
CLOSE_UNAUTHORIZED = 4401
CLOSE_FOREIGN_ORIGIN = 4403


class BadMessageError(Exception):
    """A message that breaks the protocol; its text names the field."""

    def __init__(self, message: str, request_id: str | None = None) -> None:
        super().__init__(message)
        self.request_id = request_id


@dataclass(eq=False)
class Client:
    """One connected phone (or script)."""

    websocket: WebSocket
    token: TokenRecord
    subscriber: Subscriber
    send_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    revision: int = 0

    async def send(self, message: dict[str, Any]) -> None:
        text = json.dumps(message, separators=(",", ":"))
        async with self.send_lock:
            await self.websocket.send_text(text)

    async def close(self, code: int, reason: str) -> None:
        with contextlib.suppress(Exception):
            await self.websocket.close(code=code, reason=reason[:120])


def install(context: ServerContext) -> None:
    """Close every phone when the engine connection drops: they reconnect and
    get the restarted engine's state instead of a stale one."""

    def on_change(up: bool) -> None:
        if not up:
            for client in list(context.ws_clients):
                asyncio.get_running_loop().create_task(
                    client.close(1012, "the pedal engine restarted; reconnect"))

    context.link.on_link_change.append(on_change)


async def kick(context: ServerContext, token_id: str) -> None:
    """Close the sockets of a revoked device."""
    for client in list(context.ws_clients):
        if client.token.id == token_id:
            await client.close(CLOSE_UNAUTHORIZED, "token revoked")


async def close_all(context: ServerContext) -> None:
    for client in list(context.ws_clients):
        await client.close(1001, "server shutting down")


def _foreign_origin(websocket: WebSocket, allowed: list[str]) -> bool:
    """Browsers always send Origin; a page from another site must not drive
    the pedal (cookies aside, a token in a URL could leak)."""
    origin = websocket.headers.get("origin")
    if not origin or origin in allowed:
        return False
    return urlsplit(origin).netloc != websocket.headers.get("host", "")


async def _read_auth_message(websocket: WebSocket) -> str | None:
    try:
        text = await asyncio.wait_for(websocket.receive_text(), AUTH_TIMEOUT_S)
        message = json.loads(text)
    except (TimeoutError, ValueError, KeyError, RuntimeError):
        return None
    if not isinstance(message, dict):
        return None
    token = message.get("token")
    if message.get("cmd") == "auth" and isinstance(message.get("args"), dict):
        token = message["args"].get("token")
    return token if isinstance(token, str) else None


@router.websocket("/api/v1/ws")
async def control_socket(websocket: WebSocket) -> None:
    context: ServerContext = websocket.app.state.context
    if _foreign_origin(websocket, context.settings.cors_origins):
        await websocket.close(code=CLOSE_FOREIGN_ORIGIN)
        return
    await websocket.accept()
    token = websocket.query_params.get("token") or websocket.cookies.get(COOKIE_NAME)
    if token is None:
        token = await _read_auth_message(websocket)
    record = context.tokens.check(token)
    if record is None:
        await websocket.close(code=CLOSE_UNAUTHORIZED, reason="unauthorized: pair first")
        return
    subscriber = context.link.subscribe()
    client = Client(websocket, record, subscriber)
    context.ws_clients.add(client)
    try:
        try:
            state = await context.link.get_state()
        except EngineUnavailableError as error:
            await client.send(_error(None, "internal", _unreachable(error)))
            await client.close(1013, "engine unreachable; retry")
            return
        client.revision = int(state.get("revision", 0))
        await client.send({"v": PROTOCOL_VERSION, "type": "state", "revision": client.revision,
                           "state": state})
        await _serve(context, client)
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        context.ws_clients.discard(client)
        context.link.unsubscribe(subscriber)


async def _serve(context: ServerContext, client: Client) -> None:
    sender = asyncio.create_task(_pump(client))
    watchdog = asyncio.create_task(client.subscriber.overflowed.wait())
    receiver = asyncio.create_task(_receive(context, client))
    done, pending = await asyncio.wait({sender, watchdog, receiver},
                                       return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    for task in pending:
        with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
            await task
    if watchdog in done:
        log.info("a WebSocket client fell behind; closing it so it resyncs")
        await client.close(1013, "too slow to keep up; reconnect")
    for task in done:
        if task is not watchdog and task.exception() is not None:
            error = task.exception()
            if not isinstance(error, (WebSocketDisconnect, RuntimeError)):
                log.warning("WebSocket client ended with %r", error)


async def _pump(client: Client) -> None:
    """Forward broadcasts in order; skip what the initial state already holds."""
    queue = client.subscriber.queue
    while True:
        message = await queue.get()
        revision = message.get("revision")
        if message.get("type") in ("event", "state") and isinstance(revision, int):
            if revision <= client.revision:
                continue
            client.revision = revision
        await client.send(message)


async def _receive(context: ServerContext, client: Client) -> None:
    while True:
        message = await client.websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        text = message.get("text")
        if text is None:
            await client.send(_error(None, "bad_request", "message: binary messages are not "
                                     "accepted; send JSON text"))
            continue
        if context.tokens.is_revoked(client.token):
            await client.close(CLOSE_UNAUTHORIZED, "token revoked")
            return
        await _handle(context, client, text)


async def _handle(context: ServerContext, client: Client, text: str) -> None:
    try:
        request_id, cmd, args = parse_message(text)
    except BadMessageError as error:
        await client.send(_error(error.request_id, "bad_request", str(error)))
        return
    if cmd == "subscribe":  # per phone; the link itself always subscribes
        client.subscriber.wants_meters = bool(args.get("meters", False))
        client.subscriber.wants_tuner = bool(args.get("tuner", False))
        await client.send(_ack(request_id, context.link.revision, {}))
        return
    if cmd == "auth":
        await client.send(_ack(request_id, context.link.revision, {}))
        return
    try:
        reply = await context.link.request(cmd, args)
    except EngineUnavailableError as error:
        await client.send(_error(request_id, "internal", _unreachable(error)))
        return
    reply = dict(reply)
    reply["id"] = request_id
    await client.send(reply)


def parse_message(text: str) -> tuple[str | None, str, dict[str, Any]]:
    """The id, command and args of one client message, validated by
    :func:`pedalboard.protocol.parse_command`; else :class:`BadMessageError`
    naming the offending field. The controller checks values against the
    running chain (ranges, slots) before anything reaches the engine."""
    if len(text) > MAX_MESSAGE_BYTES or len(text.encode("utf-8", "replace")) > MAX_MESSAGE_BYTES:
        raise BadMessageError(f"message: larger than {MAX_MESSAGE_BYTES} bytes")
    try:
        message = json.loads(text)
    except ValueError as error:
        raise BadMessageError(f"message: not valid JSON: {error}") from None
    if isinstance(message, dict) and message.get("cmd") == "auth":
        request_id = message.get("id")
        return (request_id if isinstance(request_id, str) else None), "auth", {}
    try:
        command = parse_command(message)
    except ProtocolError as error:
        raise BadMessageError(str(error), error.request_id) from None
    return command.id, command.cmd, command.args.model_dump(exclude_none=True)


def _ack(request_id: str | None, revision: int, result: dict[str, Any]) -> dict[str, Any]:
    return {"v": PROTOCOL_VERSION, "type": "ack", "id": request_id, "revision": revision,
            "result": result}


def _error(request_id: str | None, code: str, message: str) -> dict[str, Any]:
    return {"v": PROTOCOL_VERSION, "type": "error", "id": request_id, "code": code,
            "message": message}


def _unreachable(error: Exception) -> str:
    return f"the pedal engine is not reachable: {error}"
