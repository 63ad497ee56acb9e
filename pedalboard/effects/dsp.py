"""Shared DSP building blocks: compiled kernels and filter design.

Kernels take preallocated arrays and write in place; they allocate nothing,
so the real-time engine may call them from its audio callback. Filter state
is kept in float64 (recursive filters at low frequencies need the precision);
audio blocks are float32.

Biquads use the RBJ "Audio EQ Cookbook" designs (Robert Bristow-Johnson),
the de-facto standard whose magnitude responses are known in closed form, and
run in transposed direct form II, which has the best numerical behaviour of
the direct forms in floating point.
"""

from __future__ import annotations

import math

import numpy as np

from pedalboard.jit import kernel

#: Any state value smaller than this is flushed to zero, so silence after
#: sound never decays into denormals (which are ~100x slower on x86).
DENORMAL_FLOOR = 1e-25
#: Inputs are clamped to +-this (about +36 dBFS): huge values cannot overflow state.
INPUT_LIMIT = 64.0

jit = kernel(fastmath=False)


@jit
def sanitize(block: np.ndarray) -> None:
    """Replace NaN/inf by 0 and clamp to +-INPUT_LIMIT, in place."""
    channels, frames = block.shape
    for c in range(channels):
        for i in range(frames):
            x = block[c, i]
            if x != x or x > 1e30 or x < -1e30:  # NaN, or inf and near it
                block[c, i] = 0.0
            elif x > INPUT_LIMIT:
                block[c, i] = INPUT_LIMIT
            elif x < -INPUT_LIMIT:
                block[c, i] = -INPUT_LIMIT


@jit
def biquad_cascade(block: np.ndarray, coeffs: np.ndarray, state: np.ndarray) -> None:
    """Run a cascade of biquads over every channel of ``block`` in place.

    ``coeffs``: ``(sections, 5)`` rows ``b0 b1 b2 a1 a2`` (a0 normalised to 1).
    ``state``: ``(channels, sections, 2)`` float64, transposed direct form II.
    """
    channels, frames = block.shape
    sections = coeffs.shape[0]
    for c in range(channels):
        for s in range(sections):
            b0 = coeffs[s, 0]
            b1 = coeffs[s, 1]
            b2 = coeffs[s, 2]
            a1 = coeffs[s, 3]
            a2 = coeffs[s, 4]
            z1 = state[c, s, 0]
            z2 = state[c, s, 1]
            for i in range(frames):
                x = block[c, i]
                y = b0 * x + z1
                z1 = b1 * x - a1 * y + z2
                z2 = b2 * x - a2 * y
                block[c, i] = y
            if abs(z1) < DENORMAL_FLOOR:
                z1 = 0.0
            if abs(z2) < DENORMAL_FLOOR:
                z2 = 0.0
            state[c, s, 0] = z1
            state[c, s, 1] = z2


@jit
def apply_gain(block: np.ndarray, start_gain: float, end_gain: float) -> None:
    """Multiply by a gain that moves linearly from start to end over the block
    (a ramp inside the block: no zipper noise while a level glides)."""
    channels, frames = block.shape
    if frames == 0:
        return
    step = (end_gain - start_gain) / frames
    for c in range(channels):
        g = start_gain
        for i in range(frames):
            g += step
            block[c, i] *= g


# ------------------------------------------------------------ filter design
def db_to_gain(db: float) -> float:
    return 10.0 ** (db / 20.0)


def gain_to_db(gain: float) -> float:
    return 20.0 * math.log10(max(gain, 1e-30))


def _normalise(b0: float, b1: float, b2: float, a0: float, a1: float, a2: float) -> np.ndarray:
    return np.array([b0 / a0, b1 / a0, b2 / a0, a1 / a0, a2 / a0])


def _clamp_frequency(frequency_hz: float, sample_rate: float) -> float:
    return min(max(frequency_hz, 1e-3), 0.49 * sample_rate)


def rbj_biquad(
    kind: str, frequency_hz: float, sample_rate: float, q: float = 0.7071067811865476,
    gain_db: float = 0.0,
) -> np.ndarray:
    """Coefficients ``[b0, b1, b2, a1, a2]`` of one RBJ cookbook biquad.

    ``kind``: lowpass, highpass, bandpass (0 dB peak), notch, peak,
    lowshelf, highshelf, allpass. Shelves use ``q`` as the cookbook's Q
    (0.7071 gives the steepest shelf without overshoot).
    """
    w0 = 2.0 * math.pi * _clamp_frequency(frequency_hz, sample_rate) / sample_rate
    cos_w0 = math.cos(w0)
    alpha = math.sin(w0) / (2.0 * q)
    a = 10.0 ** (gain_db / 40.0)
    if kind == "lowpass":
        return _normalise((1 - cos_w0) / 2, 1 - cos_w0, (1 - cos_w0) / 2,
                          1 + alpha, -2 * cos_w0, 1 - alpha)
    if kind == "highpass":
        return _normalise((1 + cos_w0) / 2, -(1 + cos_w0), (1 + cos_w0) / 2,
                          1 + alpha, -2 * cos_w0, 1 - alpha)
    if kind == "bandpass":
        return _normalise(alpha, 0.0, -alpha, 1 + alpha, -2 * cos_w0, 1 - alpha)
    if kind == "notch":
        return _normalise(1.0, -2 * cos_w0, 1.0, 1 + alpha, -2 * cos_w0, 1 - alpha)
    if kind == "allpass":
        return _normalise(1 - alpha, -2 * cos_w0, 1 + alpha, 1 + alpha, -2 * cos_w0, 1 - alpha)
    if kind == "peak":
        return _normalise(1 + alpha * a, -2 * cos_w0, 1 - alpha * a,
                          1 + alpha / a, -2 * cos_w0, 1 - alpha / a)
    if kind in ("lowshelf", "highshelf"):
        sq = 2.0 * math.sqrt(a) * alpha
        if kind == "lowshelf":
            return _normalise(
                a * ((a + 1) - (a - 1) * cos_w0 + sq),
                2 * a * ((a - 1) - (a + 1) * cos_w0),
                a * ((a + 1) - (a - 1) * cos_w0 - sq),
                (a + 1) + (a - 1) * cos_w0 + sq,
                -2 * ((a - 1) + (a + 1) * cos_w0),
                (a + 1) + (a - 1) * cos_w0 - sq,
            )
        return _normalise(
            a * ((a + 1) + (a - 1) * cos_w0 + sq),
            -2 * a * ((a - 1) + (a + 1) * cos_w0),
            a * ((a + 1) + (a - 1) * cos_w0 - sq),
            (a + 1) - (a - 1) * cos_w0 + sq,
            2 * ((a - 1) - (a + 1) * cos_w0),
            (a + 1) - (a - 1) * cos_w0 - sq,
        )
    raise ValueError(f"unknown biquad kind {kind!r}")


def biquad_response_db(coeffs: np.ndarray, frequencies_hz: np.ndarray, sample_rate: float) -> np.ndarray:
    """Magnitude in dB of a ``(sections, 5)`` cascade at the given frequencies."""
    coeffs = np.atleast_2d(coeffs)
    z = np.exp(-1j * 2 * np.pi * np.asarray(frequencies_hz) / sample_rate)
    total = np.ones_like(z)
    for b0, b1, b2, a1, a2 in coeffs:
        total *= (b0 + b1 * z + b2 * z * z) / (1 + a1 * z + a2 * z * z)
    return 20 * np.log10(np.abs(total))
