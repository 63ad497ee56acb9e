"""Control protocol v1: the messages between clients and the pedal's controller.

One protocol serves the local Unix socket (``<data-dir>/control.sock``,
newline-delimited JSON), ``pedal ctl``, and the web server, which relays the
very same objects over its WebSocket. A client sends commands::

    {"v": 1, "id": "7", "cmd": "set_param", "args": {"slot": "drive", "param": "gain_db", "value": 6}}

(an optional ``"source": "ctl" | "api"`` says who is asking; it labels the
resulting events, "api" by default on the socket) and receives
``ack``/``error`` replies carrying the same ``id``, a ``state``
on connect, and ``event`` messages for every change made by anybody
(footswitch, MIDI, another phone). Every change increments ``revision``.

This module holds the pydantic models of every command's arguments and of
every message, :func:`parse_command` (one clear error naming the field), and
:func:`json_schema`, the published schema (``docs/protocol.schema.json``).
Users' documentation: ``docs/protocol.md``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    TypeAdapter,
    ValidationError,
    create_model,
)

from pedalboard.errors import PedalError

PROTOCOL_VERSION = 1
#: Longest accepted line (one JSON message), bytes, newline excluded.
MAX_LINE_BYTES = 256 * 1024
#: Longest client request id.
MAX_ID_CHARS = 64

ErrorCode = Literal["bad_request", "not_found", "conflict", "unauthorized", "internal"]
Source = Literal["footswitch", "midi", "ctl", "api", "engine"]
EventName = Literal[
    "preset_selected", "param_changed", "bypass_changed", "snapshot_selected", "tempo_changed",
    "chain_changed", "library_changed", "tuner_changed", "engine", "footswitches_changed",
]

SlotId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$", description="Slot id in the chain")]
EntryId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$", description="Library id")]
ParamName = Annotated[str, Field(min_length=1, max_length=64)]
ParamValue = Annotated[StrictBool | StrictFloat | StrictStr, Field(union_mode="left_to_right")]
SnapshotIndex = Annotated[StrictInt, Field(ge=0, le=7, description="0-based snapshot index")]
Bpm = Annotated[float, Field(ge=20.0, le=300.0, strict=True)]
MidiChannel = Annotated[StrictInt, Field(ge=1, le=16, description="MIDI channel 1-16")]
MidiNumber = Annotated[StrictInt, Field(ge=0, le=127)]


class ProtocolError(PedalError):
    """A message that is not a valid protocol v1 command."""

    def __init__(self, message: str, *, code: str = "bad_request", request_id: str | None = None):
        super().__init__(message)
        self.code = code
        self.request_id = request_id


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class NoArgs(_Args):
    pass


class SelectPresetArgs(_Args):
    preset: EntryId


class SelectBankArgs(_Args):
    bank: EntryId


class SetParamArgs(_Args):
    slot: SlotId
    param: ParamName
    value: ParamValue


class SetBypassArgs(_Args):
    slot: SlotId
    value: StrictBool


class SlotArgs(_Args):
    slot: SlotId


class SelectSnapshotArgs(_Args):
    index: SnapshotIndex


class SaveSnapshotArgs(_Args):
    index: SnapshotIndex
    name: Annotated[str, Field(min_length=1, max_length=64)]


class SetTempoArgs(_Args):
    bpm: Bpm


class PressArgs(_Args):
    switch: Annotated[str, Field(min_length=1, max_length=32)]
    long: StrictBool = False


SwitchName = Annotated[str, Field(min_length=1, max_length=32, description="Footswitch name")]
GestureName = Literal["press", "long", "double", "repeat"]


class SetFootswitchActionArgs(_Args):
    switch: SwitchName
    gesture: GestureName
    action: Annotated[str, Field(min_length=1, max_length=64, description=(
        "toggle:SLOT, preset:next|prev|ID, bank:next|prev|ID, snapshot:1-8, tap, tuner, "
        "tempo:BPM; null: nothing"))] | None


class TunerArgs(_Args):
    on: StrictBool


class AddEffectArgs(_Args):
    effect: Annotated[str, Field(min_length=1, max_length=64)]
    params: dict[str, ParamValue] = Field(default_factory=dict, max_length=64)
    index: Annotated[StrictInt, Field(ge=0, le=31)] | None = None
    id: SlotId | None = None


class MoveEffectArgs(_Args):
    slot: SlotId
    index: Annotated[StrictInt, Field(ge=0, le=31)]


class IdArgs(_Args):
    id: EntryId


class SavePresetArgs(_Args):
    preset: dict[str, Any] = Field(description="Preset JSON (see pedalboard.presets.Preset)")


class Bank(_Args):
    """An ordered list of presets (a setlist has the same shape)."""

    id: EntryId
    name: Annotated[str, Field(min_length=1, max_length=64)]
    presets: list[EntryId] = Field(default_factory=list, max_length=128)


class SaveBankArgs(_Args):
    bank: Bank


class SaveSetlistArgs(_Args):
    setlist: Bank


class Library(_Args):
    presets: list[dict[str, Any]] = Field(default_factory=list, max_length=1024)
    banks: list[Bank] = Field(default_factory=list, max_length=256)
    setlists: list[Bank] = Field(default_factory=list, max_length=256)


class ImportLibraryArgs(_Args):
    library: Library
    replace: StrictBool = False


class MidiLearnArgs(_Args):
    slot: SlotId
    param: ParamName


class MidiMapArgs(_Args):
    cc: MidiNumber
    channel: MidiChannel | None = None
    slot: SlotId
    param: ParamName
    min: StrictFloat | None = None
    max: StrictFloat | None = None


class MidiUnmapArgs(_Args):
    cc: MidiNumber
    channel: MidiChannel | None = None


class SubscribeArgs(_Args):
    meters: StrictBool = False
    tuner: StrictBool = False


#: Every command and the model of its ``args``.
COMMANDS: dict[str, type[_Args]] = {
    "get_state": NoArgs, "ping": NoArgs, "status": NoArgs, "get_pair_code": NoArgs,
    "select_preset": SelectPresetArgs, "next_preset": NoArgs, "prev_preset": NoArgs,
    "select_bank": SelectBankArgs, "bank_up": NoArgs, "bank_down": NoArgs,
    "set_param": SetParamArgs, "set_bypass": SetBypassArgs, "toggle": SlotArgs,
    "select_snapshot": SelectSnapshotArgs, "save_snapshot": SaveSnapshotArgs,
    "set_tempo": SetTempoArgs, "tap": NoArgs, "press": PressArgs, "tuner": TunerArgs,
    "save_current": NoArgs, "revert": NoArgs,
    "add_effect": AddEffectArgs, "remove_effect": SlotArgs, "move_effect": MoveEffectArgs,
    "list_presets": NoArgs, "get_preset": IdArgs, "save_preset": SavePresetArgs,
    "delete_preset": IdArgs, "list_banks": NoArgs, "save_bank": SaveBankArgs,
    "delete_bank": IdArgs, "list_setlists": NoArgs, "save_setlist": SaveSetlistArgs,
    "delete_setlist": IdArgs, "export_library": NoArgs, "import_library": ImportLibraryArgs,
    "midi_learn": MidiLearnArgs, "midi_map": MidiMapArgs, "midi_unmap": MidiUnmapArgs,
    "list_midi_maps": NoArgs, "subscribe": SubscribeArgs,
    "list_footswitches": NoArgs, "set_footswitch_action": SetFootswitchActionArgs,
}


class Command(BaseModel):
    """A parsed, validated command: ``args`` is the command's own model."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    v: Literal[1] = 1
    id: str | None = None
    cmd: str
    args: _Args
    source: Literal["ctl", "api"] | None = None


class _Envelope(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    v: Literal[1]
    id: Annotated[str, Field(max_length=MAX_ID_CHARS)] | None = None
    cmd: Annotated[str, Field(max_length=64)]
    args: dict[str, Any] = Field(default_factory=dict)
    source: Literal["ctl", "api"] | None = None


def parse_command(obj: Any) -> Command:
    """Validate a decoded JSON object as a command.

    Raises :class:`ProtocolError` (code ``bad_request``) whose message names
    the offending field, e.g. ``args.value: Input should be a valid number``."""
    if not isinstance(obj, dict):
        raise ProtocolError(f"message: expected a JSON object, got {type(obj).__name__}")
    request_id = obj.get("id") if isinstance(obj.get("id"), str) else None
    if request_id is not None and len(request_id) > MAX_ID_CHARS:
        request_id = None
    try:
        envelope = _Envelope.model_validate(obj)
    except ValidationError as error:
        raise ProtocolError(describe_validation(error), request_id=request_id) from None
    model = COMMANDS.get(envelope.cmd)
    if model is None:
        raise ProtocolError(
            f"cmd: unknown command {envelope.cmd!r} (known: {', '.join(sorted(COMMANDS))})",
            request_id=request_id,
        )
    try:
        args = model.model_validate(envelope.args)
    except ValidationError as error:
        raise ProtocolError(
            f"{envelope.cmd}: {describe_validation(error, prefix='args')}", request_id=request_id
        ) from None
    return Command(v=1, id=envelope.id, cmd=envelope.cmd, args=args, source=envelope.source)


def describe_validation(error: ValidationError, prefix: str = "") -> str:
    """One line from a pydantic error: ``where: what (and N more)``."""
    errors = error.errors()
    first = errors[0]
    members = ("bool", "float", "str", "int")
    # A union's member name (bool/float/str) is noise for the user.
    loc = [str(p) for p in first["loc"] if str(p) not in members]
    where = ".".join([prefix, *loc] if prefix else loc)
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        message = "unknown field"
    elif first["type"] == "missing":
        message = "required field is missing"
    elif any(str(p) in members for p in first["loc"]):
        message = "must be a number, true/false or text"
    count = len({tuple(str(p) for p in e["loc"] if str(p) not in members) for e in errors})
    more = f" (and {count - 1} more)" if count > 1 else ""
    return f"{where}: {message}{more}" if where else f"{message}{more}"


def command(cmd: str, args: dict[str, Any] | None = None, request_id: str | None = None,
            source: str | None = None) -> dict:
    """A command message ready to send (what clients write)."""
    message = {"v": PROTOCOL_VERSION, "id": request_id, "cmd": cmd, "args": args or {}}
    if source is not None:
        message["source"] = source
    return message


# ------------------------------------------------------------------ replies
class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid")
    v: Literal[1] = 1


class Ack(_Message):
    type: Literal["ack"] = "ack"
    id: str | None
    revision: int
    result: dict[str, Any]


class ErrorReply(_Message):
    type: Literal["error"] = "error"
    id: str | None
    code: ErrorCode
    message: str


class PresetRef(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    name: str


class State(BaseModel):
    """The whole live state, as sent on connect and in reply to ``get_state``."""

    model_config = ConfigDict(extra="forbid")

    revision: int
    preset: str | None
    preset_name: str | None
    bank: str | None
    chain: list[dict[str, Any]] = Field(description="Slots as in the preset JSON, current values")
    snapshot: int | None
    snapshots: list[str]
    tempo_bpm: float
    tuner: bool
    dirty: bool
    sample_rate: int
    block_size: int
    latency_samples: int
    presets: list[PresetRef]


class StateReply(_Message):
    type: Literal["state"] = "state"
    id: str | None = Field(None, description="The request id when this answers get_state")
    revision: int
    state: State


class Event(_Message):
    type: Literal["event"] = "event"
    event: EventName
    revision: int
    source: Source
    data: dict[str, Any]


class MetersData(BaseModel):
    model_config = ConfigDict(extra="forbid")
    input_peak_db: float
    output_peak_db: float
    dsp_load_p50: float
    dsp_load_p99: float
    xruns: int


class Meters(_Message):
    type: Literal["meters"] = "meters"
    data: MetersData


class TunerData(BaseModel):
    model_config = ConfigDict(extra="forbid")
    frequency_hz: float
    note: str
    cents: float


class TunerReply(_Message):
    type: Literal["tuner"] = "tuner"
    data: TunerData | None


ServerMessage = Annotated[
    Ack | ErrorReply | StateReply | Event | Meters | TunerReply, Field(discriminator="type")
]


def ack(request_id: str | None, revision: int, result: dict[str, Any] | None = None) -> dict:
    return {"v": 1, "type": "ack", "id": request_id, "revision": revision, "result": result or {}}


def error_reply(request_id: str | None, code: str, message: str) -> dict:
    return {"v": 1, "type": "error", "id": request_id, "code": code, "message": message}


def event(name: str, revision: int, source: str, data: dict[str, Any]) -> dict:
    return {"v": 1, "type": "event", "event": name, "revision": revision, "source": source,
            "data": data}


# ------------------------------------------------------------------ schema
def _command_models() -> list[type[BaseModel]]:
    models = []
    for name, args_model in COMMANDS.items():
        has_required = any(f.is_required() for f in args_model.model_fields.values())
        model = create_model(
            f"cmd_{name}",
            __config__=ConfigDict(extra="forbid"),
            v=(Literal[1], ...),
            id=(Annotated[str, Field(max_length=MAX_ID_CHARS)] | None, None),
            cmd=(Literal[name], ...),  # type: ignore[valid-type]
            args=(args_model, ...) if has_required else (args_model, None),
            source=(Literal["ctl", "api"] | None, None),
        )
        models.append(model)
    return models


def json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of every protocol v1 message.

    ``$defs.Command`` matches what clients send, ``$defs.ServerMessage`` what
    the controller sends; the root accepts either."""
    commands = _command_models()
    union = Annotated[
        Annotated[Any, None] if not commands else _union(commands), Field(discriminator="cmd")
    ]
    command_schema = TypeAdapter(union).json_schema(ref_template="#/$defs/{model}")
    server_schema = TypeAdapter(ServerMessage).json_schema(ref_template="#/$defs/{model}")
    defs: dict[str, Any] = {}
    defs.update(command_schema.pop("$defs", {}))
    defs.update(server_schema.pop("$defs", {}))
    defs["Command"] = command_schema
    defs["ServerMessage"] = server_schema
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://netpedal.invalid/protocol/v1.schema.json",
        "title": "netpedal control protocol v1",
        "description": "Newline-delimited JSON messages over <data-dir>/control.sock and /api/v1/ws",
        "oneOf": [{"$ref": "#/$defs/Command"}, {"$ref": "#/$defs/ServerMessage"}],
        "$defs": defs,
    }


def _union(models: list[type[BaseModel]]) -> Any:
    union: Any = models[0]
    for model in models[1:]:
        union = union | model
    return union


def write_schema(path: str = "docs/protocol.schema.json") -> None:
    """Write the published schema (``python -m pedalboard.protocol [PATH]``)."""
    import json
    from pathlib import Path

    Path(path).write_text(json.dumps(json_schema(), indent=2, sort_keys=True) + "\n", encoding="utf-8")


if __name__ == "__main__":
    import sys

    write_schema(*sys.argv[1:2])
