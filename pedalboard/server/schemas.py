"""Request and response models of the REST API, with their bounds.

Everything a client sends is checked here first: a request that breaks a
bound gets a 422 naming the field (``body.value``, ``path.slot_id``) and
never reaches the controller. Presets reuse :class:`pedalboard.presets.Preset`
(names up to 64 characters, at most 32 slots, 64 parameters per slot, 8
snapshots), so the API accepts what a preset file may hold, with one bound
more: a chain in a request may nest parallel splits at most
:data:`MAX_PARALLEL_DEPTH` deep. The preset file format itself is recursive (a split inside a branch of
a split, without end); the API spells the nesting out level by level instead,
so its OpenAPI schema is finite: a client generator, a fuzzer or a person
reading ``/docs`` sees every shape a request may take, and a request cannot
nest without bound.

Parameter *ranges* depend on the effect in the slot; the controller checks
them against the running chain (``Param.validate``) before anything reaches
the audio engine, and its error becomes a 400 naming the effect, the
parameter and the allowed range.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator

from pedalboard.presets import ID_PATTERN, MAX_SLOTS, ParallelSpec, Preset, SlotSpec

SlotId = Annotated[str, Field(pattern=ID_PATTERN, description="A slot id in the current preset")]
ParamName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$", description="A parameter name")]
LibraryId = Annotated[str, Field(pattern=ID_PATTERN, description="A preset, bank or setlist id")]
#: A parameter value: a number, true/false, or a short text (choices, netlists).
ParamValue = Annotated[
    bool | float | Annotated[str, Field(max_length=256)],
    Field(union_mode="left_to_right"),
]
MAX_BANK_PRESETS = 128
MAX_LIBRARY_PRESETS = 1000
#: The largest request body (a whole library export) in bytes.
MAX_BODY_BYTES = 4 * 1024 * 1024


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ------------------------------------------------------------------ presets
#: How deep parallel splits may nest in a preset sent to the API.
MAX_PARALLEL_DEPTH = 3


def _node_kind(value: Any) -> str:
    """A chain entry with a "parallel" key is a split, anything else a slot
    (one schema is tried, so an error names the right one)."""
    if isinstance(value, dict):
        return "parallel" if "parallel" in value else "slot"
    return "parallel" if isinstance(value, ParallelSpec) else "slot"


class InnermostParallelSplit(ParallelSpec):
    """A parallel split at the deepest level: its branches hold effects only."""

    parallel: list[list[SlotSpec]] = Field(min_length=2, max_length=2)

    @field_validator("parallel", mode="before")
    @classmethod
    def _not_deeper(cls, value: Any) -> Any:
        if isinstance(value, list) and any(
                isinstance(node, dict) and "parallel" in node
                for branch in value if isinstance(branch, list) for node in branch):
            raise ValueError(f"parallel splits nest at most {MAX_PARALLEL_DEPTH} deep")
        return value


InnerNode = Annotated[
    Annotated[SlotSpec, Tag("slot")] | Annotated[InnermostParallelSplit, Tag("parallel")],
    Discriminator(_node_kind),
]


class NestedParallelSplit(ParallelSpec):
    """A parallel split inside a branch of another split."""

    parallel: list[list[InnerNode]] = Field(min_length=2, max_length=2)


NestedNode = Annotated[
    Annotated[SlotSpec, Tag("slot")] | Annotated[NestedParallelSplit, Tag("parallel")],
    Discriminator(_node_kind),
]


class ParallelSplit(ParallelSpec):
    """Two branches side by side, blended by ``mix`` (0 = first, 1 = second);
    a branch may be empty (the dry signal)."""

    parallel: list[list[NestedNode]] = Field(min_length=2, max_length=2)


ChainNode = Annotated[
    Annotated[SlotSpec, Tag("slot")] | Annotated[ParallelSplit, Tag("parallel")],
    Discriminator(_node_kind),
]


class PresetBody(Preset):
    """A preset as the API takes it: :class:`~pedalboard.presets.Preset` (the
    preset file format) with parallel splits nested at most
    :data:`MAX_PARALLEL_DEPTH` deep."""

    model_config = ConfigDict(title="Preset")

    chain: list[ChainNode] = Field(default_factory=list, max_length=MAX_SLOTS)


class ValueBody(_Body):
    value: ParamValue = Field(description="The new value (range from the effect catalogue)")


class BypassBody(_Body):
    value: bool = Field(description="true = the effect is bypassed (off)")


class PresetSelect(_Body):
    preset: LibraryId


class BankSelect(_Body):
    bank: LibraryId


class SnapshotSelect(_Body):
    index: int = Field(ge=0, le=7)


class SnapshotSave(_Body):
    name: str = Field(min_length=1, max_length=64)


class TempoBody(_Body):
    bpm: float = Field(ge=20.0, le=300.0)


class TunerBody(_Body):
    on: bool


class PressBody(_Body):
    switch: str = Field(pattern=r"^[A-Za-z0-9_-]{1,32}$", description="Footswitch name, e.g. fs1")
    long: bool = False


class FootswitchActionBody(_Body):
    action: Annotated[str, Field(min_length=1, max_length=64)] | None = Field(
        description="toggle:SLOT, preset:next|prev|ID, bank:next|prev|ID, snapshot:1-8, tap, "
        "tuner, tempo:BPM; null: nothing")


class AddEffect(_Body):
    effect: str = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$", description="Registry name ('delay')")
    params: dict[ParamName, ParamValue] = Field(default_factory=dict, max_length=64)
    index: int | None = Field(None, ge=0, le=31)
    id: SlotId | None = None


class MoveEffect(_Body):
    index: int = Field(ge=0, le=31)


class Bank(_Body):
    id: LibraryId
    name: str = Field(min_length=1, max_length=64)
    presets: list[LibraryId] = Field(default_factory=list, max_length=MAX_BANK_PRESETS)


class Setlist(Bank):
    """A setlist is an ordered list of presets, like a bank, for one gig."""


class Library(_Body):
    presets: list[PresetBody] = Field(default_factory=list, max_length=MAX_LIBRARY_PRESETS)
    banks: list[Bank] = Field(default_factory=list, max_length=MAX_LIBRARY_PRESETS)
    setlists: list[Setlist] = Field(default_factory=list, max_length=MAX_LIBRARY_PRESETS)


class LibraryImport(_Body):
    library: Library
    replace: bool = Field(False, description="Drop the current library first")


class MidiLearn(_Body):
    slot: SlotId
    param: ParamName


class MidiMap(_Body):
    cc: int = Field(ge=0, le=127)
    channel: int | None = Field(None, ge=1, le=16)
    slot: SlotId
    param: ParamName
    min: float | None = None
    max: float | None = None


class PairRequest(_Body):
    code: str = Field(min_length=1, max_length=32)


class PairReply(BaseModel):
    token: str


class TokenInfo(BaseModel):
    id: str
    label: str
    created: float
    last_used: float
    current: bool = Field(False, description="The device that asked for the list")


class Ack(BaseModel):
    """The controller's acknowledgement: the new revision and the result."""

    revision: int | None = None
    result: dict[str, Any] = Field(default_factory=dict)


class Problem(BaseModel):
    """Every 4xx/5xx body: a machine code and one line naming what and where."""

    code: str
    message: str
