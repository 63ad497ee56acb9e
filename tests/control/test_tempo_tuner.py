"""Tap tempo drives a tempo-synced delay you can hear; the tuner mutes the
output and reports the note and cents of what is played into the pedal."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile
from control_support import Client, Pedal, short_tmpdir, wait_for

from pedalboard.signals import note_frequency, pluck

SAMPLE_RATE = 48000
LOOP_S = 1.0
ECHO = {"name": "Echo", "id": "echo", "chain": [
    {"id": "echo", "effect": "delay",
     "params": {"sync": "1/4", "mix": 1.0, "feedback": 0.0, "delay_seconds": 0.2}},
]}
ACTIONS = {"fs4": {"press": "tap", "long": "tuner"}}


class Clock:
    """The controller's clock, moved by the test (tap tempo is timing)."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def data_dir() -> Iterator[Path]:
    path = short_tmpdir()
    yield path
    shutil.rmtree(path, ignore_errors=True)


def click_loop(path: Path) -> str:
    """A 1 s loop with one click at its start: the demo input."""
    loop = np.zeros(int(LOOP_S * SAMPLE_RATE), np.float32)
    loop[0] = 0.5
    soundfile.write(path, loop, SAMPLE_RATE, subtype="FLOAT")
    return str(path)


def echo_lag_s(pedal: Pedal) -> float:
    """Where the click comes back, from what the engine played: the output's
    loudest sample relative to the input's click, modulo the loop."""
    frames = int(2 * LOOP_S * SAMPLE_RATE)
    heard = pedal.engine.output_snapshot(frames)[0]
    played = pedal.engine.input_snapshot(frames)
    lag = (int(np.argmax(np.abs(heard))) - int(np.argmax(np.abs(played)))) % int(LOOP_S * SAMPLE_RATE)
    return lag / SAMPLE_RATE


def test_tapped_tempo_sets_the_delay_you_hear(data_dir: Path) -> None:
    clock = Clock()
    pedal = Pedal(data_dir, actions=ACTIONS, presets=[ECHO], demo_input=click_loop(data_dir / "click.wav"),
                  clock=clock)
    try:
        c = pedal.controller
        delay = pedal.engine.chain.effect("echo")
        assert c.tempo_bpm == 120.0 and delay.delay_time_seconds() == 0.5
        for bpm in (150.0, 96.0):  # a quarter note: 0.4 s, then 0.625 s
            clock.t += 5.0  # a pause: the tap tempo starts over
            for tap in range(4):
                clock.t += 0.0 if tap == 0 else 60.0 / bpm
                reply = c.call("press", "ctl", switch="fs4")
                assert reply["type"] == "ack", reply
            assert c.tempo_bpm == pytest.approx(bpm)
            assert reply["result"]["bpm"] == pytest.approx(bpm)
            wait_for(lambda bpm=bpm: delay.delay_time_seconds() == pytest.approx(60.0 / bpm),
                     what="the synced delay time")
            # The delay glides to its new time; after a few loops the echo sits there.
            wait_for(lambda bpm=bpm: abs(echo_lag_s(pedal) - 60.0 / bpm) < 0.002, timeout_s=10.0,
                     what=f"the echo {60.0 / bpm:.3f} s after the click")
        assert pedal.store.get("live")["tempo_bpm"] == pytest.approx(96.0)
    finally:
        pedal.close()


def a2_plus_7_cents(path: Path) -> str:
    """A sustained A2 pluck, 7 cents sharp, looped every 2 s: the demo input."""
    tone = pluck(note_frequency(45 + 0.07), 2.0, SAMPLE_RATE, decay_s=8.0)
    soundfile.write(path, (0.5 * tone).astype(np.float32), SAMPLE_RATE, subtype="FLOAT")
    return str(path)


def test_the_tuner_mutes_the_output_and_reports_note_and_cents(data_dir: Path) -> None:
    pedal = Pedal(data_dir, actions=ACTIONS, presets=[ECHO], demo_input=a2_plus_7_cents(data_dir / "a2.wav"))
    client = Client(pedal.server.path)
    try:
        engine = pedal.engine
        wait_for(lambda: np.abs(engine.output_snapshot(4800)).max() > 0.05, what="sound before tuning")
        assert client.request("subscribe", tuner=True)["type"] == "ack"
        assert client.request("press", switch="fs4", long=True)["result"]["action"] == "tuner"
        assert pedal.controller.tuner_on
        wait_for(lambda: not engine.output_snapshot(4800).any(), what="a silent output while tuning")
        assert engine.status()["input_peak_db"] > -20.0  # the guitar still comes in
        readings = []
        while len(readings) < 10:
            message = client.read()
            if message["type"] == "tuner" and message["data"] is not None:
                readings.append(message["data"])
        assert {r["note"] for r in readings} == {"A2"}
        assert np.median([r["cents"] for r in readings]) == pytest.approx(7.0, abs=1.0)
        assert np.median([r["frequency_hz"] for r in readings]) == pytest.approx(
            note_frequency(45.07), rel=1e-3)
        assert client.request("tuner", on=False)["result"] == {"on": False}
        wait_for(lambda: np.abs(engine.output_snapshot(4800)).max() > 0.05, what="sound after tuning")
    finally:
        client.close()
        pedal.close()
