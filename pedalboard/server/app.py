"""The web control service: one FastAPI app per pedal.

The server is its own process and a *client* of the engine's controller: it
holds one :class:`~pedalboard.server.engine_link.EngineLink` to
``<data-dir>/control.sock`` and relays REST calls and WebSocket commands over
it. It owns no live state; the controller does, so footswitches, MIDI and
every phone always agree.

Routes:

* ``/api/v1/...``   REST (``routes.py``) and the WebSocket ``/api/v1/ws``
  (``ws.py``); everything but ``POST /api/v1/pair`` needs a token.
* ``/docs``         OpenAPI documentation, served without a CDN.
* ``/``             the phone editor (``webui/``), static files. Listening
  routes (``/listen``, ``/stream.ogg``) will be public too: they carry audio,
  not control.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pedalboard.errors import PedalError, UnknownEffectError
from pedalboard.server.auth import RateLimiter, TokenStore, UnauthorizedError
from pedalboard.server.engine_link import EngineLink, EngineUnavailableError
from pedalboard.server.schemas import MAX_BODY_BYTES

log = logging.getLogger("pedalboard.server")

#: Controller error codes -> HTTP status.
STATUS_OF_CODE = {"bad_request": 400, "unauthorized": 401, "not_found": 404, "conflict": 409,
                  "internal": 502}


@dataclass
class Settings:
    """Where the pedal lives and who may talk to it."""

    data_dir: Path
    cors_origins: list[str] = field(default_factory=list)
    webui_dir: Path | None = None
    pair_attempts_per_minute: int = 5
    #: More routes, included as they are (e.g. the public listener routes
    #: ``/stream.ogg`` and ``/listen/``), before the web UI's catch-all mount.
    extra_routers: list[Any] = field(default_factory=list)
    #: The live stream (``pedalboard.stream.service.StreamOptions``); None: off.
    stream: Any = None

    @property
    def socket_path(self) -> Path:
        return self.data_dir / "control.sock"


class ControllerError(Exception):
    """The controller refused a command (its error reply)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class ServerContext:
    """What every route needs: the settings, the engine link and the tokens."""

    settings: Settings
    link: EngineLink
    tokens: TokenStore
    pair_limiter: RateLimiter
    catalogue_cache: dict[str, Any] = field(default_factory=dict)
    #: Open WebSocket clients (``ws.Client``), for revocation and shutdown.
    ws_clients: set[Any] = field(default_factory=set)

    async def call(self, cmd: str, args: dict[str, Any] | None = None) -> dict[str, Any]:
        """Send a command; return ``{"revision", "result"}`` or raise
        :class:`ControllerError` / :class:`EngineUnavailableError`."""
        reply = await self.link.request(cmd, args)
        if reply.get("type") == "error":
            raise ControllerError(str(reply.get("code", "internal")), str(reply.get("message", "")))
        if reply.get("type") == "state":
            return {"revision": reply.get("revision"), "result": reply.get("state", {})}
        result = reply.get("result")
        return {"revision": reply.get("revision"),
                "result": result if isinstance(result, dict) else {"value": result}}


def default_webui_dir() -> Path:
    return Path(__file__).resolve().parents[2] / "webui"


def _problem(status: int, code: str, message: str, headers: dict[str, str] | None = None,
             **extra: Any) -> JSONResponse:
    return JSONResponse({"code": code, "message": message, **extra}, status_code=status,
                        headers=headers)


def _field_message(error: RequestValidationError) -> str:
    problems = error.errors()
    if not problems:
        return "invalid request"
    first = problems[0]
    where = ".".join(str(part) for part in first.get("loc", ()))
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return f"{where}: {first.get('msg', 'invalid')}{more}"


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, error: RequestValidationError) -> JSONResponse:
        details = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "")} for e in error.errors()]
        return _problem(422, "bad_request", _field_message(error), detail=details)

    @app.exception_handler(UnauthorizedError)
    async def _unauthorized(_: Request, error: UnauthorizedError) -> JSONResponse:
        return _problem(401, "unauthorized", "no valid token: pair first (POST /api/v1/pair) "
                        "and send the token as a cookie or 'Authorization: Bearer ...'",
                        headers={"WWW-Authenticate": "Bearer"})

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, error: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "bad_request"}.get(error.status_code, "bad_request")
        return _problem(error.status_code, code, str(error.detail),
                        headers=getattr(error, "headers", None))

    @app.exception_handler(ControllerError)
    async def _refused(_: Request, error: ControllerError) -> JSONResponse:
        return _problem(STATUS_OF_CODE.get(error.code, 400), error.code, error.message)

    @app.exception_handler(EngineUnavailableError)
    async def _no_engine(_: Request, error: EngineUnavailableError) -> JSONResponse:
        return _problem(503, "engine_unavailable", f"the pedal engine is not reachable: {error}",
                        headers={"Retry-After": "1"})

    @app.exception_handler(PedalError)
    async def _user_error(_: Request, error: PedalError) -> JSONResponse:
        status = 404 if isinstance(error, (UnknownEffectError, KeyError)) else 400
        return _problem(status, "not_found" if status == 404 else "bad_request", str(error))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> JSONResponse:
        log.exception("unexpected error in %s %s", request.method, request.url.path)
        return _problem(502, "internal", f"unexpected server error ({type(error).__name__}); "
                        "see the server log")


class BodyLimit:
    """Refuse request bodies over ``limit`` bytes with 413 before parsing them
    (Content-Length is checked up front; chunked bodies as they stream)."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", ()))
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            await _send_413(send, self.limit)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise _TooLargeError
            return message

        try:
            await self.app(scope, limited, send)
        except _TooLargeError:
            await _send_413(send, self.limit)


class _TooLargeError(Exception):
    pass


async def _send_413(send: Send, limit: int) -> None:
    body = (b'{"code":"bad_request","message":"request body larger than %d bytes"}' % limit)
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
CSP = ("default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; "
       "style-src 'self' 'unsafe-inline'; script-src 'self'; frame-ancestors 'none'")


def create_app(settings: Settings) -> FastAPI:
    """The FastAPI application for one pedal (one data directory)."""
    from pedalboard.server import routes, ws

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    context = ServerContext(
        settings=settings,
        link=EngineLink(settings.socket_path),
        tokens=TokenStore(settings.data_dir),
        pair_limiter=RateLimiter(settings.pair_attempts_per_minute, 60.0),
    )

    streaming = None
    if settings.stream is not None:
        from pedalboard.server.streaming import EngineStream

        streaming = EngineStream(context.link, settings.stream)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await context.link.start()
        await context.link.wait_connected(2.0)
        if streaming is not None:
            await streaming.start()
        try:
            yield
        finally:
            if streaming is not None:
                await streaming.stop()
            await ws.close_all(context)
            await context.link.stop()

    app = FastAPI(
        title="Pedal control API",
        version="1",
        description="Presets, effects and live state of the pedal. Pair first "
        "(`POST /api/v1/pair` with the code `pedal run` prints), then send the "
        "token as a cookie or `Authorization: Bearer ...`. Live changes: the "
        "WebSocket `/api/v1/ws` (protocol v1, see docs/protocol.md).",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.context = context
    _install_error_handlers(app)
    app.include_router(routes.router)
    app.include_router(ws.router)
    for extra in settings.extra_routers:
        app.include_router(extra)
    if streaming is not None:
        app.include_router(streaming.router(context.tokens))
    ws.install(context)
    _install_docs(app)

    @app.middleware("http")
    async def _headers(request: Request, call_next: Any) -> Any:
        response = await call_next(request)
        for key, value in SECURITY_HEADERS.items():
            response.headers.setdefault(key, value)
        if not request.url.path.startswith("/docs"):
            response.headers.setdefault("Content-Security-Policy", CSP)
        if request.url.path.startswith("/api/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins,
                           allow_credentials=True, allow_methods=["*"],
                           allow_headers=["Authorization", "Content-Type"])
    app.add_middleware(BodyLimit)
    webui = settings.webui_dir or default_webui_dir()
    if webui.is_dir():
        app.mount("/", StaticFiles(directory=webui, html=True), name="webui")
    return app


def _install_docs(app: FastAPI) -> None:
    """Swagger UI from the files fastapi-offline ships: the pedal has no internet."""
    import fastapi_offline

    static = Path(fastapi_offline.__file__).parent / "static"
    app.mount("/docs-static", StaticFiles(directory=static), name="docs-static")

    @app.get("/docs", include_in_schema=False)
    async def _docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="Pedal control API",
            swagger_js_url="/docs-static/swagger-ui-bundle.js",
            swagger_css_url="/docs-static/swagger-ui.css",
            swagger_favicon_url="/docs-static/favicon.png",
        )
