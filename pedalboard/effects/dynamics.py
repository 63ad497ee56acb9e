"""Dynamics: noise gate, compressor and brick-wall limiter.

All three are stereo-linked (one gain, computed from the louder channel, is
applied to every channel, so a stereo image never wanders) and run as one
numba kernel per block whose state advances per sample.

Level detection (gate and compressor): a *peak detector with hold*. It keeps
the largest ``|x|`` of the current and of the previous hold period
(:data:`DETECTOR_HOLD_S`, 10 ms), so the level it reports is the true peak of
any tone whose rectified period is shorter than that (fundamentals from 50 Hz
up: a guitar's low E is 82 Hz) and it does not ripple within a cycle. A steady
sine of peak amplitude ``A`` therefore reads exactly ``20 log10 A`` dBFS and
the static curves below hold for it exactly. A rise is seen at once; a drop
is seen 10-20 ms later (when the held peak expires), so release times start
counting after that hold.

Gain smoothing follows the "smooth branching" detector of Giannoulis, Massberg
& Reiss ("Digital dynamic range compressor design: a tutorial and analysis",
JAES 2012): a one-pole filter whose coefficient is the attack one while the
gain is falling and the release one while it is rising. ``attack_ms`` and
``release_ms`` are its time constants: after a step, the gain has covered
63 % (1 - 1/e) of the change after one time constant. The compressor smooths
its gain in dB (the log-domain detector of that paper: releases sound even),
the gate smooths the linear gain (its fades end in silence, not at -inf dB).
The limiter looks ahead instead; see :class:`Limiter`.
"""

from __future__ import annotations

import math

import numpy as np

from pedalboard.effects.base import Effect, Param
from pedalboard.effects.dsp import db_to_gain, jit
from pedalboard.effects.registry import register

#: Hold of the peak level detector (seconds): covers one rectified period of
#: a 50 Hz fundamental.
DETECTOR_HOLD_S = 0.010
#: Look-ahead of the limiter (seconds); its latency is this minus one sample.
LIMITER_LOOKAHEAD_S = 0.002
#: Deepest attenuation the gate applies (dB); keeps its exponent finite.
GATE_FLOOR_DB = -200.0

_DB_PER_NEPER = 20.0 / math.log(10.0)  # 20 log10(x) = _DB_PER_NEPER * ln(x)
_LOG2_10_OVER_20 = math.log2(10.0) / 20.0
_LN2 = math.log(2.0)
_POWERS_OF_TWO = 2.0 ** np.arange(-1000.0, 201.0)  # 2**n for n in -1000..200

# Detector state slots shared by the gate and compressor kernels.
_CUR, _PREV, _COUNT, _LAST_ENV, _LAST_TARGET, _GAIN = 0, 1, 2, 3, 4, 5
_OPEN, _HOLD_LEFT = 6, 7


def coefficient(time_ms: float, sample_rate: float) -> float:
    """One-pole coefficient that covers 63 % of a step in ``time_ms``."""
    return math.exp(-1000.0 / (max(time_ms, 1e-3) * sample_rate))


@jit
def _db_to_gain_fast(gain_db: float) -> float:
    """``10 ** (gain_db / 20)`` to 2e-7 relative (2e-6 dB): a power of two
    times a degree-6 Taylor series of ``2**f`` on ``|f| <= 0.5``. Cheaper
    than ``math.exp``, which dominated the compressor's per-sample cost."""
    x = gain_db * _LOG2_10_OVER_20
    n = math.floor(x + 0.5)
    f = (x - n) * _LN2
    p = 1.0 + f * (1.0 + f * (0.5 + f * (1.0 / 6.0 + f * (1.0 / 24.0 + f * (
        1.0 / 120.0 + f * (1.0 / 720.0))))))
    k = int(n) + 1000
    if k < 0:
        return 0.0
    if k > 1200:
        k = 1200
    return p * _POWERS_OF_TWO[k]


@jit
def _compressor_kernel(
    block: np.ndarray, state: np.ndarray, hold: int, threshold_db: float, slope: float,
    knee_db: float, makeup: float, attack: float, release: float,
) -> None:
    """Feed-forward compressor; ``slope`` = 1/ratio - 1 (<= 0).

    ``state[_GAIN]`` holds the smoothed gain reduction in dB (>= 0). The
    held-peak detector is written out inline with scalar locals: this loop
    is the whole cost of the effect."""
    channels, frames = block.shape
    knee_low = threshold_db - 0.5 * knee_db
    knee_low_lin = 10.0 ** (knee_low / 20.0)
    cur, prev, count = state[_CUR], state[_PREV], int(state[_COUNT])
    last_env = state[_LAST_ENV]
    reduction = state[_GAIN]
    target = state[_LAST_TARGET]
    gain = makeup * _db_to_gain_fast(-reduction)
    for i in range(frames):
        peak = 0.0
        for c in range(channels):
            x = abs(block[c, i])
            if x > peak:
                peak = x
        if count >= hold:
            prev = cur
            cur = 0.0
            count = 0
        if peak > cur:
            cur = peak
        count += 1
        env = cur if cur > prev else prev
        if env != last_env:
            last_env = env
            if env <= knee_low_lin:
                target = 0.0
            else:
                level = _DB_PER_NEPER * math.log(env)
                over = level - threshold_db
                if 2.0 * over > knee_db:
                    target = -slope * over
                elif knee_db > 0.0:  # inside the knee: quadratic blend
                    into = level - knee_low
                    target = -slope * into * into / (2.0 * knee_db)
                else:
                    target = 0.0
        if reduction != target:
            pole = attack if target > reduction else release
            reduction = target + pole * (reduction - target)
            # Within 1e-7 dB the glide is over: snap, and the gain stays put.
            if abs(reduction - target) < 1e-7:
                reduction = target
            gain = makeup * _db_to_gain_fast(-reduction)
        for c in range(channels):
            block[c, i] *= gain
    state[_CUR], state[_PREV], state[_COUNT] = cur, prev, float(count)
    state[_LAST_ENV] = last_env
    state[_GAIN] = reduction
    state[_LAST_TARGET] = target


@jit
def _gate_kernel(
    block: np.ndarray, state: np.ndarray, hold: int, open_level: float, close_level: float,
    expansion: float, hold_samples: float, attack: float, release: float, floor: float,
) -> None:
    """Noise gate with hysteresis and hold; closed, it expands downwards with
    gain ``(env / open_level) ** expansion`` (expansion = ratio - 1).

    ``state[_GAIN]`` holds the smoothed linear gain."""
    channels, frames = block.shape
    cur, prev, count = state[_CUR], state[_PREV], int(state[_COUNT])
    last_env = state[_LAST_ENV]
    gain = state[_GAIN]
    target = state[_LAST_TARGET]
    is_open = state[_OPEN] != 0.0
    hold_left = state[_HOLD_LEFT]
    for i in range(frames):
        peak = 0.0
        for c in range(channels):
            x = abs(block[c, i])
            if x > peak:
                peak = x
        if count >= hold:
            prev = cur
            cur = 0.0
            count = 0
        if peak > cur:
            cur = peak
        count += 1
        env = cur if cur > prev else prev
        if is_open:
            if env >= close_level:
                hold_left = hold_samples
            elif hold_left > 0.0:
                hold_left -= 1.0
            else:
                is_open = False
                last_env = -1.0  # recompute the closed gain now
        elif env >= open_level:
            is_open = True
            hold_left = hold_samples
        if is_open:
            target = 1.0
        elif env != last_env:
            last_env = env
            target = floor
            if env > 0.0:
                target = max(math.exp(expansion * math.log(env / open_level)), floor)
        if gain != target:
            pole = attack if target > gain else release
            gain = target + pole * (gain - target)
            if abs(gain - target) < 1e-9 * target or gain < 1e-20:
                gain = target
        for c in range(channels):
            block[c, i] *= gain
    state[_CUR], state[_PREV], state[_COUNT] = cur, prev, float(count)
    state[_LAST_ENV] = last_env
    state[_GAIN] = gain
    state[_LAST_TARGET] = target
    state[_OPEN] = 1.0 if is_open else 0.0
    state[_HOLD_LEFT] = hold_left


@jit
def _limiter_kernel(
    block: np.ndarray, delay: np.ndarray, boxes: np.ndarray, queue: np.ndarray,
    queue_at: np.ndarray, state: np.ndarray, counters: np.ndarray, threshold: float,
    release: float,
) -> None:
    """Look-ahead peak limiter: sliding minimum of the required gain over the
    look-ahead window, exponential release, then a moving average as long as
    the window. Every averaged value is at most the gain the sample leaving
    the delay line requires, so the output never exceeds ``threshold``.

    ``counters``: [position, queue head, queue size, sample index] (int64).
    ``state``: [released gain, box sum]."""
    channels, frames = block.shape
    length = delay.shape[1]
    pos, head, size, n = counters[0], counters[1], counters[2], counters[3]
    held = state[0]
    box_sum = state[1]
    inv_length = 1.0 / length
    for i in range(frames):
        peak = 0.0
        for c in range(channels):
            x = abs(block[c, i])
            if x > peak:
                peak = x
        need = threshold / peak if peak > threshold else 1.0
        # Sliding minimum over samples n-length+1..n (a monotonic queue whose
        # values increase from head to tail). Expire first, then push, so at
        # most ``length`` entries are ever held.
        if size > 0 and queue_at[head] <= n - length:
            head += 1
            if head == length:
                head = 0
            size -= 1
        while size > 0:
            last = head + size - 1
            if last >= length:
                last -= length
            if queue[last] < need:
                break
            size -= 1
        tail = head + size
        if tail >= length:
            tail -= length
        queue[tail] = need
        queue_at[tail] = n
        size += 1
        window_min = queue[head]
        if window_min < held:
            held = window_min
        else:
            held = window_min + release * (held - window_min)
            if window_min - held < 1e-12:
                held = window_min
        box_sum += held - boxes[pos]
        boxes[pos] = held
        gain = box_sum * inv_length
        if gain > 1.0:
            gain = 1.0
        out = pos + 1
        if out == length:
            out = 0
        for c in range(channels):
            delay[c, pos] = block[c, i]
            block[c, i] = gain * delay[c, out]
        pos = out
        n += 1
    # Re-add the box from scratch now and then: a running sum drifts.
    if n - counters[4] > 1 << 20:
        box_sum = 0.0
        for k in range(length):
            box_sum += boxes[k]
        counters[4] = n
    counters[0], counters[1], counters[2], counters[3] = pos, head, size, n
    state[0] = held
    state[1] = box_sum


# ------------------------------------------------------------------ effects
class _Detecting(Effect):
    """Common state of the effects that use the held-peak detector."""

    category = "dynamics"

    def _allocate(self) -> None:
        self._state = np.zeros(8)
        self._hold = max(1, round(DETECTOR_HOLD_S * self.sample_rate))

    def _reset(self) -> None:
        self._state[:] = 0.0
        self._state[_LAST_ENV] = -1.0


@register
class Compressor(_Detecting):
    """Feed-forward compressor with a soft knee (Spotify's ``Compressor``
    parameters plus ``knee_db`` and ``makeup_gain_db``).

    Static curve, level ``x`` in dBFS (a sine's peak), threshold ``T``,
    ratio ``R``, knee width ``W``: below ``T - W/2`` the gain is 0 dB; above
    ``T + W/2`` the output is ``T + (x - T)/R``; in between the gain is
    ``(1/R - 1) (x - T + W/2)^2 / (2W)``; ``makeup_gain_db`` is added after.
    ``attack_ms``/``release_ms``: time for the gain (in dB) to cover 63 % of
    a change; a release starts once the detector's 10-20 ms peak hold lets go.
    """

    name = "compressor"
    label = "Compressor"
    PARAMS = (
        Param("threshold_db", -20.0, -60.0, 0.0, unit="dB", label="Threshold"),
        Param("ratio", 4.0, 1.0, 50.0, taper="log", label="Ratio"),
        Param("attack_ms", 5.0, 0.1, 200.0, unit="ms", taper="log", label="Attack"),
        Param("release_ms", 100.0, 5.0, 3000.0, unit="ms", taper="log", label="Release"),
        Param("knee_db", 6.0, 0.0, 24.0, unit="dB", label="Knee"),
        Param("makeup_gain_db", 0.0, -12.0, 36.0, unit="dB", label="Makeup"),
    )

    def _configure(self) -> None:
        self._threshold = self.value("threshold_db")
        self._slope = 1.0 / self.value("ratio") - 1.0
        self._knee = self.value("knee_db")
        self._makeup = db_to_gain(self.value("makeup_gain_db"))
        self._attack = coefficient(self.value("attack_ms"), self.sample_rate)
        self._release = coefficient(self.value("release_ms"), self.sample_rate)
        self._state[_LAST_ENV] = -1.0  # the curve moved: recompute the target

    def _process(self, block: np.ndarray) -> None:
        _compressor_kernel(block, self._state, self._hold, self._threshold, self._slope,
                           self._knee, self._makeup, self._attack, self._release)

    def static_gain_db(self, level_db: float) -> float:
        """The static curve: steady-state gain in dB for a level in dBFS."""
        threshold = float(self._values["threshold_db"])
        knee = float(self._values["knee_db"])
        slope = 1.0 / float(self._values["ratio"]) - 1.0
        over = level_db - threshold
        if 2.0 * over <= -knee:
            reduction = 0.0
        elif 2.0 * over > knee:
            reduction = slope * over
        else:
            reduction = slope * (over + knee / 2.0) ** 2 / (2.0 * knee)
        return reduction + float(self._values["makeup_gain_db"])


@register
class NoiseGate(_Detecting):
    """Noise gate (downward expander) with hold and hysteresis.

    The gate opens when the level reaches ``threshold_db`` and closes when it
    has stayed below ``threshold_db - hysteresis_db`` for ``hold_ms`` (so a
    note decaying through the threshold does not chatter). Open, the signal
    passes unchanged. Closed, a level ``L`` dB below the threshold comes out
    ``ratio * L`` dB below it: attenuated by ``(ratio - 1) * L`` dB (at most
    200 dB). ``attack_ms``/``release_ms``: time for the linear gain to cover
    63 % of its change when opening/closing. A close starts ``hold_ms`` plus
    the detector's 10-20 ms peak hold after the level falls away.
    """

    name = "noise_gate"
    label = "Noise gate"
    PARAMS = (
        Param("threshold_db", -60.0, -100.0, 0.0, unit="dB", label="Threshold"),
        Param("ratio", 10.0, 1.0, 100.0, taper="log", label="Ratio"),
        Param("attack_ms", 1.0, 0.05, 100.0, unit="ms", taper="log", label="Attack"),
        Param("release_ms", 100.0, 1.0, 2000.0, unit="ms", taper="log", label="Release"),
        Param("hold_ms", 20.0, 0.0, 1000.0, unit="ms", label="Hold"),
        Param("hysteresis_db", 6.0, 0.0, 24.0, unit="dB", label="Hysteresis"),
    )

    def _reset(self) -> None:
        super()._reset()
        self._state[_LAST_TARGET] = db_to_gain(GATE_FLOOR_DB)

    def _configure(self) -> None:
        threshold = self.value("threshold_db")
        self._open_level = db_to_gain(threshold)
        self._close_level = db_to_gain(threshold - self.value("hysteresis_db"))
        self._expansion = self.value("ratio") - 1.0
        self._hold_samples = float(round(self.value("hold_ms") * 1e-3 * self.sample_rate))
        self._attack = coefficient(self.value("attack_ms"), self.sample_rate)
        self._release = coefficient(self.value("release_ms"), self.sample_rate)
        self._state[_LAST_ENV] = -1.0

    def _process(self, block: np.ndarray) -> None:
        _gate_kernel(block, self._state, self._hold, self._open_level, self._close_level,
                     self._expansion, self._hold_samples, self._attack, self._release,
                     db_to_gain(GATE_FLOOR_DB))


@register
class Limiter(Effect):
    """Brick-wall peak limiter (Spotify's ``Limiter`` parameters).

    It looks 2 ms ahead (``latency`` reports the delay in samples): the gain
    ramps down over those 2 ms before a peak arrives, so no sample leaves
    above ``threshold_db``, not even the first of a hard pluck. Below the
    threshold the output is the input, delayed. ``release_ms``: time constant
    of the gain's recovery once the peak has passed the look-ahead window.
    """

    name = "limiter"
    label = "Limiter"
    category = "dynamics"
    PARAMS = (
        Param("threshold_db", -1.0, -40.0, 0.0, unit="dB", label="Ceiling"),
        Param("release_ms", 100.0, 1.0, 2000.0, unit="ms", taper="log", label="Release"),
    )

    @property
    def latency(self) -> int:
        return self._length - 1 if self.sample_rate else 0

    def _allocate(self) -> None:
        self._length = max(1, round(LIMITER_LOOKAHEAD_S * self.sample_rate))
        self._delay = np.zeros((self.channels, self._length), dtype=np.float32)
        self._boxes = np.zeros(self._length)
        self._queue = np.zeros(self._length)
        self._queue_at = np.zeros(self._length, dtype=np.int64)
        self._state = np.zeros(2)
        self._counters = np.zeros(5, dtype=np.int64)

    def _reset(self) -> None:
        self._delay[:] = 0.0
        self._boxes[:] = 1.0
        self._queue[:] = 1.0
        self._queue_at[:] = 0
        self._state[:] = (1.0, float(self._length))
        self._counters[:] = 0

    def _configure(self) -> None:
        self._threshold = db_to_gain(self.value("threshold_db"))
        self._release = coefficient(self.value("release_ms"), self.sample_rate)

    def _process(self, block: np.ndarray) -> None:
        _limiter_kernel(block, self._delay, self._boxes, self._queue, self._queue_at,
                        self._state, self._counters, self._threshold, self._release)
