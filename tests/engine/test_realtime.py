"""The callback's real-time rules, checked on the real callback path (the
manual backend runs exactly the code JACK's process thread runs)."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import pytest

import pedalboard
from pedalboard.engine import Engine
from pedalboard.presets import build_chain, parse_preset
from pedalboard.signals import guitar_riff

PACKAGE_DIR = str(Path(pedalboard.__file__).parent)

SIX_EFFECTS = {
    "name": "Six",
    "chain": [
        {"id": "gate", "effect": "noise_gate"},
        {"id": "comp", "effect": "compressor", "params": {"threshold_db": -24.0}},
        {"id": "drive", "effect": "overdrive", "params": {"drive_db": 24.0}},
        {"id": "amp", "effect": "tone_stack"},
        {"id": "echo", "effect": "delay", "params": {"delay_seconds": 0.3, "feedback": 0.4}},
        {"id": "room", "effect": "reverb"},
    ],
}


@pytest.fixture
def engine():
    engine = Engine("manual", demo_input="silence", channels_out=2)
    engine.start()
    engine.backend.play((0.5 * guitar_riff(2.0)).astype(np.float32), loop=True)
    try:
        yield engine
    finally:
        engine.stop()


class _BlockSpy:
    """Wraps a chain's ``process_inplace`` and checks, without allocating,
    that every block it gets is the engine's preallocated buffer view."""

    def __init__(self, engine: Engine, chain) -> None:
        self.expected = engine._views[1]
        self.buffer = engine._buffer
        self.inner = chain.process_inplace
        self.counts = np.zeros(2, dtype=np.int64)  # [calls, foreign blocks]
        chain.process_inplace = self

    def __call__(self, block: np.ndarray) -> None:
        counts = self.counts
        counts[0] += 1
        if block is not self.expected or block.base is not self.buffer:
            counts[1] += 1
        self.inner(block)


def _growth(before: tracemalloc.Snapshot, after: tracemalloc.Snapshot,
            filters: list[tracemalloc.BaseFilter]) -> int:
    stats = after.filter_traces(filters).compare_to(before.filter_traces(filters), "traceback")
    return sum(max(0, stat.size_diff) for stat in stats)


def _engine_growth(before: tracemalloc.Snapshot, after: tracemalloc.Snapshot) -> int:
    """Bytes still allocated that were allocated from pedalboard's own code."""
    return _growth(before, after, [tracemalloc.Filter(True, f"{PACKAGE_DIR}/*")])


def _array_growth(before: tracemalloc.Snapshot, after: tracemalloc.Snapshot) -> int:
    """Bytes of numpy array data (numpy's own tracemalloc domain) still allocated."""
    return _growth(before, after, [tracemalloc.DomainFilter(True, np.lib.tracemalloc_domain)])


def test_the_callback_allocates_nothing_and_uses_its_own_buffers(engine: Engine) -> None:
    chain = build_chain(parse_preset(SIX_EFFECTS))
    engine.load_chain(chain, crossfade_ms=0.0)
    spy = _BlockSpy(engine, chain)
    engine.backend.step(2000)  # every path warm: glides settled, delay lines full
    tracemalloc.start(8)
    try:
        before = tracemalloc.take_snapshot()
        engine.backend.step(10_000)
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    assert spy.counts[0] == 12_000
    assert spy.counts[1] == 0
    assert _array_growth(before, after) == 0
    # What remains are the few live scalars the counters point at now (an int
    # object is 32 bytes); a leak of a single byte per block would be 10 kB.
    assert _engine_growth(before, after) < 512
    assert engine.status()["output_peak_db"] > -40.0  # it really played


def test_switching_and_commands_leave_no_memory_behind(engine: Engine) -> None:
    """Preset changes with spillover, knob turns, bypasses and mute, many
    times over: once retired chains are collected, nothing has grown."""
    engine.load_chain(build_chain(parse_preset(SIX_EFFECTS)))
    engine.backend.step(500)
    engine._empty_trash()

    def a_round(i: int) -> None:
        engine.load_chain(build_chain(parse_preset(SIX_EFFECTS)), spillover=i % 2 == 0)
        for k in range(20):
            engine.set_param("drive", "drive_db", 10.0 + k)
            engine.backend.step(5)
        engine.set_bypass("room", i % 2 == 1)
        engine.set_mute(i % 3 == 0)
        engine.backend.step(800)  # long enough for the tails to end
        engine._empty_trash()

    def settle() -> None:
        """Run until every retired chain has rung out and been collected."""
        for _ in range(200):
            if not any(spill.chain is not None for spill in engine._spills):
                break
            engine.backend.step(100)
        engine._empty_trash()

    tracemalloc.start(8)  # before the warm-up, so the chain live at "before" is traced
    try:
        for i in range(3):
            a_round(i)  # warm every path
        settle()
        before = tracemalloc.take_snapshot()
        for i in range(3, 12):
            a_round(i)
        settle()
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    # The live chain at the end replaced the one live at the start: compare
    # net sizes. Allow a few kB of interpreter caches a build may leave; one
    # leaked chain of these six effects is megabytes.
    ours = [tracemalloc.Filter(True, f"{PACKAGE_DIR}/*")]
    net = sum(s.size_diff for s in after.filter_traces(ours).compare_to(
        before.filter_traces(ours), "filename"))
    assert net < 16_384
    assert len(engine._owned) == 1
