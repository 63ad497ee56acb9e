"""The live footswitch mapping: pedal.toml's ``[actions]`` with the edits made since.

``pedal.toml`` describes the hardware (which switches exist, their GPIO
lines, LEDs and keys) and the initial mapping. Every assignment made since
(``set_footswitch_action``, from a phone, a script or ``pedal ctl``) is kept
in the controller's store as an *override* of one switch's gesture: an action,
or ``None`` for "nothing" where pedal.toml maps something. At start the
overrides are applied over the file; an override that names a switch the file
no longer declares, or an action the grammar no longer accepts, is dropped
with a warning. Assigning back what pedal.toml says removes the override.
"""

from __future__ import annotations

import logging
from typing import Any

from pedalboard.device.config import GESTURES, action_problem

log = logging.getLogger(__name__)
#: The ``kv`` key of the overrides in the store.
STORE_KEY = "footswitch_overrides"
Mapping = dict[str, dict[str, str]]
Overrides = dict[str, dict[str, str | None]]


class FootswitchMap:
    """Switches, their hardware and their actions (pedal.toml plus overrides)."""

    def __init__(self, base: Mapping, hardware: dict[str, dict[str, Any]] | None = None) -> None:
        self.base: Mapping = {switch: dict(gestures) for switch, gestures in base.items()}
        for switch in hardware or {}:
            self.base.setdefault(switch, {})
        self.hardware = dict(hardware or {})
        self.overrides: Overrides = {}
        self.actions: Mapping = self._effective()

    # ------------------------------------------------------------ reading
    @property
    def switches(self) -> list[str]:
        return list(self.base)

    def listing(self) -> list[dict[str, Any]]:
        """Each switch: its action per gesture (None: nothing), its wiring
        (``line``, ``led_line``, ``key``) and pedal.toml's own mapping."""
        rows = []
        for switch in self.base:
            wiring = self.hardware.get(switch, {})
            row: dict[str, Any] = {"name": switch}
            row.update({gesture: self.actions[switch].get(gesture) for gesture in GESTURES})
            row.update({key: wiring.get(key) for key in ("line", "led_line", "key")})
            row["config"] = dict(self.base[switch])
            rows.append(row)
        return rows

    # ------------------------------------------------------------ changing
    def check(self, switch: str, gesture: str, action: str | None) -> None:
        """Raise a CommandError naming the field when the assignment is wrong."""
        from pedalboard.control.controller import CommandError, not_found

        if switch not in self.base:
            known = ", ".join(self.base) or "none configured"
            raise not_found(f"switch: no footswitch {switch!r} (switches: {known})")
        problem = action_problem(switch, gesture, "tap" if action is None else action)
        if problem is not None:
            raise CommandError(problem)

    def assign(self, switch: str, gesture: str, action: str | None) -> None:
        """Map ``action`` (None: nothing) to a gesture; call :meth:`check` first."""
        overrides = self.overrides.setdefault(switch, {})
        if self.base[switch].get(gesture) == action:
            overrides.pop(gesture, None)
        else:
            overrides[gesture] = action
        if not overrides:
            del self.overrides[switch]
        self.actions = self._effective()

    def stored(self) -> Overrides:
        """The overrides as the store keeps them."""
        return {switch: dict(gestures) for switch, gestures in self.overrides.items()}

    def load(self, stored: Any) -> None:
        """Apply the overrides kept in the store (skipping what no longer fits)."""
        if not isinstance(stored, dict):
            return
        for switch, gestures in stored.items():
            if not isinstance(gestures, dict):
                continue
            for gesture, action in gestures.items():
                if self._fits(switch, gesture, action):
                    self.overrides.setdefault(switch, {})[gesture] = action
                else:
                    log.warning("stored footswitch mapping %s.%s = %r no longer fits pedal.toml; "
                                "dropped", switch, gesture, action)
        self.actions = self._effective()

    def _fits(self, switch: Any, gesture: Any, action: Any) -> bool:
        if switch not in self.base or not isinstance(gesture, str):
            return False
        if action is not None and not isinstance(action, str):
            return False
        return action_problem(switch, gesture, "tap" if action is None else action) is None

    def _effective(self) -> Mapping:
        actions: Mapping = {}
        for switch, gestures in self.base.items():
            merged: dict[str, str | None] = {**gestures, **self.overrides.get(switch, {})}
            actions[switch] = {g: a for g, a in merged.items() if a is not None}
        return actions
