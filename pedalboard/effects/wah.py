"""Wah: a resonant band-pass swept by the expression pedal or by the playing.

A Cry Baby is an inductor-based resonant filter whose peak moves from about
400 Hz (heel down) to about 2.2 kHz (toe down) as the rocker turns a pot. The
ear hears the peak move in musical intervals, so the position maps to the
peak frequency geometrically::

    f(position) = low_hz * (high_hz / low_hz) ** position

The filter is a state-variable filter in the topology-preserving-transform
form (Andrew Simper's "SVF", Cytomic 2013): the trapezoidal integrators keep
it stable and free of zipper noise however fast the frequency moves, and the
tangent prewarping puts its peak exactly at ``f``. The band-pass output is
normalised to 0 dB at the peak, ``q`` sets its sharpness (the -3 dB width is
``f / q``), and ``mix`` blends it with the dry signal.

In ``auto`` mode (auto-wah, envelope filter) an envelope follower on the
input (the louder channel when stereo, so both channels sweep together)
pushes the position up from where the ``position`` knob rests::

    position(t) = clamp(position + env(t) * 10 ** ((60 * sensitivity - 20) / 20), 0, 1)

``env`` rises toward ``|x|`` with ``attack_ms`` and falls with ``release_ms``
(one-pole time constants), so ``sensitivity`` 0..1 spans an envelope gain of
-20 dB..+40 dB: a pick attack opens the filter, the decay closes it.
"""

from __future__ import annotations

import math

import numpy as np

from pedalboard import jit as _jit
from pedalboard.effects.base import Effect, Param
from pedalboard.effects.dsp import DENORMAL_FLOOR
from pedalboard.effects.registry import register

MODES = ("manual", "auto")

#: Fused multiply-adds and reassociation in the filter loop, but no
#: "no NaN/inf" assumptions (see pedalboard.effects.modulation).
kernel = _jit.kernel(fastmath={"contract", "reassoc", "nsz", "arcp"})


def wah_frequency_hz(position: float, low_hz: float, high_hz: float) -> float:
    """Peak frequency at pedal ``position`` (0 heel .. 1 toe)."""
    position = min(1.0, max(0.0, position))
    return low_hz * (high_hz / low_hz) ** position


def sensitivity_gain(sensitivity: float) -> float:
    """Envelope-to-position gain of the auto-wah: -20 dB .. +40 dB."""
    return 10.0 ** ((60.0 * sensitivity - 20.0) / 20.0)


@kernel
def wah_kernel(
    block: np.ndarray,
    state: np.ndarray,
    envelope: np.ndarray,
    auto: bool,
    attack: float,
    release: float,
    pi_over_fs: float,
    max_log_f: float,
    now: np.ndarray,
    target: np.ndarray,
    frequency_out: np.ndarray,
) -> None:
    """Run the swept SVF band-pass over ``block`` in place.

    ``state``: ``(channels, 2)`` float64 integrator states; ``envelope``:
    float64[1]; ``attack``/``release``: one-pole coefficients per sample.
    ``now``/``target``: ``[position, log_low_hz, log_ratio, k=1/q, dry, wet,
    envelope_gain]``, ramped over the block. ``frequency_out[0]`` receives the
    last sample's peak frequency (for a display).
    """
    channels, frames = block.shape
    if frames == 0:
        return
    inv = 1.0 / frames
    pos = now[0]
    log_low = now[1]
    log_ratio = now[2]
    k = now[3]
    dry = now[4]
    wet = now[5]
    gain = now[6]
    d_pos = (target[0] - pos) * inv
    d_low = (target[1] - log_low) * inv
    d_ratio = (target[2] - log_ratio) * inv
    d_k = (target[3] - k) * inv
    d_dry = (target[4] - dry) * inv
    d_wet = (target[5] - wet) * inv
    d_gain = (target[6] - gain) * inv
    moving = auto or d_pos != 0.0 or d_low != 0.0 or d_ratio != 0.0 or d_k != 0.0
    env = envelope[0]
    p = 0.0
    a1 = 0.0
    a2 = 0.0
    a3 = 0.0
    log_f = 0.0
    for i in range(frames):
        pos += d_pos
        log_low += d_low
        log_ratio += d_ratio
        k += d_k
        dry += d_dry
        wet += d_wet
        gain += d_gain
        if auto:
            level = 0.0
            for c in range(channels):
                v = abs(block[c, i])
                if v > level:
                    level = v
            env += (attack if level > env else release) * (level - env)
            if env < DENORMAL_FLOOR:
                env = 0.0
        if moving or i == 0:
            p = pos + env * gain if auto else pos
            if p < 0.0:
                p = 0.0
            elif p > 1.0:
                p = 1.0
            log_f = log_low + p * log_ratio
            if log_f > max_log_f:
                log_f = max_log_f
            g = math.tan(pi_over_fs * math.exp(log_f))
            a1 = 1.0 / (1.0 + g * (g + k))
            a2 = g * a1
            a3 = g * a2
        for c in range(channels):
            x = block[c, i]
            ic1 = state[c, 0]
            ic2 = state[c, 1]
            v3 = x - ic2
            v1 = a1 * ic1 + a2 * v3
            v2 = ic2 + a2 * ic1 + a3 * v3
            state[c, 0] = 2.0 * v1 - ic1
            state[c, 1] = 2.0 * v2 - ic2
            block[c, i] = dry * x + wet * k * v1
    for c in range(channels):
        for j in range(2):
            if -DENORMAL_FLOOR < state[c, j] < DENORMAL_FLOOR:
                state[c, j] = 0.0
    envelope[0] = env
    frequency_out[0] = math.exp(log_f)
    now[:] = target


@register
class Wah(Effect):
    """Cry-Baby-style wah and auto-wah (see the module docstring for the maths)."""

    name = "wah"
    label = "Wah"
    category = "filter"
    PARAMS = (
        Param("position", 0.5, 0.0, 1.0, smoothing_ms=15.0, label="Pedal",
              description="Expression pedal: 0 heel down (low_hz) .. 1 toe down (high_hz)."),
        Param("mode", "manual", kind="choice", choices=MODES, label="Mode",
              description="manual: the pedal sets the peak; auto: the playing pushes it up."),
        Param("low_hz", 400.0, 200.0, 800.0, unit="Hz", taper="log", label="Heel"),
        Param("high_hz", 2200.0, 1000.0, 5000.0, unit="Hz", taper="log", label="Toe"),
        Param("q", 5.0, 0.7, 15.0, taper="log", label="Q",
              description="Resonance: peak frequency over -3 dB bandwidth."),
        Param("sensitivity", 0.5, 0.0, 1.0, label="Sensitivity",
              description="Auto mode: envelope gain from -20 dB (0) to +40 dB (1)."),
        Param("attack_ms", 5.0, 0.5, 100.0, unit="ms", taper="log", smoothing_ms=0.0,
              label="Attack"),
        Param("release_ms", 150.0, 10.0, 2000.0, unit="ms", taper="log", smoothing_ms=0.0,
              label="Release"),
        Param("mix", 1.0, 0.0, 1.0, label="Mix"),
    )

    def _allocate(self) -> None:
        self._state = np.zeros((self.channels, 2))
        self._envelope = np.zeros(1)
        self._frequency = np.zeros(1)
        self._now = np.zeros(7)
        self._target = np.zeros(7)
        self._pi_over_fs = math.pi / self.sample_rate
        self._max_log_f = math.log(0.45 * self.sample_rate)

    def _reset(self) -> None:
        self._state.fill(0.0)
        self._envelope[0] = 0.0
        self._configure()
        self._now[:] = self._target
        self._frequency[0] = wah_frequency_hz(
            float(self.value("position")), float(self.value("low_hz")),
            float(self.value("high_hz")))

    def _configure(self) -> None:
        t = self._target
        low = float(self.value("low_hz"))
        t[0] = float(self.value("position"))
        t[1] = math.log(low)
        t[2] = math.log(float(self.value("high_hz")) / low)
        t[3] = 1.0 / float(self.value("q"))
        mix = float(self.value("mix"))
        t[4] = 1.0 - mix
        t[5] = mix
        t[6] = sensitivity_gain(float(self.value("sensitivity")))
        fs = self.sample_rate
        self._auto = self._values["mode"] == "auto"
        self._attack = 1.0 - math.exp(-1.0 / (float(self._values["attack_ms"]) * 1e-3 * fs))
        self._release = 1.0 - math.exp(-1.0 / (float(self._values["release_ms"]) * 1e-3 * fs))

    def _process(self, block: np.ndarray) -> None:
        wah_kernel(block, self._state, self._envelope, self._auto, self._attack,
                   self._release, self._pi_over_fs, self._max_log_f, self._now,
                   self._target, self._frequency)

    @property
    def frequency_hz(self) -> float:
        """The filter's peak frequency at the last processed sample (for a display)."""
        return float(self._frequency[0]) if self.sample_rate else wah_frequency_hz(
            float(self._values["position"]), float(self._values["low_hz"]),
            float(self._values["high_hz"]))

    @property
    def envelope(self) -> float:
        """The auto-wah's envelope follower output (linear, 0 when manual)."""
        return float(self._envelope[0]) if self.sample_rate else 0.0

    @property
    def tail_seconds(self) -> float:
        # The resonance rings for about q / (pi * f) seconds per neper: 7 of them is -60 dB.
        return 7.0 * float(self._values["q"]) / (math.pi * float(self._values["low_hz"]))
