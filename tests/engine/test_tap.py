"""Taps: the in-process ring the tuner reads and the shared-memory ring the
stream encoder reads from another process."""

from __future__ import annotations

import multiprocessing as mp

import numpy as np
import pytest

from pedalboard.engine import Engine, OutputRing, OutputRingReader
from pedalboard.engine.tap import WRITER_MARGIN, Tap
from pedalboard.presets import build_chain, parse_preset
from pedalboard.signals import guitar_riff

STEREO_ECHO = {"name": "Echo", "chain": [
    {"id": "drive", "effect": "overdrive", "params": {"drive_db": 12.0}},
    {"id": "echo", "effect": "delay", "params": {"delay_seconds": 0.05, "feedback": 0.3}},
    {"id": "room", "effect": "reverb", "params": {"width": 1.0}},
]}


def _read_in_child(name: str, frames: int, ready, results) -> None:
    reader = OutputRingReader(name)
    ready.set()
    try:
        results.put(reader.read_exactly(frames, timeout_s=60.0))
        results.put(reader.lost_frames)
    finally:
        reader.close()


def test_another_process_reads_exactly_what_the_engine_played() -> None:
    engine = Engine("manual", demo_input="silence", channels_out=2)
    engine.start()
    try:
        engine.load_chain(build_chain(parse_preset(STEREO_ECHO)))
        engine.backend.play((0.5 * guitar_riff(1.0)).astype(np.float32), loop=True)
        engine.backend.step(50)
        context = mp.get_context("spawn")
        ready, results = context.Event(), context.Queue()
        frames = 64 * 1500
        child = context.Process(target=_read_in_child,
                                args=(engine.status()["output_ring"], frames, ready, results))
        child.start()
        assert ready.wait(60.0), "the reader process did not start"
        engine.backend.record(frames)
        for _ in range(15):
            engine.backend.step(100)
        played = engine.backend.recording()
        received = results.get(timeout=60.0)
        lost = results.get(timeout=10.0)
        child.join(timeout=30.0)
        assert child.exitcode == 0
    finally:
        engine.stop()
    assert lost == 0
    assert received.shape == (frames, 2)
    assert np.max(np.abs(played)) > 0.05
    assert not np.allclose(played[0], played[1])  # a real stereo output (reverb width)
    np.testing.assert_array_equal(received.T, played)


def test_a_reader_that_falls_behind_skips_ahead_and_counts_the_loss() -> None:
    ring = OutputRing(1, capacity=WRITER_MARGIN * 2)
    try:
        reader = OutputRingReader(ring.name, from_start=True)
        ramp = np.arange(WRITER_MARGIN * 5, dtype=np.float32)[np.newaxis, :]
        for start in range(0, ramp.shape[1], 64):
            ring.write(ramp[:, start : start + 64])
        got = reader.read()
        assert reader.lost_frames == ramp.shape[1] - WRITER_MARGIN
        np.testing.assert_array_equal(got[:, 0], ramp[0, -WRITER_MARGIN:])
        assert reader.read().shape == (0, 1)  # nothing new
        reader.close()
    finally:
        ring.close()


def test_reader_refuses_memory_that_is_not_an_output_ring() -> None:
    from multiprocessing import shared_memory

    block = shared_memory.SharedMemory(create=True, size=4096)
    try:
        with pytest.raises(ValueError, match="not a pedal output ring"):
            OutputRingReader(block.name)
    finally:
        block.close()
        block.unlink()


def test_tap_returns_the_latest_samples_across_the_wrap() -> None:
    tap = Tap(1, capacity=WRITER_MARGIN + 1000)
    signal = np.arange(20_000, dtype=np.float32)
    for start in range(0, signal.shape[0], 64):
        tap.write(signal[np.newaxis, start : start + 64])
    np.testing.assert_array_equal(tap.latest(900)[:, 0], signal[-900:])
    assert tap.latest(10**9).shape[0] == 1000  # never more than is intact


def test_a_reader_in_the_creating_process_leaves_the_resource_tracker_quiet() -> None:
    """A reader in the process that created the ring must not unregister it
    from multiprocessing's resource tracker: the creator's unlink does, and a
    second removal prints a KeyError traceback when the process exits."""
    import subprocess
    import sys

    code = ("from pedalboard.engine.tap import OutputRing, OutputRingReader\n"
            "ring = OutputRing(1)\nreader = OutputRingReader(ring.name)\n"
            "reader.close()\nring.close()\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "KeyError" not in done.stderr and "leaked" not in done.stderr, done.stderr
