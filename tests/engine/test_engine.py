"""The Engine's interface on the virtual backend: commands at block
boundaries, validation before anything is queued, switching, mute, taps,
status, and the audio being down."""

from __future__ import annotations

import gc

import numpy as np
import pytest
from engine_support import wait_until

from pedalboard.chain import Chain
from pedalboard.engine import BackendError, Engine
from pedalboard.errors import ParameterError, PedalError
from pedalboard.presets import Snapshot, build_chain, parse_preset
from pedalboard.signals import guitar_riff

SR = 48000

PRESET = {"name": "Test", "chain": [
    {"id": "drive", "effect": "overdrive", "params": {"drive_db": 18.0}},
    {"id": "amp", "effect": "tone_stack", "params": {"model": "marshall"}},
    {"id": "echo", "effect": "delay", "params": {"delay_seconds": 0.08, "feedback": 0.4}},
    {"id": "level", "effect": "gain", "params": {"gain_db": -3.0}},
]}


def _chain(preset: dict = PRESET) -> Chain:
    return build_chain(parse_preset(preset))


@pytest.fixture
def engine():
    engine = Engine("manual", demo_input="silence")
    engine.start()
    try:
        yield engine
    finally:
        engine.stop()


def _riff(seconds: float = 1.0) -> np.ndarray:
    return (0.5 * guitar_riff(seconds, SR)).astype(np.float32)


@pytest.mark.parametrize("channels", [1, 2])
def test_the_engine_plays_what_the_offline_render_computes(channels: int) -> None:
    engine = Engine("manual", demo_input="silence", channels_out=channels)
    engine.start()
    try:
        engine.load_chain(_chain(), crossfade_ms=0.0)
        engine.backend.step(1)
        riff = _riff()
        engine.backend.play(riff)
        engine.backend.record(riff.shape[0])
        engine.backend.step(riff.shape[0] // 64)
        played = engine.backend.recording()
        assert engine.status()["latency_samples"] == 0
    finally:
        engine.stop()
    # Mono input goes to every output channel.
    offline = _chain().process(np.tile(riff, (channels, 1)), SR)
    np.testing.assert_allclose(played, offline, atol=1e-6)
    assert np.max(np.abs(played)) > 0.05


def test_commands_apply_at_the_next_block_and_are_time_stamped(engine: Engine) -> None:
    chain = _chain()
    engine.load_chain(chain, crossfade_ms=0.0)
    engine.backend.step(3)
    sequence = engine.set_param("level", "gain_db", -12.0)
    assert engine.applied_at(sequence) is None
    assert chain.effect("level").get_param("gain_db") == -3.0  # nothing changed yet
    blocks = engine.status()["blocks"]
    engine.backend.step(1)
    when, block = engine.applied_at(sequence)
    assert block == blocks and engine.applied == sequence
    assert chain.effect("level").get_param("gain_db") == -12.0
    assert when > 0.0


def test_a_snapshot_lands_in_one_block(engine: Engine) -> None:
    chain = _chain()
    engine.load_chain(chain, crossfade_ms=0.0)
    engine.backend.step(2)
    snapshot = Snapshot(name="Solo", params={"drive.drive_db": 30.0, "level.gain_db": 0.0},
                        bypass={"echo": True})
    sequence = engine.apply_snapshot(snapshot)
    engine.backend.step(1)
    assert engine.applied_at(sequence) is not None
    assert chain.effect("drive").get_param("drive_db") == 30.0
    assert chain.effect("level").get_param("gain_db") == 0.0
    assert chain.slot("echo").bypass


@pytest.mark.parametrize(("call", "message"), [
    (lambda e: e.set_param("nope", "gain_db", 1.0), "'nope'"),
    (lambda e: e.set_param("level", "volume", 1.0), "no parameter 'volume'"),
    (lambda e: e.set_param("level", "gain_db", 99.0), r"\[-60, 24\] dB"),
    (lambda e: e.set_param("level", "gain_db", "loud"), "gain_db"),
    (lambda e: e.set_bypass("echo", "yes"), "true or false"),
    (lambda e: e.set_tempo(5000), r"\[20, 300\]"),
    (lambda e: e.set_mute(1.5), "true or false"),
    (lambda e: e.load_chain("crunch"), "expected a Chain"),
    (lambda e: e.load_chain(Chain(), crossfade_ms=-1), "crossfade_ms"),
    (lambda e: e.apply_snapshot(Snapshot(name="S", params={"level.gain_db": 50.0})), "snapshot 'S'"),
])
def test_bad_commands_are_refused_before_reaching_the_audio(engine: Engine, call, message: str) -> None:
    engine.load_chain(_chain(), crossfade_ms=0.0)
    engine.backend.step(1)
    submitted = engine._queue.submitted
    with pytest.raises(ParameterError, match=message):
        call(engine)
    assert engine._queue.submitted == submitted and len(engine._queue) == 0


def test_a_playing_chain_cannot_be_loaded_again(engine: Engine) -> None:
    chain = _chain()
    engine.load_chain(chain)
    with pytest.raises(ParameterError, match="still playing"):
        engine.load_chain(chain)


def test_bad_engine_settings_name_what_is_wrong(tmp_path) -> None:
    with pytest.raises(ParameterError, match="channels_out"):
        Engine("manual", channels_out=3)
    with pytest.raises(ParameterError, match="block_size"):
        Engine("manual", block_size=5)
    with pytest.raises(BackendError, match="unknown audio backend 'pulse'"):
        Engine("pulse")
    missing = tmp_path / "nothing.wav"
    with pytest.raises(BackendError, match=r"nothing\.wav"):
        Engine("virtual", demo_input=str(missing))
    assert issubclass(BackendError, PedalError)


def test_switching_without_spillover_leaves_only_the_new_chain(engine: Engine) -> None:
    engine.load_chain(_chain(), crossfade_ms=0.0)
    riff = _riff(2.0)
    engine.backend.play(riff)
    engine.backend.step(400)
    dry = Chain()  # the straight signal
    engine.load_chain(dry, spillover=False, crossfade_ms=10.0)
    engine.backend.record(64 * 100)
    engine.backend.step(100)
    played = engine.backend.recording()[0]
    fade = 480
    start = 400 * 64
    # After the crossfade the output is exactly the input: the echo is gone.
    np.testing.assert_array_equal(played[fade + 64 :], riff[start + fade + 64 : start + 6400])


def test_spillover_lets_the_old_chain_ring_out_then_drops_it(engine: Engine) -> None:
    echo = {"name": "E", "chain": [{"id": "echo", "effect": "delay",
                                     "params": {"delay_seconds": 0.1, "feedback": 0.5}}]}
    engine.load_chain(_chain(echo), crossfade_ms=0.0)
    burst = np.zeros(SR, dtype=np.float32)
    burst[:4800] = _riff(0.1)
    engine.backend.play(burst)
    engine.backend.step(80)  # the burst is over (0.107 s)
    engine.load_chain(Chain(), spillover=True)
    engine.backend.record(SR // 2)
    engine.backend.step(SR // 2 // 64)
    tail = engine.backend.recording()[0]
    assert np.sqrt(np.mean(tail[2400:] ** 2)) > 1e-3  # repeats after the switch
    assert any(spill.chain is not None for spill in engine._spills)
    for _ in range(100):  # the delay's tail is a few seconds at 0.5 feedback
        engine.backend.step(100)
    assert all(spill.chain is None for spill in engine._spills)
    engine._empty_trash()
    assert len(engine._owned) == 1  # only the live chain is held


def test_mute_fades_out_and_back_without_a_click(engine: Engine) -> None:
    tone = (0.5 * np.sin(2 * np.pi * 440.0 * np.arange(SR) / SR)).astype(np.float32)
    engine.backend.play(tone)
    engine.backend.step(10)
    engine.set_mute(True)
    engine.backend.record(64 * 40)
    engine.backend.step(20)
    engine.set_mute(False)
    engine.backend.step(20)
    played = engine.backend.recording()[0]
    natural = float(np.max(np.abs(np.diff(tone))))
    assert float(np.max(np.abs(np.diff(played)))) <= natural * 1.01
    assert np.all(played[600:1280] == 0.0)  # silent once faded (10 ms = 480 samples)
    assert np.max(np.abs(played[-64:])) > 0.4  # and back


def test_input_snapshot_holds_the_latest_input(engine: Engine) -> None:
    signal = np.linspace(-1.0, 1.0, 64 * 100, dtype=np.float32)
    engine.backend.play(signal)
    engine.backend.step(50)
    np.testing.assert_array_equal(engine.input_snapshot(1000), signal[64 * 50 - 1000 : 64 * 50])
    assert engine.status()["input_peak_db"] > -12.0


def test_status_reports_what_the_controller_shows(engine: Engine) -> None:
    engine.load_chain(_chain(), crossfade_ms=0.0)
    engine.backend.play(_riff(), loop=True)
    engine.backend.step(400)
    status = engine.status()
    for key in ("sample_rate", "block_size", "latency_samples", "xruns", "dsp_load_p50",
                "dsp_load_p99", "input_peak_db", "output_peak_db", "backend", "running", "audio_ok"):
        assert key in status
    assert status["sample_rate"] == SR and status["block_size"] == 64
    assert 0.0 < status["dsp_load_p50"] <= status["dsp_load_p99"]
    assert status["running"] and status["audio_ok"] and status["xruns"] == 0
    assert -30.0 < status["output_peak_db"] < 6.0


def test_the_virtual_clock_plays_the_demo_riff() -> None:
    engine = Engine("virtual")
    engine.start()
    try:
        wait_until(lambda: engine.status()["blocks"] > 400, what="400 blocks of the virtual clock")
        assert engine.status()["input_peak_db"] > -20.0
        assert engine.status()["output_peak_db"] > -20.0
    finally:
        engine.stop()
    assert not engine.status()["running"]


def test_without_a_server_the_engine_reports_it_and_keeps_its_state() -> None:
    events: list[tuple[str, dict]] = []
    engine = Engine("jack", jack_server="pedal-no-such-server",
                    on_event=lambda name, data: events.append((name, data)))
    engine.start()
    try:
        assert events and events[0][0] == "audio_lost"
        assert "pedal-no-such-server" in events[0][1]["message"]
        assert not engine.status()["audio_ok"]
        chain = _chain()
        engine.load_chain(chain)
        engine.set_param("level", "gain_db", -20.0)  # applied at once: nobody else would
        assert engine.chain is chain
        assert chain.effect("level").get_param("gain_db") == -20.0
    finally:
        engine.stop()


def test_alsa_without_a_device_says_so_and_keeps_trying() -> None:
    """This machine has no sound card: the ALSA backend must say that in one
    line, keep the engine usable, and not raise into the controller."""
    events: list[tuple[str, dict]] = []
    engine = Engine("alsa:NoSuchCard", on_event=lambda name, data: events.append((name, data)))
    engine.start()
    try:
        assert events[0][0] == "audio_lost"
        assert "ALSA" in events[0][1]["message"] and "NoSuchCard" in events[0][1]["message"]
        status = engine.status()
        assert status["running"] and not status["audio_ok"] and status["backend"] == "alsa"
        assert "NoSuchCard" in status["message"]
    finally:
        engine.stop()


def test_a_running_engine_keeps_the_import_heap_out_of_the_collector() -> None:
    """A full collection over the ~160k objects the imports leave holds the
    GIL for 30-40 ms (twenty-odd periods without a callback); while the engine
    runs they are frozen, and a full collection walks only what came since."""
    engine = Engine("virtual")
    engine.start()
    try:
        assert gc.get_freeze_count() > 50_000
        garbage = [[i] for i in range(10_000)]
        del garbage
        gc.collect()  # walks what is not frozen: it must not thaw anything
        assert gc.get_freeze_count() > 50_000
    finally:
        engine.stop()
    assert gc.get_freeze_count() == 0  # stop() gives them back to the collector
