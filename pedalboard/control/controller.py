"""The controller: the single owner of the pedal's live state.

Footswitches, MIDI, ``pedal ctl`` and every phone (through the web server)
change the pedal only through :meth:`Controller.handle`, which

1. validates the command completely (protocol types, then slot, parameter,
   range, preset, bank) *before* anything changes, so a bad command leaves
   state, revision and sound untouched;
2. applies it to the live state and increments ``revision``;
3. tells the engine (its methods only queue a message for the audio thread,
   so nothing here can block the audio);
4. queues the change for the store and, for clients that get a reply, waits
   until it is committed (an ack means the change survives a power cut);
5. broadcasts an event to every listener (socket clients, LEDs, MIDI out).

A lock serialises commands from all threads; it is never taken by the audio
thread. Live edits (``dirty``) are changes to the current preset not yet
saved into the library; they survive a restart like everything else.
"""

from __future__ import annotations

import copy
import logging
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any

from pedalboard.control.footswitch_map import STORE_KEY as FOOTSWITCH_KEY
from pedalboard.control.footswitch_map import FootswitchMap
from pedalboard.control.library import Library
from pedalboard.control.prefetch import ChainCache
from pedalboard.control.store import Store
from pedalboard.device.gestures import TapTempo
from pedalboard.errors import PedalError
from pedalboard.presets import ParallelSpec, Preset, SlotSpec, Snapshot, build_chain, walk
from pedalboard.protocol import (
    COMMANDS,
    Command,
    ProtocolError,
    ack,
    error_reply,
    event,
    parse_command,
)

log = logging.getLogger(__name__)
Listener = Callable[[dict[str, Any]], None]
#: Sources whose commands get a reply: those wait until the change is committed.
REPLYING_SOURCES = ("ctl", "api")
DEFAULT_TEMPO_BPM = 120.0
#: How long a change waits for the audio to apply it before the bookkeeping
#: (a block is 1.3-21 ms; a stalled audio server must not stall the controller).
CATCH_UP_S = 0.025


class CommandError(PedalError):
    """A command that is well-formed but cannot be applied (unknown slot, ...)."""

    def __init__(self, message: str, code: str = "bad_request") -> None:
        super().__init__(message)
        self.code = code


def not_found(message: str) -> CommandError:
    return CommandError(message, "not_found")


class Controller:
    """See the module docstring. ``engine`` follows the ``Engine`` interface.

    ``actions`` is pedal.toml's mapping (switch -> gesture -> action) and
    ``hardware`` what each switch is wired to (``DeviceConfig.hardware_map``);
    the live mapping adds the overrides kept in the store."""

    def __init__(self, store: Store, engine: Any, *, actions: dict[str, dict[str, str]] | None = None,
                 hardware: dict[str, dict[str, Any]] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.store = store
        self.engine = engine
        self.footswitches = FootswitchMap(actions or {}, hardware)
        self.clock = clock
        self.pair_code = f"{secrets.randbelow(10**6):06d}"
        self.library = Library(store)
        self.lock = threading.RLock()
        self._listeners: list[Listener] = []
        self._tap = TapTempo(clock=clock)
        self._started = clock()
        self._ticket = 0
        self.revision = 0
        self.preset_id = ""
        self.bank: str | None = None
        self.live: Preset = Preset(name="empty")
        self.dirty = False
        self.snapshot: int | None = None
        self.tempo_bpm = DEFAULT_TEMPO_BPM
        self.tuner_on = False
        self.chain: Any = None  # the chain handed to the engine: read its specs, never mutate it
        self.midi_learn: tuple[str, str] | None = None
        # Chains of the presets reachable next, built ahead (engines that can
        # prepare a chain off the audio thread only).
        self.prefetch = ChainCache(self._build_ahead) if hasattr(engine, "prepare_chain") else None
        self._prefetched_for: tuple[str, tuple[str, ...]] | None = None
        from pedalboard.control.commands import Commands

        self._commands = Commands(self)

    # ------------------------------------------------------------ start-up
    def start(self, preset: str | None = None) -> None:
        """Load library and live state from the store and give the engine its chain."""
        with self.lock:
            self.library.load()
            self.footswitches.load(self.store.get(FOOTSWITCH_KEY))
            live = self.store.get("live") or {}
            self.revision = int(live.get("revision", 0))
            self.tempo_bpm = float(live.get("tempo_bpm", DEFAULT_TEMPO_BPM))
            self.bank = live.get("bank") if self.library.has_list(live.get("bank")) else None
            restored = None
            if preset is None and live.get("preset") in self.library.presets and live.get("data"):
                try:
                    restored = Preset.model_validate(live["data"])
                except ValueError:
                    log.warning("stored live edits do not validate; loading the stored preset")
            if restored is not None:
                self.preset_id = live["preset"]
                self.live = restored
                self.dirty = bool(live.get("dirty"))
                self.snapshot = live.get("snapshot")
            else:
                wanted = preset if preset is not None else live.get("preset")
                if wanted not in self.library.presets:
                    if preset is not None:
                        raise not_found(self._unknown_preset(preset))
                    wanted = next(iter(self.library.presets))
                self.preset_id = wanted
                self.live = self.library.presets[wanted].model_copy(deep=True)
                self.dirty = False
                self.snapshot = None
            self._load_chain(spillover=False)
            self.engine.set_tempo(self.tempo_bpm)
            self._persist_live()
            self._prefetch_neighbours()

    @property
    def actions(self) -> dict[str, dict[str, str]]:
        """The live footswitch mapping: switch -> gesture -> action."""
        return self.footswitches.actions

    # ------------------------------------------------------------ listeners
    def add_listener(self, listener: Listener) -> None:
        """``listener(message)`` for every event (and meters/tuner messages);
        it runs under the controller's lock, so it must only queue."""
        with self.lock:
            self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        with self.lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def broadcast(self, message: dict[str, Any]) -> None:
        for listener in list(self._listeners):
            try:
                listener(message)
            except Exception:  # a broken listener must not break the pedal
                log.exception("event listener failed")

    def emit(self, name: str, data: dict[str, Any], source: str) -> None:
        self.broadcast(event(name, self.revision, source, data))

    def engine_event(self, name: str, data: dict[str, Any]) -> None:
        """The engine's ``on_event``: audio lost or restored (from its housekeeping thread)."""
        message = str(data.get("message", "")) if isinstance(data, dict) else ""
        with self.lock:
            self.emit("engine", {"status": name, "message": message}, "engine")

    # ------------------------------------------------------------ commands
    def handle(self, command: Command | dict[str, Any], source: str = "api") -> dict[str, Any]:
        """Apply one command from any thread; returns the reply message."""
        request_id = getattr(command, "id", None)
        if isinstance(command, dict):
            request_id = command.get("id") if isinstance(command.get("id"), str) else None
        try:
            if not isinstance(command, Command):
                command = parse_command(command)
            with self.lock:
                before = self._ticket
                result = self._commands.run(command, source)
                ticket = self._ticket
                revision = self.revision
        except ProtocolError as error:
            return error_reply(error.request_id, error.code, str(error))
        except CommandError as error:
            return error_reply(request_id, error.code, str(error))
        except PedalError as error:
            return error_reply(request_id, "bad_request", str(error))
        except Exception as error:
            log.exception("command %r failed", getattr(command, "cmd", command))
            return error_reply(request_id, "internal", f"internal error: {type(error).__name__}: {error}")
        if ticket != before and source in REPLYING_SOURCES and not self.store.wait(ticket):
            return error_reply(request_id, "internal",
                               f"the change is live but not saved: {self.store.error or 'disk too slow'}")
        if isinstance(result, dict) and result.get("type") == "state":
            return {**result, "id": request_id}
        return ack(request_id, revision, result)

    def gesture(self, switch: str, gesture: str, source: str = "footswitch") -> dict[str, Any]:
        """Run the action of a footswitch gesture (press, long, double, repeat)."""
        return self._run_internal(lambda: self._commands.gesture(switch, gesture, source))

    def midi_control(self, channel: int, cc: int, value: int) -> dict[str, Any] | None:
        """A MIDI control change: binds a pending MIDI learn, or moves a mapped
        parameter through its taper. None when the CC is not mapped."""
        return self._run_internal(lambda: self._commands.midi_control(channel, cc, value))

    def _run_internal(self, run: Callable[[], Any]) -> Any:
        try:
            with self.lock:
                result = run()
                revision = self.revision
        except PedalError as error:
            return error_reply(None, getattr(error, "code", "bad_request"), str(error))
        except Exception as error:
            log.exception("internal command failed")
            return error_reply(None, "internal", f"internal error: {type(error).__name__}: {error}")
        return None if result is None else ack(None, revision, result)

    def call(self, cmd: str, source: str = "api", **args: Any) -> dict[str, Any]:
        """Convenience: ``controller.call("toggle", slot="drive")``."""
        return self.handle({"v": 1, "id": None, "cmd": cmd, "args": args}, source)

    # ------------------------------------------------------------ state
    def state(self) -> dict[str, Any]:
        """The protocol's state object."""
        status = self._engine_status()
        return {
            "revision": self.revision,
            "preset": self.preset_id,
            "preset_name": self.live.name,
            "bank": self.bank,
            "chain": [self._node_state(node) for node in self.live.chain],
            "snapshot": self.snapshot,
            "snapshots": [snap.name for snap in self.live.snapshots],
            "tempo_bpm": self.tempo_bpm,
            "tuner": self.tuner_on,
            "dirty": self.dirty,
            "sample_rate": int(status.get("sample_rate", 0)),
            "block_size": int(status.get("block_size", 0)),
            "latency_samples": int(status.get("latency_samples", 0)),
            "presets": [{"id": pid, "name": self.library.presets[pid].name}
                        for pid in self.preset_order()],
        }

    def state_message(self) -> dict[str, Any]:
        with self.lock:
            return {"v": 1, "type": "state", "revision": self.revision, "state": self.state()}

    def _node_state(self, node: Any) -> dict[str, Any]:
        if isinstance(node, ParallelSpec):
            return {"id": node.id, "parallel": [[self._node_state(n) for n in branch]
                                                for branch in node.parallel],
                    "mix": node.mix, "bypass": node.bypass}
        params = {name: spec.default for name, spec in self.effect_of(node.id).param_map.items()}
        params.update(node.params)
        return {"id": node.id, "effect": node.effect, "params": params, "bypass": node.bypass}

    def _engine_status(self) -> dict[str, Any]:
        try:
            return dict(self.engine.status())
        except Exception:
            log.exception("engine status failed")
            return {}

    # ------------------------------------------------------------ helpers for commands
    def changed(self) -> None:
        """Record a state change: new revision, live state queued for the store.

        The change reaches the audio first (see :meth:`Engine.wait_caught_up`);
        the store and the chains built ahead follow."""
        self.revision += 1
        catch_up = getattr(self.engine, "wait_caught_up", None)
        if catch_up is not None:
            catch_up(CATCH_UP_S)
        self._persist_live()
        self._prefetch_neighbours()

    def _persist_live(self) -> None:
        self._ticket = self.store.set("live", {
            "revision": self.revision, "preset": self.preset_id, "bank": self.bank,
            "data": self.live.model_dump(exclude_none=True), "dirty": self.dirty,
            "snapshot": self.snapshot, "tempo_bpm": self.tempo_bpm,
        })

    def note_ticket(self, ticket: int) -> None:
        self._ticket = max(self._ticket, ticket)

    def preset_order(self) -> list[str]:
        """Preset ids of the current bank or setlist (all presets without one)."""
        return self.library.order(self.bank)

    def slot_node(self, slot_id: str) -> SlotSpec | ParallelSpec:
        for node in walk(self.live.chain):
            if node.id == slot_id:
                return node
        known = ", ".join(n.id or "" for n in walk(self.live.chain)) or "none"
        raise not_found(f"slot: no slot {slot_id!r} in preset {self.live.name!r} (slots: {known})")

    def effect_of(self, slot_id: str) -> Any:
        return self.chain.effect(slot_id)

    def validate_param(self, slot_id: str, param: str, value: Any) -> Any:
        """The checked value, or a CommandError naming slot, parameter and range."""
        node = self.slot_node(slot_id)
        if not isinstance(node, SlotSpec):
            if param == "mix":
                if isinstance(value, bool) or not isinstance(value, float | int) or not 0 <= value <= 1:
                    raise CommandError(f"value: {slot_id}.mix = {value!r} is not allowed: [0, 1]")
                return float(value)
            raise not_found(f"param: parallel node {slot_id!r} has only 'mix'")
        specs = self.effect_of(slot_id).param_map
        spec = specs.get(param)
        if spec is None:
            raise not_found(f"param: {slot_id} ({node.effect}) has no parameter {param!r} "
                            f"(parameters: {', '.join(specs)})")
        try:
            return spec.validate(value, owner=f"{slot_id} ({node.effect})")
        except PedalError as error:
            raise CommandError(f"value: {error}") from None

    def load_live(self, preset: Preset, preset_id: str, *, spillover: bool = True) -> None:
        """Make ``preset`` the live one and hand its chain to the engine."""
        self.live = preset
        self.preset_id = preset_id
        self._load_chain(spillover=spillover)

    def rebuild(self, data: dict[str, Any]) -> Preset:
        """Validate edited live preset data and load its chain (click-free)."""
        from pedalboard.presets import parse_preset

        preset = parse_preset(data, source="live preset")
        self.live = preset
        self._load_chain(spillover=False)
        return preset

    def _load_chain(self, *, spillover: bool) -> None:
        chain = self.prefetch.take(self.preset_id, self.live) if self.prefetch is not None else None
        if chain is None:
            chain = build_chain(self.live)
        chain.set_tempo(self.tempo_bpm)
        self.engine.load_chain(chain, spillover=spillover and self.live.spillover)
        self.chain = chain

    def _build_ahead(self, preset: Preset) -> Any:
        pace = getattr(self.engine, "after_block", None)  # build in the audio's gaps
        if pace is None:
            return self.engine.prepare_chain(build_chain(preset))
        return self.engine.prepare_chain(build_chain(preset, pace=pace), pace=pace)

    def _prefetch_neighbours(self) -> None:
        """Have the chains of the presets next to the current one (in the
        current bank or setlist, nearest first) built ahead; a no-op unless
        the preset or the order changed."""
        if self.prefetch is None:
            return
        order = self.preset_order()
        key = (self.preset_id, tuple(order))
        if key == self._prefetched_for:
            return
        self._prefetched_for = key
        here = order.index(self.preset_id) if self.preset_id in order else -1
        nearest: list[str] = []
        for distance in range(1, len(order)):
            for step in (distance, -distance):
                preset_id = order[(here + step) % len(order)]
                if preset_id != self.preset_id and preset_id not in nearest:
                    nearest.append(preset_id)
        self.prefetch.want([(pid, self.library.presets[pid]) for pid in nearest])

    def apply_snapshot(self, snapshot: Snapshot) -> None:
        for key, value in snapshot.params.items():
            slot_id, _, param = key.partition(".")
            node = self.slot_node(slot_id)
            if isinstance(node, SlotSpec):
                node.params[param] = value
        for slot_id, bypass in snapshot.bypass.items():
            self.slot_node(slot_id).bypass = bypass
        self.engine.apply_snapshot(snapshot)

    def live_data(self) -> dict[str, Any]:
        return copy.deepcopy(self.live.model_dump(exclude_none=True))

    def tap(self) -> float | None:
        return self._tap.tap()

    def uptime_s(self) -> float:
        return self.clock() - self._started

    def _unknown_preset(self, preset_id: str) -> str:
        known = ", ".join(self.library.presets) or "none"
        return f"preset: no preset {preset_id!r} (presets: {known})"

    unknown_preset = _unknown_preset

    @staticmethod
    def command_names() -> list[str]:
        return sorted(COMMANDS)
