"""The live path on a real jackd (dummy driver): what the engine plays is
what ``pedal render`` computes, switching is click-free, tails spill over,
and the engine survives its audio server dying."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from engine_support import (
    SAMPLE_RATE,
    JackProbe,
    JackServer,
    unique_server_name,
    wait_until,
)

from pedalboard.engine import Engine
from pedalboard.presets import build_chain, read_preset
from pedalboard.signals import guitar_riff

# Builtin effects whose output depends only on the input (no free-running
# LFO) and whose reset state is their state after silence, so a chain that
# idled before the riff starts matches an offline render started at the riff.
# (The compressor is left out: its detector after reset is not where silence
# leaves it, so its first attack depends on how long it idled.)
DETERMINISTIC_PRESET = {
    "name": "Engine proof",
    "chain": [
        {"id": "cut", "effect": "highpass_filter", "params": {"cutoff_frequency_hz": 80.0}},
        {"id": "drive", "effect": "overdrive", "params": {"drive_db": 20.0, "tone": 0.6}},
        {"id": "amp", "effect": "tone_stack", "params": {"model": "marshall", "mid": 0.7}},
        {"id": "eq", "effect": "eq", "params": {"band2_gain_db": 4.0, "high_cut_hz": 9000.0}},
        {"id": "echo", "effect": "delay",
         "params": {"delay_seconds": 0.12, "feedback": 0.35, "mix": 0.3}},
        {"id": "room", "effect": "reverb", "params": {"room_size": 0.4, "wet_level": 0.2}},
        {"id": "level", "effect": "gain", "params": {"gain_db": -3.0}},
    ],
}


@pytest.fixture
def preset_file(tmp_path: Path) -> Path:
    path = tmp_path / "proof.json"
    path.write_text(json.dumps(DETERMINISTIC_PRESET), encoding="utf-8")
    return path


@pytest.fixture
def engine(jack_server: JackServer):
    engine = Engine("jack", jack_server=jack_server.name)
    engine.start()
    wait_until(lambda: engine.status()["audio_ok"], what="the engine on JACK")
    try:
        yield engine
    finally:
        engine.stop()


@pytest.fixture
def probe(jack_server: JackServer, engine: Engine):
    """A probe wired to the engine in place of the (silent) physical ports."""
    client = engine.backend.client
    for port in ("in_1", "out_1"):
        for peer in client.get_all_connections(f"pedal:{port}"):
            client.disconnect(peer, f"pedal:{port}") if port == "in_1" else client.disconnect(
                f"pedal:{port}", peer)
    probe = JackProbe(jack_server.name)
    updates = engine.backend.latency_updates
    probe.connect()
    wait_until(lambda: engine.backend.latency_updates > updates + 1, what="latency refresh")
    try:
        yield probe
    finally:
        probe.close()


def _load(engine: Engine, chain, **options) -> None:
    engine.wait_applied(engine.load_chain(chain, **options))


def test_live_output_equals_offline_render(engine: Engine, probe: JackProbe, preset_file: Path) -> None:
    riff = (0.5 * guitar_riff(3.0, SAMPLE_RATE)).astype(np.float32)

    _load(engine, build_chain(read_preset(preset_file)), crossfade_ms=0.0)
    recording = probe.play_and_record(riff, extra_frames=8192)
    latency = engine.status()["latency_samples"]
    assert latency == 64  # the probe loop is one period; the chain adds none
    padded = np.concatenate([riff, np.zeros(8192, np.float32)])
    offline = build_chain(read_preset(preset_file)).process(padded, SAMPLE_RATE)
    live = recording[latency:]
    frames = live.shape[0]
    assert np.max(np.abs(offline)) > 0.05  # the chain really produced sound
    assert np.max(np.abs(live - offline[:frames])) < 1e-5


def _max_step(signal: np.ndarray) -> float:
    return float(np.max(np.abs(np.diff(signal))))


def _dry_and_echo_presets() -> tuple[dict, dict]:
    dry = {"name": "Dry", "chain": [{"id": "level", "effect": "gain", "params": {"gain_db": -2.0}}]}
    echo = {"name": "Echo", "chain": [
        {"id": "echo", "effect": "delay",
         "params": {"delay_seconds": 0.25, "feedback": 0.5, "mix": 0.5}},
    ]}
    return dry, echo


def _render(preset: dict, signal: np.ndarray) -> np.ndarray:
    from pedalboard.presets import parse_preset

    return build_chain(parse_preset(preset)).process(signal, SAMPLE_RATE)


def test_preset_switch_and_bypass_do_not_click(engine: Engine, probe: JackProbe) -> None:
    from pedalboard.presets import parse_preset

    dry, echo = _dry_and_echo_presets()
    seconds = np.arange(SAMPLE_RATE * 3) / SAMPLE_RATE
    tone = (0.5 * np.sin(2 * np.pi * 220.0 * seconds)).astype(np.float32)

    _load(engine, build_chain(parse_preset(echo)), crossfade_ms=0.0)
    # Switch presets and toggle bypass while the tone plays, from another
    # thread as a footswitch would, at arbitrary moments inside a block.
    sequences: list[int] = []

    def stomp() -> None:
        time.sleep(0.8)
        chain = build_chain(parse_preset(dry))
        sequences.append(engine.load_chain(chain, crossfade_ms=10.0))
        time.sleep(0.8)
        sequences.append(engine.set_bypass("level", True))
        time.sleep(0.4)
        sequences.append(engine.set_bypass("level", False))

    thread = threading.Thread(target=stomp)
    thread.start()
    recording = probe.play_and_record(tone, extra_frames=2048)
    thread.join()
    assert len(sequences) == 3 and all(engine.applied_at(s) for s in sequences)

    body = recording[4096 : tone.shape[0]]
    # With spillover the echo's tail rings on over the dry preset, so the
    # output may move by as much as both presets' signals at once -- and no
    # more. A hard switch would jump by about the tone's amplitude (~0.4).
    allowed = _max_step(_render(dry, tone)[4096:]) + _max_step(_render(echo, tone)[4096:])
    assert _max_step(body) <= allowed * 1.05
    assert _max_step(body) < 0.1


def _energy_after_switch(engine: Engine, probe: JackProbe, spillover: bool) -> float:
    from pedalboard.presets import parse_preset

    dry, echo = _dry_and_echo_presets()
    frames = SAMPLE_RATE
    burst = np.zeros(frames * 2, dtype=np.float32)
    burst[: frames // 4] = (0.5 * guitar_riff(0.25, SAMPLE_RATE)).astype(np.float32)
    signal_done = frames // 4 + 128

    _load(engine, build_chain(parse_preset(echo)), crossfade_ms=0.0)

    def switch_when_the_burst_ends() -> None:
        wait_until(lambda: probe.position >= signal_done, what="the burst")
        chain = build_chain(parse_preset(dry))
        engine.load_chain(chain, spillover=spillover, crossfade_ms=10.0)

    probe.position = 0  # the probe is idle: forget where the last take ended
    thread = threading.Thread(target=switch_when_the_burst_ends)
    thread.start()
    recording = probe.play_and_record(burst, extra_frames=0)
    thread.join()

    # The echo repeats every 0.25 s: measure from 0.6 s (well after the switch).
    late = recording[int(0.6 * SAMPLE_RATE) :]
    return float(np.sqrt(np.mean(late.astype(np.float64) ** 2)))


def test_spillover_keeps_the_echo_tail_only_when_on(engine: Engine, probe: JackProbe) -> None:
    # Without first: a spilled tail rings for seconds and would reach the next take.
    without = _energy_after_switch(engine, probe, spillover=False)
    with_tails = _energy_after_switch(engine, probe, spillover=True)
    assert with_tails > 1e-3  # repeats of a -6 dBFS riff at 0.5 feedback
    assert without < 1e-6  # the dry preset on silence: nothing


def test_server_death_is_reported_and_survived(tmp_path: Path, preset_file: Path) -> None:
    server = JackServer(unique_server_name("death"), tmp_path)
    server.start()
    events: list[str] = []
    engine = Engine("jack", jack_server=server.name, on_event=lambda name, data: events.append(name))
    try:
        engine.start()
        wait_until(lambda: engine.status()["audio_ok"], what="the engine on JACK")
        chain = build_chain(read_preset(preset_file))
        engine.wait_applied(engine.load_chain(chain, crossfade_ms=0.0))
        server.kill()
        wait_until(lambda: "audio_lost" in events, what="audio_lost")
        assert not engine.status()["audio_ok"]
        engine.set_param("level", "gain_db", -10.0)  # a knob turned while the server is down
        engine.set_bypass("room", True)
        server.start()
        wait_until(lambda: "audio_restored" in events, what="audio_restored")
        assert engine.status()["audio_ok"]
        assert engine.chain is chain
        assert chain.effect("level").get_param("gain_db") == -10.0
        assert chain.slot("room").bypass
        blocks = engine.status()["blocks"]
        wait_until(lambda: engine.status()["blocks"] > blocks + 100, what="blocks after the restart")
        ports = subprocess.run(["jack_lsp"], capture_output=True, text=True, check=True,
                               env={"JACK_DEFAULT_SERVER": server.name, "PATH": "/usr/bin:/bin"}).stdout
        assert "pedal:in_1" in ports and "pedal:out_1" in ports
        assert events == ["audio_lost", "audio_restored"]
    finally:
        engine.stop()
        server.stop()


def test_the_engine_follows_the_servers_period(tmp_path: Path, preset_file: Path) -> None:
    """JACK decides the period: a server at 128 frames runs the engine at 128,
    and the output is still the offline render."""
    server = JackServer(unique_server_name("p128"), tmp_path, period=128)
    server.start()
    engine = Engine("jack", jack_server=server.name, block_size=64)
    probe = None
    try:
        engine.start()
        wait_until(lambda: engine.status()["audio_ok"], what="the engine on JACK")
        assert engine.status()["block_size"] == 128
        client = engine.backend.client
        client.disconnect("system:capture_1", "pedal:in_1")
        client.disconnect("pedal:out_1", "system:playback_1")
        probe = JackProbe(server.name)
        updates = engine.backend.latency_updates
        probe.connect()
        wait_until(lambda: engine.backend.latency_updates > updates + 1, what="latency refresh")
        riff = (0.5 * guitar_riff(1.5, SAMPLE_RATE)).astype(np.float32)

        _load(engine, build_chain(read_preset(preset_file)), crossfade_ms=0.0)
        recording = probe.play_and_record(riff, extra_frames=4096)
        latency = engine.status()["latency_samples"]
        assert latency == 128
        offline = build_chain(read_preset(preset_file)).process(
            np.concatenate([riff, np.zeros(4096, np.float32)]), SAMPLE_RATE)
        live = recording[latency:]
        assert np.max(np.abs(live - offline[: live.shape[0]])) < 1e-5
        assert engine._views[1].shape[1] == 128  # the callback uses full-period views
    finally:
        if probe is not None:
            probe.close()
        engine.stop()
        server.stop()
