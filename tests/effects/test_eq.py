"""Filters and the parametric EQ against the analytic RBJ responses.

The RBJ cookbook filters are bilinear transforms of second-order analog
prototypes with the frequency axis prewarped at the filter's frequency ``f0``,
so the digital response at ``f`` equals the prototype's at
``s = j tan(pi f / fs) / tan(pi f0 / fs)``. The expectations below evaluate
those prototypes (written out here, independent of the implementation) and
the measurement is the DFT of the effect's impulse response.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from pedalboard.effects.registry import create_effect
from pedalboard.signals import sine

SR = 48000
FREQS = np.array([30.0, 60.0, 100.0, 200.0, 440.0, 1000.0, 2200.0, 5000.0, 10000.0, 18000.0])


def measured_db(effect_name: str, params: dict, freqs: np.ndarray = FREQS,
                frames: int = 1 << 17) -> np.ndarray:
    """Magnitude response (dB) of an effect: DFT of its impulse response."""
    impulse = np.zeros(frames)
    impulse[0] = 1.0
    h = create_effect(effect_name, params).process(impulse, SR).astype(np.float64)
    n = np.arange(frames)
    spectrum = np.array([np.sum(h * np.exp(-2j * np.pi * f * n / SR)) for f in freqs])
    return 20 * np.log10(np.abs(spectrum))


def prototype(kind: str, f: np.ndarray, f0: float, q: float, gain_db: float = 0.0) -> np.ndarray:
    """RBJ analog prototype magnitude (dB) at the prewarped frequency."""
    s = 1j * np.tan(np.pi * f / SR) / math.tan(math.pi * f0 / SR)
    a = 10 ** (gain_db / 40)
    if kind == "lowpass":
        h = 1 / (s * s + s / q + 1)
    elif kind == "highpass":
        h = s * s / (s * s + s / q + 1)
    elif kind == "peak":
        h = (s * s + s * a / q + 1) / (s * s + s / (a * q) + 1)
    elif kind == "lowshelf":
        h = a * (s * s + math.sqrt(a) / q * s + a) / (a * s * s + math.sqrt(a) / q * s + 1)
    elif kind == "highshelf":
        h = a * (a * s * s + math.sqrt(a) / q * s + 1) / (s * s + math.sqrt(a) / q * s + a)
    else:
        raise ValueError(kind)
    return 20 * np.log10(np.abs(h))


def assert_close_db(measured: np.ndarray, expected: np.ndarray, tolerance: float = 0.1) -> None:
    # Deep in a stopband the float32 impulse response limits the measurement.
    audible = expected > -60
    error = np.abs(measured - expected)[audible]
    assert error.max() <= tolerance, (
        f"max error {error.max():.3f} dB at {FREQS[audible][np.argmax(error)]} Hz"
    )


@pytest.mark.parametrize(
    ("name", "kind", "params"),
    [
        ("highpass_filter", "highpass", {"cutoff_frequency_hz": 80.0}),
        ("highpass_filter", "highpass", {"cutoff_frequency_hz": 1200.0, "q": 3.0}),
        ("lowpass_filter", "lowpass", {"cutoff_frequency_hz": 3000.0}),
        ("lowpass_filter", "lowpass", {"cutoff_frequency_hz": 400.0, "q": 0.5}),
        ("peak_filter", "peak", {"cutoff_frequency_hz": 800.0, "gain_db": 9.0, "q": 2.0}),
        ("peak_filter", "peak", {"cutoff_frequency_hz": 3000.0, "gain_db": -12.0, "q": 0.7}),
        ("low_shelf_filter", "lowshelf", {"cutoff_frequency_hz": 200.0, "gain_db": 6.0}),
        ("low_shelf_filter", "lowshelf", {"cutoff_frequency_hz": 500.0, "gain_db": -9.0,
                                          "q": 1.2}),
        ("high_shelf_filter", "highshelf", {"cutoff_frequency_hz": 4000.0, "gain_db": -6.0}),
        ("high_shelf_filter", "highshelf", {"cutoff_frequency_hz": 1500.0, "gain_db": 10.0,
                                            "q": 0.5}),
    ],
)
def test_single_filter_matches_rbj(name: str, kind: str, params: dict) -> None:
    expected = prototype(kind, FREQS, params["cutoff_frequency_hz"], params.get("q", 0.7071),
                         params.get("gain_db", 0.0))
    assert_close_db(measured_db(name, params), expected)


def test_butterworth_highpass_is_3_db_down_at_cutoff() -> None:
    """What a user checks with a sine: -3 dB at the cutoff, 12 dB/octave below."""
    fx = create_effect("highpass_filter", {"cutoff_frequency_hz": 100.0})
    levels = []
    for f in (100.0, 25.0):
        out = fx.process(sine(f, 2.0, SR), SR)
        levels.append(20 * np.log10(np.sqrt(2) * np.std(out[SR:])))
    assert levels[0] == pytest.approx(-3.01, abs=0.1)
    assert levels[1] == pytest.approx(-24.1, abs=0.3)  # two octaves down: ~-24 dB


EQ_SETTINGS = {
    "low_cut_hz": 70.0,
    "low_shelf_hz": 150.0,
    "low_shelf_gain_db": 4.0,
    "band1_frequency_hz": 300.0,
    "band1_gain_db": -5.0,
    "band1_q": 1.5,
    "band2_frequency_hz": 900.0,
    "band2_gain_db": 3.0,
    "band2_q": 0.8,
    "band3_frequency_hz": 3200.0,
    "band3_gain_db": 6.0,
    "band3_q": 4.0,
    "high_shelf_hz": 6000.0,
    "high_shelf_gain_db": -4.0,
    "high_cut_hz": 9000.0,
    "output_level_db": -2.5,
}


def eq_expected(settings: dict, freqs: np.ndarray = FREQS) -> np.ndarray:
    """Product of the bands; the cuts are off at their end stops (20 Hz, 20 kHz)."""
    butterworth = 1 / math.sqrt(2)
    total = np.zeros(freqs.size)
    if settings["low_cut_hz"] > 20.0:
        total += prototype("highpass", freqs, settings["low_cut_hz"], butterworth)
    total += prototype("lowshelf", freqs, settings["low_shelf_hz"], butterworth,
                       settings["low_shelf_gain_db"])
    for band in (1, 2, 3):
        total += prototype("peak", freqs, settings[f"band{band}_frequency_hz"],
                           settings[f"band{band}_q"], settings[f"band{band}_gain_db"])
    total += prototype("highshelf", freqs, settings["high_shelf_hz"], butterworth,
                       settings["high_shelf_gain_db"])
    if settings["high_cut_hz"] < 20000.0:
        total += prototype("lowpass", freqs, settings["high_cut_hz"], butterworth)
    return total + settings["output_level_db"]


def test_eq_matches_product_of_bands() -> None:
    freqs = np.concatenate([FREQS, [300.0, 900.0, 3200.0]])
    expected = eq_expected(EQ_SETTINGS, freqs)
    measured = measured_db("eq", EQ_SETTINGS, freqs)
    assert np.max(np.abs(measured - expected)) <= 0.1


def test_eq_flat_bands_are_left_out() -> None:
    """Shelves and bells at 0 dB, cuts at their end stops: the EQ is a wire."""
    riff = sine(220.0, 0.5, SR) * np.linspace(0, 1, SR // 2)
    out = create_effect("eq", {"band2_q": 3.0, "low_cut_hz": 20.0}).process(riff, SR)
    np.testing.assert_array_equal(out, riff.astype(np.float32))
    settings = {"band2_gain_db": 6.0, "band2_frequency_hz": 1000.0, "band2_q": 2.0}
    only_band2 = measured_db("eq", settings)
    expected = prototype("peak", FREQS, 1000.0, 2.0, 6.0)
    assert np.max(np.abs(only_band2 - expected)) <= 0.1


def test_eq_band_switching_on_and_off_while_playing() -> None:
    """Turning a band on and off mid-stream ends on the analytic response."""
    fx = create_effect("eq", {})
    fx.prepare(SR, 1, 512)
    tone = sine(1000.0, 1.0, SR).astype(np.float32)
    blocks = tone.reshape(-1, 480)
    out = np.empty_like(blocks)
    for i, block in enumerate(blocks):
        if i == 20:
            fx.band2_gain_db = 8.0
            fx.band2_frequency_hz = 1000.0
            fx.band2_q = 1.0
        if i == 50:
            fx.band2_gain_db = 0.0
        work = block[np.newaxis, :].copy()
        fx.process_inplace(work)
        out[i] = work[0]
    boosted = out[40:50].ravel()
    assert 20 * np.log10(np.max(np.abs(boosted))) == pytest.approx(8.0, abs=0.1)
    assert fx._active == ()  # the band glided to 0 dB and left the cascade
    np.testing.assert_allclose(out[-10:].ravel(), blocks[-10:].ravel(), atol=1e-4)
    # The glides are smooth: no sample-to-sample step larger than the tone's own.
    steps = np.abs(np.diff(out.ravel()))
    assert steps.max() < 2 * np.pi * 1000 / SR * 10 ** (8.1 / 20)


def test_cutoff_glide_is_smooth_and_lands_on_the_response() -> None:
    """Turning a low-pass cutoff from 4 kHz to 300 Hz under a 1 kHz tone: the
    tone fades monotonically (no steps back up, no jumps) to the analytic level."""
    fx = create_effect("lowpass_filter", {"cutoff_frequency_hz": 4000.0})
    fx.prepare(SR, 1, 64)
    tone = sine(1000.0, 0.6, SR).astype(np.float32)
    out = np.empty_like(tone)
    for start in range(0, tone.size, 64):
        if start == 9600:
            fx.cutoff_frequency_hz = 300.0
        work = tone[np.newaxis, start:start + 64].copy()
        fx.process_inplace(work)
        out[start:start + 64] = work[0]
    # Level per two cycles (an RMS is insensitive to the filter's phase drift).
    level_db = 10 * np.log10(np.mean(out[4800:].astype(float).reshape(-1, 96) ** 2, axis=1))
    assert np.diff(level_db).max() < 0.05  # fades, never steps back up
    final = prototype("lowpass", np.array([1000.0]), 300.0, 1 / math.sqrt(2))[0]
    assert level_db[-20:] + 3.0103 == pytest.approx(np.full(20, final), abs=0.1)
    assert np.abs(np.diff(out)).max() < 2 * np.pi * 1000 / SR * 1.01


@pytest.mark.parametrize("bands", [2, 4, 6])
def test_eq_with_some_bands_active(bands: int) -> None:
    """Any subset of bands is the product of just those bands' responses."""
    flat = {"low_cut_hz": 20.0, "high_cut_hz": 20000.0, "low_shelf_gain_db": 0.0,
            "band1_gain_db": 0.0, "band2_gain_db": 0.0, "band3_gain_db": 0.0,
            "high_shelf_gain_db": 0.0, "output_level_db": 0.0}
    names = ["low_cut_hz", "band1_gain_db", "high_shelf_gain_db", "band3_gain_db",
             "low_shelf_gain_db", "high_cut_hz"][:bands]
    settings = {**EQ_SETTINGS, **flat, **{name: EQ_SETTINGS[name] for name in names}}
    expected = eq_expected(settings)
    assert np.max(np.abs(measured_db("eq", settings) - expected)) <= 0.1
