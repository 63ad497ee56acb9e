"""The gesture engine and the LEDs follow the controller's live mapping: an
assignment made from a phone or the socket changes what the next stomp does
(with an injected clock, so the double window is exact)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from device_support import Rig

from pedalboard.device.config import parse_config
from pedalboard.device.footswitch import Footswitches
from pedalboard.device.gestures import GestureEngine

CONFIG = {"gpio": "none", "footswitch": [{"name": "fs1", "key": "1"}, {"name": "fs2"}],
          "actions": {"fs1": {"press": "toggle:boost"}, "fs2": {"press": "preset:next"}}}


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[Rig, Footswitches, Clock]]:
    config = parse_config(CONFIG)
    rig = Rig(tmp_path, actions=config.action_map())
    clock = Clock()
    switches = Footswitches(rig.controller, config, clock=clock, poll=False)
    try:
        yield rig, switches, clock
    finally:
        switches.close()
        rig.close()


def stomp(switches: Footswitches, clock: Clock, name: str = "fs1") -> None:
    """A 50 ms stomp, then 50 ms of rest (the clock moves, timers run)."""
    switches.edge(name, True)
    clock.now += 0.05
    switches.edge(name, False)
    clock.now += 0.05
    switches.poll()


def assign(rig: Rig, switch: str, gesture: str, action: str | None) -> None:
    reply = rig.controller.call("set_footswitch_action", switch=switch, gesture=gesture, action=action)
    assert reply["type"] == "ack", reply


def boost_on(rig: Rig) -> bool:
    return not rig.controller.slot_node("boost").bypass


def test_a_double_action_holds_back_single_presses_and_removing_it_stops_that(live) -> None:
    rig, switches, clock = live
    stomp(switches, clock)
    assert not boost_on(rig)  # no double action: the press acts at once

    assign(rig, "fs1", "double", "preset:next")
    stomp(switches, clock)
    assert not boost_on(rig)  # held back for the double window (300 ms)
    clock.now += 0.25
    switches.poll()
    assert boost_on(rig)  # the window passed: it was a single press

    stomp(switches, clock)
    stomp(switches, clock)
    assert rig.controller.preset_id == "second" and rig.controller.live.chain[0].id == "boost"

    assign(rig, "fs1", "double", None)
    before = boost_on(rig)
    stomp(switches, clock)
    assert boost_on(rig) is (not before)  # at once again


def test_a_changed_press_action_runs_at_the_next_stomp(live) -> None:
    rig, switches, clock = live
    assign(rig, "fs2", "press", "tuner")
    stomp(switches, clock, "fs2")
    assert rig.controller.tuner_on and rig.controller.preset_id == "first"
    assign(rig, "fs2", "press", None)
    revision = rig.controller.revision
    stomp(switches, clock, "fs2")
    assert rig.controller.revision == revision  # nothing mapped: nothing happens


def test_leds_follow_the_mapping(live) -> None:
    rig, switches, _ = live
    lit: list[bool] = []
    switches.add_led("fs1", lit.append)
    assert lit[-1] is True  # toggles boost, which is on
    assign(rig, "fs1", "press", "tuner")
    assert lit[-1] is False
    rig.controller.call("tuner", on=True)
    assert lit[-1] is True
    assign(rig, "fs1", "press", "preset:next")
    assert lit[-1] is False  # a preset switch shows nothing


def test_losing_the_double_action_fires_a_held_back_press_at_once() -> None:
    fired: list[tuple[str, str]] = []
    engine = GestureEngine(lambda name, gesture: fired.append((name, gesture)), clock=lambda: 0.0)
    engine.add_switch("fs1", double=True)
    engine.edge("fs1", True, 0.0)
    assert fired == []
    engine.configure("fs1", double=False, repeat=False)
    assert fired == [("fs1", "press")]
    engine.configure("fs1", double=False, repeat=True)
    engine.poll(0.7)
    assert ("fs1", "long") in fired and ("fs1", "repeat") in fired
