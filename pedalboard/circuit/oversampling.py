"""Anti-aliasing filters for running a circuit at L times the audio rate.

One linear-phase Kaiser lowpass serves both directions: as a polyphase
interpolator in front of the circuit and as a decimator behind it. It is the
filter ``scipy.signal.resample_poly`` designs by default (cutoff at the audio
Nyquist, Kaiser beta 5, ten audio samples either side: ``20*L + 1`` taps),
the one the ngspice reference is resampled with, so model and reference see
the same band limit (two *different* good filters disagree at about -56 dB
on clipped signals; the same filter leaves only the circuit's own error).
Passband ripple is below 1e-3 up to ~19 kHz at 48 kHz.

The prototype length is ``m*L + 1`` taps, so interpolator plus decimator
delay the signal by exactly ``m`` (= 20) audio samples: the latency, an
integer that :meth:`CircuitModel.process_volts` removes exactly. The
steeper design (``design(..., steep=True)``: 20 kHz passband flat to 1e-5,
90 dB stopband from ``fs - 20 kHz``) costs ~35 samples of latency.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import signal

STOPBAND_DB = 90.0
PASSBAND_EDGE_HZ = 20000.0
FACTORS = (1, 2, 4, 8, 16)
#: scipy.signal.resample_poly's defaults: half length 10 (audio samples), beta 5.
HALF_LENGTH = 10
KAISER_BETA = 5.0


@dataclass(frozen=True)
class Resampler:
    factor: int
    up_taps: np.ndarray  # (factor, taps per phase), gain factor included
    down_taps: np.ndarray  # (m*factor + 1,)
    latency: int  # audio samples


def design(factor: int, sample_rate: float, *, steep: bool = False) -> Resampler:
    """The filter pair for oversampling ``factor`` at ``sample_rate``."""
    if factor not in FACTORS:
        raise ValueError(f"oversampling must be one of {FACTORS}, not {factor}")
    if factor == 1:
        return Resampler(1, np.ones((1, 1)), np.ones(1), 0)
    if not steep:
        m = 2 * HALF_LENGTH
        taps = signal.firwin(m * factor + 1, 1.0 / factor, window=("kaiser", KAISER_BETA))
        return _polyphase(factor, taps / taps.sum(), m)
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
    return _polyphase(factor, taps / taps.sum(), m)


def _polyphase(factor: int, taps: np.ndarray, m: int) -> Resampler:
    length = taps.size
    padded = np.zeros((m + 1) * factor)
    padded[:length] = taps * factor
    up = np.ascontiguousarray(padded.reshape(m + 1, factor).T)
    return Resampler(factor, up, np.ascontiguousarray(taps), m)
