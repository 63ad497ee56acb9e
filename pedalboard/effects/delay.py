"""Delay: echoes with feedback, an analog-style darkening loop, ping-pong and tempo sync.

A delay line is a circular buffer: every sample is written at the write
position and read back ``D`` samples later. Feeding part of the read signal
back into the write makes repeats, each ``feedback`` times the previous one.

* **Exact**: with ``feedback = 0``, ``mix = 1`` and the filters open, the
  output is the input shifted by ``delay_seconds * sample_rate`` samples; when
  that is an integer the copy is bit-exact (the 4-point Hermite interpolation
  used for fractional delays returns the stored sample at fraction 0).
* **Glide**: the delay time follows its target with a per-sample one-pole
  glide (time constant 80 ms; the last few samples of the way at a constant
  0.1 % speed, so it lands exactly) read through the interpolator, so turning
  the time knob bends the pitch like a tape echo instead of clicking.
* **Darkening repeats**: ``high_cut_hz`` (a one-pole low-pass) and
  ``low_cut_hz`` (a one-pole high-pass) sit inside the loop, on what is
  written into the line, so every repeat passes them once more, like a
  bucket-brigade delay. At the ends of their ranges (20 kHz and 20 Hz) they
  are out of the loop entirely.
* **Ping-pong** (stereo): the input (summed to mono) enters the left line,
  and each line feeds the other, so repeats alternate left, right, left...
  In mono it is an ordinary delay.
* **Tempo sync**: with ``sync`` other than ``"off"`` the time is
  ``60 / bpm * beats`` (``1/4`` = 1 beat, ``1/8d`` = 0.75, ``1/4t`` = 2/3...)
  from the tempo given to :meth:`Delay.set_tempo` (120 bpm until then),
  limited to the 2 s line.
* **Modulation**: ``mod_depth_ms`` > 0 wobbles the read position with a sine
  LFO at ``mod_rate_hz`` (the right channel 90 degrees later): tape wow, chorus-y
  repeats.

The output is ``(1 - mix) * dry + mix * wet`` (Spotify's ``Delay``).
"""

from __future__ import annotations

import math

import numpy as np

from pedalboard.effects.base import Effect, Param
from pedalboard.effects.dsp import DENORMAL_FLOOR, jit
from pedalboard.effects.registry import register

MAX_DELAY_SECONDS = 2.0
MAX_MOD_MS = 5.0
GLIDE_SECONDS = 0.08
#: Slowest glide speed (samples per sample, a 0.1 % pitch bend), so a glide
#: ends exactly on its target in finite time.
GLIDE_MIN_STEP = 1e-3
SYNC_CHOICES = ("off", "1/1", "1/2", "1/4", "1/4d", "1/4t", "1/8", "1/8d", "1/8t", "1/16")
#: Length of each note value in beats (quarter notes).
SYNC_BEATS = {
    "1/1": 4.0, "1/2": 2.0, "1/4": 1.0, "1/4d": 1.5, "1/4t": 2.0 / 3.0,
    "1/8": 0.5, "1/8d": 0.75, "1/8t": 1.0 / 3.0, "1/16": 0.25,
}
LOW_CUT_OPEN_HZ = 20.0
HIGH_CUT_OPEN_HZ = 20000.0


def synced_seconds(bpm: float, note: str) -> float:
    """Duration of a note value (``"1/8d"``...) at ``bpm`` quarter notes per minute."""
    return 60.0 / bpm * SYNC_BEATS[note]


@jit
def _hermite(buf, c: int, mask: int, position: float) -> float:
    """4-point, 3rd-order Hermite interpolation of ``buf[c]`` at ``position``
    (exact at integer positions)."""
    idx = int(position)
    f = position - idx
    xm1 = buf[c, (idx - 1) & mask]
    x0 = buf[c, idx & mask]
    x1 = buf[c, (idx + 1) & mask]
    x2 = buf[c, (idx + 2) & mask]
    c1 = 0.5 * (x1 - xm1)
    c2 = xm1 - 2.5 * x0 + 2.0 * x1 - 0.5 * x2
    c3 = 0.5 * (x2 - xm1) + 1.5 * (x0 - x1)
    return ((c3 * f + c2) * f + c1) * f + x0


@jit
def _delay_kernel(block, buf, shared, chan, params, wet) -> None:
    """Run the delay over ``block`` in place.

    ``shared``: write position, current delay (samples), LFO phase (turns).
    ``chan[c]``: low-pass state, high-pass state.
    ``params``: target delay, glide coefficient, fb0, fb1, mix0, mix1,
    lp coefficient, hp coefficient, lp on, hp on, mod depth (samples),
    LFO increment (turns/sample), ping-pong flag.
    """
    channels, frames = block.shape
    size = buf.shape[1]
    mask = size - 1
    pos = int(shared[0])
    d = shared[1]
    phase = shared[2]
    target, glide = params[0], params[1]
    fb, fb_step = params[2], (params[3] - params[2]) / max(frames, 1)
    mix, mix_step = params[4], (params[5] - params[4]) / max(frames, 1)
    g_lp, g_hp = params[6], params[7]
    lp_on, hp_on = params[8] > 0.5, params[9] > 0.5
    depth, rate = params[10], params[11]
    ping_pong = params[12] > 0.5 and channels == 2
    # The LFO as a rotating phasor (sin, cos of 2 pi phase): two multiplies a
    # sample instead of a sine; re-anchored on ``phase`` every block.
    lfo_sin = math.sin(2.0 * math.pi * phase)
    lfo_cos = math.cos(2.0 * math.pi * phase)
    turn_cos = math.cos(2.0 * math.pi * rate)
    turn_sin = math.sin(2.0 * math.pi * rate)
    for i in range(frames):
        fb += fb_step
        mix += mix_step
        gap = target - d
        if abs(gap) <= GLIDE_MIN_STEP:
            d = target
        elif glide * abs(gap) >= GLIDE_MIN_STEP:
            d += glide * gap
        else:  # the last few samples at a constant, inaudible speed: it arrives
            d += GLIDE_MIN_STEP if gap > 0 else -GLIDE_MIN_STEP
        for c in range(channels):
            dm = d
            if depth > 0.0:  # channel c runs c quarter turns later
                quadrant = c % 4
                if quadrant == 0:
                    wave = lfo_sin
                elif quadrant == 1:
                    wave = lfo_cos
                elif quadrant == 2:
                    wave = -lfo_sin
                else:
                    wave = -lfo_cos
                dm += depth * (1.0 + wave)
            dm = max(dm, 3.0)
            wet[c] = _hermite(buf, c, mask, pos + size - dm)
        for c in range(channels):
            x = float(block[c, i])
            if ping_pong and c == 0:  # the input enters the left line only
                v = 0.5 * (x + float(block[1, i])) + fb * wet[1]
            elif ping_pong:
                v = fb * wet[0]
            else:
                v = x + fb * wet[c]
            if lp_on:
                v = chan[c, 0] + g_lp * (v - chan[c, 0])
                chan[c, 0] = v
            if hp_on:
                chan[c, 1] += g_hp * (v - chan[c, 1])
                v -= chan[c, 1]
            buf[c, pos] = v if abs(v) > DENORMAL_FLOOR else 0.0
        for c in range(channels):
            block[c, i] = (1.0 - mix) * block[c, i] + mix * wet[c]
        pos = (pos + 1) & mask
        if depth > 0.0:
            phase += rate
            if phase >= 1.0:
                phase -= 1.0
            lfo_sin, lfo_cos = (lfo_sin * turn_cos + lfo_cos * turn_sin,
                                lfo_cos * turn_cos - lfo_sin * turn_sin)
    shared[0] = pos
    shared[1] = d
    shared[2] = phase
    for c in range(channels):
        for k in range(2):
            if abs(chan[c, k]) < DENORMAL_FLOOR:
                chan[c, k] = 0.0


@jit
def _delay_steady(block, buf, shared, chan, params) -> None:
    """:func:`_delay_kernel` for the common case: the time is not gliding, no
    modulation, no ping-pong. Channels run one at a time with their state in
    registers; an integer delay reads the line directly (what the Hermite
    interpolator returns at fraction 0), a fractional one through constant
    Hermite weights."""
    channels, frames = block.shape
    size = buf.shape[1]
    mask = size - 1
    start = int(shared[0])
    d = max(shared[1], 3.0)
    whole = d == math.floor(d)
    # A fixed fractional delay: the Hermite weights of the four taps are constant.
    base = math.floor(size - d)
    f = (size - d) - base
    w_m1 = f * (-0.5 + f * (1.0 - 0.5 * f))
    w_0 = 1.0 + f * f * (-2.5 + 1.5 * f)
    w_1 = f * (0.5 + f * (2.0 - 1.5 * f))
    w_2 = f * f * (-0.5 + 0.5 * f)
    fb_step = (params[3] - params[2]) / max(frames, 1)
    mix_step = (params[5] - params[4]) / max(frames, 1)
    g_lp, g_hp = params[6], params[7]
    lp_on, hp_on = params[8] > 0.5, params[9] > 0.5
    lag = int(d)
    for c in range(channels):
        fb = params[2]
        mix = params[4]
        lp = chan[c, 0]
        hp = chan[c, 1]
        pos = start
        for i in range(frames):
            fb += fb_step
            mix += mix_step
            if whole:
                y = buf[c, (pos - lag) & mask]
            else:
                k = pos + base
                y = (w_m1 * buf[c, (k - 1) & mask] + w_0 * buf[c, k & mask]
                     + w_1 * buf[c, (k + 1) & mask] + w_2 * buf[c, (k + 2) & mask])
            x = float(block[c, i])
            v = x + fb * y
            if lp_on:
                lp += g_lp * (v - lp)
                v = lp
            if hp_on:
                hp += g_hp * (v - hp)
                v -= hp
            buf[c, pos] = v if abs(v) > DENORMAL_FLOOR else 0.0
            block[c, i] = (1.0 - mix) * x + mix * y
            pos = (pos + 1) & mask
        chan[c, 0] = lp if abs(lp) > DENORMAL_FLOOR else 0.0
        chan[c, 1] = hp if abs(hp) > DENORMAL_FLOOR else 0.0
    shared[0] = (start + frames) & mask


@register
class Delay(Effect):
    """Spotify's ``Delay`` (delay_seconds, feedback, mix) with a darkening
    feedback loop, ping-pong, tempo sync and modulation."""

    name = "delay"
    label = "Delay"
    category = "time"
    PARAMS = (
        Param("delay_seconds", 0.5, 0.001, MAX_DELAY_SECONDS, unit="s", taper="log",
              smoothing_ms=0.0, label="Time",
              description="Echo time; glides (80 ms) when changed."),
        Param("feedback", 0.0, 0.0, 0.98, label="Feedback",
              description="Level of each repeat relative to the previous one."),
        Param("mix", 0.5, 0.0, 1.0, label="Mix"),
        Param("sync", "off", kind="choice", choices=SYNC_CHOICES, label="Sync",
              description="Note value at the pedal's tempo instead of the time knob."),
        Param("low_cut_hz", LOW_CUT_OPEN_HZ, LOW_CUT_OPEN_HZ, 2000.0, unit="Hz", taper="log",
              label="Low cut", description="High-pass in the loop (20 Hz: open)."),
        Param("high_cut_hz", HIGH_CUT_OPEN_HZ, 500.0, HIGH_CUT_OPEN_HZ, unit="Hz",
              taper="log", label="High cut",
              description="Low-pass in the loop, darkens each repeat (20 kHz: open)."),
        Param("ping_pong", False, kind="bool", label="Ping-pong"),
        Param("mod_depth_ms", 0.0, 0.0, MAX_MOD_MS, unit="ms", label="Mod depth"),
        Param("mod_rate_hz", 0.5, 0.05, 5.0, unit="Hz", taper="log", label="Mod rate"),
    )

    def __init__(self, **values: object) -> None:
        self._bpm = 120.0
        super().__init__(**values)

    # ---------------------------------------------------------------- tempo
    def set_tempo(self, bpm: float) -> None:
        """Set the tempo (quarter notes per minute) that ``sync`` follows."""
        if not (math.isfinite(bpm) and bpm > 0):
            return
        self._bpm = float(bpm)
        self._needs_configure = True

    def delay_time_seconds(self) -> float:
        """The delay time in effect: the knob, or the synced note value."""
        sync = self._values["sync"]
        if sync == "off":
            return float(self.value("delay_seconds"))
        return min(synced_seconds(self._bpm, sync), MAX_DELAY_SECONDS)

    # ------------------------------------------------------------ lifecycle
    def _allocate(self) -> None:
        longest = (MAX_DELAY_SECONDS + 2.0 * MAX_MOD_MS / 1000.0) * self.sample_rate + 8
        size = 1 << math.ceil(math.log2(longest))
        self._buf = np.zeros((self.channels, size))
        self._shared = np.zeros(3)
        self._chan = np.zeros((self.channels, 2))
        self._params = np.zeros(13)
        self._wet = np.zeros(self.channels)

    def warm_up(self) -> None:
        """Both kernels (steady and gliding/modulated) for both block layouts:
        which one runs depends on the settings, and either may come live."""
        super().warm_up()
        scratch = np.zeros((self.channels, 4), dtype=np.float32)
        for block in (scratch, scratch[:, :2]):
            _delay_steady(block, self._buf, self._shared, self._chan, self._params)
            _delay_kernel(block, self._buf, self._shared, self._chan, self._params, self._wet)
        self._reset()

    def _reset(self) -> None:
        self._buf[:] = 0.0
        self._chan[:] = 0.0
        self._shared[:] = 0.0
        self._shared[1] = self.delay_time_seconds() * self.sample_rate
        self._params[3] = self.value("feedback")
        self._params[5] = self.value("mix")

    def _configure(self) -> None:
        sr = self.sample_rate
        p = self._params
        p[0] = self.delay_time_seconds() * sr
        p[1] = 1.0 - math.exp(-1.0 / (GLIDE_SECONDS * sr))
        p[2], p[3] = p[3], self.value("feedback")
        p[4], p[5] = p[5], self.value("mix")
        high_cut = self.value("high_cut_hz")
        low_cut = self.value("low_cut_hz")
        p[6] = 1.0 - math.exp(-2.0 * math.pi * min(high_cut, 0.45 * sr) / sr)
        p[7] = 1.0 - math.exp(-2.0 * math.pi * low_cut / sr)
        p[8] = 1.0 if high_cut < HIGH_CUT_OPEN_HZ else 0.0
        p[9] = 1.0 if low_cut > LOW_CUT_OPEN_HZ else 0.0
        p[10] = self.value("mod_depth_ms") * 1e-3 * sr
        p[11] = self.value("mod_rate_hz") / sr
        p[12] = 1.0 if self._values["ping_pong"] else 0.0

    def _process(self, block: np.ndarray) -> None:
        p = self._params
        steady = self._shared[1] == p[0] and p[10] == 0.0
        if steady and not (p[12] > 0.5 and block.shape[0] == 2):
            _delay_steady(block, self._buf, self._shared, self._chan, p)
        else:
            _delay_kernel(block, self._buf, self._shared, self._chan, p, self._wet)
        self._params[2] = self._params[3]
        self._params[4] = self._params[5]

    # ----------------------------------------------------------- reporting
    @property
    def tail_seconds(self) -> float:
        """Until the repeats fall below -90 dB (plus one delay and the modulation)."""
        seconds = self.delay_time_seconds() + 2.0 * MAX_MOD_MS / 1000.0
        feedback = float(self._values["feedback"])
        if feedback <= 0.0:
            return seconds
        repeats = math.log(10 ** (-90 / 20)) / math.log(feedback)
        return seconds * (repeats + 1.0)
