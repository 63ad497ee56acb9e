"""Overdrive, distortion and fuzz against aliasing, gain and harmonic expectations.

Aliasing is measured on the steady state of a 5 kHz sine driven hard: every
harmonic of 5 kHz and every alias lands on a whole-Hz frequency, so one
second of output through a rectangular window puts each in its own FFT bin,
without leakage. What is not a multiple of 5 kHz is an alias.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import freqz

from pedalboard.effects.drive import (
    _STAGE_COEFS,
    _STAGE_COUNTS,
    Distortion,
    Fuzz,
    Overdrive,
    halfband_response,
)
from pedalboard.effects.dsp import biquad_response_db, rbj_biquad
from pedalboard.signals import guitar_riff, sine

SR = 48000
SHAPERS = {"overdrive": Overdrive, "distortion": Distortion, "fuzz": Fuzz}


def spectrum(effect, frequency: float, amplitude: float) -> tuple[np.ndarray, np.ndarray]:
    """Power per 1 Hz bin of the last second of 1.5 s of a driven sine."""
    out = effect.process(sine(frequency, 1.5, SR, amplitude), SR)[-SR:].astype(np.float64)
    power = np.abs(np.fft.rfft(out)) ** 2
    return np.fft.rfftfreq(SR, 1 / SR), power


def alias_db(effect, frequency: float = 5000.0, band_hz: float = SR / 2) -> float:
    """Energy off the harmonics of ``frequency`` (below ``band_hz``) relative
    to the fundamental, in dB."""
    f, power = spectrum(effect, frequency, 0.5)
    alias = ~np.isclose(np.mod(f, frequency), 0.0) & (f <= band_hz)
    fundamental = power[f == frequency][0]
    return float(10 * np.log10(power[alias].sum() / fundamental))


def harmonic_db(effect, frequency: float, k: int, amplitude: float = 0.5) -> float:
    f, power = spectrum(effect, frequency, amplitude)
    return float(10 * np.log10(power[f == k * frequency][0] / power[f == frequency][0] + 1e-30))


# ---------------------------------------------------------- the filters
def test_halfband_stages_meet_their_specification() -> None:
    """Stage 1: flat to 20 kHz and -95 dB from 28 kHz (at 48 kHz base rate);
    the later stages keep the audio band flat and reject what would fold into it."""
    for stage, (passband, stopband) in enumerate([(0.2083, 0.2917), (0.104, 0.36),
                                                  (0.052, 0.44)]):
        coefs = _STAGE_COEFS[stage, : _STAGE_COUNTS[stage]]
        gain_pass = np.abs(halfband_response(coefs, np.linspace(0, passband, 500)))
        gain_stop = np.abs(halfband_response(coefs, np.linspace(stopband, 0.5, 500)))
        assert np.max(np.abs(20 * np.log10(gain_pass))) < 1e-3
        assert 20 * np.log10(gain_stop.max()) < -95


@pytest.mark.parametrize("name", list(SHAPERS))
@pytest.mark.parametrize("oversample", ["1", "2", "4", "8"])
def test_small_signals_see_only_the_documented_adaa_droop(name: str, oversample: str) -> None:
    """Up- and downsampling are transparent below 20 kHz; the only small-signal
    change is ADAA's two-tap average, |cos(pi f / (oversample fs))|, when oversampling."""
    params = {"drive_db": 0.0, "tone": 1.0, "oversample": oversample}
    if name == "fuzz":
        params["bias"] = 1.0
    factor = int(oversample)
    for frequency in (100.0, 5000.0, 18000.0):
        f, power = spectrum(SHAPERS[name](**params), frequency, 1e-3)
        gain_db = 10 * np.log10(power[f == frequency][0]) - 20 * np.log10(1e-3 * SR / 2)
        expected = 20 * np.log10(abs(np.cos(np.pi * frequency / (factor * SR)))) if factor > 1 else 0
        if name == "overdrive":
            expected += 20 * np.log10(overdrive_pre_emphasis(np.array([frequency]))[0])
        if name == "fuzz":
            expected += 20 * np.log10(fuzz_dc_blocker(frequency))
        assert gain_db == pytest.approx(expected, abs=0.01), (frequency, gain_db, expected)


# ------------------------------------------------------------ aliasing
@pytest.mark.parametrize(
    ("name", "params"),
    [("overdrive", {}), ("distortion", {}), ("fuzz", {"bias": 1.0}), ("fuzz", {"bias": 0.5})],
)
def test_aliases_are_40_db_down_at_4x_and_far_worse_without(name: str, params: dict) -> None:
    hard = {"drive_db": 40.0, "tone": 1.0, **params}
    at_4x = alias_db(SHAPERS[name](oversample="4", **hard))
    at_1x = alias_db(SHAPERS[name](oversample="1", **hard))
    assert at_4x < -40.0, f"{name}: aliases at {at_4x:.1f} dB with 4x oversampling"
    assert at_1x > at_4x + 20.0, f"{name}: 1x {at_1x:.1f} dB vs 4x {at_4x:.1f} dB"


def test_more_oversampling_means_fewer_aliases_in_the_audio_band() -> None:
    """Up to 20 kHz (above it, the first stage's transition band sets a floor)."""
    levels = [alias_db(Distortion(drive_db=40.0, tone=1.0, oversample=o), band_hz=20000)
              for o in "1248"]
    assert levels == sorted(levels, reverse=True), levels


# ---------------------------------------------------- small-signal gain
def overdrive_pre_emphasis(frequency: np.ndarray) -> np.ndarray:
    """|x - 0.85 * LP720(x)| for the one-pole low-pass of the docstring."""
    a = 1 - np.exp(-2 * np.pi * 720 / SR)
    _, lowpass = freqz([a], [1, -(1 - a)], worN=frequency, fs=SR)
    return np.abs(1 - 0.85 * lowpass)


def fuzz_dc_blocker(frequency: float) -> float:
    """|a (1 - z^-1) / (1 - a z^-1)|, the fuzz's 15 Hz one-pole high-pass."""
    a = 1 / (1 + 2 * np.pi * 15 / SR)
    _, response = freqz([a, -a], [1, -a], worN=[frequency], fs=SR)
    return float(np.abs(response[0]))


@pytest.mark.parametrize("frequency", [200.0, 1000.0, 3000.0])
def test_overdrive_small_signal_gain_is_the_documented_filter_chain(frequency: float) -> None:
    drive_db, tone, level_db = 20.0, 0.5, -6.0
    effect = Overdrive(drive_db=drive_db, tone=tone, level_db=level_db)
    f, power = spectrum(effect, frequency, 1e-4)
    measured = 10 * np.log10(power[f == frequency][0]) - 20 * np.log10(1e-4 * SR / 2)
    cutoff = 500 * 40**tone
    expected = (20 * np.log10(overdrive_pre_emphasis(np.array([frequency]))[0]) + drive_db
                + biquad_response_db(rbj_biquad("lowpass", cutoff, SR), [frequency], SR)[0]
                + level_db)
    assert measured == pytest.approx(expected, abs=0.02)


@pytest.mark.parametrize(("name", "params"), [("distortion", {}), ("fuzz", {"bias": 1.0})])
def test_small_signal_gain_is_drive_tone_and_level(name: str, params: dict) -> None:
    effect = SHAPERS[name](drive_db=12.0, tone=0.3, level_db=3.0, **params)
    f, power = spectrum(effect, 1000.0, 1e-4)
    measured = 10 * np.log10(power[f == 1000.0][0]) - 20 * np.log10(1e-4 * SR / 2)
    tone_db = biquad_response_db(rbj_biquad("lowpass", 500 * 40**0.3, SR), [1000.0], SR)[0]
    # The fuzz's 15 Hz DC blocker costs nothing measurable at 1 kHz.
    assert measured == pytest.approx(12.0 + tone_db + 3.0, abs=0.02)


def test_starved_fuzz_gates_quiet_notes() -> None:
    quiet = sine(440.0, 0.5, SR, 0.002)
    gated = Fuzz(drive_db=20.0, bias=0.2).process(quiet, SR)
    assert np.max(np.abs(gated)) < 1e-6
    open_fuzz = Fuzz(drive_db=20.0, bias=1.0).process(quiet, SR)
    assert np.max(np.abs(open_fuzz[SR // 10 :])) > 0.01


def test_distortion_without_oversampling_is_spotifys_tanh() -> None:
    """Spotify's Distortion is tanh(g x): with tone open and level 0 dB, so is ours."""
    x = 0.8 * guitar_riff(0.5, SR)
    for drive_db in (0.0, 25.0, 50.0):
        out = Distortion(drive_db=drive_db, tone=1.0, oversample="1").process(x, SR)
        expected = np.tanh(10 ** (drive_db / 20) * x.astype(np.float32).astype(np.float64))
        assert np.max(np.abs(out - expected)) < 1e-6
    defaults = Distortion().process(x, SR)  # Spotify's defaults: drive_db 25
    assert np.max(np.abs(defaults - np.tanh(10 ** (25 / 20) * x.astype(np.float32)))) < 1e-6


def test_oversampled_distortion_is_tanh_half_a_step_late() -> None:
    """At 4x, ADAA gives the mean of tanh over each (oversampled) step: for a
    slow signal, tanh(g x) delayed by an eighth of a sample, filtered by the
    half-band stages (flat at 100 Hz, a few samples of group delay)."""
    x = sine(100.0, 0.3, SR, 0.5)
    g = 10 ** (6.0 / 20)
    out = Distortion(drive_db=6.0, tone=1.0, oversample="4").process(x, SR)[SR // 10:]
    t = np.arange(len(x)) / SR
    errors = []
    for delay in np.linspace(0.0, 8.0, 801):  # best alignment, in samples
        reference = np.tanh(g * 0.5 * np.sin(2 * np.pi * 100.0 * (t - delay / SR)))[SR // 10:]
        errors.append(np.max(np.abs(out - reference)))
    assert min(errors) < 2e-3


# ------------------------------------------------- bounds and character
@pytest.mark.parametrize(("name", "typical", "worst"), [("overdrive", 1.15, 7.1),
                                                        ("distortion", 1.15, 7.1),
                                                        ("fuzz", 1.15, 14.2)])
@pytest.mark.parametrize("oversample", ["1", "4"])
def test_output_is_bounded(name: str, typical: float, worst: float, oversample: str) -> None:
    """The documented bounds: 1.15 x level on a guitar with the tone at noon
    or darker, the impulse-response norm bound for anything (white noise)."""
    level = 10 ** (-6.0 / 20)
    top = SHAPERS[name].PARAMS[0].max
    loud = 30.0 * guitar_riff(1.0, SR)
    noise = 30.0 * np.random.default_rng(3).standard_normal(SR)
    for tone in (0.0, 0.25, 0.5, 0.99, 1.0):
        effect = SHAPERS[name](drive_db=top, tone=tone, level_db=-6.0, oversample=oversample)
        if tone <= 0.5:
            assert np.max(np.abs(effect.process(loud, SR))) <= typical * level
        for signal in (loud, noise):
            assert np.max(np.abs(effect.process(signal, SR))) <= worst * level


@pytest.mark.parametrize(("name", "params"), [("overdrive", {}), ("distortion", {}),
                                              ("fuzz", {"bias": 1.0})])
def test_symmetric_clipping_makes_no_even_harmonics(name: str, params: dict) -> None:
    effect = SHAPERS[name](drive_db=20.0, tone=1.0, **params)
    assert harmonic_db(effect, 1000.0, 3) > -30.0  # it does distort...
    for k in (2, 4, 6):
        assert harmonic_db(effect, 1000.0, k) < -100.0  # ...with odd harmonics only


def test_biased_fuzz_makes_even_harmonics() -> None:
    effect = Fuzz(drive_db=20.0, tone=1.0, bias=0.5)
    assert harmonic_db(effect, 1000.0, 2) > -35.0
    assert harmonic_db(effect, 1000.0, 4) > -45.0


def test_overdrive_keeps_the_bass_cleaner_than_the_mids() -> None:
    """The pre-emphasis: a 100 Hz note distorts less than a 1 kHz one."""
    low = harmonic_db(Overdrive(drive_db=20.0, tone=1.0), 100.0, 3, amplitude=0.1)
    mid = harmonic_db(Overdrive(drive_db=20.0, tone=1.0), 1000.0, 3, amplitude=0.1)
    assert low < mid - 10.0


def test_drive_ramp_does_not_jump() -> None:
    """Turning the drive from 0 to 40 dB between two blocks glides: no sample
    step is larger than those of the fully driven steady state."""
    effect = Distortion(drive_db=0.0, tone=1.0)
    x = sine(200.0, 0.4, SR, 0.05).astype(np.float32)[np.newaxis].copy()
    effect.prepare(SR, 1, 64)
    effect.reset()
    for start in range(0, x.shape[1], 64):
        if start == 64 * 40:
            effect.drive_db = 40.0
        effect.process_inplace(x[:, start : start + 64])
    steps = np.abs(np.diff(x[0]))
    glide = steps[64 * 40 : 64 * 40 + SR // 10]
    steady = steps[-SR // 10 :]
    assert glide.max() <= steady.max() * 1.02
