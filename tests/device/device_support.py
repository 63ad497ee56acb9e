"""Helpers of the device tests: a real pedal (SQLite store, virtual-backend
Engine, controller) on a fresh data directory, with two small presets."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from pedalboard.control.controller import Controller
from pedalboard.control.store import Store
from pedalboard.engine import Engine

FIRST = {"name": "First", "id": "first",
         "chain": [{"id": "boost", "effect": "gain", "params": {"gain_db": 0.0}},
                   {"id": "echo", "effect": "delay",
                    "params": {"delay_seconds": 0.25, "feedback": 0.2, "sync": "1/4"}}]}
SECOND = {"name": "Second", "id": "second",
          "chain": [{"id": "boost", "effect": "gain", "params": {"gain_db": -12.0}}]}
THIRD = {"name": "Third", "id": "third",
         "chain": [{"id": "level", "effect": "gain", "params": {"gain_db": -3.0}}]}
PRESETS = [FIRST, SECOND, THIRD]


class Rig:
    """Store, engine and controller as ``pedal run`` wires them (no socket)."""

    def __init__(self, data_dir: Path, actions: dict | None = None,
                 presets: list[dict] | None = None, demo_input: str | None = None) -> None:
        self.store = Store(data_dir)
        if not self.store.load("presets"):
            for position, preset in enumerate(presets or PRESETS):
                self.store.put("presets", preset["id"], preset, position)
            self.store.flush()
        self.engine = Engine("virtual", demo_input=demo_input)
        self.controller = Controller(self.store, self.engine, actions=actions or {})
        self.controller.start()
        self.engine.start()

    def close(self) -> None:
        self.engine.stop()
        self.store.close()


def wait_for(condition: Callable[[], bool], timeout_s: float = 5.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.002)
