"""MIDI through rtmidi's JACK API against a real jackd (dummy driver):
program changes with bank select, CCs through the taper, MIDI learn, MIDI
clock, program changes to follow-on gear, and a missing device."""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import jack
import pytest
import rtmidi
from device_support import Rig, wait_for

from pedalboard.device.config import Midi
from pedalboard.device.midi import MidiLink, start_midi
from pedalboard.device.priority import INPUT_PRIORITY

sys.path.insert(0, str(Path(__file__).parents[1] / "engine"))
from engine_support import JackServer, unique_server_name

CC, PC, CLOCK = 0xB0, 0xC0, 0xF8


@pytest.fixture(scope="module")
def jack_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JackServer]:
    """One jackd for the module; rtmidi's JACK API finds it by JACK_DEFAULT_SERVER."""
    server = JackServer(unique_server_name("midi"), tmp_path_factory.mktemp("jack"))
    server.start()
    previous = os.environ.get("JACK_DEFAULT_SERVER")
    os.environ["JACK_DEFAULT_SERVER"] = server.name
    try:
        yield server
    finally:
        if previous is None:
            os.environ.pop("JACK_DEFAULT_SERVER", None)
        else:
            os.environ["JACK_DEFAULT_SERVER"] = previous
        server.stop()


class Studio:
    """The pedal's MIDI link plus a keyboard (sends to the pedal) and a
    follow-on unit (receives from it), wired with JACK-Client."""

    def __init__(self, rig: Rig, server: JackServer, channel: int | None = None) -> None:
        self.rig = rig
        self.link = MidiLink(rig.controller, Midi(api="jack", in_port="virtual", out_port="virtual",
                                                  channel=channel), client_name="pedal-midi")
        self.link.open()
        self.keys = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, name="keys")
        self.keys.open_virtual_port("send")
        self.gear = rtmidi.MidiIn(rtmidi.API_UNIX_JACK, name="gear")
        self.gear.open_virtual_port("receive")
        self.patchbay = jack.Client("patchbay", servername=server.name, no_start_server=True)
        self.patchbay.connect("keys:send", self.link.in_port_name)
        self.patchbay.connect(self.link.out_port_name, "gear:receive")

    def send(self, *message: int) -> None:
        self.keys.send_message(list(message))

    def received(self) -> list[list[int]]:
        messages = []
        while (item := self.gear.get_message()) is not None:
            messages.append(item[0])
        return messages

    def close(self) -> None:
        self.patchbay.close()
        for port in (self.keys, self.gear):
            port.close_port()
            port.delete()
        self.link.close()


@pytest.fixture
def studio(tmp_path: Path, jack_server: JackServer) -> Iterator[Studio]:
    rig = Rig(tmp_path)
    studio = Studio(rig, jack_server)
    try:
        yield studio
    finally:
        studio.close()
        rig.close()


def gain_db(rig: Rig) -> float:
    return rig.engine.chain.effect("boost").get_param("gain_db")


def test_program_change_with_bank_select_changes_the_preset(studio: Studio) -> None:
    rig = studio.rig
    c = rig.controller
    for bank in ({"id": "a", "name": "A", "presets": ["first", "second"]},
                 {"id": "b", "name": "B", "presets": ["third", "second"]}):
        assert c.call("save_bank", "api", bank=bank)["type"] == "ack"
    banks = list(c.library.banks)
    assert banks[-2:] == ["a", "b"]

    studio.send(PC, 1)  # no bank select: the second preset of the current order
    wait_for(lambda: c.preset_id == "second", what="PC 1 -> second preset")
    wait_for(lambda: gain_db(rig) == -12.0, what="the engine on the second preset")

    bank_b = banks.index("b")
    studio.send(CC, 0, bank_b // 128)
    studio.send(CC, 32, bank_b % 128)
    studio.send(PC, 0)
    wait_for(lambda: c.preset_id == "third", what="bank B, PC 0 -> third preset")
    assert c.bank == "b"
    wait_for(lambda: [slot.id for slot in rig.engine.chain.slots] == ["level"], what="the third chain")

    studio.send(PC, 99)  # past the end of the bank: ignored
    time.sleep(0.1)
    assert c.preset_id == "third"


def test_the_pedal_sends_program_changes_to_follow_on_gear(studio: Studio) -> None:
    c = studio.rig.controller
    ok = c.call("save_bank", "api", bank={"id": "live", "name": "Live", "presets": ["third", "first"]})
    assert ok["type"] == "ack"
    assert c.call("select_bank", "ctl", bank="live")["type"] == "ack"
    bank = list(c.library.banks).index("live")
    messages: list[list[int]] = []

    def heard(count: int) -> bool:
        messages.extend(studio.received())
        return len(messages) >= count

    # The pedal stays on "first", now second in the bank: position 1.
    wait_for(lambda: heard(3), what="bank select and program change on selecting the bank")
    assert messages == [[CC, 0, bank // 128], [CC, 32, bank % 128], [PC, 1]]
    assert c.call("next_preset", "ctl")["type"] == "ack"  # wraps around to "third": position 0
    wait_for(lambda: heard(6), what="bank select and program change on the next preset")
    assert messages[3:] == [[CC, 0, bank // 128], [CC, 32, bank % 128], [PC, 0]]


def test_cc_moves_a_mapped_parameter_through_its_taper(studio: Studio) -> None:
    rig = studio.rig
    c = rig.controller
    reply = c.call("midi_map", "api", cc=74, slot="echo", param="high_cut_hz")
    assert reply["type"] == "ack", reply
    spec = rig.engine.chain.effect("echo").param_map["high_cut_hz"]
    assert spec.taper == "log"

    def high_cut() -> float:
        return rig.engine.chain.effect("echo").get_param("high_cut_hz")

    studio.send(CC, 74, 127)
    wait_for(lambda: high_cut() == spec.max, what="CC 127 -> the top of the range")
    studio.send(CC, 74, 64)
    middle = spec.min * (spec.max / spec.min) ** (64 / 127)  # log taper: geometric
    wait_for(lambda: abs(high_cut() - middle) < 1e-6 * middle, what="CC 64 -> the log taper's middle")
    assert abs(c.state()["chain"][1]["params"]["high_cut_hz"] - middle) < 1e-6 * middle
    studio.send(CC, 75, 0)  # not mapped: nothing moves
    time.sleep(0.05)
    assert abs(high_cut() - middle) < 1e-6 * middle


def test_midi_learn_binds_the_next_cc(studio: Studio) -> None:
    rig = studio.rig
    c = rig.controller
    assert c.call("midi_learn", "api", slot="boost", param="gain_db")["type"] == "ack"
    studio.send(CC | 2, 21, 100)  # channel 3: learnt with its channel
    wait_for(lambda: c.call("list_midi_maps", "api")["result"]["maps"] != [], what="a learnt map")
    (mapping,) = c.call("list_midi_maps", "api")["result"]["maps"]
    learnt = (mapping["cc"], mapping["channel"], mapping["slot"], mapping["param"])
    assert learnt == (21, 3, "boost", "gain_db")
    spec = rig.engine.chain.effect("boost").param_map["gain_db"]
    studio.send(CC | 2, 21, 0)
    wait_for(lambda: gain_db(rig) == spec.min, what="the learnt CC at 0 -> the minimum")
    studio.send(CC | 2, 21, 127)
    wait_for(lambda: gain_db(rig) == spec.max, what="the learnt CC at 127 -> the maximum")
    studio.send(CC, 21, 0)  # the same CC on another channel is not the learnt one
    time.sleep(0.05)
    assert gain_db(rig) == spec.max


def test_midi_clock_sets_the_tempo_and_the_synced_delay(studio: Studio) -> None:
    rig = studio.rig
    bpm = 100.0
    pulse_s = 60.0 / (bpm * 24)
    start = time.monotonic()
    for n in range(24 * 4 + 1):  # four beats, paced against absolute deadlines
        delay = start + n * pulse_s - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        studio.send(CLOCK)
    wait_for(lambda: abs(rig.controller.tempo_bpm - bpm) < 1.0, what="the clock's tempo")
    echo = rig.engine.chain.effect("echo")
    wait_for(lambda: abs(echo.delay_time_seconds() - 60.0 / rig.controller.tempo_bpm) < 1e-9,
             what="the quarter-note delay at the clock's tempo")
    assert abs(echo.delay_time_seconds() - 0.6) < 0.01


def test_a_missing_midi_device_is_a_warning(tmp_path: Path, jack_server: JackServer) -> None:
    rig = Rig(tmp_path)
    said: list[str] = []
    try:
        assert start_midi(rig.controller, Midi(api="jack", in_port="Behringer FCB1010"),
                          echo=said.append) is None
        assert said == [f"warning: MIDI not available: no MIDI input port matching 'Behringer FCB1010' "
                        f"(ports: {_others(said[0])})"]
        if not os.path.exists("/dev/snd/seq"):
            assert start_midi(rig.controller, Midi(), echo=said.append) is None
            assert said[-1] == "warning: MIDI not available: no ALSA sequencer on this machine (/dev/snd/seq)"
        assert rig.controller.call("next_preset", "ctl")["type"] == "ack"  # the pedal goes on
    finally:
        rig.close()


def _others(message: str) -> str:
    return message.split("(ports: ", 1)[1].rstrip(")")


def test_pedal_run_on_a_named_jack_server_takes_midi_there(tmp_path: Path, jack_server: JackServer) -> None:
    """``pedal run --audio jack --jack-server NAME`` with ``[midi] api = "jack"``:
    the MIDI ports appear on that server (not on a default one), and a
    program change sent there selects a preset."""
    import json
    import subprocess

    config = tmp_path / "pedal.toml"
    config.write_text('[midi]\napi = "jack"\nin_port = "virtual"\n')
    data_dir = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if k != "JACK_DEFAULT_SERVER"}
    command = [sys.executable, "-m", "pedalboard.cli", "run", "--audio", "jack", "--jack-server",
               jack_server.name, "--no-server", "--data-dir", str(data_dir), "--config", str(config)]
    pedal = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             stdin=subprocess.DEVNULL, env=env)
    keys = None
    try:
        assert pedal.stdout is not None
        lines = []
        for line in pedal.stdout:
            lines.append(line.strip())
            if line.startswith("running"):
                break
        assert "MIDI: in pedal-midi:in" in lines, lines
        keys = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, name="keys-run")
        keys.open_virtual_port("send")
        patchbay = jack.Client("patchbay-run", servername=jack_server.name, no_start_server=True)
        try:
            patchbay.connect("keys-run:send", "pedal-midi:in")
        finally:
            patchbay.close()
        keys.send_message([PC, 2])

        def preset() -> str:
            done = subprocess.run([sys.executable, "-m", "pedalboard.cli", "ctl", "status", "--json",
                                   "--data-dir", str(data_dir)], capture_output=True, text=True, timeout=60)
            return json.loads(done.stdout)["preset"]

        from pedalboard.presets import factory_presets

        third = list(factory_presets())[2]
        wait_for(lambda: preset() == third, timeout_s=30.0, what="PC 2 -> the third factory preset")
    finally:
        if keys is not None:
            keys.close_port()
            keys.delete()
        pedal.terminate()
        assert pedal.wait(timeout=30) == 0
        if pedal.stdout is not None:
            pedal.stdout.close()


def test_midi_is_handled_off_jacks_real_time_thread(studio: Studio) -> None:
    """rtmidi calls back from the MIDI client's JACK process thread (SCHED_FIFO);
    the controller's work (a preset switch builds a chain) must not run there,
    or it would hold up JACK's cycle for every client."""
    seen: list[tuple[str, int]] = []
    handle = studio.link.handle

    def spy(message: list[int], t: float) -> None:
        seen.append((threading.current_thread().name, os.sched_getparam(0).sched_priority))
        handle(message, t)

    studio.link.handle = spy  # type: ignore[method-assign]
    studio.send(PC, 1)
    wait_for(lambda: studio.rig.controller.preset_id == "second", what="the program change")
    # The MIDI worker, real-time where permitted (root is) but below the audio
    # threads (JACK's clients near 70, the engine's own 50): it never holds them up.
    assert seen == [("midi-in", INPUT_PRIORITY if os.geteuid() == 0 else 0)]
