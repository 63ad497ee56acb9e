"""Chorus, flanger, phaser, tremolo and vibrato against their documented maths.

Each expectation is computed here from the formula in the effect's docstring,
not from the effect's code: delays are measured with impulse trains (the
centroid of an interpolated impulse is its exact fractional position, since
Catmull-Rom interpolation reproduces straight lines), notches are solved from
the allpass phase, envelopes and instantaneous frequencies come from the
analytic signal.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import brentq
from scipy.signal import firwin, hilbert

from pedalboard.effects import create_effect
from pedalboard.effects.modulation import Chorus, Flanger, Phaser, Tremolo, Vibrato
from pedalboard.signals import guitar_riff, sine

SR = 48000


def _impulse_train(channels: int, seconds: float, spacing: int) -> np.ndarray:
    x = np.zeros((channels, int(seconds * SR)), dtype=np.float32)
    x[:, ::spacing] = 1.0
    return x


def _measured_delays(
    out: np.ndarray, spacing: int, max_delay: int
) -> tuple[np.ndarray, np.ndarray]:
    """(sample index where each delayed impulse landed, its delay in samples)."""
    where, delays = [], []
    for start in range(0, out.shape[0] - spacing, spacing):
        window = out[start : start + max_delay + 4].astype(np.float64)
        centroid = float(np.sum(np.arange(window.shape[0]) * window) / np.sum(window))
        where.append(start + centroid)
        delays.append(centroid)
    return np.array(where), np.array(delays)


# ------------------------------------------------------------------ chorus
def test_chorus_delay_follows_the_documented_lfo_in_quadrature() -> None:
    rate, depth, centre_ms = 1.5, 0.6, 5.0
    fx = Chorus(rate_hz=rate, depth=depth, centre_delay_ms=centre_ms, feedback=0.0, mix=1.0)
    spacing = 500
    out = fx.process(_impulse_train(2, 2.0, spacing), SR)
    centre = centre_ms * 1e-3 * SR
    for channel, offset in ((0, 0.0), (1, 0.25)):  # right LFO a quarter cycle ahead
        where, delays = _measured_delays(out[channel], spacing, int(1.5 * centre))
        # The delay that moved the impulse was applied when it came out.
        expected = centre * (1 + depth / 2 * np.sin(2 * np.pi * (rate * (where + 1) / SR + offset)))
        assert np.max(np.abs(delays - expected)) < 0.05, f"channel {channel}"
        assert delays.min() < centre * (1 - 0.9 * depth / 2)  # it really swings
        assert delays.max() > centre * (1 + 0.9 * depth / 2)
    assert np.max(np.abs(out[0] - out[1])) > 0.1  # stereo channels differ


def test_chorus_sync_takes_its_rate_from_the_tempo() -> None:
    """Sync 1/2 at 180 bpm: one LFO cycle per half note, 1.5 Hz (rate_hz ignored)."""
    fx = Chorus(rate_hz=0.1, sync="1/2", depth=0.5, centre_delay_ms=5.0, mix=1.0)
    fx.set_tempo(180.0)
    spacing = 500
    out = fx.process(_impulse_train(1, 2.0, spacing), SR)[0]
    centre = 5e-3 * SR
    where, delays = _measured_delays(out, spacing, int(1.5 * centre))
    expected = centre * (1 + 0.25 * np.sin(2 * np.pi * 1.5 * (where + 1) / SR))
    assert np.max(np.abs(delays - expected)) < 0.05


def test_chorus_mix_zero_is_the_identity() -> None:
    riff = (0.5 * guitar_riff(1.0, SR)).astype(np.float32)
    stereo = np.stack([riff, np.roll(riff, 100)])
    out = Chorus(mix=0.0, depth=1.0, feedback=0.9).process(stereo, SR)
    np.testing.assert_array_equal(out, stereo)


@pytest.mark.parametrize("feedback", [0.5, -0.7])
def test_chorus_feedback_repeats_at_the_delay(feedback: float) -> None:
    """Depth 0: a fixed delay; each repeat is ``feedback`` times the last."""
    fx = Chorus(depth=0.0, centre_delay_ms=5.0, feedback=feedback, mix=1.0)
    x = np.zeros(SR // 10, dtype=np.float32)
    x[0] = 1.0
    out = fx.process(x, SR)
    d = 240  # 5 ms at 48 kHz
    for k in range(1, 5):
        assert out[k * d] == pytest.approx(feedback ** (k - 1), abs=1e-6)
    others = np.delete(out, np.arange(d, out.shape[0], d))
    assert np.max(np.abs(others)) < 1e-6


@pytest.mark.parametrize("name", ["chorus", "flanger"])
@pytest.mark.parametrize("feedback", [0.95, -0.95])
def test_feedback_stays_bounded_and_dies_away(name: str, feedback: float,
                                              rng: np.random.Generator) -> None:
    fx = create_effect(name, {"feedback": feedback, "depth": 1.0, "rate_hz": 3.0, "mix": 1.0})
    noise = np.concatenate([rng.uniform(-1, 1, 5 * SR), np.zeros(15 * SR)]).astype(np.float32)
    out = fx.process(noise, SR)
    assert np.all(np.isfinite(out))
    # A loop gain of 0.95 can add at most 1 / (1 - 0.95) = 20 times the input.
    assert np.max(np.abs(out)) < 20.0
    tail = out[5 * SR + int(fx.tail_seconds * SR):]
    assert tail.size and np.max(np.abs(tail)) < 1e-3 * np.max(np.abs(out))


# ----------------------------------------------------------------- flanger
def test_flanger_sweeps_between_the_documented_delays() -> None:
    rate, depth, delay_ms = 0.5, 0.8, 3.0
    fx = Flanger(rate_hz=rate, depth=depth, delay_ms=delay_ms, feedback=0.0, mix=1.0)
    spacing = 400
    out = fx.process(_impulse_train(1, 4.0, spacing), SR)[0]
    longest = delay_ms * 1e-3 * SR
    where, delays = _measured_delays(out, spacing, int(longest) + 2)
    lfo = np.sin(2 * np.pi * rate * (where + 1) / SR)
    expected = longest * (1 - depth / 2 * (1 - lfo))
    assert np.max(np.abs(delays - expected)) < 0.05
    assert delays.min() == pytest.approx(longest * (1 - depth), abs=0.5)
    assert delays.max() == pytest.approx(longest, abs=0.5)


def test_flanger_mix_zero_is_the_identity() -> None:
    riff = (0.5 * guitar_riff(0.5, SR)).astype(np.float32)
    np.testing.assert_array_equal(Flanger(mix=0.0).process(riff, SR), riff)


# ------------------------------------------------------------------ phaser
def _allpass_notches(stages: int, corner_hz: float) -> list[float]:
    """Frequencies where ``stages`` documented first-order allpasses, each
    (a + z^-1) / (1 + a z^-1) with a = (tan(pi f/fs) - 1) / (tan(pi f/fs) + 1),
    turn the phase by an odd multiple of pi (the dry + wet sum cancels)."""
    t = math.tan(math.pi * corner_hz / SR)
    a = (t - 1) / (t + 1)

    def phase(f: float) -> float:  # one stage's phase: 0 at DC to -pi at Nyquist
        z1 = np.exp(-2j * np.pi * f / SR)
        return float(np.angle((a + z1) / (1 + a * z1)))

    notches = []
    for k in range(stages):
        goal = -(2 * k + 1) * math.pi
        if goal <= -stages * math.pi:
            break
        notches.append(brentq(lambda f, g=goal: stages * phase(f) - g, 1e-3, SR / 2 - 1e-3))
    return notches


@pytest.mark.parametrize(("stages", "centre_hz"), [(4, 800.0), (6, 1300.0), (8, 500.0),
                                                    (12, 2000.0)])
def test_phaser_notches_sit_where_the_allpass_phase_is_an_odd_multiple_of_pi(
        stages: int, centre_hz: float) -> None:
    fx = Phaser(depth=0.0, centre_frequency_hz=centre_hz, feedback=0.0, mix=0.5,
                stages=str(stages), rate_hz=2.0)
    impulse = np.zeros(1 << 16, dtype=np.float32)
    impulse[0] = 1.0
    h = fx.process(impulse, SR).astype(np.float64)
    size = 1 << 19
    response = np.abs(np.fft.rfft(h, size))
    freqs = np.fft.rfftfreq(size, 1 / SR)
    expected = _allpass_notches(stages, centre_hz)
    assert len(expected) == stages // 2
    for f in expected:
        band = (freqs > 0.9 * f) & (freqs < 1.1 * f)
        measured = freqs[band][np.argmin(response[band])]
        assert abs(measured - f) < max(3.0, 0.01 * f), f"notch {f:.1f} Hz measured {measured:.1f}"
        assert 20 * np.log10(response[band].min()) < -40  # a real cancellation
    # Between notches the response returns to unity (dry + in-phase wet, halved).
    assert response.max() == pytest.approx(1.0, abs=0.01)


@pytest.mark.parametrize("feedback", [0.7, -0.5])
def test_phaser_feedback_response_matches_the_documented_loop(feedback: float) -> None:
    """dry + wet * A^N / (1 - feedback * z^-1 * A^N), A the documented allpass:
    feedback turns the peaks between the notches into resonances."""
    stages, centre_hz, mix = 6, 900.0, 0.5
    fx = Phaser(depth=0.0, centre_frequency_hz=centre_hz, feedback=feedback, mix=mix,
                stages=str(stages))
    impulse = np.zeros(1 << 15, dtype=np.float32)
    impulse[0] = 1.0
    h = fx.process(impulse, SR).astype(np.float64)
    bins = np.arange(2, h.shape[0] // 2, 7)  # 20 Hz .. Nyquist
    measured = np.fft.rfft(h)[bins]
    z1 = np.exp(-2j * np.pi * bins / h.shape[0])
    t = math.tan(math.pi * centre_hz / SR)
    a = (t - 1) / (t + 1)
    cascade = ((a + z1) / (1 + a * z1)) ** stages
    expected = (1 - mix) + mix * cascade / (1 - feedback * z1 * cascade)
    np.testing.assert_allclose(np.abs(measured), np.abs(expected), rtol=1e-3, atol=1e-4)
    assert np.abs(expected).max() > 1.1  # resonant peaks really exist


def test_phaser_sweep_moves_the_notch() -> None:
    """With depth, the notch at the corner (stage count 4: notch at f_c * 1)
    follows the corner frequency up and down the documented range."""
    x = sine(1000.0, 2.0, SR).astype(np.float32)
    fx = Phaser(depth=0.5, centre_frequency_hz=1000.0, mix=0.5, stages="4", rate_hz=1.0)
    out = fx.process(x, SR)
    env = np.abs(hilbert(out))[SR // 10 : -SR // 10]
    # The 1 kHz tone is cancelled when the corner passes it, and heard fully
    # when the corner is a decade and a half away.
    assert env.min() < 0.05
    assert env.max() > 0.9


# ----------------------------------------------------------------- tremolo
def _envelope(out: np.ndarray) -> np.ndarray:
    return np.abs(hilbert(out.astype(np.float64)))


def _dominant_rate(signal: np.ndarray) -> float:
    size = 1 << 22
    spectrum = np.abs(np.fft.rfft(signal - signal.mean(), size))
    freqs = np.fft.rfftfreq(size, 1 / SR)
    return float(freqs[np.argmax(spectrum)])


@pytest.mark.parametrize(("rate", "depth"), [(4.0, 0.6), (7.3, 1.0), (1.1, 0.25)])
def test_tremolo_sine_envelope_follows_the_lfo(rate: float, depth: float) -> None:
    x = sine(2000.0, 4.0, SR).astype(np.float32)
    out = Tremolo(rate_hz=rate, depth=depth, shape="sine").process(x, SR)
    env = _envelope(out)[SR // 4 : -SR // 4]
    assert _dominant_rate(env) == pytest.approx(rate, rel=0.01)
    assert env.max() == pytest.approx(1.0, abs=0.01)
    assert env.min() == pytest.approx(1.0 - depth, abs=0.01)
    # Sample by sample: the documented gain 1 - depth (1 - sin) / 2.
    n = np.arange(x.shape[0])
    gain = 1 - depth * (1 - np.sin(2 * np.pi * rate * (n + 1) / SR)) / 2
    np.testing.assert_allclose(out, x * gain, atol=1e-5)


def test_tremolo_triangle_and_smoothed_square() -> None:
    rate, depth = 3.0, 0.8
    x = np.ones(2 * SR, dtype=np.float32)  # DC shows the gain itself
    n = np.arange(x.shape[0])
    phase = (rate * (n + 1) / SR) % 1.0
    triangle = np.where(phase < 0.25, 4 * phase, np.where(phase < 0.75, 2 - 4 * phase,
                                                          4 * phase - 4))
    out = Tremolo(rate_hz=rate, depth=depth, shape="triangle").process(x, SR)
    np.testing.assert_allclose(out, 1 - depth * (1 - triangle) / 2, atol=1e-5)

    out = Tremolo(rate_hz=rate, depth=depth, shape="square").process(x, SR)
    high = np.isclose(out, 1.0, atol=1e-6)
    low = np.isclose(out, 1.0 - depth, atol=1e-6)
    # Half the time at each level less one 4 ms edge per level; no step anywhere.
    assert high.mean() == pytest.approx(0.5 - rate * 0.004, abs=0.003)
    assert low.mean() == pytest.approx(0.5 - rate * 0.004, abs=0.003)
    assert np.max(np.abs(np.diff(out))) < 2.5 * depth / (0.004 * SR)
    assert _dominant_rate(out) == pytest.approx(rate, rel=0.01)


def test_pan_tremolo_moves_the_channels_in_opposition() -> None:
    rate, depth = 2.0, 1.0
    x = np.ones((2, SR), dtype=np.float32)
    out = Tremolo(rate_hz=rate, depth=depth, pan=True).process(x, SR)
    n = np.arange(SR)
    lfo = np.sin(2 * np.pi * rate * (n + 1) / SR)
    np.testing.assert_allclose(out[0], 1 - depth * (1 - lfo) / 2, atol=1e-5)
    np.testing.assert_allclose(out[1], 1 - depth * (1 + lfo) / 2, atol=1e-5)
    mono_both = Tremolo(rate_hz=rate, depth=depth, pan=False).process(x, SR)
    np.testing.assert_array_equal(mono_both[0], mono_both[1])


def test_switching_pan_slides_instead_of_stepping() -> None:
    """The right LFO slides half a cycle in 0.25 s (2 Hz faster meanwhile):
    the gain's slope never exceeds that of a (rate + 2) Hz sine."""
    rate, depth = 2.0, 1.0
    fx = Tremolo(rate_hz=rate, depth=depth)
    fx.prepare(SR, 2, 64)
    fx.reset()
    x = np.ones((2, SR), dtype=np.float32)
    for start in range(0, SR, 64):
        if start == 64 * 300:
            fx.pan = True
        fx.process_inplace(x[:, start : start + 64])
    steepest = np.pi * (rate + 2.0) * depth / SR
    assert np.max(np.abs(np.diff(x[1]))) < 1.01 * steepest
    assert np.max(np.abs(x[0] + x[1] - 1.0)[-SR // 4 :]) < 1e-5  # opposite once settled


@pytest.mark.parametrize(("sync", "beats"), [("1/8", 0.5), ("1/4d", 1.5), ("1/8t", 1 / 3)])
def test_tremolo_syncs_to_the_tempo(sync: str, beats: float) -> None:
    fx = Tremolo(sync=sync, rate_hz=9.0, depth=1.0)
    fx.set_tempo(100.0)
    out = fx.process(sine(2000.0, 4.0, SR).astype(np.float32), SR)
    env = _envelope(out)[SR // 4 : -SR // 4]
    assert _dominant_rate(env) == pytest.approx(100.0 / 60.0 / beats, rel=0.01)


def test_lfo_phase_is_continuous_across_a_rate_change() -> None:
    fx = Tremolo(rate_hz=2.0, depth=1.0)
    x = np.ones((1, SR), dtype=np.float32)
    fx.prepare(SR, 1, 64)
    fx.reset()
    for start in range(0, SR, 64):
        if start == SR // 2:
            fx.rate_hz = 8.0
        fx.process_inplace(x[:, start : start + 64])
    assert np.max(np.abs(np.diff(x[0]))) < 2 * np.pi * 8.0 / SR  # the steepest sine slope


# ----------------------------------------------------------------- vibrato
def _instantaneous_frequency(signal: np.ndarray, carrier_hz: float) -> np.ndarray:
    """Frequency per sample: shift the carrier to 0 Hz, low-pass at 300 Hz
    with a Kaiser FIR whose -120 dB stopband removes the image at twice the
    carrier (a local filter: no long Hilbert tails from the signal's ends),
    and differentiate the phase."""
    n = np.arange(signal.shape[0])
    baseband = signal.astype(np.float64) * np.exp(-2j * np.pi * carrier_hz * n / SR)
    taps = firwin(4001, 300.0, window=("kaiser", 12.0), fs=SR)
    baseband = np.convolve(baseband, taps, mode="same")
    return carrier_hz + np.diff(np.unwrap(np.angle(baseband))) * SR / (2 * np.pi)


@pytest.mark.parametrize(("rate", "semitones"), [(5.0, 1.0), (2.0, 0.3), (9.0, 2.0)])
def test_vibrato_swings_the_pitch_by_the_documented_interval(rate: float, semitones: float) -> None:
    f0 = 440.0
    out = Vibrato(rate_hz=rate, depth_semitones=semitones).process(
        sine(f0, 3.0, SR).astype(np.float32), SR)
    inst = _instantaneous_frequency(out, f0)
    cycles = int(2.0 * rate)  # whole LFO cycles, away from the edges
    inst = inst[SR // 2 : SR // 2 + round(cycles * SR / rate)]
    ratio = 2 ** (semitones / 12)
    assert inst.max() == pytest.approx(f0 * ratio, rel=1e-4)
    assert inst.min() == pytest.approx(f0 * (2 - ratio), rel=1e-4)
    assert _dominant_rate(inst) == pytest.approx(rate, rel=0.01)
    assert np.mean(inst) == pytest.approx(f0, rel=1e-4)  # pure pitch modulation, no drift


def test_vibrato_has_no_dry_signal() -> None:
    """Depth 0 is a plain short delay (3 samples): nothing of the dry is mixed in."""
    x = np.zeros(1000, dtype=np.float32)
    x[10] = 1.0
    out = Vibrato(depth_semitones=0.0).process(x, SR)
    assert out[13] == pytest.approx(1.0, abs=1e-6)
    assert np.sum(np.abs(out)) == pytest.approx(1.0, abs=1e-5)


# ----------------------------------------------------- block-size invariance
@pytest.mark.parametrize(("name", "params"), [
    ("tremolo", {"shape": "square", "pan": True}),
    ("tremolo", {"shape": "triangle", "sync": "1/16"}),
    ("phaser", {"stages": "12", "feedback": 0.9, "depth": 1.0}),
    ("chorus", {"feedback": 0.9, "sync": "1/16", "depth": 1.0}),
    ("flanger", {"feedback": -0.95, "depth": 1.0, "rate_hz": 5.0}),
    ("vibrato", {"depth_semitones": 3.0, "rate_hz": 0.5}),
])
def test_non_default_settings_do_not_depend_on_block_size(name: str, params: dict) -> None:
    """The generic contract checks the defaults; the LFO shapes, pan, sync and
    deep feedback must advance per sample too."""
    riff = 0.5 * guitar_riff(0.3, SR)
    audio = np.stack([riff, np.roll(riff, 480)]).astype(np.float32)
    whole = create_effect(name, params).process(audio, SR)
    for block in (1, 64, 1000):
        fx = create_effect(name, params)
        piece = audio[:, : (SR // 20 if block == 1 else audio.shape[1])].copy()
        fx.prepare(SR, 2, max(block, 64))
        fx.reset()
        for start in range(0, piece.shape[1], block):
            fx.process_inplace(piece[:, start : start + block])
        assert np.max(np.abs(piece - whole[:, : piece.shape[1]])) <= 1e-5, f"blocks of {block}"
