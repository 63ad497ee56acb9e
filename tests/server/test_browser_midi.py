"""MIDI learn from the phone with a real MIDI controller: the pedal's MIDI
input on a dummy jackd (rtmidi's JACK API), a "keyboard" that sends control
changes through JACK, and the phone editor in Chromium.

Press MIDI next to a knob, turn a knob on the controller, and the pedal binds
that CC (checked in the engine), the button names the CC, and the CC then
moves the parameter both in the engine and on the page.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jack
import pytest
import rtmidi
from browser_support import IMG, PHONE, Watch, open_card, pair, show_panel
from server_support import DEVICE_CONFIG, PedalProcess, ServerProcess, short_tmpdir, slot_of

sys.path.insert(0, str(Path(__file__).parents[1] / "engine"))
from engine_support import JackServer, unique_server_name

CONTROL_CHANGE = 0xB0  # channel 1
CC = 21
MIDI_CONFIG = DEVICE_CONFIG + '\n[midi]\napi = "jack"\nin_port = "virtual"\n'


class Studio:
    """jackd, the pedal with its MIDI input on it, the web service, and a
    keyboard wired to the pedal's input."""

    def __init__(self, log_dir: Path) -> None:
        self.jack = JackServer(unique_server_name("web-midi"), log_dir)
        self.jack.start()
        self._previous = os.environ.get("JACK_DEFAULT_SERVER")
        os.environ["JACK_DEFAULT_SERVER"] = self.jack.name  # the pedal inherits it
        data_dir = short_tmpdir()
        (data_dir / "pedal.toml").write_text(MIDI_CONFIG)
        self.pedal = PedalProcess(data_dir)
        self.server = ServerProcess(data_dir)
        self.patchbay = jack.Client("patchbay", servername=self.jack.name, no_start_server=True)
        self.keys = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, name="keys")
        self.keys.open_virtual_port("send")
        deadline = time.monotonic() + 20
        while not self.patchbay.get_ports("pedal-midi:in", is_midi=True):
            if time.monotonic() > deadline:
                raise RuntimeError(f"the pedal opened no MIDI input:\n{self.pedal.output.text()}")
            time.sleep(0.05)
        self.patchbay.connect("keys:send", "pedal-midi:in")

    def turn(self, value: int) -> None:
        self.keys.send_message([CONTROL_CHANGE, CC, value])

    def close(self) -> None:
        self.keys.close_port()
        self.keys.delete()
        self.patchbay.close()
        self.server.stop()
        self.pedal.stop()
        self.jack.stop()
        if self._previous is None:
            os.environ.pop("JACK_DEFAULT_SERVER", None)
        else:
            os.environ["JACK_DEFAULT_SERVER"] = self._previous


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Studio]:
    rig = Studio(tmp_path_factory.mktemp("jack"))
    try:
        yield rig
    finally:
        rig.close()


def test_midi_learn_binds_the_next_cc_and_the_cc_moves_the_knob(browser: Any, studio: Studio) -> None:
    context = browser.new_context(**PHONE)
    page = context.new_page()
    watch = Watch(page)
    pair(page, studio.server, studio.pedal.pair_code())
    engine = studio.pedal.client()
    assert engine.request("list_midi_maps")["result"]["maps"] == []

    open_card(page, "reverb")
    learn = page.locator(".pedal[data-slot=reverb] .param:has(input[data-param=room_size]) .learn")
    assert learn.text_content() == "MIDI"
    learn.click()
    page.wait_for_selector(".learn[aria-pressed=true]")
    # Turn the controller's knob until the pedal has bound it (the first CC
    # may beat the learn command to the pedal; it then moves nothing).
    deadline = time.monotonic() + 15
    maps: list[dict[str, Any]] = []
    while time.monotonic() < deadline and not maps:
        studio.turn(64)
        time.sleep(0.1)
        maps = engine.request("list_midi_maps")["result"]["maps"]
    assert [(m["cc"], m["channel"], m["slot"], m["param"]) for m in maps] == [
        (CC, 1, "reverb", "room_size")]
    page.wait_for_selector(f".pedal[data-slot=reverb] .learn:text-is('CC {CC}')", timeout=10000)
    page.screenshot(path=str(IMG / "ui-midi-learn.png"))

    # The bound knob now moves the parameter, in the engine and on the page.
    studio.turn(127)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and slot_of(engine.state(), "reverb")["params"]["room_size"] < 1.0:
        time.sleep(0.05)
    assert slot_of(engine.state(), "reverb")["params"]["room_size"] == pytest.approx(1.0)
    page.wait_for_selector(
        ".pedal[data-slot=reverb] .param:has(input[data-param=room_size]) output:text-is('1.00')")

    show_panel(page, "setup")
    row = page.locator(f"#midi-maps li[data-cc='{CC}']")
    row.wait_for()
    assert row.locator("span").text_content() == f"CC {CC} (ch 1) → reverb.room_size"
    row.locator("button").click()
    row.wait_for(state="detached")
    assert engine.request("list_midi_maps")["result"]["maps"] == []
    engine.close()
    assert watch.errors == []
    context.close()
