"""Presets: the schema, JSON files, factory presets, and building chains.

A preset is data::

    {"name": "Crunch", "chain": [
        {"effect": "compressor", "params": {"threshold_db": -20, "ratio": 4}},
        {"effect": "delay", "params": {"delay_seconds": 0.3, "mix": 0.3}, "bypass": true},
        {"id": "split", "parallel": [[{"effect": "chorus"}], []], "mix": 0.4}]}

Every slot gets an ``id`` unique in the preset (given, or the effect's name,
then ``delay-2``, ...) by which the CLI, the API, snapshots and MIDI mappings
address it. A parallel node has two branches (an empty one is the dry
signal) and a ``mix`` (0 = first branch, 1 = second).

Snapshots are named sets of parameter values and bypass states inside one
preset, switchable instantly without rebuilding the chain (as on a Helix).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StrictBool,
    StrictStr,
    Tag,
    ValidationError,
    model_validator,
)

from pedalboard.errors import PedalError, PresetError

ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,31}$"
MAX_SLOTS = 32
MAX_PARAMS = 64
# Smart union: JSON true stays a bool, 1 and 1.0 are numbers, "x" is text.
ParamValue = StrictBool | float | StrictStr


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=4096)


class SlotSpec(_Model):
    """One effect in a preset's chain."""

    id: str | None = Field(None, pattern=ID_PATTERN, description="Unique in the preset")
    effect: str = Field(max_length=64, description="Registry name, e.g. 'delay'")
    params: dict[str, ParamValue] = Field(default_factory=dict, max_length=MAX_PARAMS)
    bypass: bool = False
    keep_tails: bool | None = Field(
        None, description="Ring out when bypassed (default: effects with tails do)"
    )


class ParallelSpec(_Model):
    """Two branches side by side, blended by ``mix`` (0 = first, 1 = second)."""

    id: str | None = Field(None, pattern=ID_PATTERN)
    parallel: list[list[Node]] = Field(min_length=2, max_length=2)
    mix: float = Field(0.5, ge=0.0, le=1.0)
    bypass: bool = False


def _node_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "parallel" if "parallel" in value else "slot"
    return "parallel" if isinstance(value, ParallelSpec) else "slot"


# A chain entry is a parallel node if it has a "parallel" key, else an effect
# slot: one schema is tried, so errors speak of the right one.
Node = Annotated[
    Annotated[SlotSpec, Tag("slot")] | Annotated[ParallelSpec, Tag("parallel")],
    Discriminator(_node_kind),
]
ParallelSpec.model_rebuild()


class Snapshot(_Model):
    """Parameter values (``"slot_id.param": value``) and bypass states
    (``"slot_id": true``) applied together, without rebuilding the chain."""

    name: str = Field(min_length=1, max_length=64)
    params: dict[str, ParamValue] = Field(default_factory=dict, max_length=256)
    bypass: dict[str, bool] = Field(default_factory=dict, max_length=MAX_SLOTS)


class Preset(_Model):
    """A named chain with its settings."""

    name: str = Field(min_length=1, max_length=64)
    id: str | None = Field(None, pattern=ID_PATTERN, description="Lowercase id; default from the name")
    description: str = Field("", max_length=500)
    chain: list[Node] = Field(default_factory=list, max_length=MAX_SLOTS)
    tempo_bpm: float | None = Field(None, ge=20.0, le=300.0)
    spillover: bool = Field(True, description="Let delay/reverb tails ring out after switching away")
    snapshots: list[Snapshot] = Field(default_factory=list, max_length=8)

    @model_validator(mode="after")
    def _ids_and_references(self) -> Preset:
        if self.id is None:
            self.id = slugify(self.name)
        taken: set[str] = set()
        count = 0
        for node in walk(self.chain):
            count += 1
            if node.id is not None:
                if node.id in taken:
                    raise ValueError(f"slot id {node.id!r} is used twice")
                taken.add(node.id)
        if count > MAX_SLOTS:
            raise ValueError(f"{count} slots; at most {MAX_SLOTS}")
        for node in walk(self.chain):
            if node.id is None:
                base = node.effect if isinstance(node, SlotSpec) else "parallel"
                node.id = _unique(base, taken)
                taken.add(node.id)
        for snap in self.snapshots:
            for key in snap.params:
                slot_id, _, param = key.partition(".")
                if slot_id not in taken or not param:
                    raise ValueError(f"snapshot {snap.name!r}: {key!r} names no 'slot_id.param'")
            for slot_id in snap.bypass:
                if slot_id not in taken:
                    raise ValueError(f"snapshot {snap.name!r}: no slot {slot_id!r}")
        return self


def walk(nodes: list[Node]) -> Iterator[Node]:
    """Every node, depth first through parallel branches."""
    for node in nodes:
        yield node
        if isinstance(node, ParallelSpec):
            for branch in node.parallel:
                yield from walk(branch)


def slugify(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:32].strip("-")
    return slug or "preset"


def _unique(base: str, taken: set[str]) -> str:
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


# ------------------------------------------------------------------ parsing
def parse_preset(data: Any, source: str = "preset") -> Preset:
    """Validate preset data (a mapping) and check every effect and parameter
    against the registry. Raises :class:`PresetError` naming what and where."""
    try:
        preset = Preset.model_validate(data)
    except ValidationError as error:
        raise PresetError(f"{source}: {_describe(error)}") from None
    check_effects(preset, source)
    return preset


def _describe(error: ValidationError) -> str:
    first = error.errors()[0]
    loc = [str(part) for part in first["loc"]]
    message = first["msg"].removeprefix("Value error, ")
    count = error.error_count()
    if loc and loc[-1] in ("bool", "float", "str"):  # a parameter value of no allowed type
        loc = loc[:-1]
        message = "must be a number, true/false or text"
        count = sum(1 for e in error.errors() if [str(p) for p in e["loc"]][:-1] != loc) + 1
    # Drop the discriminator tags pydantic puts after list indices.
    loc = [p for i, p in enumerate(loc) if not (p in ("slot", "parallel") and i and loc[i - 1].isdigit())]
    where = ".".join(loc)
    more = f" (and {count - 1} more)" if count > 1 else ""
    return f"{where}: {message}{more}" if where else f"{message}{more}"


def check_effects(preset: Preset, source: str = "preset") -> None:
    """Every effect exists and every parameter is in range (without building DSP)."""
    from pedalboard.effects.registry import effect_class

    for node in walk(preset.chain):
        if isinstance(node, SlotSpec):
            try:
                effect_class(node.effect).check_params(node.params)
            except PedalError as error:
                raise PresetError(f"{source} {preset.name!r}, slot {node.id!r}: {error}") from None
    slots = {n.id: n for n in walk(preset.chain) if isinstance(n, SlotSpec)}
    for snap in preset.snapshots:
        for key, value in snap.params.items():
            slot_id, _, param = key.partition(".")
            node = slots.get(slot_id)
            if node is None:
                raise PresetError(
                    f"{source} {preset.name!r}, snapshot {snap.name!r}: {slot_id!r} is not an effect"
                )
            try:
                effect_class(node.effect).check_params({**node.params, param: value})
            except PedalError as error:
                raise PresetError(f"{source} {preset.name!r}, snapshot {snap.name!r}: {error}") from None


# ------------------------------------------------------------------ files
def factory_dir() -> Path:
    return Path(str(resources.files("pedalboard") / "factory_presets"))


def factory_presets() -> dict[str, Preset]:
    """The presets shipped with the pedal, by id, in their file order."""
    presets = {}
    for path in sorted(factory_dir().glob("*.json")):
        preset = read_preset_file(path)
        presets[preset.id or path.stem] = preset
    return presets


def read_preset_file(path: str | Path) -> Preset:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PresetError(f"preset file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise PresetError(f"cannot read preset file {path}: {error}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise PresetError(
            f"{path}: not valid JSON at line {error.lineno}, column {error.colno}: {error.msg}"
        ) from None
    return parse_preset(data, source=str(path))


def read_preset(name_or_path: str | Path) -> Preset:
    """A factory preset by id (``crunch``) or a preset JSON file by path."""
    text = str(name_or_path)
    if text.endswith(".json") or "/" in text or Path(text).is_file():
        return read_preset_file(text)
    presets = factory_presets()
    if text in presets:
        return presets[text]
    raise PresetError(
        f"unknown preset {text!r} (factory presets: {', '.join(presets)}; or give a .json file)"
    )


def write_preset_file(preset: Preset, path: str | Path) -> None:
    Path(path).write_text(preset.model_dump_json(indent=2, exclude_none=True) + "\n", encoding="utf-8")


# ------------------------------------------------------------------ chains
def build_chain(preset: Preset, pace: Callable[[], None] | None = None) -> Any:
    """A ready :class:`pedalboard.chain.Chain` for a preset (not yet prepared).
    ``pace()``, when given, is called before each slot is built (a builder
    running beside live audio waits there for the audio's next gap)."""
    from pedalboard.chain import Chain

    chain = Chain()
    for node in preset.chain:
        if pace is not None:
            pace()
        chain.append(_build_slot(node, preset))
    if preset.tempo_bpm:
        chain.set_tempo(preset.tempo_bpm)
    chain.preset = preset
    return chain


def _build_slot(node: Node, preset: Preset) -> Any:
    from pedalboard.chain import Chain, Parallel, Slot
    from pedalboard.effects.registry import create_effect

    if isinstance(node, SlotSpec):
        try:
            effect = create_effect(node.effect, node.params)
        except PedalError as error:
            raise PresetError(f"preset {preset.name!r}, slot {node.id!r}: {error}") from None
        return Slot(effect, node.id or node.effect, bypass=node.bypass, keep_tails=node.keep_tails)
    branches = []
    for branch in node.parallel:
        chain = Chain()
        for inner in branch:
            chain.append(_build_slot(inner, preset))
        branches.append(chain)
    return Slot(Parallel(branches[0], branches[1], mix=node.mix), node.id or "parallel", bypass=node.bypass)


def load_preset(name_or_path: str | Path) -> Any:
    """A ready chain for a factory preset id or a preset file (Spotify-style
    convenience): ``load_preset("crunch").process(audio, 48000)``."""
    return build_chain(read_preset(name_or_path))


def apply_snapshot(chain: Any, snapshot: Snapshot) -> None:
    """Set a snapshot's parameters and bypass states on a running chain."""
    for key, value in snapshot.params.items():
        slot_id, _, param = key.partition(".")
        chain.effect(slot_id).set_param(param, value)
    for slot_id, bypass in snapshot.bypass.items():
        chain.slot(slot_id).bypass = bypass


def preset_from_chain(chain: Any, name: str, **fields: Any) -> Preset:
    return parse_preset({"name": name, "chain": chain.to_list(), **fields})


def parameter_override(preset: Preset, assignments: Mapping[str, Any]) -> Preset:
    """A copy of ``preset`` with ``{"slot_id.param": value}`` applied (validated)."""
    data = preset.model_dump(exclude_none=True)
    nodes = {n["id"]: n for n in _walk_dicts(data["chain"])}
    for key, value in assignments.items():
        slot_id, _, param = key.partition(".")
        node = nodes.get(slot_id)
        if node is None or "effect" not in node or not param:
            raise PresetError(
                f"--set {key}: no effect slot {slot_id!r} in preset {preset.name!r} "
                f"(slots: {', '.join(n for n in nodes)})"
            )
        node.setdefault("params", {})[param] = value
    return parse_preset(data, source="preset")


def _walk_dicts(nodes: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for node in nodes:
        yield node
        for branch in node.get("parallel", []):
            yield from _walk_dicts(branch)
