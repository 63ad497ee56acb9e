"""Reverb: decay time by Schroeder integration, freeze, identity, width, tail bound."""

from __future__ import annotations

import numpy as np
import pytest

from pedalboard.effects.reverb import Reverb, rt60_estimate
from pedalboard.signals import guitar_riff

SR = 48000
#: The documented RT60 ranges (module docstring), room_size -> (low, high) seconds.
DOCUMENTED_RT60 = {0.2: (0.6, 0.9), 0.5: (1.0, 1.4), 0.9: (3.5, 4.8)}


def impulse_response(sample_rate: int = SR, seconds: float = 8.0, **params: float) -> np.ndarray:
    x = np.zeros(int(seconds * sample_rate), dtype=np.float32)
    x[0] = 1.0
    return Reverb(wet_level=1.0, dry_level=0.0, **params).process(x, sample_rate)


def schroeder_rt60(h: np.ndarray, sample_rate: int = SR) -> float:
    """RT60 from the energy decay curve (Schroeder backward integration),
    a straight-line fit between -5 and -35 dB, extrapolated to 60 dB."""
    energy = np.cumsum((h.astype(np.float64) ** 2)[::-1])[::-1]
    curve = 10 * np.log10(energy / energy[0] + 1e-300)
    t = np.arange(len(h)) / sample_rate
    fit = (curve <= -5) & (curve >= -35)
    slope, _ = np.polyfit(t[fit], curve[fit], 1)
    return -60.0 / slope


@pytest.mark.parametrize("room_size", sorted(DOCUMENTED_RT60))
@pytest.mark.parametrize("damping", [0.0, 0.5, 1.0])
def test_rt60_is_in_the_documented_range(room_size: float, damping: float) -> None:
    low, high = DOCUMENTED_RT60[room_size]
    rt60 = schroeder_rt60(impulse_response(room_size=room_size, damping=damping))
    assert low <= rt60 <= high, f"room_size {room_size}, damping {damping}: RT60 {rt60:.2f} s"


@pytest.mark.parametrize("room_size", [0.2, 0.5, 0.9])
def test_undamped_rt60_follows_the_comb_formula(room_size: float) -> None:
    """Without damping the combs' loop gain is the feedback at every frequency:
    RT60 = 3 L / (fs * -log10 g) for the average comb, within 10 %."""
    rt60 = schroeder_rt60(impulse_response(room_size=room_size, damping=0.0))
    assert rt60 == pytest.approx(rt60_estimate(room_size), rel=0.1)


def test_decay_time_does_not_depend_on_the_sample_rate() -> None:
    at_48k = schroeder_rt60(impulse_response(room_size=0.5))
    at_96k = schroeder_rt60(impulse_response(96000, 4.0, room_size=0.5), 96000)
    assert at_96k == pytest.approx(at_48k, rel=0.05)


def test_damping_shortens_the_high_frequencies() -> None:
    def band_rt60(h: np.ndarray, low: float, high: float) -> float:
        spectrum = np.fft.rfft(h)
        f = np.fft.rfftfreq(len(h), 1 / SR)
        spectrum[(f < low) | (f > high)] = 0
        return schroeder_rt60(np.fft.irfft(spectrum, len(h)))

    h = impulse_response(room_size=0.7, damping=1.0)
    assert band_rt60(h, 4000, 8000) < 0.7 * band_rt60(h, 100, 500)


def test_freeze_holds_the_sound() -> None:
    noise = np.random.default_rng(2).standard_normal(SR // 2).astype(np.float32) * 0.3
    effect = Reverb(room_size=0.5, wet_level=1.0, dry_level=0.0)
    effect.prepare(SR, 1, 512)
    effect.reset()
    x = np.zeros((1, 4 * SR), dtype=np.float32)
    x[0, : len(noise)] = noise
    for start in range(0, x.shape[1], 512):
        if start == 512 * 60:  # 0.64 s: freeze, then only silence comes in
            effect.freeze_mode = True
        effect.process_inplace(x[:, start : start + 512])

    def rms_db(seconds: tuple[float, float]) -> float:
        part = x[0, int(seconds[0] * SR) : int(seconds[1] * SR)].astype(np.float64)
        return 10 * np.log10(np.mean(part**2))

    assert rms_db((3.0, 4.0)) == pytest.approx(rms_db((1.0, 2.0)), abs=1.0)
    assert rms_db((1.0, 2.0)) > -40
    assert effect.tail_seconds == float("inf")
    # Unfrozen, the same 2 s would have decayed by about 2 / 1.1 * 60 dB.
    free = impulse_response(room_size=0.5, seconds=4.0)
    energy = free.astype(np.float64) ** 2
    assert 10 * np.log10(energy[3 * SR :].mean() / energy[SR : 2 * SR].mean()) < -60


@pytest.mark.parametrize("channels", [1, 2])
def test_wet_0_dry_1_is_the_identity(channels: int) -> None:
    x = np.stack([guitar_riff(1.0, SR)] * channels).astype(np.float32)
    out = Reverb(room_size=0.8, wet_level=0.0, dry_level=1.0).process(x, SR)
    assert np.array_equal(out, x)


def test_width_0_is_mono_width_1_is_wide() -> None:
    x = np.stack([guitar_riff(1.0, SR)] * 2).astype(np.float32)
    narrow = Reverb(width=0.0, dry_level=0.0).process(x, SR)
    wide = Reverb(width=1.0, dry_level=0.0).process(x, SR)
    assert np.array_equal(narrow[0], narrow[1])
    correlation = np.corrcoef(wide[0], wide[1])[0, 1]
    assert correlation < 0.5


def test_wet_level_scales_the_reverb_linearly() -> None:
    x = guitar_riff(0.5, SR).astype(np.float32)
    full = Reverb(wet_level=1.0, dry_level=0.0).process(x, SR)
    third = Reverb(wet_level=1 / 3, dry_level=0.0).process(x, SR)
    assert np.max(np.abs(third - full / 3)) < 1e-6


@pytest.mark.parametrize("room_size", [0.0, 0.5, 0.9, 1.0])
def test_tail_bound_covers_the_ring_out(room_size: float) -> None:
    effect = Reverb(room_size=room_size, wet_level=1.0, dry_level=0.0)
    seconds = effect.tail_seconds
    h = impulse_response(room_size=room_size, seconds=seconds + 0.5).astype(np.float64)
    assert np.max(np.abs(h[int(seconds * SR) :])) < 1e-5 * np.max(np.abs(h))
