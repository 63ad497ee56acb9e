"""Measuring stream latency end to end: bursts out of the engine, onsets at a receiver.

The engine plays short bursts at irregular intervals; the time each burst
leaves the engine is noted by :class:`OnsetWatcher` (reading the engine's
output ring), and a receiver notes when each comes out. Because the spacing
is irregular, only the true delay lines every heard burst up with a sent one:
:func:`estimate_latency` takes the delay that matches the most pairs, so a
receiver that buffers more than one spacing is still measured right.
"""

from __future__ import annotations

import threading
import time

import numpy as np

SAMPLE_RATE = 48000
#: Gaps between bursts (seconds): irregular, and longer than any click's ring.
BURST_GAPS_S = (0.7, 1.1, 0.9, 1.6, 0.8, 1.3)
ONSET_LEVEL = 0.3


def burst_train(sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """5 ms bursts of 1 kHz at 0.8 separated by :data:`BURST_GAPS_S` (one loop)."""
    n = int(0.005 * sample_rate)
    burst = 0.8 * np.sin(2 * np.pi * 1000 * np.arange(n) / sample_rate) * np.hanning(n)
    signal = np.zeros(int(sum(BURST_GAPS_S) * sample_rate), dtype=np.float32)
    position = 0.0
    for gap in BURST_GAPS_S:
        start = int(position * sample_rate)
        signal[start : start + n] = burst
        position += gap
    return signal


def estimate_latency(
    sent_ms: list[float], heard_ms: list[float], *, tolerance_ms: float = 15.0, max_ms: float = 5000.0
) -> tuple[float, int]:
    """The delay (ms) that pairs the most heard onsets with sent ones, and how many it pairs.
    Returns (nan, 0) when nothing pairs."""
    differences = np.array([h - s for h in heard_ms for s in sent_ms if 0.0 <= h - s <= max_ms])
    if differences.size == 0:
        return float("nan"), 0
    best, count = float("nan"), 0
    for candidate in differences:
        matched = np.abs(differences - candidate) <= tolerance_ms
        if matched.sum() > count:
            count = int(matched.sum())
            best = float(np.median(differences[matched]))
    return best, count


class OnsetWatcher(threading.Thread):
    """Reads the engine's output ring and notes the wall-clock time (ms) of each burst."""

    def __init__(self, ring_name: str) -> None:
        from pedalboard.engine.tap import OutputRingReader

        super().__init__(daemon=True)
        self.reader = OutputRingReader(ring_name)
        self.onsets: list[float] = []
        self.stop_event = threading.Event()

    def run(self) -> None:
        armed = True
        while not self.stop_event.is_set():
            chunk = self.reader.read()[:, 0]
            now = time.time() * 1000.0
            if chunk.size == 0:
                time.sleep(0.001)
                continue
            loud = np.flatnonzero(np.abs(chunk) > ONSET_LEVEL)
            if armed and loud.size:
                self.onsets.append(now - (chunk.size - loud[0]) / SAMPLE_RATE * 1000.0)
                armed = False
            elif not loud.size and np.max(np.abs(chunk)) < 0.01:
                armed = True

    def stop(self) -> None:
        self.stop_event.set()
        self.join(2)
