"""Footswitches on gpiozero's mock pins drive the real engine; LEDs follow."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from device_support import Rig, wait_for
from gpiozero import Device
from gpiozero.pins.mock import MockFactory

from pedalboard.device.config import parse_config
from pedalboard.device.footswitch import start_footswitches

CONFIG = {
    "gpio": "gpiozero",
    "footswitch": [{"name": "fs1", "line": 17, "led_line": 27},
                   {"name": "fs2", "line": 22},
                   {"name": "fs3", "line": 23, "led_line": 24}],
    "actions": {"fs1": {"press": "toggle:boost"},
                "fs2": {"press": "preset:next", "long": "tuner"},
                "fs3": {"press": "tuner"}},
}


@pytest.fixture
def pins() -> Iterator[MockFactory]:
    previous = Device.pin_factory
    Device.pin_factory = MockFactory()
    try:
        yield Device.pin_factory
    finally:
        Device.pin_factory.reset()
        Device.pin_factory = previous


@pytest.fixture
def board(tmp_path: Path, pins: MockFactory) -> Iterator[tuple[Rig, object]]:
    rig = Rig(tmp_path, actions=parse_config(CONFIG).action_map())
    switches = start_footswitches(rig.controller, parse_config(CONFIG), echo=lambda _: None)
    try:
        yield rig, switches
    finally:
        switches.close()
        rig.close()


def stomp(pin, hold_s: float = 0.05, chatter: int = 0) -> None:
    """Press and release a pulled-up switch: closed pulls the pin low. The
    contact chatters ``chatter`` times right after it first closes."""
    pin.drive_low()
    for _ in range(chatter):
        pin.drive_high()
        pin.drive_low()
    time.sleep(hold_s)
    pin.drive_high()
    time.sleep(0.03)  # more than the debounce time before the next press


def test_a_stomp_toggles_the_effect_in_the_engine_and_its_led(board, pins: MockFactory) -> None:
    rig, _ = board
    engine, controller = rig.engine, rig.controller
    led = pins.pin(27)
    assert not engine.chain.slot("boost").bypass
    wait_for(lambda: led.state, what="the LED of an enabled effect")
    revision = controller.revision

    # The gesture runs in gpiozero's thread: wait for its effects, then check
    # that nothing more happened (a bouncy contact is still one press).
    stomp(pins.pin(17), chatter=3)
    wait_for(lambda: engine.chain.slot("boost").bypass, what="the engine's slot bypassed")
    wait_for(lambda: not led.state, what="the LED off")
    assert controller.revision == revision + 1

    stomp(pins.pin(17))
    wait_for(lambda: not engine.chain.slot("boost").bypass, what="the engine's slot back on")
    wait_for(lambda: led.state, what="the LED on")
    assert controller.revision == revision + 2
    # The store's writer commits within a second (it coalesces a burst of edits).
    wait_for(lambda: controller.store.get("live")["data"]["chain"][0].get("bypass", False) is False,
             what="the live state committed")


def test_preset_switch_and_long_press_tuner(board, pins: MockFactory) -> None:
    rig, _ = board
    engine, controller = rig.engine, rig.controller
    stomp(pins.pin(22))  # short: next preset
    wait_for(lambda: [slot.id for slot in engine.chain.slots] == ["boost"] and
             engine.chain.effect("boost").get_param("gain_db") == -12.0, what="the second preset")
    assert controller.preset_id == "second" and not controller.tuner_on

    # Held: the press acts at once (no latency on a preset switch) and the
    # long action adds to it (gestures.py).
    stomp(pins.pin(22), hold_s=0.8)
    wait_for(lambda: pins.pin(24).state, what="fs3's LED showing the tuner")
    assert controller.tuner_on and controller.preset_id == "third"
    wait_for(lambda: not engine.output_snapshot(256).any(), what="the tuner muting the output")
    stomp(pins.pin(23))
    wait_for(lambda: not pins.pin(24).state, what="fs3's LED off")
    assert not controller.tuner_on
    wait_for(lambda: engine.output_snapshot(256).any(), what="sound after the tuner")
