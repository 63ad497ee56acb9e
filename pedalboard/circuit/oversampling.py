"""Anti-aliasing filters for running a circuit at L times the audio rate.

One linear-phase Kaiser lowpass serves both directions: as a polyphase
interpolator in front of the circuit and as a decimator behind it. Its
passband reaches 20 kHz (at 48 kHz) flat to about 1e-5; its stopband starts
at ``fs - 20 kHz`` so that nothing aliases *into* the passband, and is 90 dB
down. The prototype length is ``m*L + 1`` taps, so interpolator plus
decimator delay the signal by exactly ``m`` audio samples: the latency, an
integer that :meth:`CircuitModel.process_volts` removes exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import signal

STOPBAND_DB = 90.0
PASSBAND_EDGE_HZ = 20000.0
FACTORS = (1, 2, 4, 8, 16)


@dataclass(frozen=True)
class Resampler:
    factor: int
    up_taps: np.ndarray  # (factor, taps per phase), gain factor included
    down_taps: np.ndarray  # (m*factor + 1,)
    latency: int  # audio samples


def design(factor: int, sample_rate: float) -> Resampler:
    """The filter pair for oversampling ``factor`` at ``sample_rate``."""
    if factor not in FACTORS:
        raise ValueError(f"oversampling must be one of {FACTORS}, not {factor}")
    if factor == 1:
        return Resampler(1, np.ones((1, 1)), np.ones(1), 0)
    passband = min(PASSBAND_EDGE_HZ, 0.4167 * sample_rate)
    stopband = sample_rate - passband
    high_rate = factor * sample_rate
    width = (stopband - passband) / (high_rate / 2.0)
    numtaps, beta = signal.kaiserord(STOPBAND_DB, width)
    m = math.ceil((numtaps - 1) / factor)
    if (m * factor) % 2:
        m += 1
    length = m * factor + 1
    taps = signal.firwin(length, 1.0 / factor, window=("kaiser", beta))
    taps = taps / taps.sum()
    padded = np.zeros((m + 1) * factor)
    padded[:length] = taps * factor
    up = np.ascontiguousarray(padded.reshape(m + 1, factor).T)
    return Resampler(factor, up, np.ascontiguousarray(taps), m)
