"""Reverb: Jezar's Freeverb, the algorithm behind Spotify's (JUCE's) ``Reverb``.

Freeverb is Schroeder's recipe made lush: per channel, eight parallel
*lowpass-feedback comb filters* build up the dense decay (each a delay line
of 25-37 ms whose output is low-passed by ``damping`` and fed back with gain
``0.7 + 0.28 * room_size``), then four series *allpass* diffusers (5-13 ms,
gain 0.5) smear the echoes into a wash. The right channel's lines are 23
samples longer (at 44.1 kHz) than the left's, which decorrelates the two
sides; ``width`` crossfeeds them back toward mono. All line lengths scale
with the sample rate, so the sound does not depend on it.

Levels, as in JUCE: the input enters the combs scaled by 0.015 (mono sum of
L and R in stereo), the wet signal is scaled by ``3 * wet_level``, and the
dry signal by ``dry_level`` (JUCE doubles it: here ``wet_level = 0,
dry_level = 1`` is the identity). ``freeze_mode`` sets the comb feedback to 1
and damping to 0 and stops the input: the current sound holds forever.

Decay time. A comb of ``L`` samples with loop gain ``g`` loses
``-20 log10(g)`` dB per trip, so its reverberation time (RT60, time to fall
by 60 dB) is ``3 L / (fs * -log10(g))``. The combs average 31.3 ms, giving

=========  ====  =========  ==============================================
room_size  g     comb RT60  RT60 at 48 kHz (Schroeder backward integration,
                            -5..-35 dB fit): measured at damping 0 / 0.5 / 1,
                            and the documented range
=========  ====  =========  ==============================================
0.0        .700  0.61 s     0.64 / 0.53 / 0.52 s
0.2        .756  0.77 s     0.81 / 0.68 / 0.67 s   range 0.6 .. 0.9 s
0.5        .840  1.24 s     1.30 / 1.10 / 1.09 s   range 1.0 .. 1.4 s
0.9        .952  4.39 s     4.61 / 3.98 / 3.94 s   range 3.5 .. 4.8 s
1.0        .980  10.7 s     11.2 / 9.72 / 9.69 s
=========  ====  =========  ==============================================

Damping shortens the high-frequency decay (and slightly the broadband RT60,
which low frequencies dominate late in the tail). :func:`rt60_estimate`
gives the comb formula for any ``room_size``.
"""

from __future__ import annotations

import math

import numpy as np

from pedalboard.effects.base import Effect, Param
from pedalboard.effects.dsp import DENORMAL_FLOOR, jit
from pedalboard.effects.registry import register

#: Jezar's tunings in samples at 44.1 kHz.
COMB_TUNING = (1116, 1188, 1277, 1356, 1422, 1491, 1557, 1617)
ALLPASS_TUNING = (556, 441, 341, 225)
STEREO_SPREAD = 23
TUNING_RATE = 44100.0
INPUT_GAIN = 0.015
WET_SCALE = 3.0
ROOM_SCALE, ROOM_OFFSET = 0.28, 0.7
DAMP_SCALE = 0.4
ALLPASS_FEEDBACK = 0.5


def comb_feedback(room_size: float) -> float:
    """Loop gain of the combs for a ``room_size`` in 0..1."""
    return room_size * ROOM_SCALE + ROOM_OFFSET


def rt60_estimate(room_size: float) -> float:
    """Reverberation time (s) of the average comb at DC: the decay at low
    frequencies, which dominates a broadband RT60 measurement."""
    mean_seconds = sum(COMB_TUNING) / len(COMB_TUNING) / TUNING_RATE
    return 3.0 * mean_seconds / -math.log10(comb_feedback(room_size))


@jit
def _comb_quad(line, base, length, position, stores, inp, out, frames: int, feedback: float,
               damp: float) -> None:
    """Four lowpass-feedback combs side by side over the block, adding into
    ``out``. Each comb's damping filter is a recursion one sample long; four
    independent ones in one loop keep the CPU busy while each waits on itself."""
    undamp = 1.0 - damp
    b0, b1, b2, b3 = base[0], base[1], base[2], base[3]
    n0, n1, n2, n3 = length[0], length[1], length[2], length[3]
    p0, p1, p2, p3 = position[0], position[1], position[2], position[3]
    s0, s1, s2, s3 = stores[0], stores[1], stores[2], stores[3]
    for i in range(frames):
        x = inp[i]
        y0 = line[b0 + p0]
        y1 = line[b1 + p1]
        y2 = line[b2 + p2]
        y3 = line[b3 + p3]
        s0 = y0 * undamp + s0 * damp
        s1 = y1 * undamp + s1 * damp
        s2 = y2 * undamp + s2 * damp
        s3 = y3 * undamp + s3 * damp
        line[b0 + p0] = _flushed(x + s0 * feedback)
        line[b1 + p1] = _flushed(x + s1 * feedback)
        line[b2 + p2] = _flushed(x + s2 * feedback)
        line[b3 + p3] = _flushed(x + s3 * feedback)
        out[i] += (y0 + y1) + (y2 + y3)
        p0 = p0 + 1 if p0 + 1 < n0 else 0
        p1 = p1 + 1 if p1 + 1 < n1 else 0
        p2 = p2 + 1 if p2 + 1 < n2 else 0
        p3 = p3 + 1 if p3 + 1 < n3 else 0
    position[0], position[1], position[2], position[3] = p0, p1, p2, p3
    stores[0] = _flushed(s0)
    stores[1] = _flushed(s1)
    stores[2] = _flushed(s2)
    stores[3] = _flushed(s3)


@jit
def _flushed(v: float) -> float:
    return v if abs(v) > DENORMAL_FLOOR else 0.0


@jit
def _reverb_kernel(block, combs, comb_len, comb_off, comb_pos, comb_store, aps, ap_len,
                   ap_off, ap_pos, params, inp, acc) -> None:
    """Freeverb over ``block`` in place, line by line over the whole block
    (the combs are parallel, so each can run alone with its state in registers).

    ``params``: input gain, feedback, damp, wet1 start/end, wet2 start/end,
    dry start/end.
    """
    channels, frames = block.shape
    gain, feedback, damp = params[0], params[1], params[2]
    stereo = channels == 2
    for c in range(channels):
        for i in range(frames):
            x = float(block[0, i]) + float(block[1, i]) if stereo else float(block[c, i])
            inp[i] = x * gain
        out = acc[c]
        for i in range(frames):
            out[i] = 0.0
        for k in range(0, comb_len.shape[1], 4):
            _comb_quad(combs[c], comb_off[k : k + 4], comb_len[c, k : k + 4],
                       comb_pos[c, k : k + 4], comb_store[c, k : k + 4], inp, out, frames,
                       feedback, damp)
        for k in range(ap_len.shape[1]):
            length = ap_len[c, k]
            base = ap_off[k]
            pos = ap_pos[c, k]
            line = aps[c]
            for i in range(frames):
                b = line[base + pos]
                x = out[i]
                v = x + b * ALLPASS_FEEDBACK
                line[base + pos] = v if abs(v) > DENORMAL_FLOOR else 0.0
                out[i] = b - x
                pos += 1
                if pos >= length:
                    pos = 0
            ap_pos[c, k] = pos
    step = 1.0 / max(frames, 1)
    w1, w1_step = params[3], (params[4] - params[3]) * step
    w2, w2_step = params[5], (params[6] - params[5]) * step
    dry, dry_step = params[7], (params[8] - params[7]) * step
    for i in range(frames):
        w1 += w1_step
        w2 += w2_step
        dry += dry_step
        if stereo:
            left = acc[0, i]
            right = acc[1, i]
            block[0, i] = left * w1 + right * w2 + block[0, i] * dry
            block[1, i] = right * w1 + left * w2 + block[1, i] * dry
        else:
            for c in range(channels):
                block[c, i] = acc[c, i] * w1 + block[c, i] * dry


def _line_lengths(tuning: tuple[int, ...], sample_rate: float, spread: int) -> np.ndarray:
    scale = sample_rate / TUNING_RATE
    return np.array([max(1, round((t + spread) * scale)) for t in tuning], dtype=np.int64)


@register
class Reverb(Effect):
    """Spotify's ``Reverb`` (Freeverb): room_size, damping, wet/dry, width, freeze."""

    name = "reverb"
    label = "Reverb"
    category = "space"
    PARAMS = (
        Param("room_size", 0.5, 0.0, 1.0, label="Room size",
              description="Comb feedback 0.7..0.98: RT60 about 0.5 s to 10 s."),
        Param("damping", 0.5, 0.0, 1.0, label="Damping",
              description="How much faster the highs die than the lows."),
        Param("wet_level", 0.33, 0.0, 1.0, label="Wet"),
        Param("dry_level", 0.4, 0.0, 1.0, label="Dry"),
        Param("width", 1.0, 0.0, 1.0, label="Width"),
        Param("freeze_mode", False, kind="bool", label="Freeze",
              description="Hold the current sound forever; the input is muted."),
    )

    def _allocate(self) -> None:
        sr, channels = self.sample_rate, self.channels
        spreads = [STEREO_SPREAD * (c % 2) for c in range(channels)]
        comb = [_line_lengths(COMB_TUNING, sr, s) for s in spreads]
        ap = [_line_lengths(ALLPASS_TUNING, sr, s) for s in spreads]
        # Every channel gets room for the longer (spread) lines; lengths differ per channel
        # through their own offsets table.
        comb_max = _line_lengths(COMB_TUNING, sr, STEREO_SPREAD)
        ap_max = _line_lengths(ALLPASS_TUNING, sr, STEREO_SPREAD)
        self._comb_off = np.concatenate(([0], np.cumsum(comb_max)[:-1])).astype(np.int64)
        self._ap_off = np.concatenate(([0], np.cumsum(ap_max)[:-1])).astype(np.int64)
        self._comb_len = np.stack(comb)
        self._ap_len = np.stack(ap)
        self._combs = np.zeros((channels, int(comb_max.sum())))
        self._aps = np.zeros((channels, int(ap_max.sum())))
        self._comb_pos = np.zeros((channels, len(COMB_TUNING)), dtype=np.int64)
        self._comb_store = np.zeros((channels, len(COMB_TUNING)))
        self._ap_pos = np.zeros((channels, len(ALLPASS_TUNING)), dtype=np.int64)
        self._params = np.zeros(9)
        self._inp = np.zeros(self.max_block)
        self._acc = np.zeros((channels, self.max_block))

    def _reset(self) -> None:
        for array in (self._combs, self._aps, self._comb_pos, self._comb_store, self._ap_pos):
            array[:] = 0
        self._gains(self._params[3:9:2])
        self._params[4:9:2] = self._params[3:9:2]

    def _gains(self, out: np.ndarray) -> None:
        """wet1, wet2, dry at the current glide positions into ``out``."""
        wet = WET_SCALE * self.value("wet_level")
        width = self.value("width")
        out[0] = 0.5 * wet * (1.0 + width)
        out[1] = 0.5 * wet * (1.0 - width)
        out[2] = self.value("dry_level")

    def _configure(self) -> None:
        p = self._params
        if self._values["freeze_mode"]:
            p[0], p[1], p[2] = 0.0, 1.0, 0.0
        else:
            p[0] = INPUT_GAIN
            p[1] = comb_feedback(self.value("room_size"))
            p[2] = DAMP_SCALE * self.value("damping")
        p[3:9:2] = p[4:9:2]  # start where the last ramp ended
        self._gains(p[4:9:2])

    def _process(self, block: np.ndarray) -> None:
        _reverb_kernel(block, self._combs, self._comb_len, self._comb_off, self._comb_pos,
                       self._comb_store, self._aps, self._ap_len, self._ap_off, self._ap_pos,
                       self._params, self._inp, self._acc)
        self._params[3:9:2] = self._params[4:9:2]

    @property
    def tail_seconds(self) -> float:
        """Until the slowest comb has decayed by 100 dB (infinite when frozen)."""
        if self._values["freeze_mode"]:
            return math.inf
        longest = (max(COMB_TUNING) + STEREO_SPREAD) / TUNING_RATE
        per_trip_db = -20.0 * math.log10(comb_feedback(float(self._values["room_size"])))
        diffusion = sum(ALLPASS_TUNING) / TUNING_RATE * 8
        return longest * (100.0 / per_trip_db + 1.0) + diffusion
