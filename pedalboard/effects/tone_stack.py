"""Amp tone stacks: the passive Fender/Marshall TMB stack and an active Baxandall.

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
scoop of a Fender with everything on 5 is the notch of the bridged-T it
forms, not a peaking filter (with the parts below it bottoms out at about
770 Hz, -11.7 dB, for the Bassman and 720 Hz, -8.5 dB, for the JCM800). D. Yeh and J. O. Smith derived its
transfer function in closed form ("Discretization of the '59 Fender Bassman
tone stack", DAFx 2006)::

    H(s) = (b1 s + b2 s^2 + b3 s^3) / (1 + a1 s + a2 s^2 + a3 s^3)

with coefficients polynomial in the pot positions ``t`` (treble wiper,
fraction of R1 below it), ``m`` (mid wiper, fraction of R3 below it) and
``l`` (bass, fraction of R2 in circuit). Here those coefficients are
recomputed whenever a knob moves (a few dozen flops) and discretised with the
bilinear transform ``s = 2 fs (1 - z^-1) / (1 + z^-1)``, which maps the
analog response at ``2 fs tan(w / 2)`` exactly onto digital frequency ``w``.
The filter runs as one section (third order here, fourth for the active
Baxandall bass/treble network of :class:`BaxandallParts`, the third model)
in transposed direct form II with float64 state.

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


@dataclass(frozen=True)
class BaxandallParts:
    """An active Baxandall ("James") bass/treble network around an inverting
    op-amp whose inverting input is a virtual ground ``g``::

        in ── r1 ── a ──[bass pot: a..w..b, c1 across a-w, c2 across w-b]── b ── r2 ── out
                                 w ── g
        in ── c3 ── c ──[treble pot: c..v..d]── d ── c4 ── out
                                 v ── r4 ── g

    With equal halves (r1 = r2, c1 = c2, c3 = c4) both knobs at noon give a
    flat 0 dB; each knob is a shelf that boosts or cuts symmetrically in dB
    (linear pots, as in the circuit)."""

    r1: float = 10e3  # input resistor of the bass network
    r2: float = 10e3  # feedback resistor of the bass network
    bass_pot: float = 100e3
    c1: float = 47e-9  # across the input half of the bass pot
    c2: float = 47e-9  # across the feedback half of the bass pot
    c3: float = 10e-9  # input treble cap
    c4: float = 10e-9  # feedback treble cap
    treble_pot: float = 100e3
    r4: float = 2.2e3  # treble wiper to the summing node


BAXANDALL = BaxandallParts()

Poly = tuple[float, ...]  # coefficients in ascending powers of s


def _mul(p: Poly, q: Poly) -> Poly:
    out = [0.0] * (len(p) + len(q) - 1)
    for i, a in enumerate(p):
        for j, b in enumerate(q):
            out[i + j] += a * b
    return tuple(out)


def _add(p: Poly, q: Poly) -> Poly:
    n = max(len(p), len(q))
    return tuple((p[i] if i < len(p) else 0.0) + (q[i] if i < len(q) else 0.0) for i in range(n))


def baxandall_coefficients(parts: BaxandallParts, bass: float, treble: float) -> tuple[Poly, Poly]:
    """``(numerator, denominator)`` of the Baxandall's H(s), ascending powers
    of s up to s^4, for pot fractions ``bass`` and ``treble`` (0 = full cut).
    The op-amp's inversion is undone (the next inverting stage would).

    The virtual ground makes the two networks independent current sources
    into ``g``. Bass: each half of the pot with its cap in series with r1 or
    r2 gives ``Sa = (1 + s Ra c1) / (r1 + Ra + s r1 Ra c1)`` (and ``Sb``
    likewise). Treble: ``Sc = s c3 / (1 + s Rc c3)``, ``Sd`` likewise, meeting
    r4 at the wiper. Kirchhoff at ``g`` then gives
    ``H = Bd (A T + Y4 Cn Dd Ad) / (Ad (B T + Y4 Dn Cd Bd))`` with
    ``T = Cn Dd + Dn Cd + Y4 Cd Dd``, writing each S as a ratio of first-order
    polynomials (A/Ad, B/Bd, Cn/Cd, Dn/Dd)."""
    ra, rb = (1.0 - bass) * parts.bass_pot, bass * parts.bass_pot
    rc, rd = (1.0 - treble) * parts.treble_pot, treble * parts.treble_pot
    y4 = 1.0 / parts.r4
    a, ad = (1.0, ra * parts.c1), (parts.r1 + ra, parts.r1 * ra * parts.c1)
    b, bd = (1.0, rb * parts.c2), (parts.r2 + rb, parts.r2 * rb * parts.c2)
    cn, cd = (0.0, parts.c3), (1.0, rc * parts.c3)
    dn, dd = (0.0, parts.c4), (1.0, rd * parts.c4)
    t = _add(_add(_mul(cn, dd), _mul(dn, cd)), tuple(y4 * x for x in _mul(cd, dd)))
    numerator = _mul(bd, _add(_mul(a, t), tuple(y4 * x for x in _mul(_mul(cn, dd), ad))))
    denominator = _mul(ad, _add(_mul(b, t), tuple(y4 * x for x in _mul(_mul(dn, cd), bd))))
    return numerator, denominator


# (1 - z^-1)^k (1 + z^-1)^(4 - k) for k = 0..4: what s^k becomes, over (1 + z^-1)^4.
_BILINEAR_4 = (
    (1.0, 4.0, 6.0, 4.0, 1.0),
    (1.0, 2.0, 0.0, -2.0, -1.0),
    (1.0, 0.0, -2.0, 0.0, 1.0),
    (1.0, -2.0, 0.0, 2.0, -1.0),
    (1.0, -4.0, 6.0, -4.0, 1.0),
)


def bilinear_fourth_order(
    numerator: Poly, denominator: Poly, sample_rate: float, out: np.ndarray
) -> None:
    """Bilinear transform of a fourth-order H(s) into ``out`` =
    ``[b0..b4, a1..a4]`` (a0 normalised to 1)."""
    c = 2.0 * sample_rate
    num = [0.0] * 5
    den = [0.0] * 5
    scale = 1.0
    for k in range(5):
        for i in range(5):
            num[i] += numerator[k] * scale * _BILINEAR_4[k][i]
            den[i] += denominator[k] * scale * _BILINEAR_4[k][i]
        scale *= c
    inv = 1.0 / den[0]
    for i in range(5):
        out[i] = num[i] * inv
    for i in range(1, 5):
        out[4 + i] = den[i] * inv


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
    into ``out`` = ``[b0, b1, b2, b3, 0, a1, a2, a3, 0]`` (a0 normalised to 1;
    the layout of the fourth-order kernel).

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
    out[4] = 0.0
    out[5] = (3.0 + q1 - q2 - 3.0 * q3) * inv
    out[6] = (3.0 - q1 - q2 + 3.0 * q3) * inv
    out[7] = (1.0 - q1 + q2 - q3) * inv
    out[8] = 0.0


@jit
def _fourth_order(block: np.ndarray, coeffs: np.ndarray, state: np.ndarray) -> None:
    """One IIR section of up to fourth order, transposed direct form II, in
    place. ``coeffs`` = [b0..b4, a1..a4]; ``state``: (channels, 4) float64."""
    channels, frames = block.shape
    b0, b1, b2, b3, b4 = coeffs[0], coeffs[1], coeffs[2], coeffs[3], coeffs[4]
    a1, a2, a3, a4 = coeffs[5], coeffs[6], coeffs[7], coeffs[8]
    for c in range(channels):
        z1, z2, z3, z4 = state[c, 0], state[c, 1], state[c, 2], state[c, 3]
        for i in range(frames):
            x = block[c, i]
            y = b0 * x + z1
            z1 = b1 * x - a1 * y + z2
            z2 = b2 * x - a2 * y + z3
            z3 = b3 * x - a3 * y + z4
            z4 = b4 * x - a4 * y
            block[c, i] = y
        state[c, 0] = 0.0 if abs(z1) < DENORMAL_FLOOR else z1
        state[c, 1] = 0.0 if abs(z2) < DENORMAL_FLOOR else z2
        state[c, 2] = 0.0 if abs(z3) < DENORMAL_FLOOR else z3
        state[c, 3] = 0.0 if abs(z4) < DENORMAL_FLOOR else z4


def _knob(name: str, label: str) -> Param:
    return Param(name, 0.5, 0.0, 1.0, label=label)


@register
class ToneStack(Effect):
    """Amp tone stacks: Fender Bassman, Marshall JCM800, active Baxandall.

    ``bass``, ``mid``, ``treble``: knob positions 0..1. ``model``:
    "fender" or "marshall" (the passive TMB circuit with each amp's parts,
    Yeh & Smith model; see :data:`MODELS`), or "baxandall" (the active
    bass/treble network of :class:`BaxandallParts`; it has no mid control,
    so ``mid`` does nothing there). ``level_db``: gain after the stack. The
    TMB stack is passive, so its response never exceeds 0 dB; with the knobs
    at noon it sits 10-20 dB down, which the amp's next triode makes up:
    raise ``level_db`` to match. The Baxandall is flat at noon.
    """

    name = "tone_stack"
    label = "Tone stack"
    category = "eq"
    PARAMS = (
        _knob("bass", "Bass"),
        _knob("mid", "Middle"),
        _knob("treble", "Treble"),
        Param("model", "fender", kind="choice", choices=(*MODELS, "baxandall"), label="Amp"),
        Param("level_db", 0.0, -12.0, 30.0, unit="dB", label="Level"),
    )

    def _allocate(self) -> None:
        self._coeffs = np.zeros(9)
        self._state = np.zeros((self.channels, 4))
        self._level = self._target_level = 1.0

    def _reset(self) -> None:
        self._state[:] = 0.0
        self._level = self._target_level = db_to_gain(self.value("level_db"))

    def _configure(self) -> None:
        model = self.value("model")
        if model == "baxandall":
            numerator, denominator = baxandall_coefficients(
                BAXANDALL, self.value("bass"), self.value("treble"))
            bilinear_fourth_order(numerator, denominator, self.sample_rate, self._coeffs)
        else:
            analog = analog_coefficients(MODELS[model], self.value("treble"), self.value("mid"),
                                         audio_taper(self.value("bass")))
            bilinear_third_order(analog, self.sample_rate, self._coeffs)
        self._target_level = db_to_gain(self.value("level_db"))

    def _process(self, block: np.ndarray) -> None:
        _fourth_order(block, self._coeffs, self._state)
        if self._level != 1.0 or self._target_level != 1.0:
            apply_gain(block, self._level, self._target_level)
            self._level = self._target_level
