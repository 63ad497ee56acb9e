"""HTTP and WebSocket endpoints for listeners (mounted by the control service).

* ``GET /stream.ogg`` -- Ogg/Opus over HTTP: plays in ``<audio>``, VLC,
  ffplay and mpv. Every listener first gets the Ogg headers (with the current
  preset as the title), then live pages. Web browsers (a ``Mozilla/`` user
  agent) get the pages with Opus padding up to the hub's ``pad_bytes_per_s``
  (2 Mb/s): their media elements wait for whole 32 KiB blocks, so the byte
  rate sets their delay (0.3 s padded, 2-4 s plain). ``?pad=0`` or ``?pad=1``
  chooses explicitly.
* ``WS /api/v1/listen`` -- Opus packets for the low-latency listener page:
  one JSON ``config`` message, then binary messages of a 16-byte header
  (little-endian uint64 stream position in 48 kHz samples, float64 server
  wall-clock milliseconds when the packet was published) and the packet.
* ``GET /stream.sdp`` -- the RTP session description, when RTP is on.

Listening is public by default (``require_token`` makes it need the same
token as control).
"""

from __future__ import annotations

import asyncio
import io
import struct
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import numpy as np
from fastapi import APIRouter, HTTPException, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import (
    FileResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.types import Message, Receive, Scope, Send

from pedalboard.stream.hub import Listener, StreamHub

#: The listener page (``webui/listen/``), served at ``/listen/``.
LISTEN_PAGE_DIR = Path(__file__).resolve().parents[2] / "webui" / "listen"
_PAGE_TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css"}


class RingSource:
    """An :class:`~pedalboard.stream.hub.AudioSource` over the engine's
    shared-memory output ring (read from another process)."""

    def __init__(self, ring_name: str) -> None:
        from pedalboard.engine.tap import OutputRingReader

        self._reader = OutputRingReader(ring_name)
        self.channels = self._reader.channels

    def read(self, max_frames: int | None = None) -> np.ndarray:
        return np.ascontiguousarray(self._reader.read(max_frames).T)

    @property
    def lost_frames(self) -> int:
        return self._reader.lost_frames


def wants_padding(request: Request) -> bool:
    """Padded pages for web browsers unless ``?pad=`` says otherwise."""
    choice = request.query_params.get("pad")
    if choice is not None:
        return choice not in ("0", "no", "false", "off")
    return "Mozilla/" in request.headers.get("user-agent", "")


class LiveOggResponse(StreamingResponse):
    """A never-ending stream of a listener's pages that also ends when the hub
    cuts the listener off, even while a send is stuck on a client that stopped
    reading: the cut reads as a disconnect, which cancels the send; the
    server then closes the connection (the body never completed)."""

    def __init__(self, hub: StreamHub, listener: Listener, headers: dict[str, str]) -> None:
        self.hub = hub
        self.listener = listener
        super().__init__(self._pages(), media_type="audio/ogg", headers=headers)

    async def _pages(self) -> AsyncIterator[bytes]:
        try:
            yield self.hub.headers()
            while True:
                page = await self.listener.get()
                if page is None:
                    return
                yield page
        finally:
            self.hub.remove_listener(self.listener)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        cut = self.listener.cut

        async def receive_or_cut() -> Message:
            if cut.is_set():
                return {"type": "http.disconnect"}
            request = asyncio.ensure_future(receive())
            stop = asyncio.ensure_future(cut.wait())
            try:
                await asyncio.wait({request, stop}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                stop.cancel()
            if request.done():
                return request.result()
            request.cancel()
            return {"type": "http.disconnect"}

        try:
            await super().__call__(scope, receive_or_cut, send)
        finally:
            self.hub.remove_listener(self.listener)


def listener_router(
    hub: Callable[[], StreamHub | None],
    *,
    sdp: Callable[[], str | None] = lambda: None,
    authorize: Callable[[Request | WebSocket], bool] = lambda _: True,
) -> APIRouter:
    """Routes for listeners; ``hub()`` returns the running hub (or None when
    streaming is off), ``authorize`` decides who may listen (public by default)."""
    router = APIRouter()

    def running(request: Request | WebSocket) -> StreamHub:
        if not authorize(request):
            raise HTTPException(status_code=401, detail="listening needs a token on this pedal")
        current = hub()
        if current is None:
            raise HTTPException(status_code=503, detail="streaming is not running")
        return current

    @router.get(
        "/stream.ogg",
        response_class=StreamingResponse,
        tags=["listen"],
        summary="Live Ogg/Opus stream of the pedal's output",
    )
    async def stream_ogg(request: Request) -> StreamingResponse:
        current = running(request)
        listener = current.add_listener("ogg-padded" if wants_padding(request) else "ogg")
        return LiveOggResponse(
            current,
            listener,
            headers={
                "Cache-Control": "no-cache, no-store",
                "Access-Control-Allow-Origin": "*",
                "X-Content-Type-Options": "nosniff",
            },
        )

    @router.get("/listen", include_in_schema=False)
    async def listen_redirect() -> RedirectResponse:
        return RedirectResponse("/listen/")

    @router.get("/listen/qr.svg", include_in_schema=False)
    async def listen_qr(request: Request) -> Response:
        """A QR code of this listener page's address as the visitor reached it,
        so one listener can pass the stream on to the next."""
        import segno

        svg = io.BytesIO()
        address = str(request.base_url).rstrip("/") + "/listen/"
        segno.make(address, error="m").save(svg, kind="svg", scale=6, border=2, dark="#000",
                                             light="#fff", xmldecl=False)
        return Response(svg.getvalue(), media_type="image/svg+xml",
                        headers={"Cache-Control": "no-cache"})

    @router.get("/listen/", include_in_schema=False)
    @router.get("/listen/{name}", include_in_schema=False)
    async def listen_page(name: str = "index.html") -> FileResponse:
        path = LISTEN_PAGE_DIR / name
        if path.suffix not in _PAGE_TYPES or path.parent != LISTEN_PAGE_DIR or not path.is_file():
            raise HTTPException(status_code=404, detail=f"no such file: {name}")
        return FileResponse(path, media_type=_PAGE_TYPES[path.suffix], headers={"Cache-Control": "no-cache"})

    @router.get("/api/v1/listen/info", tags=["listen"], summary="What is playing and who listens")
    async def listen_info() -> dict[str, object]:
        current = hub()
        if current is None:
            return {"running": False, "title": "", "listeners": 0}
        return {
            "running": True,
            "title": current.title(),
            "listeners": current.listener_count,
            "channels": current.channels,
            "codec": "opus",
            "sample_rate": 48000,
        }

    @router.get(
        "/stream.sdp",
        response_class=PlainTextResponse,
        tags=["listen"],
        summary="RTP (L24) session description",
    )
    async def stream_sdp() -> PlainTextResponse:
        text = sdp()
        if text is None:
            raise HTTPException(
                status_code=404, detail="RTP is off (start the pedal with --rtp ADDRESS:PORT)"
            )
        return PlainTextResponse(text, media_type="application/sdp")

    @router.websocket("/api/v1/listen")
    async def listen(websocket: WebSocket) -> None:
        if not authorize(websocket):
            await websocket.close(code=4401)
            return
        current = hub()
        await websocket.accept()
        if current is None:
            await websocket.close(code=1013, reason="streaming is not running")
            return
        listener = current.add_listener("opus")
        handler = asyncio.current_task()
        # A client that stops reading leaves send_bytes stuck: the hub's cut
        # cancels it (only this handler's own wait, never a server shutdown).
        watch = asyncio.ensure_future(listener.cut.wait())
        watch.add_done_callback(
            lambda done: handler.cancel() if handler and listener.stalled and not done.cancelled() else None
        )
        try:
            await websocket.send_json(
                {
                    "type": "config",
                    "codec": "opus",
                    "sample_rate": 48000,
                    "channels": current.channels,
                    "pre_skip": current.encoder.pre_skip,
                    "frame_samples": current.encoder.frame_size,
                    "title": current.title(),
                }
            )
            while True:
                item = await listener.get()
                if item is None:
                    if listener.stalled:
                        await websocket.close(code=1008, reason="too slow: cut off")
                    else:
                        await websocket.close(code=1001, reason="the stream ended")
                    return
                packet, sent_ms = item
                await websocket.send_bytes(struct.pack("<Qd", packet.pts, sent_ms) + packet.data)
        except (WebSocketDisconnect, RuntimeError):
            pass
        except asyncio.CancelledError:
            if not listener.stalled:
                raise
            if handler is not None:
                handler.uncancel()
        finally:
            watch.cancel()
            current.remove_listener(listener)

    return router
