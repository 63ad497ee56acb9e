"""The preset library in memory: presets, banks, setlists and MIDI maps.

The controller keeps the library in memory (reads never touch the disk) and
mirrors every change into the :class:`~pedalboard.control.store.Store`.
A bank and a setlist have the same shape, ``{"id", "name", "presets": [ids]}``:
a bank is how the presets are laid out on the pedal, a setlist the order of
tonight's songs. An empty library is seeded with the factory presets as the
first bank, ``factory``.
"""

from __future__ import annotations

from typing import Any

from pedalboard.control.store import Store
from pedalboard.presets import Preset, factory_presets

LIST_TABLES = {"bank": "banks", "setlist": "setlists"}


class Library:
    """Presets by id in library order, banks and setlists by id, MIDI maps."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.presets: dict[str, Preset] = {}
        self.banks: dict[str, dict[str, Any]] = {}
        self.setlists: dict[str, dict[str, Any]] = {}
        self.midi_maps: dict[str, dict[str, Any]] = {}
        self._positions: dict[str, float] = {}
        self._position = 0.0

    def load(self) -> None:
        """Read everything committed; seed the factory presets into an empty library."""
        for table, kind in (("presets", "preset"), ("banks", "bank"), ("setlists", "setlist")):
            for key, data, position in self.store.load(table):
                self._positions[f"{kind}:{key}"] = position
                self._position = max(self._position, position)
                if kind == "preset":
                    self.presets[key] = Preset.model_validate(data)
                else:
                    self.lists(kind)[key] = data
        self.midi_maps = {key: data for key, data, _ in self.store.load("midi_maps")}
        if not self.presets:
            self._seed()

    def _seed(self) -> None:
        factory = factory_presets() or {"clean": Preset(name="Clean", id="clean")}
        for preset in factory.values():
            self.put_preset(preset)
        self.put_list("bank", {"id": "factory", "name": "Factory", "presets": list(factory)})

    def _place(self, key: str) -> float:
        """The stored position of an entry; new entries go last."""
        if key not in self._positions:
            self._position += 1.0
            self._positions[key] = self._position
        return self._positions[key]

    # ------------------------------------------------------------ presets
    def put_preset(self, preset: Preset) -> int:
        """Create or replace (a replaced preset keeps its place)."""
        assert preset.id is not None
        self.presets[preset.id] = preset
        return self.store.put("presets", preset.id, preset.model_dump(exclude_none=True),
                              self._place(f"preset:{preset.id}"))

    def delete_preset(self, preset_id: str) -> int:
        del self.presets[preset_id]
        self._positions.pop(f"preset:{preset_id}", None)
        ticket = self.store.delete("presets", preset_id)
        for kind, lists in (("bank", self.banks), ("setlist", self.setlists)):
            for entry in lists.values():
                if preset_id in entry["presets"]:
                    entry["presets"] = [p for p in entry["presets"] if p != preset_id]
                    ticket = self.put_list(kind, entry)
        return ticket

    # ------------------------------------------------------------ banks and setlists
    def lists(self, kind: str) -> dict[str, dict[str, Any]]:
        return self.banks if kind == "bank" else self.setlists

    def put_list(self, kind: str, entry: dict[str, Any]) -> int:
        self.lists(kind)[entry["id"]] = dict(entry)
        return self.store.put(LIST_TABLES[kind], entry["id"], entry, self._place(f"{kind}:{entry['id']}"))

    def delete_list(self, kind: str, entry_id: str) -> int:
        del self.lists(kind)[entry_id]
        self._positions.pop(f"{kind}:{entry_id}", None)
        return self.store.delete(LIST_TABLES[kind], entry_id)

    def has_list(self, entry_id: Any) -> bool:
        return isinstance(entry_id, str) and (entry_id in self.banks or entry_id in self.setlists)

    def get_list(self, entry_id: str) -> dict[str, Any] | None:
        return self.banks.get(entry_id) or self.setlists.get(entry_id)

    def order(self, entry_id: str | None) -> list[str]:
        """Preset ids of a bank or setlist, or of the whole library for None."""
        entry = self.get_list(entry_id) if entry_id else None
        if entry is None:
            return list(self.presets)
        return [p for p in entry["presets"] if p in self.presets]

    # ------------------------------------------------------------ MIDI maps
    def put_midi_map(self, mapping: dict[str, Any]) -> int:
        key = midi_key(mapping["channel"], mapping["cc"])
        self.midi_maps[key] = mapping
        return self.store.put("midi_maps", key, mapping)

    def delete_midi_map(self, channel: int | None, cc: int) -> int | None:
        key = midi_key(channel, cc)
        if self.midi_maps.pop(key, None) is None:
            return None
        return self.store.delete("midi_maps", key)

    def find_midi_map(self, channel: int, cc: int) -> dict[str, Any] | None:
        """The mapping for a CC on a channel (1-16), else one for any channel."""
        return self.midi_maps.get(midi_key(channel, cc)) or self.midi_maps.get(midi_key(None, cc))

    # ------------------------------------------------------------ export
    def export(self) -> dict[str, Any]:
        return {
            "presets": [p.model_dump(exclude_none=True) for p in self.presets.values()],
            "banks": list(self.banks.values()),
            "setlists": list(self.setlists.values()),
        }


def midi_key(channel: int | None, cc: int) -> str:
    return f"{channel or 0}:{cc}"
