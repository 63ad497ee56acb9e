"""The tuner: a pitch detector and an effect that feeds it from the audio thread.

Pitch detection uses the McLeod Pitch Method (P. McLeod and G. Wyvill, "A
Smarter Way to Find Pitch", ICMC 2005). Its normalised square difference
function ::

    n(tau) = 2 * sum x[j] x[j+tau] / sum (x[j]^2 + x[j+tau]^2)

is 1 at lags where the waveform repeats exactly and stays within -1..1 for
any signal, so "how periodic" becomes a clarity between 0 and 1. The period
is the first "key maximum" (the highest point between a positive-going and
the next negative-going zero crossing) that reaches 0.9 of the highest one;
taking the first rather than the highest avoids octave errors, because a
string repeats at every multiple of its period.

Refinement for a tuner's precision: a parabola through the three samples
around a peak finds its top to a small fraction of a sample, but one period
of a high note is only ~36 samples at 48 kHz, where a cent is 0.02 samples.
So the peak nearest the largest multiple ``m`` of the period that still fits
the window is located too and the period taken as that lag over ``m``: the
interpolation error is divided by ``m`` (dozens for high notes).

Both correlations come from one FFT, so a 4096-sample window costs well under
a millisecond: plenty for 20 readings a second off the audio thread.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from pedalboard.effects.base import Effect, Param
from pedalboard.effects.dsp import jit
from pedalboard.effects.registry import register

NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
#: Lowest and highest pitch reported (a drop-C low string to beyond E6).
MIN_HZ = 60.0
MAX_HZ = 1500.0
#: Readings less periodic than this are noise, a chord or a string's attack.
MIN_CLARITY = 0.8
#: Windows quieter than this RMS (-80 dBFS) are silence.
MIN_RMS = 10.0 ** (-80.0 / 20.0)
#: MPM's key-maximum threshold: first peak reaching this share of the highest.
PEAK_SHARE = 0.9


@dataclass(frozen=True)
class PitchReading:
    """One tuner reading.

    ``note`` is the nearest equal-tempered note with its octave in
    scientific pitch notation ("E2" is the low string, "A4" the reference);
    ``cents`` how far the pitch is above (+) or below (-) it, -50..50;
    ``clarity`` how periodic the window was (0..1, 1 is a pure tone).
    """

    frequency_hz: float
    note: str
    midi_note: int
    cents: float
    clarity: float


def note_of(frequency_hz: float, a4_hz: float = 440.0) -> tuple[str, int, float]:
    """Nearest note name, MIDI number and cents offset of a frequency."""
    midi = 69.0 + 12.0 * math.log2(frequency_hz / a4_hz)
    nearest = round(midi)
    cents = 100.0 * (midi - nearest)
    name = f"{NOTE_NAMES[nearest % 12]}{nearest // 12 - 1}"
    return name, int(nearest), cents


def _nsdf(x: np.ndarray, max_lag: int) -> np.ndarray:
    """McLeod's normalised square difference function for lags 0..max_lag-1."""
    n = x.shape[0]
    size = 1 << math.ceil(math.log2(2 * n))
    spectrum = np.fft.rfft(x, size)
    acf = np.fft.irfft(spectrum.real**2 + spectrum.imag**2, size)[:max_lag]
    energy = np.concatenate(([0.0], np.cumsum(x * x)))
    lags = np.arange(max_lag)
    # m(tau) = sum over the overlap of x[j]^2 + x[j+tau]^2
    m = energy[n - lags] + (energy[n] - energy[lags])
    return 2.0 * acf / np.maximum(m, 1e-30)


def _parabolic_peak(values: np.ndarray, index: int) -> tuple[float, float]:
    """Vertex (position, height) of the parabola through index-1..index+1."""
    if index <= 0 or index >= values.shape[0] - 1:
        return float(index), float(values[index])
    left, centre, right = values[index - 1], values[index], values[index + 1]
    curvature = left - 2.0 * centre + right
    if curvature >= 0.0:
        return float(index), float(centre)
    shift = 0.5 * (left - right) / curvature
    return index + shift, float(centre - 0.25 * (left - right) * shift)


def _key_maxima(nsdf: np.ndarray, first_lag: int) -> list[int]:
    """Highest lag between each positive-going zero crossing and the next
    negative-going one, from ``first_lag`` on."""
    positive = nsdf > 0.0
    rising = np.flatnonzero(~positive[:-1] & positive[1:]) + 1
    falling = np.flatnonzero(positive[:-1] & ~positive[1:]) + 1
    peaks = []
    for start in rising:
        later = falling[falling > start]
        end = int(later[0]) if later.size else nsdf.shape[0]
        if end <= first_lag:
            continue
        lo = max(int(start), first_lag)
        peaks.append(lo + int(np.argmax(nsdf[lo:end])))
    return peaks


def detect_pitch(
    samples: np.ndarray,
    sample_rate: float,
    *,
    a4_hz: float = 440.0,
    min_hz: float = MIN_HZ,
    max_hz: float = MAX_HZ,
    min_clarity: float = MIN_CLARITY,
) -> PitchReading | None:
    """Pitch of a mono window (ideally 2048-4096 samples at 48 kHz, at least
    two periods of the lowest note), or None for silence, noise or chords.

    ``a4_hz`` is the reference the note names and cents are computed against
    (440 Hz standard; 415-466 Hz for baroque or detuned bands).
    """
    x = np.asarray(samples, dtype=np.float64).ravel()
    n = x.shape[0]
    if n < 64 or not np.all(np.isfinite(x)):
        return None
    x = x - x.mean()
    if math.sqrt(float(np.dot(x, x)) / n) < MIN_RMS:
        return None
    max_lag = min(n // 2 + n // 4, int(sample_rate / min_hz) + 2)
    max_lag = max(max_lag, n // 2)
    first_lag = max(2, int(sample_rate / max_hz))
    nsdf = _nsdf(x, max_lag)
    peaks = _key_maxima(nsdf[: int(sample_rate / min_hz) + 2], first_lag)
    if not peaks:
        return None
    heights = nsdf[peaks]
    best = float(heights.max())
    if best < min_clarity:
        return None
    chosen = next(p for p, h in zip(peaks, heights, strict=True) if h >= PEAK_SHARE * best)
    period, clarity = _parabolic_peak(nsdf, chosen)
    period = _refine(nsdf, period, max_lag)
    frequency = sample_rate / period
    if not (min_hz <= frequency <= max_hz):
        return None
    name, midi, cents = note_of(frequency, a4_hz)
    return PitchReading(frequency, name, midi, cents, min(1.0, clarity))


def _refine(nsdf: np.ndarray, period: float, max_lag: int) -> float:
    """Period from the peak near the largest multiple of ``period`` in range."""
    multiple = int((max_lag - 2) / period)
    if multiple < 2:
        return period
    centre = multiple * period
    half = max(1, int(period / 4))
    lo = max(1, int(centre) - half)
    hi = min(max_lag - 1, int(centre) + half + 1)
    index = lo + int(np.argmax(nsdf[lo:hi]))
    lag, height = _parabolic_peak(nsdf, index)
    if height < 0.5 or abs(lag / multiple - period) > 0.1 * period:
        return period
    return lag / multiple


# ------------------------------------------------------------------ effect
@jit
def tuner_kernel(
    block: np.ndarray, ring: np.ndarray, counter: np.ndarray, gain: np.ndarray,
    target_gain: float, step: float,
) -> None:
    """Copy the channel average into ``ring`` (power-of-two size, ``counter``
    int64[1] counts samples written), then apply the mute gain, which moves
    toward ``target_gain`` by ``step`` per sample (a click-free mute)."""
    channels, frames = block.shape
    mask = ring.shape[0] - 1
    w = counter[0]
    scale = 1.0 / channels
    g = gain[0]
    for i in range(frames):
        total = 0.0
        for c in range(channels):
            total += block[c, i]
        ring[(w + i) & mask] = total * scale
        if g < target_gain:
            g = min(target_gain, g + step)
        elif g > target_gain:
            g = max(target_gain, g - step)
        if g != 1.0:
            for c in range(channels):
                block[c, i] *= g
    counter[0] = w + frames
    gain[0] = g


@register
class Tuner(Effect):
    """Chromatic tuner. Audio passes through unchanged, or is muted (``mute``,
    to tune silently on stage, faded over 5 ms so it does not click).

    The audio thread only copies the input into a preallocated ring; another
    thread calls :meth:`reading` ~20 times a second, which snapshots the last
    ~85 ms and runs :func:`detect_pitch` on it. ``a4_hz`` is the reference
    pitch for note names and cents (default 440 Hz, concert pitch).
    """

    name = "tuner"
    label = "Tuner"
    category = "utility"
    WINDOW_SECONDS = 4096 / 48000.0
    FADE_SECONDS = 0.005
    PARAMS = (
        Param("mute", False, kind="bool", label="Mute",
              description="Silence the output while tuning."),
        Param("a4_hz", 440.0, 400.0, 480.0, unit="Hz", smoothing_ms=0.0, label="A4",
              description="Reference pitch of A4 for note names and cents."),
    )

    def _allocate(self) -> None:
        self.window = 1 << round(math.log2(self.WINDOW_SECONDS * self.sample_rate))
        # Room for the window plus two blocks: a block written while a reader
        # copies the ring lands outside the window being read.
        self._ring = np.zeros(1 << math.ceil(math.log2(self.window + 2 * self.max_block)))
        self._counter = np.zeros(1, dtype=np.int64)
        self._gain = np.ones(1)
        self._step = 1.0 / (self.FADE_SECONDS * self.sample_rate)

    def _reset(self) -> None:
        self._ring.fill(0.0)
        self._counter[0] = 0
        self._gain[0] = 0.0 if self._values["mute"] else 1.0

    def _configure(self) -> None:
        self._target_gain = 0.0 if self._values["mute"] else 1.0

    def _process(self, block: np.ndarray) -> None:
        tuner_kernel(block, self._ring, self._counter, self._gain, self._target_gain,
                     self._step)

    def snapshot(self) -> np.ndarray:
        """The last ``window`` input samples (oldest first), as a new array."""
        if not self.sample_rate:
            return np.zeros(0)
        end = int(self._counter[0])
        ring = self._ring.copy()
        count = min(end, self.window)
        index = (np.arange(end - count, end)) & (ring.shape[0] - 1)
        return ring[index]

    def reading(self) -> PitchReading | None:
        """The pitch of the last ~85 ms, or None (silence, noise, not running).
        Safe to call from any thread while the audio thread processes."""
        if not self.sample_rate:
            return None
        samples = self.snapshot()
        if samples.shape[0] < self.window // 2:
            return None
        return detect_pitch(samples, self.sample_rate, a4_hz=float(self._values["a4_hz"]))
