"""Test and demo signals: plucked strings, a guitar riff, sines and sweeps.

A plucked string is the Karplus-Strong algorithm: a burst of noise circulating
in a delay line one period long, through a gentle averaging low-pass that makes
high harmonics die first, as on a real string. Written as one recursive filter
(scipy's ``lfilter``), it renders seconds of audio in milliseconds.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import lfilter

#: Open strings of a guitar in standard tuning, low E to high E (Hz).
OPEN_STRINGS_HZ = (82.4069, 110.0, 146.832, 195.998, 246.942, 329.628)


def note_frequency(midi_note: float) -> float:
    """Equal-tempered frequency of a MIDI note number (A4 = 69 = 440 Hz)."""
    return 440.0 * 2.0 ** ((midi_note - 69.0) / 12.0)


def pluck(
    frequency_hz: float,
    duration_s: float,
    sample_rate: float = 48000,
    *,
    decay_s: float = 1.5,
    brightness: float = 0.5,
    seed: int = 0,
) -> np.ndarray:
    """A plucked string at ``frequency_hz``, peak-normalised to 1.0 (float64).

    The loop delay is fractional (linear interpolation inside the averaging
    filter), so the pitch is within a fraction of a cent of ``frequency_hz``.
    """
    frames = round(duration_s * sample_rate)
    # Loop filter: a two-tap average (the string's losses, 0.5 sample of delay)
    # convolved with linear interpolation (fractional tuning): taps at D, D+1,
    # D+2 with total delay D + 0.5 + f = one period.
    period = sample_rate / frequency_hz
    delay = int(np.floor(period - 0.5))
    fraction = period - 0.5 - delay
    rng = np.random.default_rng(seed)
    excitation = np.zeros(frames)
    burst = min(delay, frames)
    noise = rng.uniform(-1.0, 1.0, burst)
    # A darker pick takes high frequencies out of the burst.
    noise = lfilter([1.0 - 0.5 * brightness], [1.0, -0.5 * (1.0 - brightness)], noise)
    excitation[:burst] = noise - noise.mean()
    loss = 10.0 ** (-3.0 / (decay_s * frequency_hz))  # -60 dB after decay_s
    a = np.zeros(delay + 3)
    a[0] = 1.0
    a[delay] -= loss * 0.5 * (1.0 - fraction)
    a[delay + 1] -= loss * 0.5
    a[delay + 2] -= loss * 0.5 * fraction
    y = lfilter([1.0], a, excitation)
    peak = np.max(np.abs(y))
    return y / peak if peak > 0 else y


def guitar_riff(duration_s: float = 4.0, sample_rate: float = 48000, seed: int = 1) -> np.ndarray:
    """A short, repeatable guitar-like phrase: single notes and a chord, peak 1.0."""
    frames = round(duration_s * sample_rate)
    out = np.zeros(frames)
    rng = np.random.default_rng(seed)
    notes = [40, 47, 52, 55, 52, 47, 45, 52, 57, 60, 57, 52]  # E minor-ish
    step = 0.25
    t = 0.0
    i = 0
    while t < duration_s:
        start = int(t * sample_rate)
        if i % 8 == 7:  # a chord every two bars
            chord = [40, 47, 52, 55, 59, 64]
            for k, n in enumerate(chord):
                offset = start + int(k * 0.008 * sample_rate)  # strum
                _add(out, 0.5 * pluck(note_frequency(n), 1.2, sample_rate, seed=seed + k), offset)
        else:
            n = notes[i % len(notes)]
            velocity = 0.7 + 0.3 * rng.random()
            _add(out, velocity * pluck(note_frequency(n), 0.9, sample_rate, seed=seed + i), start)
        t += step
        i += 1
    peak = np.max(np.abs(out))
    return out / peak if peak > 0 else out


def _add(target: np.ndarray, sound: np.ndarray, offset: int) -> None:
    end = min(target.shape[0], offset + sound.shape[0])
    if end > offset:
        target[offset:end] += sound[: end - offset]


def sine(
    frequency_hz: float, duration_s: float, sample_rate: float = 48000, amplitude: float = 1.0
) -> np.ndarray:
    t = np.arange(round(duration_s * sample_rate)) / sample_rate
    return amplitude * np.sin(2 * np.pi * frequency_hz * t)


def log_sweep(
    start_hz: float, end_hz: float, duration_s: float, sample_rate: float = 48000, amplitude: float = 1.0
) -> np.ndarray:
    """Exponential sine sweep (Farina), constant time per octave."""
    t = np.arange(round(duration_s * sample_rate)) / sample_rate
    k = np.log(end_hz / start_hz)
    phase = 2 * np.pi * start_hz * duration_s / k * (np.exp(t * k / duration_s) - 1.0)
    return amplitude * np.sin(phase)
