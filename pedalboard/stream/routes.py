"""HTTP and WebSocket endpoints for listeners (mounted by the control service).

* ``GET /stream.ogg`` -- Ogg/Opus over HTTP: plays in ``<audio>``, VLC,
  ffplay and mpv. Every listener first gets the Ogg headers (with the current
  preset as the title), then live pages.
* ``WS /api/v1/listen`` -- Opus packets for the low-latency listener page:
  one JSON ``config`` message, then binary messages of a 16-byte header
  (little-endian uint64 stream position in 48 kHz samples, float64 server
  wall-clock milliseconds when the packet was published) and the packet.
* ``GET /stream.sdp`` -- the RTP session description, when RTP is on.

Listening is public by default (``require_token`` makes it need the same
token as control).
"""

from __future__ import annotations

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

from pedalboard.stream.hub import StreamHub

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
        listener = current.add_listener("ogg")

        async def pages() -> AsyncIterator[bytes]:
            try:
                yield current.headers()
                while True:
                    page = await listener.get()
                    if page is None:
                        return
                    yield page
            finally:
                current.remove_listener(listener)

        return StreamingResponse(
            pages(),
            media_type="audio/ogg",
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
                    await websocket.close(code=1008, reason="too slow: cut off")
                    return
                packet, sent_ms = item
                await websocket.send_bytes(struct.pack("<Qd", packet.pts, sent_ms) + packet.data)
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            current.remove_listener(listener)

    return router
