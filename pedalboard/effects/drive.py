"""Drive pedals: overdrive, distortion and fuzz, oversampled against aliasing.

A waveshaper ``y = f(x)`` makes harmonics of everything it is fed. Digitally,
harmonics above half the sample rate do not vanish: they fold back as
*aliases*, inharmonic tones that make a high note sound like a ring modulator.
The cure is to shape at a higher rate. Each effect here upsamples by the
``oversample`` factor (1, 2, 4 or 8), shapes, and downsamples again, with
**polyphase half-band IIR filters** (two parallel chains of first-order
allpasses in ``z^-2``; Valenzuela & Constantinides 1983, designed with the
elliptic-function method of Laurent de Soras' *hiir*). Each 2x stage costs a
handful of multiplies per sample, is minimum-phase-like (a few samples of
group delay, no pre-ringing, no reported ``latency``), and the first stage is
flat to within 1e-8 dB up to 0.417 of the base rate (20 kHz at 48 kHz) with
100 dB of rejection from 0.583 (28 kHz at 48 kHz) up; the later stages only
have to protect that band and are cheaper. When oversampling (2x and up), the
shaper also uses first-order *antiderivative anti-aliasing* (ADAA: the
output is the mean of ``f`` over the line between consecutive inputs,
``(F(x1) - F(x0)) / (x1 - x0)`` with ``F' = f``), which removes most of what
still folds inside the oversampled band. For small signals ADAA is the
two-tap average, ``|cos(pi f / (oversample * fs))|``: -0.38 dB at 18 kHz at
4x (-1.6 dB at 2x), nothing audible below. ``oversample = "1"`` is the plain
waveshaper: the cheapest setting, and with ``tone = 1`` and ``level_db = 0``
the distortion is Spotify's ``tanh(g x)`` (to 3e-7: a rational tanh that
vectorises stands in for libm's).

Signal flow (all three): ``x`` -> pre-filter -> ``drive`` gain -> upsample ->
shaper (ADAA when oversampling) -> downsample -> post-filter -> ``tone`` low-pass -> ``level``.

* ``overdrive`` (Tube-Screamer-like): the pre-emphasis keeps the bass out of
  the clipper (a first-order high-pass at 720 Hz that lets 15 % of the lows
  through: ``pre = x - 0.85 * LP720(x)``, like the TS's 4.7 kOhm + 47 nF leg),
  then the symmetric soft clip ``f(u) = u / sqrt(1 + u^2)``: odd harmonics only.
* ``distortion`` (Spotify's ``Distortion``): ``f(u) = tanh(u)``, symmetric, odd
  harmonics only, with no pre-filter. Its defaults (tone open, oversample 1)
  make it Spotify's ``Distortion``; overdrive and fuzz default to 4x.
* ``fuzz`` (Fuzz-Face-like): asymmetric hard clipping of a starved transistor.
  ``bias`` (0..1) sets the operating point: at 1 the clip is symmetric at
  +-1; lowering it clips the negative half earlier (``-(0.4 + 0.6 bias)``:
  even harmonics, the fuzz's "bloom") and opens a dead zone of
  ``0.3 (1 - bias)^2`` around zero that gates quiet signals and makes
  decaying notes sputter. A 15 Hz DC blocker follows (asymmetric clipping
  makes DC).

Small-signal gain (a sine far below clipping): the shapers have slope 1 at
zero, so the gain is ``|pre(f)| * 10^(drive_db/20) * |tone(f)| *
10^(level_db/20)`` (fuzz with ``bias = 1``; a fuzz with bias < 1 gates small
signals to silence). ``tone`` is a second-order low-pass (Q 0.707) from 500
Hz (0) to 20 kHz (just below 1); ``tone = 1`` takes it out.

Outputs are bounded. The shapers' outputs lie in [-1, 1] and what follows
is linear, so ``|y| <= level * ||h||_1`` (the sum of the magnitudes of the
impulse response after the shaper): at most 3.9 (decimator) x 1.82 (tone
near open) x 2 (the fuzz's DC blocker), i.e. ``7.1 * level`` (``14.2 *
level`` for the fuzz), for the most adversarial input. On a guitar, with the
tone at noon or below, peaks stay within ``1.15 * level`` (the tone filter's
overshoot on a clipped wave); with the tone fully open, band-limiting a
clipped, square-ish wave overshoots to about ``2.5 * level`` (Gibbs).
"""

from __future__ import annotations

import math

import numpy as np

from pedalboard.effects.base import Effect, Param
from pedalboard.effects.dsp import DENORMAL_FLOOR, db_to_gain, jit, rbj_biquad
from pedalboard.effects.registry import register

OVERSAMPLE_CHOICES = ("1", "2", "4", "8")
SHAPE_SOFT, SHAPE_TANH, SHAPE_FUZZ = 0, 1, 2
_MAX_STAGES = 3
_MAX_COEFS = 8
_TONE_MIN_HZ = 500.0
_TONE_MAX_HZ = 20000.0
_ADAA_EPS = 1e-5
_LOG2 = math.log(2.0)


# ---------------------------------------------------------- half-band design
def halfband_coefficients(count: int, transition: float) -> np.ndarray:
    """Allpass coefficients of a polyphase half-band IIR low-pass.

    ``transition`` is the half-width of the transition band as a fraction of
    the (oversampled) rate around its quarter: the pass band ends at
    ``0.25 - transition``, the stop band starts at ``0.25 + transition``.
    Even-indexed coefficients belong to path 0, odd ones to path 1.
    """
    k = math.tan((1.0 - 2.0 * transition) * math.pi / 4.0) ** 2
    root = (1.0 - k * k) ** 0.25
    e = 0.5 * (1.0 - root) / (1.0 + root)
    e4 = e**4
    q = e * (1.0 + e4 * (2.0 + e4 * (15.0 + 150.0 * e4)))
    order = 2 * count + 1
    out = np.zeros(count)
    for index in range(count):
        c = index + 1
        num = _theta_sum(q, order, c, numerator=True) * q**0.25
        den = _theta_sum(q, order, c, numerator=False) + 0.5
        w2 = (num / den) ** 2
        x = math.sqrt((1.0 - w2 * k) * (1.0 - w2 / k)) / (1.0 + w2)
        out[index] = (1.0 - x) / (1.0 + x)
    return out


def _theta_sum(q: float, order: int, c: int, *, numerator: bool) -> float:
    """The rapidly converging theta-function series of the elliptic design."""
    acc, sign = 0.0, 1.0 if numerator else -1.0
    i = 0 if numerator else 1
    while True:
        if numerator:
            term = q ** (i * (i + 1)) * math.sin((2 * i + 1) * c * math.pi / order) * sign
        else:
            term = q ** (i * i) * math.cos(2 * i * c * math.pi / order) * sign
        acc += term
        sign, i = -sign, i + 1
        if abs(term) <= 1e-100:
            return acc


def halfband_response(coefs: np.ndarray, frequency: np.ndarray) -> np.ndarray:
    """Complex response of the half-band filter at ``frequency`` (fraction of its rate)."""
    z1 = np.exp(-2j * np.pi * np.asarray(frequency, dtype=float))
    z2 = z1 * z1
    paths = [np.ones_like(z1), np.ones_like(z1)]
    for i, c in enumerate(coefs):
        paths[i % 2] = paths[i % 2] * (c + z2) / (1.0 + c * z2)
    return 0.5 * (paths[0] + z1 * paths[1])


#: Stage 1 (base rate -> 2x) is steep; the later stages only guard 0..0.42 fs.
_STAGE_DESIGNS = ((8, 0.0417), (6, 0.11), (4, 0.19))
# The kernel runs both paths side by side: an even count, at most 8.
assert all(n % 2 == 0 and n <= _MAX_COEFS for n, _ in _STAGE_DESIGNS)
_STAGE_COEFS = np.zeros((_MAX_STAGES, _MAX_COEFS))
_STAGE_COUNTS = np.zeros(_MAX_STAGES, dtype=np.int64)
for _s, (_n, _tbw) in enumerate(_STAGE_DESIGNS):
    _STAGE_COEFS[_s, :_n] = halfband_coefficients(_n, _tbw)
    _STAGE_COUNTS[_s] = _n


# ----------------------------------------------------------------- kernels
@jit
def _chain_step(x: float, c: float, x1: float, y1: float) -> float:
    """One first-order allpass ``(c + z^-1) / (1 + c z^-1)``: the new output."""
    return (x - y1) * c + x1


@jit
def _halfband_paths(path0, path1, m: int, coefs, count: int, state) -> None:
    """Run both allpass paths of a half-band stage over ``path0[:m]`` and
    ``path1[:m]`` in place (path 0 takes the even coefficients, path 1 the odd
    ones; up to 8). All sections run in one loop with their memories in
    registers: each waits only on itself one sample back, so the CPU
    overlaps the eight recursions instead of running them one after another.
    ``state[0, k]``, ``state[1, k]``: last input and output of section k."""
    sections = count // 2  # per path (count is even: 8, 6 or 4)
    c0, c1, c2, c3 = coefs[0], coefs[2], coefs[4], coefs[6]
    d0, d1, d2, d3 = coefs[1], coefs[3], coefs[5], coefs[7]
    ax0, ax1, ax2, ax3 = state[0, 0], state[0, 2], state[0, 4], state[0, 6]
    ay0, ay1, ay2, ay3 = state[1, 0], state[1, 2], state[1, 4], state[1, 6]
    bx0, bx1, bx2, bx3 = state[0, 1], state[0, 3], state[0, 5], state[0, 7]
    by0, by1, by2, by3 = state[1, 1], state[1, 3], state[1, 5], state[1, 7]
    for j in range(m):
        u = path0[j]
        w = path1[j]
        ay0 = _chain_step(u, c0, ax0, ay0)
        ax0 = u
        by0 = _chain_step(w, d0, bx0, by0)
        bx0 = w
        ay1 = _chain_step(ay0, c1, ax1, ay1)
        ax1 = ay0
        by1 = _chain_step(by0, d1, bx1, by1)
        bx1 = by0
        u = ay1
        w = by1
        if sections > 2:
            ay2 = _chain_step(u, c2, ax2, ay2)
            ax2 = u
            by2 = _chain_step(w, d2, bx2, by2)
            bx2 = w
            u = ay2
            w = by2
        if sections > 3:
            ay3 = _chain_step(u, c3, ax3, ay3)
            ax3 = u
            by3 = _chain_step(w, d3, bx3, by3)
            bx3 = w
            u = ay3
            w = by3
        path0[j] = u
        path1[j] = w
    memory = (ax0, ay0, bx0, by0, ax1, ay1, bx1, by1, ax2, ay2, bx2, by2, ax3, ay3, bx3, by3)
    for s in range(sections):
        state[0, 2 * s] = _flushed(memory[4 * s])
        state[1, 2 * s] = _flushed(memory[4 * s + 1])
        state[0, 2 * s + 1] = _flushed(memory[4 * s + 2])
        state[1, 2 * s + 1] = _flushed(memory[4 * s + 3])


@jit
def _flushed(v: float) -> float:
    return v if abs(v) > DENORMAL_FLOOR else 0.0


@jit
def _upsample(buf, m: int, coefs, count: int, state, path0, path1) -> None:
    """``buf[:m]`` -> ``buf[:2m]`` at twice the rate (hiir's polyphase layout:
    path 0 gives the even outputs, path 1 the odd ones)."""
    for j in range(m):
        path0[j] = buf[j]
        path1[j] = buf[j]
    _halfband_paths(path0, path1, m, coefs, count, state)
    for j in range(m):
        buf[2 * j] = path0[j]
        buf[2 * j + 1] = path1[j]


@jit
def _downsample(buf, m: int, coefs, count: int, state, path0, path1) -> None:
    """``buf[:2m]`` -> ``buf[:m]`` at half the rate, through the half-band low-pass."""
    for j in range(m):
        path0[j] = buf[2 * j + 1]
        path1[j] = buf[2 * j]
    _halfband_paths(path0, path1, m, coefs, count, state)
    for j in range(m):
        buf[j] = 0.5 * (path0[j] + path1[j])


@jit
def _shape(u: float, shape: int, t: float, p: float, n: float) -> float:
    if shape == SHAPE_SOFT:
        return u / math.sqrt(1.0 + u * u)
    if shape == SHAPE_TANH:
        return math.tanh(u)
    if u > t:
        return min(u - t, p)
    if u < -t:
        return max(u + t, -n)
    return 0.0


@jit
def _antiderivative(u: float, shape: int, t: float, p: float, n: float) -> float:
    # Every antiderivative is 0 at 0, so the zeroed state (x = 0, F = 0) is consistent.
    if shape == SHAPE_SOFT:  # sqrt(1 + u^2) - 1, without cancellation
        return u * u / (math.sqrt(1.0 + u * u) + 1.0)
    if shape == SHAPE_TANH:  # log(cosh(u)), overflow-free
        a = abs(u)
        return a + math.log1p(math.exp(-2.0 * a)) - _LOG2
    if u > t:
        v = u - t
        return 0.5 * v * v if v <= p else 0.5 * p * p + p * (v - p)
    if u < -t:
        v = -u - t
        return 0.5 * v * v if v <= n else 0.5 * n * n + n * (v - n)
    return 0.0


@jit
def _shape_adaa(buf, m: int, shape: int, t: float, p: float, n: float, state, c: int,
                adaa: bool) -> None:
    """The shaper over ``buf[:m]`` in place: with first-order antiderivative
    anti-aliasing, or plain (then only the ADAA memory is kept current)."""
    if not adaa:
        if m > 0:
            state[c, 1] = buf[m - 1]
            state[c, 2] = _antiderivative(buf[m - 1], shape, t, p, n)
        for j in range(m):
            buf[j] = _shape(buf[j], shape, t, p, n)
        return
    x0 = state[c, 1]
    f0 = state[c, 2]
    for j in range(m):
        x1 = buf[j]
        f1 = _antiderivative(x1, shape, t, p, n)
        d = x1 - x0
        if abs(d) > _ADAA_EPS:
            buf[j] = (f1 - f0) / d
        else:  # (nearly) equal inputs: the mean of f is f at the midpoint
            buf[j] = _shape(0.5 * (x1 + x0), shape, t, p, n)
        x0 = x1
        f0 = f1
    state[c, 1] = x0
    state[c, 2] = f0


@jit
def _drive_kernel(block, shape, stages, params, coefs, counts, state, up, down,
                  buf, path0, path1):
    """Drive all channels of ``block`` in place.

    ``params``: pre_mix, pre_a, g0, g1, t, p, n, dc_a, level0, level1, then
    the tone biquad b0 b1 b2 a1 a2 and a flag whether the tone is active.
    ``state[c]``: pre_lp, adaa_x, adaa_F, dc_x, dc_y, tone_z1, tone_z2.
    ``up``/``down``: ``(channels, stages, 2, coefs)`` allpass memories.
    """
    channels, frames = block.shape
    pre_mix, pre_a = params[0], params[1]
    g0, g1 = params[2], params[3]
    t, p, n = params[4], params[5], params[6]
    dc_a = params[7]
    l0, l1 = params[8], params[9]
    b0, b1, b2, a1, a2 = params[10], params[11], params[12], params[13], params[14]
    tone_on = params[15] > 0.5
    g_step = (g1 - g0) / max(frames, 1)
    l_step = (l1 - l0) / max(frames, 1)
    # Without a pre-filter, a glide or a post-filter the loops have no
    # recurrence, so they vectorise (the same arithmetic, the same output).
    plain_in = pre_mix == 0.0 and g_step == 0.0
    plain_out = shape != SHAPE_FUZZ and not tone_on and l_step == 0.0
    for c in range(channels):
        if plain_in:
            for i in range(frames):
                buf[i] = g0 * float(block[c, i])
        else:
            lp = state[c, 0]
            g = g0
            for i in range(frames):
                g += g_step
                x = float(block[c, i])
                lp += pre_a * (x - lp)
                buf[i] = g * (x - pre_mix * lp)
            state[c, 0] = lp if abs(lp) > DENORMAL_FLOOR else 0.0
        m = frames
        for s in range(stages):
            _upsample(buf, m, coefs[s], counts[s], up[c, s], path0, path1)
            m *= 2
        _shape_adaa(buf, m, shape, t, p, n, state, c, stages > 0)
        for s in range(stages - 1, -1, -1):
            m //= 2
            _downsample(buf, m, coefs[s], counts[s], down[c, s], path0, path1)
        if plain_out:
            for i in range(frames):
                block[c, i] = buf[i] * l0
            continue
        dcx = state[c, 3]
        dcy = state[c, 4]
        z1 = state[c, 5]
        z2 = state[c, 6]
        lev = l0
        for i in range(frames):
            lev += l_step
            y = buf[i]
            if shape == SHAPE_FUZZ:
                dcy = dc_a * (dcy + y - dcx)
                dcx = y
                y = dcy
            if tone_on:
                out = b0 * y + z1
                z1 = b1 * y - a1 * out + z2
                z2 = b2 * y - a2 * out
                y = out
            block[c, i] = y * lev
        state[c, 3] = dcx if abs(dcx) > DENORMAL_FLOOR else 0.0
        state[c, 4] = dcy if abs(dcy) > DENORMAL_FLOOR else 0.0
        state[c, 5] = z1 if abs(z1) > DENORMAL_FLOOR else 0.0
        state[c, 6] = z2 if abs(z2) > DENORMAL_FLOOR else 0.0


# tanh as a rational function (Eigen's float32 approximation, |error| < 3e-7,
# below the float32 step near 1): unlike libm's tanh it vectorises.
_TANH_NUM = (4.89352455891786e-03, 6.37261928875436e-04, 1.48572235717979e-05,
             5.12229709037114e-08, -8.60467152213735e-11, 2.00018790482477e-13,
             -2.76076847742355e-16)
_TANH_DEN = (4.89352518554385e-03, 2.26843463243900e-03, 1.18534705686654e-04,
             1.19825839466702e-06)
_TANH_CLAMP = 7.90531110763549805


@jit
def _shape_plain(buf, m: int, shape: int, t: float, p: float, n: float) -> None:
    """The shaper over ``buf[:m]`` without ADAA, one branch-free loop per shape
    (so each vectorises)."""
    if shape == SHAPE_TANH:
        a1, a3, a5, a7, a9, a11, a13 = _TANH_NUM
        b0, b2, b4, b6 = _TANH_DEN
        for j in range(m):
            x = min(max(buf[j], -_TANH_CLAMP), _TANH_CLAMP)
            x2 = x * x
            num = x * (a1 + x2 * (a3 + x2 * (a5 + x2 * (a7 + x2 * (a9 + x2 * (a11 + x2 * a13))))))
            buf[j] = num / (b0 + x2 * (b2 + x2 * (b4 + x2 * b6)))
    elif shape == SHAPE_SOFT:
        for j in range(m):
            u = buf[j]
            buf[j] = u / math.sqrt(1.0 + u * u)
    else:
        for j in range(m):
            u = buf[j]
            buf[j] = min(max(u - t, 0.0), p) + max(min(u + t, 0.0), -n)


@jit
def _drive_plain(block, shape, params, state, buf) -> None:
    """``oversample = "1"``: the chain of :func:`_drive_kernel` without the rate
    changes and without ADAA (the cheapest setting)."""
    channels, frames = block.shape
    pre_mix, pre_a = params[0], params[1]
    g0, g1 = params[2], params[3]
    t, p, n = params[4], params[5], params[6]
    dc_a = params[7]
    l0, l1 = params[8], params[9]
    b0, b1, b2, a1, a2 = params[10], params[11], params[12], params[13], params[14]
    tone_on = params[15] > 0.5
    g_step = (g1 - g0) / max(frames, 1)
    l_step = (l1 - l0) / max(frames, 1)
    # Without a pre-filter, a glide or a post-filter the loops have no
    # recurrence, so they vectorise (the same arithmetic, the same output).
    plain_in = pre_mix == 0.0 and g_step == 0.0
    plain_out = shape != SHAPE_FUZZ and not tone_on and l_step == 0.0
    for c in range(channels):
        if plain_in:
            for i in range(frames):
                buf[i] = g0 * float(block[c, i])
        else:
            lp = state[c, 0]
            g = g0
            for i in range(frames):
                g += g_step
                x = float(block[c, i])
                lp += pre_a * (x - lp)
                buf[i] = g * (x - pre_mix * lp)
            state[c, 0] = lp if abs(lp) > DENORMAL_FLOOR else 0.0
        if frames > 0:  # keep the ADAA memory current for a switch to 2x and up
            state[c, 1] = buf[frames - 1]
            state[c, 2] = _antiderivative(buf[frames - 1], shape, t, p, n)
        _shape_plain(buf, frames, shape, t, p, n)
        if plain_out:
            for i in range(frames):
                block[c, i] = buf[i] * l0
            continue
        dcx = state[c, 3]
        dcy = state[c, 4]
        z1 = state[c, 5]
        z2 = state[c, 6]
        lev = l0
        for i in range(frames):
            lev += l_step
            y = buf[i]
            if shape == SHAPE_FUZZ:
                dcy = dc_a * (dcy + y - dcx)
                dcx = y
                y = dcy
            if tone_on:
                out = b0 * y + z1
                z1 = b1 * y - a1 * out + z2
                z2 = b2 * y - a2 * out
                y = out
            block[c, i] = y * lev
        state[c, 3] = dcx if abs(dcx) > DENORMAL_FLOOR else 0.0
        state[c, 4] = dcy if abs(dcy) > DENORMAL_FLOOR else 0.0
        state[c, 5] = z1 if abs(z1) > DENORMAL_FLOOR else 0.0
        state[c, 6] = z2 if abs(z2) > DENORMAL_FLOOR else 0.0


# ----------------------------------------------------------------- effects
def _drive_params(drive_max_db: float, drive_default_db: float, tone: float = 0.5,
                  oversample: str = "4") -> tuple[Param, ...]:
    return (
        Param("drive_db", drive_default_db, 0.0, drive_max_db, unit="dB", label="Drive"),
        Param("tone", tone, 0.0, 1.0, label="Tone",
              description="Low-pass after the clipper: 500 Hz at 0, open at 1."),
        Param("level_db", 0.0, -40.0, 12.0, unit="dB", label="Level"),
        Param("oversample", oversample, kind="choice", choices=OVERSAMPLE_CHOICES,
              label="Oversampling", description="Shaping rate: base rate times this."),
    )


class _Drive(Effect):
    """Shared machinery of the three drive pedals (see the module docstring)."""

    category = "drive"
    SHAPE = SHAPE_SOFT
    PRE_MIX = 0.0  # fraction of the 720 Hz low-pass removed before the clipper

    def _allocate(self) -> None:
        channels = self.channels
        self._params = np.zeros(16)
        self._state = np.zeros((channels, 7))
        shape = (channels, _MAX_STAGES, 2, _MAX_COEFS)
        self._up, self._down = np.zeros(shape), np.zeros(shape)
        longest = self.max_block << _MAX_STAGES
        self._buf = np.zeros(longest)
        self._path0, self._path1 = np.zeros(longest // 2), np.zeros(longest // 2)
        self._drive_gain = db_to_gain(self.value("drive_db"))
        self._level_gain = db_to_gain(self.value("level_db"))

    def warm_up(self) -> None:
        """Both kernels (plain and oversampled) for both block layouts, so
        that switching ``oversample`` live compiles nothing either."""
        super().warm_up()
        scratch = np.zeros((self.channels, 4), dtype=np.float32)
        for block in (scratch, scratch[:, :2]):
            _drive_plain(block, self.SHAPE, self._params, self._state, self._buf)
            _drive_kernel(block, self.SHAPE, 1, self._params, _STAGE_COEFS, _STAGE_COUNTS,
                          self._state, self._up, self._down, self._buf, self._path0,
                          self._path1)
        self._reset()

    def _reset(self) -> None:
        for array in (self._state, self._up, self._down):
            array[:] = 0.0
        self._drive_gain = db_to_gain(self.value("drive_db"))
        self._level_gain = db_to_gain(self.value("level_db"))

    def _on_param_change(self, name: str) -> None:
        if name == "oversample" and self.sample_rate:
            # Another factor runs the stages at other rates: their memories are stale.
            self._up[:] = 0.0
            self._down[:] = 0.0

    def _shape_limits(self) -> tuple[float, float, float]:
        """Dead zone, positive and negative clip levels (fuzz only)."""
        return 0.0, 1.0, 1.0

    def _configure(self) -> None:
        sr = self.sample_rate
        params = self._params
        params[0] = self.PRE_MIX
        params[1] = 1.0 - math.exp(-2.0 * math.pi * 720.0 / sr)
        params[2] = self._drive_gain
        self._drive_gain = db_to_gain(self.value("drive_db"))
        params[3] = self._drive_gain
        params[4], params[5], params[6] = self._shape_limits()
        params[7] = 1.0 / (1.0 + 2.0 * math.pi * 15.0 / sr)
        params[8] = self._level_gain
        self._level_gain = db_to_gain(self.value("level_db"))
        params[9] = self._level_gain
        tone = self.value("tone")
        if tone >= 1.0:
            params[15] = 0.0
        else:
            cutoff = _TONE_MIN_HZ * (_TONE_MAX_HZ / _TONE_MIN_HZ) ** tone
            params[10:15] = rbj_biquad("lowpass", cutoff, sr)
            params[15] = 1.0

    def tone_coefficients(self) -> np.ndarray | None:
        """The tone low-pass as ``[b0, b1, b2, a1, a2]`` at the prepared rate (None: open)."""
        if self.value("tone") >= 1.0:
            return None
        cutoff = _TONE_MIN_HZ * (_TONE_MAX_HZ / _TONE_MIN_HZ) ** self.value("tone")
        return rbj_biquad("lowpass", cutoff, self.sample_rate)

    def _process(self, block: np.ndarray) -> None:
        stages = OVERSAMPLE_CHOICES.index(self._values["oversample"])
        if stages == 0:
            _drive_plain(block, self.SHAPE, self._params, self._state, self._buf)
        else:
            _drive_kernel(block, self.SHAPE, stages, self._params, _STAGE_COEFS, _STAGE_COUNTS,
                          self._state, self._up, self._down, self._buf, self._path0,
                          self._path1)
        # The in-chunk ramps have arrived at their targets.
        self._params[2] = self._params[3]
        self._params[8] = self._params[9]


@register
class Overdrive(_Drive):
    """Tube-Screamer-like overdrive: bass-light soft clipping, mid-forward."""

    name = "overdrive"
    label = "Overdrive"
    SHAPE = SHAPE_SOFT
    PRE_MIX = 0.85
    PARAMS = _drive_params(40.0, 18.0)


@register
class Distortion(_Drive):
    """Spotify's ``Distortion`` (``tanh`` of ``drive_db``) with tone, level and oversampling.

    Its defaults (drive 25 dB, tone open, no oversampling) are Spotify's;
    for a guitar, set ``oversample`` to 4 and a ``tone``."""

    name = "distortion"
    label = "Distortion"
    SHAPE = SHAPE_TANH
    PARAMS = _drive_params(60.0, 25.0, tone=1.0, oversample="1")


@register
class Fuzz(_Drive):
    """Fuzz-Face-like asymmetric hard clipping with a bias (gate) control."""

    name = "fuzz"
    label = "Fuzz"
    SHAPE = SHAPE_FUZZ
    PARAMS = (
        *_drive_params(60.0, 35.0),
        Param("bias", 0.7, 0.0, 1.0, label="Bias",
              description="Transistor bias: 1 symmetric and open; lower gates and sputters."),
    )

    def _shape_limits(self) -> tuple[float, float, float]:
        bias = self.value("bias")
        return 0.3 * (1.0 - bias) ** 2, 1.0, 0.4 + 0.6 * bias
