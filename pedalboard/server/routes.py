"""REST routes under ``/api/v1``: each is one protocol-v1 command.

The REST API is for scripts and for what a WebSocket is awkward at (import,
export, the catalogue); the web UI changes live state over the WebSocket.
Every route here but ``POST /pair`` needs a token. A successful change
answers ``{"revision": N, "result": {...}}`` with the controller's new
revision; a refusal is ``{"code", "message"}`` with 400/404/409, an
unreachable engine 503.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from pedalboard.errors import PedalError
from pedalboard.presets import Preset, check_effects
from pedalboard.server.app import ControllerError, ServerContext
from pedalboard.server.auth import COOKIE_NAME, TokenRecord, UnauthorizedError, codes_match
from pedalboard.server.schemas import (
    Ack,
    AddEffect,
    Bank,
    BankSelect,
    BypassBody,
    FootswitchActionBody,
    LibraryImport,
    MidiLearn,
    MidiMap,
    MoveEffect,
    PairReply,
    PairRequest,
    PresetBody,
    PresetSelect,
    PressBody,
    Problem,
    Setlist,
    SnapshotSave,
    SnapshotSelect,
    TempoBody,
    TokenInfo,
    TunerBody,
    ValueBody,
)

COOKIE_MAX_AGE_S = 10 * 365 * 24 * 3600
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": Problem}, 401: {"model": Problem}, 404: {"model": Problem},
    409: {"model": Problem}, 422: {"model": Problem}, 503: {"model": Problem},
}


def context_of(request: Request) -> ServerContext:
    return request.app.state.context


def token_from(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip()
    return request.cookies.get(COOKIE_NAME)


async def require_token(request: Request) -> TokenRecord:
    record = context_of(request).tokens.check(token_from(request))
    if record is None:
        raise UnauthorizedError
    return record


Ctx = Annotated[ServerContext, Depends(context_of)]
Slot = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$", description="Slot id")]
Param = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]{0,63}$", description="Parameter name")]
Id = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$", description="Library id")]
Switch = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,32}$", description="Footswitch name, e.g. fs1")]
GestureName = Annotated[Literal["press", "long", "double", "repeat"], Path(description="Gesture")]

public = APIRouter(prefix="/api/v1", responses=ERRORS)
api = APIRouter(prefix="/api/v1", dependencies=[Depends(require_token)], responses=ERRORS)
router = APIRouter()


# ------------------------------------------------------------------ pairing
@public.post("/pair", response_model=PairReply, tags=["auth"],
             responses={429: {"model": Problem}})
async def pair(body: PairRequest, request: Request, response: Response, ctx: Ctx) -> Any:
    """Trade the pairing code for a token (also set as an HttpOnly cookie)."""
    client = request.client.host if request.client else "unknown"
    if ctx.pair_limiter.blocked(client):
        wait_s = ctx.pair_limiter.retry_after_s(client)
        return JSONResponse({"code": "rate_limited",
                             "message": f"too many wrong pairing codes; try again in {wait_s} s"},
                            status_code=429, headers={"Retry-After": str(wait_s)})
    expected = (await ctx.call("get_pair_code"))["result"].get("code", "")
    if not expected or not codes_match(body.code, str(expected)):
        ctx.pair_limiter.record(client)
        return JSONResponse({"code": "unauthorized", "message": "body.code: wrong pairing code "
                             "(see `pedal ctl pair-code` or the pedal's start-up output)"},
                            status_code=401)
    token = ctx.tokens.issue(label=request.headers.get("user-agent", "unknown device"))
    response.set_cookie(COOKIE_NAME, token, max_age=COOKIE_MAX_AGE_S, path="/", httponly=True,
                        samesite="strict", secure=request.url.scheme == "https")
    return {"token": token}


@api.post("/logout", status_code=204, tags=["auth"])
async def logout(request: Request, ctx: Ctx) -> Response:
    """Forget this device's token."""
    from pedalboard.server import ws

    record = ctx.tokens.check(token_from(request))
    if record is not None:
        ctx.tokens.revoke(record.id)
        await ws.kick(ctx, record.id)
    response = Response(status_code=204)
    response.delete_cookie(COOKIE_NAME, path="/")
    return response


@api.get("/tokens", response_model=list[TokenInfo], tags=["auth"])
async def list_tokens(request: Request, ctx: Ctx) -> Any:
    """Paired devices (ids and labels; tokens themselves are kept hashed).
    ``current`` marks the device asking."""
    me = ctx.tokens.check(token_from(request))
    return [{**record.public(), "current": me is not None and record.id == me.id}
            for record in ctx.tokens.list()]


@api.delete("/tokens/{token_id}", status_code=204, tags=["auth"])
async def revoke_token(ctx: Ctx, token_id: Annotated[str, Path(max_length=64)]) -> Response:
    """Revoke one device; its open WebSockets are closed."""
    from pedalboard.server import ws

    if not ctx.tokens.revoke(token_id):
        raise ControllerError("not_found", f"path.token_id: no paired device {token_id!r}")
    await ws.kick(ctx, token_id)
    return Response(status_code=204)


@api.delete("/tokens", status_code=204, tags=["auth"])
async def revoke_others(request: Request, ctx: Ctx) -> Response:
    """Revoke every device but the one asking."""
    from pedalboard.server import ws

    me = ctx.tokens.check(token_from(request))
    for record in ctx.tokens.list():
        if me is None or record.id != me.id:
            ctx.tokens.revoke(record.id)
            await ws.kick(ctx, record.id)
    return Response(status_code=204)


@api.get("/pair-code", tags=["auth"])
async def pair_code(ctx: Ctx) -> Any:
    """The current pairing code, so a paired phone can pair another one."""
    return (await ctx.call("get_pair_code"))["result"]


@public.get("/session", tags=["auth"])
async def session(request: Request, ctx: Ctx) -> Any:
    """Whether this browser is paired (never an error, so a page can ask
    before it shows the pairing screen)."""
    return {"paired": ctx.tokens.check(token_from(request)) is not None,
            "engine": ctx.link.connected}


# ------------------------------------------------------------------ state
@api.get("/state", tags=["state"])
async def get_state(ctx: Ctx) -> Any:
    """The live state (preset, chain with current values, snapshot, tempo...)."""
    return await ctx.link.get_state()


@api.get("/status", tags=["state"])
async def status(ctx: Ctx) -> Any:
    """Engine health: sample rate, block size, xruns, DSP load, peaks."""
    return (await ctx.call("status"))["result"]


@api.get("/meters", tags=["state"])
async def meters(ctx: Ctx) -> Any:
    """Input/output peaks and DSP load (the latest reading)."""
    if ctx.link.last_meters is not None:
        return ctx.link.last_meters
    result = (await ctx.call("status"))["result"]
    keys = ("input_peak_db", "output_peak_db", "dsp_load_p50", "dsp_load_p99", "xruns")
    return {key: result.get(key) for key in keys}


@api.get("/tuner", tags=["state"])
async def tuner(ctx: Ctx) -> Any:
    """Whether the tuner is on, and its latest reading (null when silent)."""
    state = await ctx.link.get_state()
    return {"on": bool(state.get("tuner")), "reading": ctx.link.last_tuner}


@api.put("/tuner", response_model=Ack, tags=["state"])
async def set_tuner(body: TunerBody, ctx: Ctx) -> Any:
    return await ctx.call("tuner", {"on": body.on})


@api.put("/state/preset", response_model=Ack, tags=["state"])
async def select_preset(body: PresetSelect, ctx: Ctx) -> Any:
    return await ctx.call("select_preset", {"preset": body.preset})


@api.post("/state/preset/next", response_model=Ack, tags=["state"])
async def next_preset(ctx: Ctx) -> Any:
    return await ctx.call("next_preset")


@api.post("/state/preset/prev", response_model=Ack, tags=["state"])
async def prev_preset(ctx: Ctx) -> Any:
    return await ctx.call("prev_preset")


@api.put("/state/bank", response_model=Ack, tags=["state"])
async def select_bank(body: BankSelect, ctx: Ctx) -> Any:
    return await ctx.call("select_bank", {"bank": body.bank})


@api.post("/state/bank/up", response_model=Ack, tags=["state"])
async def bank_up(ctx: Ctx) -> Any:
    return await ctx.call("bank_up")


@api.post("/state/bank/down", response_model=Ack, tags=["state"])
async def bank_down(ctx: Ctx) -> Any:
    return await ctx.call("bank_down")


@api.put("/state/effects/{slot_id}/params/{param}", response_model=Ack, tags=["effects"])
async def set_param(slot_id: Slot, param: Param, body: ValueBody, ctx: Ctx) -> Any:
    """Set one parameter of the live chain (range: see ``GET /effects``)."""
    return await ctx.call("set_param", {"slot": slot_id, "param": param, "value": body.value})


@api.put("/state/effects/{slot_id}/bypass", response_model=Ack, tags=["effects"])
async def set_bypass(slot_id: Slot, body: BypassBody, ctx: Ctx) -> Any:
    return await ctx.call("set_bypass", {"slot": slot_id, "value": body.value})


@api.post("/state/effects/{slot_id}/toggle", response_model=Ack, tags=["effects"])
async def toggle(slot_id: Slot, ctx: Ctx) -> Any:
    return await ctx.call("toggle", {"slot": slot_id})


@api.post("/state/effects", response_model=Ack, tags=["effects"])
async def add_effect(body: AddEffect, ctx: Ctx) -> Any:
    """Add an effect to the live chain (at ``index``, default the end)."""
    await asyncio.to_thread(_check_effect, body.effect, body.params)
    args = body.model_dump(exclude_none=True)
    return await ctx.call("add_effect", args)


def _check_effect(effect: str, params: dict[str, Any]) -> None:
    from pedalboard.effects.registry import effect_class

    effect_class(effect).check_params(params)


@api.delete("/state/effects/{slot_id}", response_model=Ack, tags=["effects"])
async def remove_effect(slot_id: Slot, ctx: Ctx) -> Any:
    return await ctx.call("remove_effect", {"slot": slot_id})


@api.put("/state/effects/{slot_id}/index", response_model=Ack, tags=["effects"])
async def move_effect(slot_id: Slot, body: MoveEffect, ctx: Ctx) -> Any:
    """Move an effect to another position in the chain (drag to reorder)."""
    return await ctx.call("move_effect", {"slot": slot_id, "index": body.index})


@api.put("/state/snapshot", response_model=Ack, tags=["snapshots"])
async def select_snapshot(body: SnapshotSelect, ctx: Ctx) -> Any:
    return await ctx.call("select_snapshot", {"index": body.index})


@api.put("/state/snapshots/{index}", response_model=Ack, tags=["snapshots"])
async def save_snapshot(index: Annotated[int, Path(ge=0, le=7)], body: SnapshotSave,
                        ctx: Ctx) -> Any:
    """Store the live values as snapshot ``index`` with a name."""
    return await ctx.call("save_snapshot", {"index": index, "name": body.name})


@api.put("/state/tempo", response_model=Ack, tags=["state"])
async def set_tempo(body: TempoBody, ctx: Ctx) -> Any:
    return await ctx.call("set_tempo", {"bpm": body.bpm})


@api.post("/state/tap", response_model=Ack, tags=["state"])
async def tap(ctx: Ctx) -> Any:
    return await ctx.call("tap")


@api.post("/state/press", response_model=Ack, tags=["state"])
async def press(body: PressBody, ctx: Ctx) -> Any:
    """Run a footswitch's mapped action, as if it were stepped on."""
    return await ctx.call("press", {"switch": body.switch, "long": body.long})


@api.post("/state/save", response_model=Ack, tags=["state"])
async def save_current(ctx: Ctx) -> Any:
    """Write the live edits into the stored preset."""
    return await ctx.call("save_current")


@api.post("/state/revert", response_model=Ack, tags=["state"])
async def revert(ctx: Ctx) -> Any:
    """Drop the live edits."""
    return await ctx.call("revert")


# ------------------------------------------------------------------ library
@api.get("/presets", tags=["library"])
async def list_presets(ctx: Ctx) -> Any:
    return (await ctx.call("list_presets"))["result"]


@api.get("/presets/{preset_id}", tags=["library"])
async def get_preset(preset_id: Id, ctx: Ctx) -> Any:
    """One preset as JSON: its export format, importable with ``POST /presets``."""
    result = (await ctx.call("get_preset", {"id": preset_id}))["result"]
    return result.get("preset", result)


async def _save_preset(preset: Preset, ctx: ServerContext) -> Any:
    try:
        await asyncio.to_thread(check_effects, preset, "body")
    except PedalError as error:
        raise ControllerError("bad_request", str(error)) from None
    return await ctx.call("save_preset", {"preset": preset.model_dump(exclude_none=True)})


@api.post("/presets", response_model=Ack, tags=["library"])
async def create_preset(preset: PresetBody, ctx: Ctx) -> Any:
    """Create (or replace) a preset; its id defaults from the name. Also the
    import of one exported preset."""
    return await _save_preset(preset, ctx)


@api.put("/presets/{preset_id}", response_model=Ack, tags=["library"])
async def replace_preset(preset_id: Id, preset: PresetBody, ctx: Ctx) -> Any:
    preset.id = preset_id
    return await _save_preset(preset, ctx)


@api.delete("/presets/{preset_id}", response_model=Ack, tags=["library"])
async def delete_preset(preset_id: Id, ctx: Ctx) -> Any:
    return await ctx.call("delete_preset", {"id": preset_id})


@api.get("/banks", tags=["library"])
async def list_banks(ctx: Ctx) -> Any:
    return (await ctx.call("list_banks"))["result"]


@api.put("/banks/{bank_id}", response_model=Ack, tags=["library"])
async def save_bank(bank_id: Id, bank: Bank, ctx: Ctx) -> Any:
    bank.id = bank_id
    return await ctx.call("save_bank", {"bank": bank.model_dump()})


@api.delete("/banks/{bank_id}", response_model=Ack, tags=["library"])
async def delete_bank(bank_id: Id, ctx: Ctx) -> Any:
    return await ctx.call("delete_bank", {"id": bank_id})


@api.get("/setlists", tags=["library"])
async def list_setlists(ctx: Ctx) -> Any:
    return (await ctx.call("list_setlists"))["result"]


@api.put("/setlists/{setlist_id}", response_model=Ack, tags=["library"])
async def save_setlist(setlist_id: Id, setlist: Setlist, ctx: Ctx) -> Any:
    setlist.id = setlist_id
    return await ctx.call("save_setlist", {"setlist": setlist.model_dump()})


@api.delete("/setlists/{setlist_id}", response_model=Ack, tags=["library"])
async def delete_setlist(setlist_id: Id, ctx: Ctx) -> Any:
    return await ctx.call("delete_setlist", {"id": setlist_id})


@api.get("/library", tags=["library"])
async def export_library(ctx: Ctx) -> Any:
    """The whole library (presets, banks, setlists) as one JSON document."""
    return (await ctx.call("export_library"))["result"]


@api.post("/library", response_model=Ack, tags=["library"])
async def import_library(body: LibraryImport, ctx: Ctx) -> Any:
    """Import a library export; ``replace`` drops the current library first."""
    for preset in body.library.presets:
        try:
            await asyncio.to_thread(check_effects, preset, "body.library.presets")
        except PedalError as error:
            raise ControllerError("bad_request", str(error)) from None
    return await ctx.call("import_library", {"library": body.library.model_dump(exclude_none=True),
                                             "replace": body.replace})


# ------------------------------------------------------------------ MIDI
@api.get("/midi/maps", tags=["midi"])
async def list_midi_maps(ctx: Ctx) -> Any:
    return (await ctx.call("list_midi_maps"))["result"]


@api.post("/midi/learn", response_model=Ack, tags=["midi"])
async def midi_learn(body: MidiLearn, ctx: Ctx) -> Any:
    """The next incoming CC binds to this parameter."""
    return await ctx.call("midi_learn", {"slot": body.slot, "param": body.param})


@api.post("/midi/maps", response_model=Ack, tags=["midi"])
async def midi_map(body: MidiMap, ctx: Ctx) -> Any:
    return await ctx.call("midi_map", body.model_dump(exclude_none=True))


@api.delete("/midi/maps/{cc}", response_model=Ack, tags=["midi"])
async def midi_unmap(cc: Annotated[int, Path(ge=0, le=127)], ctx: Ctx,
                     channel: Annotated[int | None, Query(ge=1, le=16)] = None) -> Any:
    args: dict[str, Any] = {"cc": cc}
    if channel is not None:
        args["channel"] = channel
    return await ctx.call("midi_unmap", args)


# ------------------------------------------------------------------ footswitches
@api.get("/footswitches", tags=["footswitches"])
async def footswitches(ctx: Ctx) -> Any:
    """Every footswitch: its action per gesture (``press``, ``long``, ``double``,
    ``repeat``; null: nothing), its wiring (``line``, ``led_line``, ``key``)
    and pedal.toml's own mapping (``config``). The controller's live mapping."""
    return (await ctx.call("list_footswitches"))["result"]


@api.put("/footswitches/{switch}/{gesture}", response_model=Ack, tags=["footswitches"])
async def set_footswitch_action(switch: Switch, gesture: GestureName, body: FootswitchActionBody,
                                ctx: Ctx) -> Any:
    """Map an action to a footswitch gesture (``{"action": null}``: nothing).
    Kept across restarts; pedal.toml's ``[actions]`` is the starting point."""
    return await ctx.call("set_footswitch_action",
                          {"switch": switch, "gesture": gesture, "action": body.action})


# ------------------------------------------------------------------ catalogue
@api.get("/effects", tags=["catalogue"])
async def effects(ctx: Ctx) -> Any:
    """Every registered effect with its parameters (ranges, units, tapers)."""
    if "effects" not in ctx.catalogue_cache:
        ctx.catalogue_cache["effects"] = await asyncio.to_thread(build_effect_catalogue)
    return ctx.catalogue_cache["effects"]


@api.get("/circuits", tags=["catalogue"])
async def circuits(ctx: Ctx) -> Any:
    """The circuit library: each netlist and the controls its directives declare
    (they are ordinary parameters of the ``circuit`` effect)."""
    if "circuits" not in ctx.catalogue_cache:
        ctx.catalogue_cache["circuits"] = await asyncio.to_thread(build_circuit_catalogue)
    return ctx.catalogue_cache["circuits"]


def build_effect_catalogue() -> list[dict[str, Any]]:
    from pedalboard.effects.registry import effect_class, effect_names

    catalogue = []
    for name in effect_names():
        cls = effect_class(name)
        try:
            catalogue.append(cls().describe())
        except Exception:  # effects whose params need construction args (circuit)
            catalogue.append({"effect": name, "label": cls.label or name.replace("_", " ").title(),
                              "category": cls.category,
                              "params": [p.to_dict() for p in cls.PARAMS]})
    return catalogue


def build_circuit_catalogue() -> list[dict[str, Any]]:
    try:
        from pedalboard.circuit.library import list_netlists, resolve_netlist
    except ImportError:
        return []
    from pedalboard.effects.registry import create_effect

    catalogue: list[dict[str, Any]] = []
    for name in list_netlists():
        try:
            described = create_effect("circuit", {"netlist": name}).describe()
            label, description = _netlist_title(resolve_netlist(name), name)
            catalogue.append({"netlist": name, "label": label, "description": description,
                              "params": described["params"]})
        except Exception as error:  # one broken netlist must not hide the others
            catalogue.append({"netlist": name, "label": name, "params": [],
                              "error": str(error).splitlines()[0] if str(error) else repr(error)})
    return catalogue


def _netlist_title(path: Any, name: str) -> tuple[str, str]:
    """A SPICE netlist's first line is its title: "Ibanez TS808 Tube Screamer:
    buffer, clipping stage, ..." gives the label and the description."""
    try:
        with open(path, encoding="utf-8") as handle:
            title = handle.readline().strip()
    except OSError:
        title = ""
    label, _, description = title.partition(":")
    return (label.strip()[:64] or name.replace("_", " ").title()), description.strip()


router.include_router(public)
router.include_router(api)
