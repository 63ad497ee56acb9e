"""The passive treble-mid-bass tone stack of Fender and Marshall amplifiers.

The "TMB" stack sits between two triode stages: the signal reaches the
treble pot through a small cap ``C1`` (treble) and, through the slope
resistor ``R4``, the bass cap ``C2`` (to the bottom of the treble pot, then
the bass pot ``R2`` as a variable resistor) and the mid cap ``C3`` (to the
wiper of the mid pot ``R3``, whose top meets the bass pot and bottom is
ground). The output is the treble pot's wiper::

    in ──┬── C1 ──┐ R1 (treble; wiper = out)
         R4       │
         ├── C2 ──┴── R2 (bass) ──┐
         └── C3 ───────────────── R3 (mid, to wiper) ── ground

It is a third-order passive network, and its knobs interact: the famous mid
scoop around 400-700 Hz of a Fender with everything on 5 is the notch of the
bridged-T it forms, not a peaking filter. D. Yeh and J. O. Smith derived its
transfer function in closed form ("Discretization of the '59 Fender Bassman
tone stack", DAFx 2006)::

    H(s) = (b1 s + b2 s^2 + b3 s^3) / (1 + a1 s + a2 s^2 + a3 s^3)

with coefficients polynomial in the pot positions ``t`` (treble wiper,
fraction of R1 below it), ``m`` (mid wiper, fraction of R3 below it) and
``l`` (bass, fraction of R2 in circuit). Here those coefficients are
recomputed whenever a knob moves (a few dozen flops) and discretised with the
bilinear transform ``s = 2 fs (1 - z^-1) / (1 + z^-1)``, which maps the
analog response at ``2 fs tan(w / 2)`` exactly onto digital frequency ``w``.
The filter runs as one third-order section in transposed direct form II
with float64 state.

Knobs are 0..1 as on the amp (5 on a 0-10 dial = 0.5). The bass pot is
audio (logarithmic) taper, as in the amps: at half travel it puts about a
tenth of its resistance in circuit; treble and mid are linear here, as in
Yeh & Smith.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pedalboard.effects.base import Effect, Param
from pedalboard.effects.dsp import DENORMAL_FLOOR, apply_gain, db_to_gain, jit
from pedalboard.effects.registry import register


@dataclass(frozen=True)
class ToneStackParts:
    """Component values of a TMB stack (ohms, farads), named as in Yeh & Smith."""

    r1: float  # treble pot
    r2: float  # bass pot
    r3: float  # mid pot
    r4: float  # slope resistor
    c1: float  # treble cap
    c2: float  # bass cap
    c3: float  # mid cap


MODELS: dict[str, ToneStackParts] = {
    # '59 Fender Bassman 5F6-A
    "fender": ToneStackParts(250e3, 1e6, 25e3, 56e3, 250e-12, 20e-9, 20e-9),
    # Marshall JCM800 2203
    "marshall": ToneStackParts(220e3, 1e6, 22e3, 33e3, 470e-12, 22e-9, 22e-9),
}


def audio_taper(position: float) -> float:
    """Fraction of an audio-taper (log) pot's track at knob ``position`` 0..1
    (10 % at half travel, like the ``audio`` parameter taper)."""
    return (10.0 ** (2.0 * position) - 1.0) / 99.0


def analog_coefficients(
    parts: ToneStackParts, t: float, m: float, l: float
) -> tuple[float, float, float, float, float, float]:
    """Yeh & Smith's ``(b1, b2, b3, a1, a2, a3)`` for pot fractions t, m, l
    (``a0`` = 1, ``b0`` = 0)."""
    R1, R2, R3, R4 = parts.r1, parts.r2, parts.r3, parts.r4
    C1, C2, C3 = parts.c1, parts.c2, parts.c3
    mm = m * m
    b1 = t * C1 * R1 + m * C3 * R3 + l * (C1 * R2 + C2 * R2) + (C1 * R3 + C2 * R3)
    b2 = (
        t * (C1 * C2 * R1 * R4 + C1 * C3 * R1 * R4)
        - mm * (C1 * C3 * R3 * R3 + C2 * C3 * R3 * R3)
        + m * (C1 * C3 * R1 * R3 + C1 * C3 * R3 * R3 + C2 * C3 * R3 * R3)
        + l * (C1 * C2 * R1 * R2 + C1 * C2 * R2 * R4 + C1 * C3 * R2 * R4)
        + l * m * (C1 * C3 * R2 * R3 + C2 * C3 * R2 * R3)
        + (C1 * C2 * R1 * R3 + C1 * C2 * R3 * R4 + C1 * C3 * R3 * R4)
    )
    c123 = C1 * C2 * C3
    b3 = c123 * (
        l * m * (R1 * R2 * R3 + R2 * R3 * R4)
        - mm * (R1 * R3 * R3 + R3 * R3 * R4)
        + m * (R1 * R3 * R3 + R3 * R3 * R4)
        + t * R1 * R3 * R4
        - t * m * R1 * R3 * R4
        + t * l * R1 * R2 * R4
    )
    a1 = (C1 * R1 + C1 * R3 + C2 * R3 + C2 * R4 + C3 * R4) + m * C3 * R3 + l * (C1 * R2 + C2 * R2)
    a2 = (
        m * (C1 * C3 * R1 * R3 - C2 * C3 * R3 * R4 + C1 * C3 * R3 * R3 + C2 * C3 * R3 * R3)
        + l * m * (C1 * C3 * R2 * R3 + C2 * C3 * R2 * R3)
        - mm * (C1 * C3 * R3 * R3 + C2 * C3 * R3 * R3)
        + l * (C1 * C3 * R2 * R4 + C1 * C2 * R2 * R4 + C1 * C2 * R1 * R2 + C2 * C3 * R2 * R4)
        + (C1 * C2 * R1 * R4 + C1 * C3 * R1 * R4 + C1 * C2 * R3 * R4 + C1 * C2 * R1 * R3
           + C1 * C3 * R3 * R4 + C2 * C3 * R3 * R4)
    )
    a3 = c123 * (
        l * m * (R1 * R2 * R3 + R2 * R3 * R4)
        - mm * (R1 * R3 * R3 + R3 * R3 * R4)
        + m * (R3 * R3 * R4 + R1 * R3 * R3 - R1 * R3 * R4)
        + l * R1 * R2 * R4
        + R1 * R3 * R4
    )
    return b1, b2, b3, a1, a2, a3


def bilinear_third_order(
    analog: tuple[float, float, float, float, float, float], sample_rate: float,
    out: np.ndarray,
) -> None:
    """Bilinear transform of ``(b1 s + b2 s^2 + b3 s^3) / (1 + a1 s + a2 s^2 + a3 s^3)``
    into ``out`` = ``[b0, b1, b2, b3, a1, a2, a3]`` (a0 normalised to 1).

    Substituting ``s = c (1 - z^-1) / (1 + z^-1)`` and multiplying through by
    ``(1 + z^-1)^3`` turns ``s^k`` into ``c^k (1 - z^-1)^k (1 + z^-1)^(3-k)``:
    ``[1, 3, 3, 1]``, ``[1, 1, -1, -1]``, ``[1, -1, -1, 1]``, ``[1, -3, 3, -1]``
    for k = 0..3.
    """
    b1, b2, b3, a1, a2, a3 = analog
    c = 2.0 * sample_rate
    p1, p2, p3 = b1 * c, b2 * c * c, b3 * c * c * c
    q1, q2, q3 = a1 * c, a2 * c * c, a3 * c * c * c
    inv = 1.0 / (1.0 + q1 + q2 + q3)
    out[0] = (p1 + p2 + p3) * inv
    out[1] = (p1 - p2 - 3.0 * p3) * inv
    out[2] = (-p1 - p2 + 3.0 * p3) * inv
    out[3] = (-p1 + p2 - p3) * inv
    out[4] = (3.0 + q1 - q2 - 3.0 * q3) * inv
    out[5] = (3.0 - q1 - q2 + 3.0 * q3) * inv
    out[6] = (1.0 - q1 + q2 - q3) * inv


@jit
def _third_order(block: np.ndarray, coeffs: np.ndarray, state: np.ndarray) -> None:
    """One third-order IIR section, transposed direct form II, in place.
    ``coeffs`` = [b0, b1, b2, b3, a1, a2, a3]; ``state``: (channels, 3) float64."""
    channels, frames = block.shape
    b0, b1, b2, b3 = coeffs[0], coeffs[1], coeffs[2], coeffs[3]
    a1, a2, a3 = coeffs[4], coeffs[5], coeffs[6]
    for c in range(channels):
        z1, z2, z3 = state[c, 0], state[c, 1], state[c, 2]
        for i in range(frames):
            x = block[c, i]
            y = b0 * x + z1
            z1 = b1 * x - a1 * y + z2
            z2 = b2 * x - a2 * y + z3
            z3 = b3 * x - a3 * y
            block[c, i] = y
        if abs(z1) < DENORMAL_FLOOR:
            z1 = 0.0
        if abs(z2) < DENORMAL_FLOOR:
            z2 = 0.0
        if abs(z3) < DENORMAL_FLOOR:
            z3 = 0.0
        state[c, 0], state[c, 1], state[c, 2] = z1, z2, z3


def _knob(name: str, label: str) -> Param:
    return Param(name, 0.5, 0.0, 1.0, label=label)


@register
class ToneStack(Effect):
    """Fender Bassman or Marshall JCM800 tone stack (Yeh & Smith model).

    ``bass``, ``mid``, ``treble``: knob positions 0..1. ``model``: "fender"
    or "marshall" (same circuit, different parts; see :data:`MODELS`).
    ``level_db``: gain after the stack. The stack is passive, so its
    response never exceeds 0 dB; with the knobs at noon it sits 10-20 dB
    down, which the amp's next triode makes up: raise ``level_db`` to match.
    """

    name = "tone_stack"
    label = "Tone stack"
    category = "eq"
    PARAMS = (
        _knob("bass", "Bass"),
        _knob("mid", "Middle"),
        _knob("treble", "Treble"),
        Param("model", "fender", kind="choice", choices=tuple(MODELS), label="Amp"),
        Param("level_db", 0.0, -12.0, 30.0, unit="dB", label="Level"),
    )

    def _allocate(self) -> None:
        self._coeffs = np.zeros(7)
        self._state = np.zeros((self.channels, 3))
        self._level = self._target_level = 1.0

    def _reset(self) -> None:
        self._state[:] = 0.0
        self._level = self._target_level = db_to_gain(self.value("level_db"))

    def _configure(self) -> None:
        parts = MODELS[self.value("model")]
        analog = analog_coefficients(
            parts, self.value("treble"), self.value("mid"), audio_taper(self.value("bass"))
        )
        bilinear_third_order(analog, self.sample_rate, self._coeffs)
        self._target_level = db_to_gain(self.value("level_db"))

    def _process(self, block: np.ndarray) -> None:
        _third_order(block, self._coeffs, self._state)
        if self._level != 1.0 or self._target_level != 1.0:
            apply_gain(block, self._level, self._target_level)
            self._level = self._target_level
