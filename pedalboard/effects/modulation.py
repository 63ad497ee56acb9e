"""Modulation effects: chorus, flanger, phaser, tremolo and vibrato.

All five are driven by a low-frequency oscillator (LFO). Two rules make them
behave the same however the engine slices the audio into blocks:

* the LFO phase (in cycles, 0..1) advances once per sample inside the
  kernel and is stored between calls, never recomputed from block times;
* parameters reach a kernel as a pair of arrays, ``now`` and ``target``; the
  kernel ramps linearly from one to the other across the samples it is given
  and then stores ``target`` in ``now``. A knob that glides (the base class
  calls ``_configure`` every 32 samples) therefore moves smoothly, sample by
  sample, and a steady knob costs nothing.

Chorus, flanger and vibrato are one structure, a modulated delay line read at
a fractional position: the read uses 4-point, 3rd-order Hermite
(Catmull-Rom) interpolation, which keeps the pitch modulation free of the
"zipper" and high-frequency loss of linear interpolation. A delay that moves
at ``d'(t)`` samples per sample shifts the pitch by the factor ``1 - d'(t)``:
that is the vibrato, and the chorus is the same thing mixed with the dry
signal. The phaser is a cascade of first-order allpass filters whose corner
follows the LFO; mixed with the dry signal, every frequency where the cascade
turns the phase by an odd multiple of pi cancels: the notches that sweep.

LFO sine values come from an odd polynomial (error below 4e-9), several times
cheaper than ``math.sin`` in the inner loops. Rates can follow the pedal's tempo: a
``sync`` choice other than "off" replaces ``rate_hz`` with one LFO cycle per
note value at the tempo given to :meth:`set_tempo` (120 bpm until told).
"""

from __future__ import annotations

import math

import numpy as np

from pedalboard import jit as _jit
from pedalboard.effects.base import Effect, Param
from pedalboard.effects.dsp import DENORMAL_FLOOR
from pedalboard.effects.registry import register

#: Note values an LFO can lock to, and their length in quarter-note beats.
SYNC_BEATS: dict[str, float] = {
    "1/1": 4.0,
    "1/2": 2.0,
    "1/4": 1.0,
    "1/4d": 1.5,
    "1/4t": 2.0 / 3.0,
    "1/8": 0.5,
    "1/8d": 0.75,
    "1/8t": 1.0 / 3.0,
    "1/16": 0.25,
}
SYNC_CHOICES: tuple[str, ...] = ("off", *SYNC_BEATS)
DEFAULT_TEMPO_BPM = 120.0
#: Shortest delay a modulated read may use: the Hermite read needs two
#: samples on each side of the read point, all already written.
MIN_DELAY_SAMPLES = 3.0

TWO_PI = 2.0 * math.pi

#: Floating-point licences for the inner loops: fused multiply-adds and
#: reassociation (about 1.4x faster here), but not "no NaN/inf" assumptions.
#: Every sample still follows the same code path, so results do not depend
#: on block boundaries.
FAST_MATH = {"contract", "reassoc", "nsz", "arcp"}
kernel = _jit.kernel(fastmath=FAST_MATH)


def synced_rate_hz(sync: str, bpm: float) -> float:
    """LFO rate in Hz for one cycle per note value ``sync`` at ``bpm``."""
    return bpm / 60.0 / SYNC_BEATS[sync]


def feedback_tail_seconds(loop_seconds: float, feedback: float) -> float:
    """How long a loop of ``loop_seconds`` with gain ``feedback`` rings before
    falling 60 dB: one pass plus the passes that take to lose 3 decades."""
    passes = 3.0 / max(-math.log10(max(abs(feedback), 1e-3)), 0.02)
    return loop_seconds * (1.0 + passes)


def _sync_param() -> Param:
    return Param(
        "sync", "off", kind="choice", choices=SYNC_CHOICES, label="Sync",
        description="Lock the LFO to the tempo: one cycle per note value (off: use rate_hz).",
    )


def _next_pow2(n: float) -> int:
    return 1 << max(4, math.ceil(math.log2(max(n, 1.0))))


def _channel_offsets(channels: int) -> np.ndarray:
    """LFO phase offsets per channel: a quarter cycle apart (quadrature)."""
    return np.array([0.25 * c for c in range(channels)], dtype=np.float64) % 1.0


# ------------------------------------------------------------------ kernels
@_jit.kernel(fastmath=FAST_MATH, inline="always")
def _sin_cycles(phase: float) -> float:
    """sin(2*pi*phase) for phase in [0, 1): fold to q in [-1/4, 1/4], then
    an odd 9th-degree polynomial in q fitted for the least maximum error
    (below 4e-9)."""
    if phase < 0.25:
        q = phase
    elif phase < 0.75:
        q = 0.5 - phase
    else:
        q = phase - 1.0
    q2 = q * q
    return q * (6.283185160110962 + q2 * (-41.34165503686673 + q2 * (
        81.60100443664297 + q2 * (-76.54979109264555 + q2 * 39.536776035475974))))


@_jit.kernel(fastmath=FAST_MATH, inline="always")
def _triangle_cycles(phase: float) -> float:
    """Triangle in [-1, 1] aligned with the sine: 0 at 0, +1 at 1/4, -1 at 3/4."""
    if phase < 0.25:
        return 4.0 * phase
    if phase < 0.75:
        return 2.0 - 4.0 * phase
    return 4.0 * phase - 4.0


@kernel
def modulated_delay(
    block: np.ndarray,
    buffer: np.ndarray,
    write_pos: np.ndarray,
    lfo_phase: np.ndarray,
    offsets: np.ndarray,
    now: np.ndarray,
    target: np.ndarray,
) -> None:
    """A delay line read at ``centre + sweep * sin(LFO)`` samples, per channel.

    ``now``/``target``: ``[phase_increment, centre_samples, sweep_samples,
    feedback, dry_gain, wet_gain]``, ramped linearly over the block.
    ``buffer``: ``(channels, 2**k)`` float64; ``write_pos``: int64[1];
    ``lfo_phase``: float64[1] (cycles); ``offsets``: LFO phase per channel.
    Output ``dry*x + wet*y``; the line is fed ``x + feedback*y``.
    """
    channels, frames = block.shape
    if frames == 0:
        return
    size = buffer.shape[1]
    mask = size - 1
    max_delay = size - 4.0
    inv = 1.0 / frames
    phase_end = lfo_phase[0]
    for c in range(channels):
        inc = now[0]
        centre = now[1]
        sweep = now[2]
        fb = now[3]
        dry = now[4]
        wet = now[5]
        d_inc = (target[0] - inc) * inv
        d_centre = (target[1] - centre) * inv
        d_sweep = (target[2] - sweep) * inv
        d_fb = (target[3] - fb) * inv
        d_dry = (target[4] - dry) * inv
        d_wet = (target[5] - wet) * inv
        phase = lfo_phase[0]
        offset = offsets[c]
        w = write_pos[0]
        for i in range(frames):
            inc += d_inc
            centre += d_centre
            sweep += d_sweep
            fb += d_fb
            dry += d_dry
            wet += d_wet
            phase += inc
            if phase >= 1.0:
                phase -= 1.0
            p = phase + offset
            if p >= 1.0:
                p -= 1.0
            delay = centre + sweep * _sin_cycles(p)
            if delay < MIN_DELAY_SAMPLES:
                delay = MIN_DELAY_SAMPLES
            elif delay > max_delay:
                delay = max_delay
            whole = int(delay)
            t = 1.0 - (delay - whole)  # fraction from the older point toward the newer
            base = w - whole - 1
            xm1 = buffer[c, (base - 1) & mask]
            x0 = buffer[c, base & mask]
            x1 = buffer[c, (base + 1) & mask]
            x2 = buffer[c, (base + 2) & mask]
            # Hermite (Catmull-Rom) through x0..x1 with tangents from xm1, x2.
            half = (x1 - xm1) * 0.5
            v = x0 - x1
            ww = half + v
            a = ww + v + (x2 - x0) * 0.5
            b = ww + a
            y = ((a * t - b) * t + half) * t + x0
            x = block[c, i]
            fed = x + fb * y
            if -DENORMAL_FLOOR < fed < DENORMAL_FLOOR:
                fed = 0.0
            buffer[c, w & mask] = fed
            w += 1
            block[c, i] = dry * x + wet * y
        phase_end = phase
        if c == channels - 1:
            write_pos[0] = w & mask
    lfo_phase[0] = phase_end
    now[:] = target


@kernel
def phaser_kernel(
    block: np.ndarray,
    stages_state: np.ndarray,
    feedback_state: np.ndarray,
    lfo_phase: np.ndarray,
    offsets: np.ndarray,
    stages: int,
    nyquist_limit_hz: float,
    sample_rate: float,
    now: np.ndarray,
    target: np.ndarray,
) -> None:
    """``stages`` first-order allpasses whose corner follows the LFO.

    ``now``/``target``: ``[phase_increment, log_centre_hz, log_spread,
    feedback, dry_gain, wet_gain]``; corner ``exp(log_centre + log_spread *
    sin(LFO))`` Hz. Each stage is ``H(z) = (a + z^-1) / (1 + a z^-1)`` with
    ``a = (tan(pi f/fs) - 1) / (tan(pi f/fs) + 1)`` (bilinear, prewarped: a
    phase of exactly -pi/2 at ``f``). The last stage's output returns to the
    input, one sample later, times ``feedback``.
    """
    channels, frames = block.shape
    if frames == 0:
        return
    inv = 1.0 / frames
    pi_over_fs = math.pi / sample_rate
    log_low = math.log(20.0)
    log_high = math.log(nyquist_limit_hz)
    phase_end = lfo_phase[0]
    for c in range(channels):
        inc = now[0]
        log_centre = now[1]
        spread = now[2]
        fb = now[3]
        dry = now[4]
        wet = now[5]
        d_inc = (target[0] - inc) * inv
        d_centre = (target[1] - log_centre) * inv
        d_spread = (target[2] - spread) * inv
        d_fb = (target[3] - fb) * inv
        d_dry = (target[4] - dry) * inv
        d_wet = (target[5] - wet) * inv
        phase = lfo_phase[0]
        offset = offsets[c]
        last = feedback_state[c]
        for i in range(frames):
            inc += d_inc
            log_centre += d_centre
            spread += d_spread
            fb += d_fb
            dry += d_dry
            wet += d_wet
            phase += inc
            if phase >= 1.0:
                phase -= 1.0
            p = phase + offset
            if p >= 1.0:
                p -= 1.0
            log_f = log_centre + spread * _sin_cycles(p)
            if log_f < log_low:
                log_f = log_low
            elif log_f > log_high:
                log_f = log_high
            tn = math.tan(pi_over_fs * math.exp(log_f))
            a = (tn - 1.0) / (tn + 1.0)
            x = block[c, i]
            u = x + fb * last
            for s in range(stages):
                y = a * u + stages_state[c, s]
                stages_state[c, s] = u - a * y
                u = y
            if -DENORMAL_FLOOR < u < DENORMAL_FLOOR:
                u = 0.0
            last = u
            block[c, i] = dry * x + wet * u
        for s in range(stages):
            if -DENORMAL_FLOOR < stages_state[c, s] < DENORMAL_FLOOR:
                stages_state[c, s] = 0.0
        feedback_state[c] = last
        phase_end = phase
    lfo_phase[0] = phase_end
    now[:] = target


@kernel
def tremolo_kernel(
    block: np.ndarray,
    lfo_phase: np.ndarray,
    offsets: np.ndarray,
    target_offsets: np.ndarray,
    offset_step: float,
    shape: int,
    edge: float,
    now: np.ndarray,
    target: np.ndarray,
) -> None:
    """Gain ``1 - depth * (1 - lfo) / 2`` per sample (between 1 - depth and 1).

    ``shape``: 0 sine, 1 triangle, 2 square whose edges are smoothed over
    ``edge`` of a cycle. ``now``/``target``: ``[phase_increment, depth]``.
    ``offsets``: LFO phase per channel (cycles), gliding toward
    ``target_offsets`` by ``offset_step`` per sample (switching the pan on
    or off must not step the gain).
    """
    channels, frames = block.shape
    if frames == 0:
        return
    inv = 1.0 / frames
    d_inc = (target[0] - now[0]) * inv
    d_depth = (target[1] - now[1]) * inv
    slope = 1.0 / (2.0 * edge)  # the triangle moves 4 per cycle: 2*edge across an edge
    phase_end = lfo_phase[0]
    for c in range(channels):
        inc = now[0]
        depth = now[1]
        phase = lfo_phase[0]
        offset = offsets[c]
        goal = target_offsets[c]
        for i in range(frames):
            inc += d_inc
            depth += d_depth
            phase += inc
            if phase >= 1.0:
                phase -= 1.0
            if offset < goal:
                offset = min(goal, offset + offset_step)
            elif offset > goal:
                offset = max(goal, offset - offset_step)
            p = phase + offset
            if p >= 1.0:
                p -= 1.0
            if shape == 0:
                lfo = _sin_cycles(p)
            elif shape == 1:
                lfo = _triangle_cycles(p)
            else:
                s = _triangle_cycles(p) * slope
                if s > 1.0:
                    s = 1.0
                elif s < -1.0:
                    s = -1.0
                lfo = s * (3.0 - s * s) * 0.5  # smoothstep: no corners at the edges
            block[c, i] *= 1.0 - depth * (1.0 - lfo) * 0.5
        offsets[c] = offset
        phase_end = phase
    lfo_phase[0] = phase_end
    now[:] = target


# ------------------------------------------------------------------ effects
class _LfoEffect(Effect):
    """Shared plumbing: LFO phase, ramped parameter arrays, tempo sync."""

    SLOTS = 6
    tempo_bpm: float = DEFAULT_TEMPO_BPM

    def set_tempo(self, bpm: float) -> None:
        if math.isfinite(bpm) and bpm > 0:
            self.tempo_bpm = float(bpm)
            self._needs_configure = True

    def rate_now_hz(self) -> float:
        """The LFO rate in use: from the tempo when synced, else ``rate_hz``."""
        sync = self._values.get("sync", "off")
        if sync != "off":
            return synced_rate_hz(str(sync), self.tempo_bpm)
        return float(self.value("rate_hz"))

    def _allocate(self) -> None:
        self._phase = np.zeros(1)
        self._now = np.zeros(self.SLOTS)
        self._target = np.zeros(self.SLOTS)
        self._offsets = _channel_offsets(self.channels)

    def _reset(self) -> None:
        self._phase[0] = 0.0
        self._configure()
        self._now[:] = self._target

    def _dry_wet(self) -> tuple[float, float]:
        mix = float(self.value("mix"))
        return 1.0 - mix, mix


class _DelayModulation(_LfoEffect):
    """Chorus, flanger and vibrato: one modulated delay line per channel."""

    #: Longest delay the line must hold, in seconds (sets the buffer size).
    MAX_DELAY_SECONDS = 0.05

    def _allocate(self) -> None:
        super()._allocate()
        size = _next_pow2(self.MAX_DELAY_SECONDS * self.sample_rate + 8)
        self._buffer = np.zeros((self.channels, size))
        self._write = np.zeros(1, dtype=np.int64)

    def _reset(self) -> None:
        self._buffer.fill(0.0)
        self._write[0] = 0
        super()._reset()

    def _set(self, centre_s: float, sweep_s: float, feedback: float, dry: float,
             wet: float) -> None:
        sr = self.sample_rate
        t = self._target
        t[0] = self.rate_now_hz() / sr
        t[1] = centre_s * sr
        t[2] = sweep_s * sr
        t[3] = feedback
        t[4] = dry
        t[5] = wet

    def _process(self, block: np.ndarray) -> None:
        modulated_delay(block, self._buffer, self._write, self._phase, self._offsets,
                        self._now, self._target)


@register
class Chorus(_DelayModulation):
    """Chorus (Spotify's ``Chorus`` parameters).

    Each channel reads its delay line at ``centre_delay_ms * (1 + depth/2 *
    sin(2 pi rate_hz t))``: depth 1 swings the delay between half and 1.5
    times the centre. In stereo the right channel's LFO runs a quarter cycle
    ahead of the left (quadrature), which spreads the image. ``feedback``
    returns the delayed signal to the line; ``mix`` is the wet share (0 is
    the dry signal, untouched). ``sync`` locks the rate to the tempo.
    """

    name = "chorus"
    label = "Chorus"
    category = "modulation"
    MAX_DELAY_SECONDS = 0.05 * 1.5 + 0.002
    PARAMS = (
        Param("rate_hz", 1.0, 0.05, 10.0, unit="Hz", taper="log", label="Rate"),
        Param("depth", 0.25, 0.0, 1.0, label="Depth",
              description="Delay swing: +-depth/2 of the centre delay."),
        Param("centre_delay_ms", 7.0, 1.0, 50.0, unit="ms", taper="log", label="Delay"),
        Param("feedback", 0.0, -0.95, 0.95, label="Feedback"),
        Param("mix", 0.5, 0.0, 1.0, label="Mix"),
        _sync_param(),
    )

    def _configure(self) -> None:
        centre = float(self.value("centre_delay_ms")) / 1000.0
        dry, wet = self._dry_wet()
        self._set(centre, centre * 0.5 * float(self.value("depth")),
                  float(self.value("feedback")), dry, wet)

    @property
    def tail_seconds(self) -> float:
        return feedback_tail_seconds(float(self._values["centre_delay_ms"]) * 1.5e-3,
                                     float(self._values["feedback"]))


@register
class Flanger(_DelayModulation):
    """Flanger: a short delay swept by a slow LFO, mixed with the dry signal.

    The delay sweeps between ``delay_ms * (1 - depth)`` and ``delay_ms``
    (``delay_ms * (1 - depth/2 * (1 - sin(2 pi rate_hz t)))``, never below 3
    samples). Mixed 50/50 the comb's notches fall at odd multiples of
    ``1 / (2 * delay)``; ``feedback`` (negative inverts it) sharpens them
    into the jet-plane whoosh. ``sync`` locks the sweep to the tempo.
    """

    name = "flanger"
    label = "Flanger"
    category = "modulation"
    MAX_DELAY_SECONDS = 0.021
    PARAMS = (
        Param("rate_hz", 0.25, 0.02, 10.0, unit="Hz", taper="log", label="Rate"),
        Param("depth", 0.8, 0.0, 1.0, label="Depth",
              description="Sweep from delay_ms*(1-depth) up to delay_ms."),
        Param("delay_ms", 3.0, 0.5, 20.0, unit="ms", taper="log", label="Delay"),
        Param("feedback", 0.5, -0.95, 0.95, label="Feedback"),
        Param("mix", 0.5, 0.0, 1.0, label="Mix"),
        _sync_param(),
    )

    def _configure(self) -> None:
        delay = float(self.value("delay_ms")) / 1000.0
        half = 0.5 * float(self.value("depth")) * delay
        dry, wet = self._dry_wet()
        self._set(delay - half, half, float(self.value("feedback")), dry, wet)

    @property
    def tail_seconds(self) -> float:
        return feedback_tail_seconds(float(self._values["delay_ms"]) * 1e-3,
                                     float(self._values["feedback"]))


@register
class Vibrato(_DelayModulation):
    """Vibrato: pure pitch modulation (no dry signal), depth in semitones.

    The delay moves as ``D + A sin(2 pi rate_hz t)``; a moving delay scales
    the pitch by ``1 - dD/dt``, so ``A = (2**(depth_semitones/12) - 1) /
    (2 pi rate_hz)`` seconds makes the pitch peak exactly ``depth_semitones``
    above the input and dip to ``2 - 2**(depth_semitones/12)`` times it
    (within 0.5 % of the same interval below). ``D = A + 3 samples``: the
    average delay is as short as the swing allows, so the vibrato adds
    ``D`` of latency that moves with the knobs (about 1.7 ms at the defaults).
    """

    name = "vibrato"
    label = "Vibrato"
    category = "modulation"
    MIN_RATE_HZ = 0.5
    MAX_DEPTH_SEMITONES = 3.0
    MAX_DELAY_SECONDS = 2.0 * (2.0 ** (3.0 / 12.0) - 1.0) / (TWO_PI * 0.5) + 0.002
    PARAMS = (
        Param("rate_hz", 5.0, MIN_RATE_HZ, 15.0, unit="Hz", taper="log", label="Rate"),
        Param("depth_semitones", 0.3, 0.0, MAX_DEPTH_SEMITONES, unit="st", label="Depth",
              description="Peak pitch deviation above the input, in semitones."),
    )

    def _configure(self) -> None:
        rate = float(self.value("rate_hz"))
        ratio = 2.0 ** (float(self.value("depth_semitones")) / 12.0)
        swing = (ratio - 1.0) / (TWO_PI * rate)
        self._set(swing + MIN_DELAY_SAMPLES / self.sample_rate, swing, 0.0, 0.0, 1.0)


@register
class Phaser(_LfoEffect):
    """Phaser (Spotify's ``Phaser`` parameters): swept first-order allpasses.

    The allpass corner follows ``centre_frequency_hz * 1000**(depth/2 *
    sin(2 pi rate_hz t))``: depth 1 sweeps 1.5 decades either side of the
    centre, as JUCE's phaser maps it, clamped to 20 Hz .. 20 kHz. ``stages``
    (4-12) sets the number of notches (stages/2 below Nyquist); with ``mix``
    0.5 each notch is a full cancellation, and ``feedback`` (the cascade's
    output fed back to its input one sample later) turns the peaks between
    notches into resonances. ``sync`` locks the sweep to the tempo.
    """

    name = "phaser"
    label = "Phaser"
    category = "modulation"
    MAX_STAGES = 12
    PARAMS = (
        Param("rate_hz", 1.0, 0.02, 10.0, unit="Hz", taper="log", label="Rate"),
        Param("depth", 0.5, 0.0, 1.0, label="Depth",
              description="Sweep of +-1.5*depth decades around the centre."),
        Param("centre_frequency_hz", 1300.0, 50.0, 10000.0, unit="Hz", taper="log",
              label="Centre"),
        Param("feedback", 0.0, -0.95, 0.95, label="Feedback"),
        Param("mix", 0.5, 0.0, 1.0, label="Mix"),
        Param("stages", "6", kind="choice", choices=("4", "6", "8", "10", "12"),
              label="Stages"),
        _sync_param(),
    )

    def _allocate(self) -> None:
        super()._allocate()
        self._stages_state = np.zeros((self.channels, self.MAX_STAGES))
        self._feedback_state = np.zeros(self.channels)
        self._nyquist_limit_hz = min(20000.0, 0.45 * self.sample_rate)

    def _reset(self) -> None:
        self._stages_state.fill(0.0)
        self._feedback_state.fill(0.0)
        super()._reset()

    def _configure(self) -> None:
        t = self._target
        t[0] = self.rate_now_hz() / self.sample_rate
        t[1] = math.log(float(self.value("centre_frequency_hz")))
        t[2] = 0.5 * float(self.value("depth")) * math.log(1000.0)
        t[3] = float(self.value("feedback"))
        t[4], t[5] = self._dry_wet()
        self._stage_count = int(self._values["stages"])

    def _process(self, block: np.ndarray) -> None:
        phaser_kernel(block, self._stages_state, self._feedback_state, self._phase,
                      self._offsets, self._stage_count, self._nyquist_limit_hz,
                      self.sample_rate, self._now, self._target)

    @property
    def tail_seconds(self) -> float:
        # The cascade rings longest with its corner at the 20 Hz floor: about
        # stages / (pi * 20 Hz) per pass, repeated while feedback keeps it up.
        return feedback_tail_seconds(int(self._values["stages"]) / (math.pi * 20.0),
                                     float(self._values["feedback"]))


@register
class Tremolo(_LfoEffect):
    """Tremolo: the level rises and falls with the LFO.

    Gain ``1 - depth * (1 - lfo(t)) / 2``, between ``1 - depth`` and 1, with
    ``lfo`` a sine, a triangle, or a square whose edges are rounded over 4 ms
    (a hard square clicks; 4 ms is about an optical tremolo's fastest edge).
    ``sync`` locks the rate to the tempo (one cycle per note value). With
    ``pan`` on, a stereo signal's right channel swells while the left dips
    (its LFO half a cycle behind): the sound moves between the speakers.
    """

    name = "tremolo"
    label = "Tremolo"
    category = "modulation"
    SLOTS = 2
    EDGE_SECONDS = 0.004
    #: Time the right channel's LFO takes to slide half a cycle when pan toggles.
    PAN_GLIDE_SECONDS = 0.25
    SHAPES = ("sine", "triangle", "square")
    PARAMS = (
        Param("rate_hz", 5.0, 0.1, 20.0, unit="Hz", taper="log", label="Rate"),
        Param("depth", 0.5, 0.0, 1.0, label="Depth",
              description="Level dip at the LFO trough: the gain falls to 1 - depth."),
        Param("shape", "sine", kind="choice", choices=SHAPES, label="Shape"),
        Param("pan", False, kind="bool", label="Pan",
              description="Stereo: the channels move in opposition (auto-panner)."),
        _sync_param(),
    )

    def _configure(self) -> None:
        rate = self.rate_now_hz()
        self._target[0] = rate / self.sample_rate
        self._target[1] = float(self.value("depth"))
        self._shape = self.SHAPES.index(str(self._values["shape"]))
        self._edge = min(0.2, self.EDGE_SECONDS * rate)
        # Odd channels run half a cycle behind when panning (left and right opposite).
        self._target_offsets[1::2] = 0.5 if self._values["pan"] else 0.0

    def _allocate(self) -> None:
        super()._allocate()
        self._offsets[:] = 0.0
        self._target_offsets = np.zeros(self.channels)
        self._offset_step = 0.5 / (self.PAN_GLIDE_SECONDS * self.sample_rate)

    def _reset(self) -> None:
        super()._reset()
        self._offsets[:] = self._target_offsets

    def _process(self, block: np.ndarray) -> None:
        tremolo_kernel(block, self._phase, self._offsets, self._target_offsets,
                       self._offset_step, self._shape, self._edge, self._now, self._target)
