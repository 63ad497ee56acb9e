"""What each protocol command does to the controller's state.

Every method validates first and changes state last, so a command that
fails leaves everything as it was. Methods run under the controller's lock
and return the ack's ``result`` (or a whole ``state`` message for
``get_state``). A change calls ``c.changed()`` (new revision, queued for the
store) and then ``c.emit(...)`` (the event every client receives).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pedalboard.control.footswitch_map import STORE_KEY as FOOTSWITCH_KEY
from pedalboard.control.library import LIST_TABLES
from pedalboard.device.config import GESTURES
from pedalboard.errors import PedalError
from pedalboard.presets import ParallelSpec, Preset, SlotSpec, Snapshot, parse_preset, walk
from pedalboard.protocol import Command

if TYPE_CHECKING:
    from pedalboard.control.controller import Controller

ACTION_KINDS = ("toggle", "preset", "bank", "snapshot", "tap", "tuner", "tempo")


class Commands:
    """The implementation of every protocol command; see the module docstring."""

    def __init__(self, controller: Controller) -> None:
        self.c = controller

    def run(self, command: Command, source: str) -> dict[str, Any]:
        method = getattr(self, f"cmd_{command.cmd}")
        return method(command.args, source)

    # ------------------------------------------------------------ state and status
    def cmd_get_state(self, args: Any, source: str) -> dict[str, Any]:
        return {"v": 1, "type": "state", "revision": self.c.revision, "state": self.c.state()}

    def cmd_ping(self, args: Any, source: str) -> dict[str, Any]:
        return {}

    def cmd_get_pair_code(self, args: Any, source: str) -> dict[str, Any]:
        return {"code": self.c.pair_code}

    def cmd_subscribe(self, args: Any, source: str) -> dict[str, Any]:
        return {"meters": args.meters, "tuner": args.tuner}  # the socket server keeps the flags

    def cmd_status(self, args: Any, source: str) -> dict[str, Any]:
        status = self.c._engine_status()
        result = {
            "sample_rate": int(status.get("sample_rate", 0)),
            "block_size": int(status.get("block_size", 0)),
            "preset": self.c.preset_id,
            "xruns": int(status.get("xruns", 0)),
            "dsp_load_p50": float(status.get("dsp_load_p50", 0.0)),
            "dsp_load_p99": float(status.get("dsp_load_p99", 0.0)),
            "revision": self.c.revision,
            "latency_samples": int(status.get("latency_samples", 0)),
            "backend": str(status.get("backend", "")),
            "input_peak_db": float(status.get("input_peak_db", -200.0)),
            "output_peak_db": float(status.get("output_peak_db", -200.0)),
            "uptime_s": round(self.c.uptime_s(), 3),
            # Whether audio runs, why not, and whether the audio thread got SCHED_FIFO.
            "audio_ok": bool(status.get("audio_ok", False)),
            "message": str(status.get("message", "")),
            "realtime": bool(status.get("realtime", False)),
            # For the stream in the web service: the engine's shared-memory
            # output ring (changes when the engine restarts) and the title.
            "output_ring": status.get("output_ring"),
            "preset_name": self.c.live.name,
        }
        if "newton_failures" in status:
            result["newton_failures"] = int(status["newton_failures"])
        return result

    # ------------------------------------------------------------ presets and banks
    def cmd_select_preset(self, args: Any, source: str) -> dict[str, Any]:
        return self.select(args.preset, source)

    def select(self, preset_id: str, source: str) -> dict[str, Any]:
        c = self.c
        if preset_id not in c.library.presets:
            from pedalboard.control.controller import not_found

            raise not_found(c.unknown_preset(preset_id))
        c.load_live(c.library.presets[preset_id].model_copy(deep=True), preset_id)
        c.dirty = False
        c.snapshot = None
        if c.live.tempo_bpm:
            c.tempo_bpm = float(c.live.tempo_bpm)
            c.engine.set_tempo(c.tempo_bpm)
        c.changed()
        c.emit("preset_selected", c.state(), source)
        return {"preset": preset_id}

    def cmd_next_preset(self, args: Any, source: str) -> dict[str, Any]:
        return self.step(+1, source)

    def cmd_prev_preset(self, args: Any, source: str) -> dict[str, Any]:
        return self.step(-1, source)

    def step(self, delta: int, source: str) -> dict[str, Any]:
        order = self.c.preset_order() or list(self.c.library.presets)
        index = order.index(self.c.preset_id) if self.c.preset_id in order else -delta
        return self.select(order[(index + delta) % len(order)], source)

    def cmd_select_bank(self, args: Any, source: str) -> dict[str, Any]:
        return self.select_bank(args.bank, source)

    def select_bank(self, bank_id: str, source: str) -> dict[str, Any]:
        c = self.c
        if not c.library.has_list(bank_id):
            from pedalboard.control.controller import not_found

            known = ", ".join([*c.library.banks, *c.library.setlists]) or "none"
            raise not_found(f"bank: no bank or setlist {bank_id!r} (known: {known})")
        order = c.library.order(bank_id)
        if not order:
            raise PedalError(f"bank: {bank_id!r} has no presets")
        c.bank = bank_id
        if c.preset_id in order:  # stay on the preset: only the list changes
            c.changed()
            c.emit("preset_selected", c.state(), source)
            return {"bank": bank_id, "preset": c.preset_id}
        self.select(order[0], source)
        return {"bank": bank_id, "preset": c.preset_id}

    def cmd_bank_up(self, args: Any, source: str) -> dict[str, Any]:
        return self.step_bank(+1, source)

    def cmd_bank_down(self, args: Any, source: str) -> dict[str, Any]:
        return self.step_bank(-1, source)

    def step_bank(self, delta: int, source: str) -> dict[str, Any]:
        banks = [b for b in self.c.library.banks if self.c.library.order(b)]
        if not banks:
            raise PedalError("bank: there are no banks with presets")
        index = banks.index(self.c.bank) if self.c.bank in banks else -delta if delta > 0 else 0
        bank_id = banks[(index + delta) % len(banks)]
        order = self.c.library.order(bank_id)
        self.c.bank = bank_id
        return {**self.select(order[0], source), "bank": bank_id}

    # ------------------------------------------------------------ parameters
    def cmd_set_param(self, args: Any, source: str) -> dict[str, Any]:
        c = self.c
        value = c.validate_param(args.slot, args.param, args.value)
        node = c.slot_node(args.slot)
        if isinstance(node, ParallelSpec):
            node.mix = value
            c.rebuild(c.live_data())
            c.dirty = True
            c.changed()
            c.emit("chain_changed", c.state(), source)
            return {"slot": args.slot, "param": args.param, "value": value}
        node.params[args.param] = value
        c.engine.set_param(args.slot, args.param, value)
        c.dirty = True
        c.changed()
        c.emit("param_changed", {"slot": args.slot, "param": args.param, "value": value}, source)
        return {"slot": args.slot, "param": args.param, "value": value}

    def cmd_set_bypass(self, args: Any, source: str) -> dict[str, Any]:
        return self.bypass(args.slot, args.value, source)

    def cmd_toggle(self, args: Any, source: str) -> dict[str, Any]:
        return self.bypass(args.slot, not self.c.slot_node(args.slot).bypass, source)

    def bypass(self, slot_id: str, value: bool, source: str) -> dict[str, Any]:
        c = self.c
        node = c.slot_node(slot_id)
        node.bypass = value
        c.engine.set_bypass(slot_id, value)
        c.dirty = True
        c.changed()
        c.emit("bypass_changed", {"slot": slot_id, "value": value}, source)
        return {"slot": slot_id, "value": value}

    # ------------------------------------------------------------ snapshots
    def cmd_select_snapshot(self, args: Any, source: str) -> dict[str, Any]:
        c = self.c
        snapshots = c.live.snapshots
        if args.index >= len(snapshots):
            from pedalboard.control.controller import not_found

            if not snapshots:
                raise not_found(f"index: preset {c.live.name!r} has no snapshots yet "
                                "(save one first: save_snapshot, or Snapshots on the phone)")
            raise not_found(f"index: preset {c.live.name!r} has {len(snapshots)} snapshots "
                            f"(index 0-{len(snapshots) - 1}; pedal ctl counts 1-{len(snapshots)})")
        c.apply_snapshot(snapshots[args.index])
        c.snapshot = args.index
        c.changed()
        c.emit("snapshot_selected", {"index": args.index, "state": c.state()}, source)
        return {"index": args.index}

    def cmd_save_snapshot(self, args: Any, source: str) -> dict[str, Any]:
        c = self.c
        if args.index > len(c.live.snapshots):
            raise PedalError(f"index: {args.index} would leave a gap; next free is {len(c.live.snapshots)}")
        params: dict[str, Any] = {}
        bypass: dict[str, bool] = {}
        for node in walk(c.live.chain):
            bypass[node.id or ""] = node.bypass
            if isinstance(node, SlotSpec):
                for name, value in node.params.items():
                    params[f"{node.id}.{name}"] = value
        snapshot = Snapshot(name=args.name, params=params, bypass=bypass)
        if args.index == len(c.live.snapshots):
            c.live.snapshots.append(snapshot)
        else:
            c.live.snapshots[args.index] = snapshot
        c.snapshot = args.index
        c.dirty = True
        c.changed()
        c.emit("chain_changed", c.state(), source)
        return {"index": args.index}

    # ------------------------------------------------------------ tempo, tuner, footswitch
    def cmd_set_tempo(self, args: Any, source: str) -> dict[str, Any]:
        return self.tempo(args.bpm, source)

    def tempo(self, bpm: float, source: str) -> dict[str, Any]:
        c = self.c
        c.tempo_bpm = round(float(bpm), 2)
        c.engine.set_tempo(c.tempo_bpm)
        c.changed()
        c.emit("tempo_changed", {"bpm": c.tempo_bpm}, source)
        return {"bpm": c.tempo_bpm}

    def cmd_tap(self, args: Any, source: str) -> dict[str, Any]:
        bpm = self.c.tap()
        if bpm is None:
            return {"bpm": None}
        return self.tempo(min(300.0, max(40.0, bpm)), source)

    def cmd_tuner(self, args: Any, source: str) -> dict[str, Any]:
        return self.tuner(args.on, source)

    def tuner(self, on: bool, source: str) -> dict[str, Any]:
        c = self.c
        c.tuner_on = bool(on)
        c.engine.set_mute(c.tuner_on)
        c.changed()
        c.emit("tuner_changed", {"on": c.tuner_on}, source)
        return {"on": c.tuner_on}

    def cmd_press(self, args: Any, source: str) -> dict[str, Any]:
        return self.gesture(args.switch, "long" if args.long else "press", "footswitch")

    def gesture(self, switch: str, gesture: str, source: str) -> dict[str, Any]:
        """Run the action mapped to a footswitch gesture (press, long, double, repeat)."""
        actions = self.c.actions.get(switch)
        if actions is None:
            from pedalboard.control.controller import not_found

            known = ", ".join(self.c.actions) or "none configured"
            raise not_found(f"switch: no footswitch {switch!r} (switches: {known})")
        action = actions.get(gesture)
        if action is None:
            return {"switch": switch, "gesture": gesture, "action": None}
        result = self.action(action, source)
        return {"switch": switch, "gesture": gesture, "action": action, **result}

    def cmd_list_footswitches(self, args: Any, source: str) -> dict[str, Any]:
        return {"footswitches": self.c.footswitches.listing(), "gestures": list(GESTURES)}

    def cmd_set_footswitch_action(self, args: Any, source: str) -> dict[str, Any]:
        """Map an action (None: nothing) to a switch's gesture; kept in the store."""
        c = self.c
        mapping = c.footswitches
        mapping.check(args.switch, args.gesture, args.action)
        result = {"switch": args.switch, "gesture": args.gesture, "action": args.action}
        if c.actions[args.switch].get(args.gesture) == args.action:
            return result  # no change, no new revision
        mapping.assign(args.switch, args.gesture, args.action)
        c.note_ticket(c.store.set(FOOTSWITCH_KEY, mapping.stored()))
        c.changed()
        c.emit("footswitches_changed", {**result, "footswitches": mapping.listing()}, source)
        return result

    def action(self, action: str, source: str) -> dict[str, Any]:
        """Run a footswitch action string such as ``toggle:drive`` or ``preset:next``."""
        kind, _, arg = action.partition(":")
        if kind == "toggle":
            return self.bypass(arg, not self.c.slot_node(arg).bypass, source)
        if kind == "preset":
            return self.step({"next": 1, "prev": -1}[arg], source) if arg in ("next", "prev") \
                else self.select(arg, source)
        if kind == "bank":
            return self.step_bank({"next": 1, "prev": -1}[arg], source) if arg in ("next", "prev") \
                else self.select_bank(arg, source)
        if kind == "snapshot":
            return self.cmd_select_snapshot(_Index(int(arg) - 1), source)
        if kind == "tap":
            return self.cmd_tap(None, source)
        if kind == "tuner":
            return self.tuner(not self.c.tuner_on, source)
        if kind == "tempo":
            return self.tempo(float(arg), source)
        raise PedalError(f"action: unknown action {action!r}")

    # ------------------------------------------------------------ live preset edits
    def cmd_save_current(self, args: Any, source: str) -> dict[str, Any]:
        c = self.c
        preset = c.live.model_copy(deep=True)
        c.note_ticket(c.library.put_preset(preset))
        c.dirty = False
        c.changed()
        c.emit("library_changed", {"kind": "preset", "id": c.preset_id, "deleted": False}, source)
        return {"id": c.preset_id}

    def cmd_revert(self, args: Any, source: str) -> dict[str, Any]:
        c = self.c
        c.load_live(c.library.presets[c.preset_id].model_copy(deep=True), c.preset_id,
                    spillover=False)
        c.dirty = False
        c.snapshot = None
        c.changed()
        c.emit("chain_changed", c.state(), source)
        return {"id": c.preset_id}

    def cmd_add_effect(self, args: Any, source: str) -> dict[str, Any]:
        c = self.c
        data = c.live_data()
        slot: dict[str, Any] = {"effect": args.effect, "params": dict(args.params)}
        if args.id is not None:
            slot["id"] = args.id
        index = len(data["chain"]) if args.index is None else min(args.index, len(data["chain"]))
        data["chain"].insert(index, slot)
        preset = self._edit(data)
        new_id = preset.chain[index].id
        c.changed()
        c.emit("chain_changed", c.state(), source)
        return {"slot": new_id, "index": index}

    def cmd_remove_effect(self, args: Any, source: str) -> dict[str, Any]:
        c = self.c
        c.slot_node(args.slot)
        data = c.live_data()
        data["chain"] = _without(data["chain"], args.slot)
        for snap in data.get("snapshots", []):
            snap["params"] = {k: v for k, v in snap.get("params", {}).items()
                              if k.partition(".")[0] != args.slot}
            snap["bypass"] = {k: v for k, v in snap.get("bypass", {}).items() if k != args.slot}
        self._edit(data)
        c.changed()
        c.emit("chain_changed", c.state(), source)
        return {"slot": args.slot}

    def cmd_move_effect(self, args: Any, source: str) -> dict[str, Any]:
        c = self.c
        data = c.live_data()
        ids = [n.get("id") for n in data["chain"]]
        if args.slot not in ids:
            c.slot_node(args.slot)  # not_found for unknown slots
            raise PedalError(f"slot: {args.slot!r} is inside a parallel node; move the node instead")
        node = data["chain"].pop(ids.index(args.slot))
        data["chain"].insert(min(args.index, len(data["chain"])), node)
        self._edit(data)
        c.changed()
        c.emit("chain_changed", c.state(), source)
        return {"slot": args.slot, "index": min(args.index, len(data["chain"]) - 1)}

    def _edit(self, data: dict[str, Any]) -> Preset:
        preset = self.c.rebuild(data)
        self.c.dirty = True
        return preset

    # ------------------------------------------------------------ library
    def cmd_list_presets(self, args: Any, source: str) -> dict[str, Any]:
        return {"presets": [{"id": pid, "name": p.name} for pid, p in self.c.library.presets.items()]}

    def cmd_get_preset(self, args: Any, source: str) -> dict[str, Any]:
        preset = self.c.library.presets.get(args.id)
        if preset is None:
            from pedalboard.control.controller import not_found

            raise not_found(self.c.unknown_preset(args.id))
        return {"preset": preset.model_dump(exclude_none=True)}

    def cmd_save_preset(self, args: Any, source: str) -> dict[str, Any]:
        c = self.c
        preset = parse_preset(args.preset, source="preset")
        assert preset.id is not None
        c.note_ticket(c.library.put_preset(preset))
        if preset.id == c.preset_id:  # replacing the live preset: hear the new one
            c.load_live(preset.model_copy(deep=True), preset.id, spillover=False)
            c.dirty = False
            c.snapshot = None
        c.changed()
        c.emit("library_changed", {"kind": "preset", "id": preset.id, "deleted": False}, source)
        return {"id": preset.id}

    def cmd_delete_preset(self, args: Any, source: str) -> dict[str, Any]:
        c = self.c
        if args.id not in c.library.presets:
            from pedalboard.control.controller import not_found

            raise not_found(c.unknown_preset(args.id))
        if args.id == c.preset_id:
            from pedalboard.control.controller import CommandError

            raise CommandError(f"id: preset {args.id!r} is playing; select another first", "conflict")
        c.note_ticket(c.library.delete_preset(args.id))
        c.changed()
        c.emit("library_changed", {"kind": "preset", "id": args.id, "deleted": True}, source)
        return {"id": args.id}

    def cmd_list_banks(self, args: Any, source: str) -> dict[str, Any]:
        return {"banks": list(self.c.library.banks.values())}

    def cmd_list_setlists(self, args: Any, source: str) -> dict[str, Any]:
        return {"setlists": list(self.c.library.setlists.values())}

    def cmd_save_bank(self, args: Any, source: str) -> dict[str, Any]:
        return self._save_list("bank", args.bank.model_dump(), source)

    def cmd_save_setlist(self, args: Any, source: str) -> dict[str, Any]:
        return self._save_list("setlist", args.setlist.model_dump(), source)

    def _save_list(self, kind: str, entry: dict[str, Any], source: str) -> dict[str, Any]:
        c = self.c
        for i, preset_id in enumerate(entry["presets"]):
            if preset_id not in c.library.presets:
                from pedalboard.control.controller import not_found

                raise not_found(f"{kind}.presets.{i}: {c.unknown_preset(preset_id).partition(': ')[2]}")
        c.note_ticket(c.library.put_list(kind, entry))
        c.changed()
        c.emit("library_changed", {"kind": kind, "id": entry["id"], "deleted": False}, source)
        return {"id": entry["id"]}

    def cmd_delete_bank(self, args: Any, source: str) -> dict[str, Any]:
        return self._delete_list("bank", args.id, source)

    def cmd_delete_setlist(self, args: Any, source: str) -> dict[str, Any]:
        return self._delete_list("setlist", args.id, source)

    def _delete_list(self, kind: str, entry_id: str, source: str) -> dict[str, Any]:
        c = self.c
        if entry_id not in c.library.lists(kind):
            from pedalboard.control.controller import not_found

            raise not_found(f"id: no {kind} {entry_id!r}")
        c.note_ticket(c.library.delete_list(kind, entry_id))
        if c.bank == entry_id:
            c.bank = None
        c.changed()
        c.emit("library_changed", {"kind": kind, "id": entry_id, "deleted": True}, source)
        return {"id": entry_id}

    def cmd_export_library(self, args: Any, source: str) -> dict[str, Any]:
        return self.c.library.export()

    def cmd_import_library(self, args: Any, source: str) -> dict[str, Any]:
        c = self.c
        presets = [parse_preset(p, source=f"library.presets.{i}") for i, p in enumerate(args.library.presets)]
        known = {p.id for p in presets} | (set() if args.replace else set(c.library.presets))
        lists = [("bank", b) for b in args.library.banks] + [("setlist", s) for s in args.library.setlists]
        for kind, entry in lists:
            for preset_id in entry.presets:
                if preset_id not in known:
                    from pedalboard.control.controller import not_found

                    raise not_found(f"library.{LIST_TABLES[kind]}: {entry.id!r} "
                                    f"names no preset {preset_id!r}")
        if args.replace and c.preset_id not in known:
            from pedalboard.control.controller import CommandError

            raise CommandError(f"library.presets: the playing preset {c.preset_id!r} is missing", "conflict")
        if args.replace:
            for preset_id in list(c.library.presets):
                if preset_id not in known:
                    c.note_ticket(c.library.delete_preset(preset_id))
            for kind in ("bank", "setlist"):
                for entry_id in list(c.library.lists(kind)):
                    c.note_ticket(c.library.delete_list(kind, entry_id))
            if c.bank is not None:
                c.bank = None
        for preset in presets:
            c.note_ticket(c.library.put_preset(preset))
        for kind, entry in lists:
            c.note_ticket(c.library.put_list(kind, entry.model_dump()))
        c.changed()
        c.emit("library_changed", {"kind": "preset", "id": "*", "deleted": False}, source)
        return {"presets": len(presets), "banks": len(args.library.banks),
                "setlists": len(args.library.setlists)}

    # ------------------------------------------------------------ MIDI maps
    def cmd_midi_learn(self, args: Any, source: str) -> dict[str, Any]:
        c = self.c
        self._check_mappable(args.slot, args.param)
        c.midi_learn = (args.slot, args.param)
        return {"slot": args.slot, "param": args.param, "learning": True}

    def cmd_midi_map(self, args: Any, source: str) -> dict[str, Any]:
        spec = self._check_mappable(args.slot, args.param)
        low = spec.min if args.min is None else args.min
        high = spec.max if args.max is None else args.max
        for name, bound in (("min", low), ("max", high)):
            if spec.kind == "float" and not spec.min <= bound <= spec.max:
                raise PedalError(f"{name}: {bound} is outside {args.slot}.{args.param} {spec.range_text()}")
        mapping = {"cc": args.cc, "channel": args.channel, "slot": args.slot, "param": args.param,
                   "min": low, "max": high}
        self.c.note_ticket(self.c.library.put_midi_map(mapping))
        return mapping

    def _check_mappable(self, slot_id: str, param: str) -> Any:
        node = self.c.slot_node(slot_id)
        if not isinstance(node, SlotSpec):
            raise PedalError(f"slot: {slot_id!r} is a parallel node; map an effect's parameter")
        spec = self.c.effect_of(slot_id).param_map.get(param)
        if spec is None or spec.kind == "text":
            from pedalboard.control.controller import not_found

            raise not_found(f"param: {slot_id} has no parameter {param!r} a knob can move")
        return spec

    def cmd_midi_unmap(self, args: Any, source: str) -> dict[str, Any]:
        ticket = self.c.library.delete_midi_map(args.channel, args.cc)
        if ticket is None:
            from pedalboard.control.controller import not_found

            raise not_found(f"cc: no mapping for CC {args.cc} on channel {args.channel or 'any'}")
        self.c.note_ticket(ticket)
        return {"cc": args.cc, "channel": args.channel}

    def cmd_list_midi_maps(self, args: Any, source: str) -> dict[str, Any]:
        return {"maps": list(self.c.library.midi_maps.values())}

    def midi_control(self, channel: int, cc: int, value: int) -> dict[str, Any] | None:
        c = self.c
        if c.midi_learn is not None:
            slot_id, param = c.midi_learn
            c.midi_learn = None
            spec = self._check_mappable(slot_id, param)
            mapping = {"cc": cc, "channel": channel, "slot": slot_id, "param": param,
                       "min": spec.min, "max": spec.max}
            c.note_ticket(c.library.put_midi_map(mapping))
            return {"learned": mapping}
        mapping = c.library.find_midi_map(channel, cc)
        if mapping is None:
            return None
        node = c.slot_node(mapping["slot"])  # not_found when the preset has no such slot
        spec = c.effect_of(node.id).param_map[mapping["param"]]
        position = value / 127.0
        if spec.kind == "bool":
            target: Any = value >= 64
        elif spec.kind == "choice":
            target = spec.choices[min(len(spec.choices) - 1, int(position * len(spec.choices)))]
        else:
            low, high = spec.to_position(mapping["min"]), spec.to_position(mapping["max"])
            target = spec.from_position(low + position * (high - low))
        return self.cmd_set_param(_SetParam(mapping["slot"], mapping["param"], target), "midi")


class _SetParam:
    def __init__(self, slot: str, param: str, value: Any) -> None:
        self.slot, self.param, self.value = slot, param, value


class _Index:
    def __init__(self, index: int) -> None:
        self.index = index


def _without(nodes: list[dict[str, Any]], slot_id: str) -> list[dict[str, Any]]:
    kept = []
    for node in nodes:
        if node.get("id") == slot_id:
            continue
        if "parallel" in node:
            node = {**node, "parallel": [_without(branch, slot_id) for branch in node["parallel"]]}
        kept.append(node)
    return kept
