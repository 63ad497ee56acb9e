"""Meters of the live engine: peaks, DSP load, xruns.

Written by the audio callback into preallocated numpy arrays (element stores,
no allocation), read by any other thread. A reader may see a value one block
old; nothing here needs to be more exact than that.

* Peaks fall back at ``PEAK_FALL_DB_PER_S`` after a hit, like the ballistics
  of a hardware peak meter, so a display polled ten times a second never misses
  a transient and still settles.
* DSP load is the callback's own processing time as a fraction of the block
  period (1.0 = the whole period: an xrun is imminent). The last
  ``LOAD_HISTORY`` blocks are kept in a ring; readers take p50 and p99.
* Xruns are counted from the backend's reports (JACK's xrun callback,
  PortAudio's status flags, a missed deadline of the virtual clock).
"""

from __future__ import annotations

import math

import numpy as np

from pedalboard.jit import kernel

#: Blocks of DSP-load history (about 5.5 s at 64 frames, 48 kHz).
LOAD_HISTORY = 4096
#: How fast the peak display falls after a hit.
PEAK_FALL_DB_PER_S = 20.0
#: Floor reported for silence.
SILENCE_DB = -120.0


@kernel()
def block_peak(block: np.ndarray) -> float:
    """Largest absolute sample of a (channels, frames) block."""
    peak = 0.0
    for c in range(block.shape[0]):
        for i in range(block.shape[1]):
            x = abs(block[c, i])
            if x > peak:
                peak = x
    return peak


class Meters:
    """Peak, load and xrun meters shared between the callback and readers."""

    def __init__(self, sample_rate: float, block_size: int) -> None:
        self.peaks = np.zeros(2)  # linear: [input, output]
        self.loads = np.zeros(LOAD_HISTORY)
        self.counters = np.zeros(3, dtype=np.int64)  # [blocks metered, xruns, reserved]
        self.configure(sample_rate, block_size)

    def configure(self, sample_rate: float, block_size: int) -> None:
        """Set the block period (call off the audio thread, e.g. on (re)connect)."""
        self.period_s = block_size / float(sample_rate)
        self.fall = 10.0 ** (-PEAK_FALL_DB_PER_S * self.period_s / 20.0)

    # ----------------------------------------------------- callback side
    def update(self, input_block: np.ndarray, output_block: np.ndarray) -> None:
        """Fold one block's input and output peaks in (real-time safe)."""
        peaks = self.peaks
        fall = self.fall
        peaks[0] = max(block_peak(input_block), peaks[0] * fall)
        peaks[1] = max(block_peak(output_block), peaks[1] * fall)

    def record_load(self, elapsed_s: float) -> None:
        """Store one block's processing time (real-time safe)."""
        counters = self.counters
        n = counters[0]
        self.loads[n % LOAD_HISTORY] = elapsed_s / self.period_s
        counters[0] = n + 1

    def add_xrun(self, count: int = 1) -> None:
        self.counters[1] += count

    # ----------------------------------------------------- reader side
    @property
    def xruns(self) -> int:
        return int(self.counters[1])

    @property
    def blocks(self) -> int:
        return int(self.counters[0])

    def load_percentiles(self) -> tuple[float, float]:
        """(p50, p99) of the DSP load over the recent history (0 before any block)."""
        filled = min(int(self.counters[0]), LOAD_HISTORY)
        if filled == 0:
            return 0.0, 0.0
        history = self.loads[:filled].copy()
        p50, p99 = np.percentile(history, [50.0, 99.0])
        return float(p50), float(p99)

    def peak_db(self) -> tuple[float, float]:
        """(input, output) peak in dBFS, floored at ``SILENCE_DB``."""
        return _db(float(self.peaks[0])), _db(float(self.peaks[1]))

    def reset_loads(self) -> None:
        self.counters[0] = 0


def _db(linear: float) -> float:
    if linear <= 0.0:
        return SILENCE_DB
    return max(SILENCE_DB, 20.0 * math.log10(linear))
