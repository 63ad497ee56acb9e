"""Gestures from synthetic contact-bounce traces, and tap tempo from jittered taps."""

from __future__ import annotations

import random

import pytest

from pedalboard.device.gestures import GestureEngine, TapTempo


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def bounce(rng: random.Random, t: float, closed: bool) -> list[tuple[float, bool]]:
    """Edges of one contact transition at ``t`` that bounces for 1-8 ms:
    the contact chatters (alternating levels) and settles at ``closed``."""
    duration = rng.uniform(0.001, 0.008)
    chatters = rng.randrange(0, 6) * 2  # an even number of extra edges: ends at `closed`
    times = sorted(rng.uniform(t, t + duration) for _ in range(chatters))
    edges = [(t, closed)]
    level = closed
    for moment in times:
        level = not level
        edges.append((moment, level))
    assert level == closed
    return edges


def run_trace(engine: GestureEngine, clock: Clock, name: str, edges: list[tuple[float, bool]],
              until: float, step: float = 0.001) -> None:
    """Replay edges in time order, polling the timers every ``step`` like the device thread."""
    edges = sorted(edges)
    i = 0
    t = 0.0
    while t <= until:
        while i < len(edges) and edges[i][0] <= t:
            clock.t = edges[i][0]
            engine.edge(name, edges[i][1], edges[i][0])
            i += 1
        clock.t = t
        engine.poll(t)
        t += step


def make(clock: Clock, **switch: bool) -> tuple[GestureEngine, list[tuple[str, str, float]]]:
    seen: list[tuple[str, str, float]] = []
    engine = GestureEngine(lambda name, gesture: seen.append((name, gesture, clock.t)), clock=clock)
    engine.add_switch("fs1", **switch)
    return engine, seen


@pytest.mark.parametrize("seed", range(5))
def test_each_bouncy_press_is_exactly_one_press(seed: int) -> None:
    rng = random.Random(seed)
    clock = Clock()
    engine, seen = make(clock)
    edges = []
    t = 0.1
    starts = []
    for _ in range(40):  # stomps held 50-400 ms, 120-600 ms apart
        starts.append(t)
        edges += bounce(rng, t, True)
        t += rng.uniform(0.05, 0.4)
        edges += bounce(rng, t, False)
        t += rng.uniform(0.12, 0.6)
    run_trace(engine, clock, "fs1", edges, until=t + 0.1)
    presses = [s for s in seen if s[1] == "press"]
    releases = [s for s in seen if s[1] == "release"]
    assert len(presses) == 40 and len(releases) == 40
    # The press acts on the first edge: no debounce latency beyond one poll step.
    for (_, _, at), start in zip(presses, starts, strict=True):
        assert start <= at <= start + 0.0011


def test_long_press_fires_once_while_held() -> None:
    rng = random.Random(1)
    clock = Clock()
    engine, seen = make(clock)
    run_trace(engine, clock, "fs1", bounce(rng, 0.1, True) + bounce(rng, 1.5, False), until=2.0)
    gestures = [g for _, g, _ in seen]
    assert gestures == ["press", "long", "release"]
    long_at = next(t for _, g, t in seen if g == "long")
    assert long_at == pytest.approx(0.7, abs=0.002)  # 600 ms after the press


def test_short_press_is_not_long() -> None:
    rng = random.Random(2)
    clock = Clock()
    engine, seen = make(clock)
    run_trace(engine, clock, "fs1", bounce(rng, 0.1, True) + bounce(rng, 0.55, False), until=2.0)
    assert [g for _, g, _ in seen] == ["press", "release"]


def test_double_press_recognised_and_single_press_delayed_only_when_double_is_mapped() -> None:
    rng = random.Random(3)
    clock = Clock()
    engine, seen = make(clock, double=True)
    edges = (bounce(rng, 0.1, True) + bounce(rng, 0.18, False)
             + bounce(rng, 0.3, True) + bounce(rng, 0.38, False)  # second press 200 ms later
             + bounce(rng, 1.0, True) + bounce(rng, 1.08, False))  # a lone press
    run_trace(engine, clock, "fs1", edges, until=2.0)
    gestures = [(g, round(t, 3)) for _, g, t in seen if g in ("press", "double")]
    assert gestures[0] == ("double", 0.3)
    assert gestures[1][0] == "press"
    assert gestures[1][1] == pytest.approx(1.3, abs=0.002)  # held back for the 300 ms window
    assert len(gestures) == 2


def test_hold_repeat_timing() -> None:
    rng = random.Random(4)
    clock = Clock()
    engine, seen = make(clock, repeat=True)
    run_trace(engine, clock, "fs1", bounce(rng, 0.1, True) + bounce(rng, 1.56, False), until=2.0)
    repeats = [t for _, g, t in seen if g == "repeat"]
    # First repeat 600 ms after the press, then every 150 ms while held.
    assert repeats == pytest.approx([0.7, 0.85, 1.0, 1.15, 1.3, 1.45], abs=0.002)


def test_bounce_settling_late_is_resynchronised() -> None:
    """An edge swallowed by the debounce window is not lost: the level is re-read after it."""
    clock = Clock()
    engine, seen = make(clock)
    edges = [(0.1, True), (0.2, False), (0.205, True), (0.206, False)]  # release settles open
    run_trace(engine, clock, "fs1", edges, until=0.5)
    assert [g for _, g, _ in seen] == ["press", "release"]
    assert not engine.is_pressed("fs1")


@pytest.mark.parametrize("bpm", [60.0, 97.0, 120.0, 174.0])
def test_tap_tempo_median_of_jittered_taps(bpm: float) -> None:
    rng = random.Random(int(bpm))
    tapper = TapTempo()
    period = 60.0 / bpm
    t = 10.0
    result = None
    for i in range(8):
        jitter = rng.gauss(0.0, 0.012)  # a foot: ~12 ms of timing spread
        if i == 5:
            jitter = 0.12  # one sloppy tap
        result = tapper.tap(t + jitter)
        t += period
    assert result is not None
    assert abs(result - bpm) < 1.0


def test_tap_tempo_resets_after_two_seconds_and_stays_in_range() -> None:
    tapper = TapTempo()
    assert tapper.tap(0.0) is None
    assert tapper.tap(0.5) == pytest.approx(120.0)
    assert tapper.tap(3.0) is None  # 2.5 s pause: a new tempo starts
    assert tapper.tap(3.4) == pytest.approx(150.0)
    assert tapper.tap(3.45) == pytest.approx(150.0)  # 1200 bpm: a double trigger, ignored
    for bpm in (tapper.tap(4.9), tapper.bpm):
        assert bpm is not None and 40.0 <= bpm <= 300.0
