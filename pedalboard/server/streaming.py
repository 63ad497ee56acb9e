"""The live stream inside the control service: follow the engine's output ring.

The engine publishes its output in a shared-memory ring whose name changes
each time the engine process starts. :class:`EngineStream` asks the
controller for the ring's name (``status``), starts the
:class:`~pedalboard.stream.service.StreamService` on it, and starts it again
switches it to the new ring when the engine restarts: listeners, the
recording and the Icecast feed go on (with a gap while the engine was away);
the web service itself never stops.

The stream's title (Ogg ``TITLE``, the listener page's heading) is the
current preset's name, refreshed with the ring.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from fastapi import APIRouter, Request, WebSocket

from pedalboard.errors import PedalError
from pedalboard.server.auth import COOKIE_NAME
from pedalboard.server.engine_link import EngineLink, EngineUnavailableError
from pedalboard.stream.service import StreamOptions, StreamService

log = logging.getLogger("pedalboard.server.stream")

#: How often the ring name and preset title are checked.
POLL_S = 1.0


class EngineStream:
    """Keeps one :class:`StreamService` fed from the engine's current ring."""

    def __init__(self, link: EngineLink, options: StreamOptions) -> None:
        self.link = link
        self.preset_name = ""
        self.service = StreamService(options, title=lambda: self.preset_name)
        self.ring: str | None = None
        self._task: asyncio.Task[None] | None = None

    def router(self, tokens: Any) -> APIRouter:
        """The public listener routes (``/stream.ogg``, ``/listen/``,
        ``/api/v1/listen``, ``/stream.sdp``); a token is needed only when the
        options say so."""
        from pedalboard.server.routes import token_from

        def authorize(request: Request | WebSocket) -> bool:
            if isinstance(request, WebSocket):
                token = request.query_params.get("token") or request.cookies.get(COOKIE_NAME)
            else:
                token = token_from(request)
            return tokens.check(token) is not None

        return self.service.router(authorize)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._follow(), name="engine-stream")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await asyncio.to_thread(self.service.stop)
        self.ring = None

    async def _follow(self) -> None:
        while True:
            with contextlib.suppress(EngineUnavailableError, TimeoutError):
                if self.link.connected:
                    await self._check()
            await asyncio.sleep(POLL_S)

    async def _check(self) -> None:
        reply = await self.link.request("status")
        result = reply.get("result")
        if reply.get("type") != "ack" or not isinstance(result, dict):
            return
        self.preset_name = str(result.get("preset_name") or result.get("preset") or "")
        ring = result.get("output_ring")
        if not ring or ring == self.ring:
            return
        if self.ring is not None:
            log.info("the engine restarted: streaming from its new output ring")
        try:
            await asyncio.to_thread(self.service.switch_source, str(ring))
        except (OSError, ValueError, PedalError) as error:  # e.g. the ring vanished meanwhile
            log.warning("cannot open the engine's output ring %s: %s", ring, error)
            return
        self.ring = str(ring)
