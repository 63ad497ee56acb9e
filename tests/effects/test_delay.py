"""Delay: sample-exact echoes, feedback decay, in-loop filters, ping-pong, tempo sync, glide."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.signal import freqz

from pedalboard.effects.delay import SYNC_BEATS, Delay, synced_seconds
from pedalboard.signals import guitar_riff, sine

SR = 48000


def impulse(frames: int, channels: int = 1, at: int = 0) -> np.ndarray:
    x = np.zeros((channels, frames), dtype=np.float32)
    x[:, at] = 1.0
    return x


@pytest.mark.parametrize("delay_seconds", [0.001, 0.01, 0.3, 1.0, 2.0])
@pytest.mark.parametrize("channels", [1, 2])
def test_output_is_the_input_shifted_exactly(delay_seconds: float, channels: int) -> None:
    x = np.random.default_rng(5).standard_normal((channels, int(2.5 * SR))).astype(np.float32)
    out = Delay(delay_seconds=delay_seconds, feedback=0.0, mix=1.0).process(x, SR)
    shift = round(delay_seconds * SR)
    assert np.array_equal(out[:, shift:], x[:, :-shift])
    assert not np.any(out[:, :shift])


def test_fractional_delay_is_interpolated() -> None:
    """590.4 samples: a 300 Hz sine comes out 590.4 samples late (Hermite
    interpolation error at 300 Hz is far below 1e-4)."""
    x = sine(300.0, 0.5, SR, 0.5)
    out = Delay(delay_seconds=590.4 / SR, feedback=0.0, mix=1.0).process(x, SR)
    t = np.arange(len(x)) / SR
    expected = 0.5 * np.sin(2 * np.pi * 300.0 * (t - 590.4 / SR))
    assert np.max(np.abs(out[1000:] - expected[1000:])) < 1e-4


@pytest.mark.parametrize("feedback", [0.3, 0.6, 0.98])
def test_each_repeat_is_feedback_times_the_last(feedback: float) -> None:
    delay = 0.05
    shift = round(delay * SR)
    out = Delay(delay_seconds=delay, feedback=feedback, mix=1.0).process(impulse(SR)[0], SR)
    repeats = out[shift::shift][:15].astype(np.float64)
    assert repeats == pytest.approx(feedback ** np.arange(15), rel=1e-5)
    echoes = np.zeros_like(out)
    echoes[shift::shift] = out[shift::shift]
    assert np.array_equal(out, echoes)  # nothing between the repeats


def test_mix_blends_dry_and_wet() -> None:
    x = guitar_riff(0.5, SR).astype(np.float32)
    wet = Delay(delay_seconds=0.1, feedback=0.4, mix=1.0).process(x, SR)
    blend = Delay(delay_seconds=0.1, feedback=0.4, mix=0.3).process(x, SR)
    assert np.max(np.abs(blend - (0.7 * x + 0.3 * wet))) < 1e-6


def one_pole_response(frequency: np.ndarray, cutoff_hz: float, highpass: bool) -> np.ndarray:
    g = 1 - np.exp(-2 * np.pi * cutoff_hz / SR)
    _, lowpass = freqz([g], [1, -(1 - g)], worN=frequency, fs=SR)
    return np.abs(1 - lowpass) if highpass else np.abs(lowpass)


def test_filters_darken_and_thin_every_repeat() -> None:
    """Repeat k has passed the loop filters k times: the spectrum of each
    repeat is the previous one's times feedback times |LP * HP|."""
    delay, feedback, low, high = 0.05, 0.7, 150.0, 2500.0
    shift = round(delay * SR)
    effect = Delay(delay_seconds=delay, feedback=feedback, mix=1.0, low_cut_hz=low,
                   high_cut_hz=high)
    out = effect.process(impulse(5 * shift)[0], SR).astype(np.float64)
    f = np.array([100.0, 300.0, 1000.0, 2500.0, 6000.0])
    loop = feedback * one_pole_response(f, low, True) * one_pole_response(f, high, False)
    spectra = [np.abs(np.fft.rfft(out[k * shift : (k + 1) * shift], SR))[f.astype(int)]
               for k in (1, 2, 3)]
    for earlier, later in itertools.pairwise(spectra):
        assert 20 * np.log10(later / earlier) == pytest.approx(20 * np.log10(loop), abs=0.05)
    first = one_pole_response(f, low, True) * one_pole_response(f, high, False)
    assert spectra[0] == pytest.approx(first, rel=0.01)  # the first echo is filtered once


def test_ping_pong_alternates_left_and_right() -> None:
    delay, feedback = 0.1, 0.5
    shift = round(delay * SR)
    x = impulse(7 * shift, channels=2)
    x[1] = 0.0  # a click on the left only; ping-pong sums the input to mono
    out = Delay(delay_seconds=delay, feedback=feedback, mix=1.0, ping_pong=True).process(x, SR)
    for k in range(1, 7):
        side, other = (0, 1) if k % 2 == 1 else (1, 0)
        assert out[side, k * shift] == pytest.approx(0.5 * feedback ** (k - 1), rel=1e-6)
        assert out[other, k * shift] == 0.0
    assert np.count_nonzero(out) == 6


def test_ping_pong_in_mono_is_an_ordinary_delay() -> None:
    x = guitar_riff(0.5, SR).astype(np.float32)
    plain = Delay(delay_seconds=0.12, feedback=0.5, mix=0.5).process(x, SR)
    pong = Delay(delay_seconds=0.12, feedback=0.5, mix=0.5, ping_pong=True).process(x, SR)
    assert np.array_equal(plain, pong)


@pytest.mark.parametrize(("note", "bpm"), [("1/4", 120.0), ("1/8d", 100.0), ("1/4t", 90.0),
                                           ("1/16", 140.0), ("1/2", 80.0)])
def test_tempo_sync_gives_60_over_bpm_times_the_note(note: str, bpm: float) -> None:
    seconds = 60.0 / bpm * SYNC_BEATS[note]
    assert synced_seconds(bpm, note) == pytest.approx(seconds)
    effect = Delay(sync=note, feedback=0.0, mix=1.0, delay_seconds=0.7)
    effect.set_tempo(bpm)
    out = effect.process(impulse(int(1.6 * SR))[0], SR)
    expected = seconds * SR
    assert abs(int(np.argmax(np.abs(out))) - expected) <= 0.5
    effect.sync = "off"  # back to the knob
    assert int(np.argmax(np.abs(effect.process(impulse(SR)[0], SR)))) == round(0.7 * SR)


def test_note_values_are_the_usual_ones() -> None:
    assert SYNC_BEATS == {"1/1": 4.0, "1/2": 2.0, "1/4": 1.0, "1/4d": 1.5, "1/4t": 2 / 3,
                          "1/8": 0.5, "1/8d": 0.75, "1/8t": 1 / 3, "1/16": 0.25}


def test_a_new_tempo_moves_a_synced_delay_while_running() -> None:
    effect = Delay(sync="1/4", feedback=0.0, mix=1.0)
    effect.set_tempo(120.0)
    effect.prepare(SR, 1, 512)
    effect.reset()
    effect.set_tempo(150.0)  # 0.4 s, glides from 0.5 s
    x = impulse(2 * SR, at=SR)
    for start in range(0, x.shape[1], 512):
        effect.process_inplace(x[:, start : start + 512])
    assert int(np.argmax(np.abs(x[0]))) == SR + round(0.4 * SR)


def test_changing_the_time_glides_without_clicks() -> None:
    """A jump from 0.3 to 0.1 s on a sine: the read position glides (pitch
    bends, tape-like) instead of jumping, so no sample step exceeds that of
    the sine played at the glide's highest speed; then it lands exactly."""
    dry = sine(220.0, 2.5, SR, 0.5).astype(np.float32)[np.newaxis]
    x = dry.copy()
    effect = Delay(delay_seconds=0.3, feedback=0.0, mix=1.0)
    effect.prepare(SR, 1, 256)
    effect.reset()
    for start in range(0, x.shape[1], 256):
        if start == 256 * 150:
            effect.delay_seconds = 0.1
        effect.process_inplace(x[:, start : start + 256])
    steps = np.abs(np.diff(x[0, int(0.31 * SR) :]))
    # Fastest read speed: 1 + (0.2 s / 80 ms) = 3.5x, so at most 3.5 * 220 Hz.
    assert steps.max() < 2 * np.pi * 3.5 * 220.0 * 0.5 / SR * 1.05
    # 0.63 s of exponential glide and 80 ms at the slowest speed later, exact again.
    settled = slice(int(1.6 * SR), None)
    shift = round(0.1 * SR)
    assert np.array_equal(x[0, settled], dry[0, settled.start - shift : -shift])


def test_modulation_wobbles_the_echo_time() -> None:
    x = sine(1000.0, 2.0, SR, 0.5)
    steady = Delay(delay_seconds=0.2, mix=1.0).process(x, SR)
    wobbly = Delay(delay_seconds=0.2, mix=1.0, mod_depth_ms=2.0, mod_rate_hz=1.0).process(x, SR)
    # The pitch moves by up to 2 * pi * rate * depth = 1.3 %: the 1 kHz line spreads out.
    spectrum = np.abs(np.fft.rfft(wobbly[SR:])) ** 2
    assert spectrum[1000] / spectrum.sum() < 0.5
    assert np.abs(np.fft.rfft(steady[SR:]))[1000] ** 2 / (
        np.abs(np.fft.rfft(steady[SR:])) ** 2).sum() > 0.99


def test_modulation_follows_the_documented_lfo() -> None:
    """Read position = time + depth * (1 + sin(2 pi rate t)), the right
    channel a quarter turn later: a 1 kHz sine comes out phase-modulated
    exactly so (Hermite interpolation error at 1 kHz is far below 1e-3)."""
    depth_ms, rate_hz, delay = 2.0, 1.5, 0.05
    x = sine(1000.0, 1.5, SR, 0.5).astype(np.float32)
    out = Delay(delay_seconds=delay, mix=1.0, mod_depth_ms=depth_ms,
                mod_rate_hz=rate_hz).process(np.stack([x, x]), SR)
    t = np.arange(len(x)) / SR
    for channel, quarter in ((0, 0.0), (1, 0.25)):
        lag = delay + depth_ms * 1e-3 * (1 + np.sin(2 * np.pi * (rate_hz * t + quarter)))
        expected = 0.5 * np.sin(2 * np.pi * 1000.0 * (t - lag))
        settled = slice(int(0.1 * SR), None)
        assert np.max(np.abs(out[channel, settled] - expected[settled])) < 1e-3


def test_tail_bound_covers_the_repeats() -> None:
    effect = Delay(delay_seconds=0.25, feedback=0.7, mix=1.0)
    seconds = effect.tail_seconds
    out = effect.process(impulse(int((seconds + 1) * SR))[0], SR)
    after = out[int(seconds * SR) :]
    assert np.max(np.abs(after)) < 10 ** (-90 / 20)
    assert np.max(np.abs(out[int(0.9 * seconds * SR) :])) > 0  # and it is not far too long
