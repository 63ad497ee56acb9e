"""The wah's resonant peak against its documented pedal mapping, manual and auto.

The peak is measured from the output, never read from the effect: an impulse
response for the static filter, and for the auto-wah a cross-spectral
estimate H = Pxy / Pxx on a random +-A telegraph signal. That signal has
``|x| = A`` at every sample, so the envelope follower settles exactly on A
and the filter holds still while a broadband probe measures it.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import csd, welch

from pedalboard.effects.wah import Wah
from pedalboard.signals import guitar_riff

SR = 48000


def _documented_peak_hz(position: float, low_hz: float, high_hz: float) -> float:
    return low_hz * (high_hz / low_hz) ** min(1.0, max(0.0, position))


def _impulse_response_db(fx: Wah, size: int = 1 << 15) -> tuple[np.ndarray, np.ndarray]:
    impulse = np.zeros(size, dtype=np.float32)
    impulse[0] = 1.0
    h = fx.process(impulse, SR).astype(np.float64)
    spectrum = np.abs(np.fft.rfft(h, 1 << 18))
    return np.fft.rfftfreq(1 << 18, 1 / SR), 20 * np.log10(np.maximum(spectrum, 1e-12))


@pytest.mark.parametrize("position", [0.0, 0.2, 0.5, 0.8, 1.0])
@pytest.mark.parametrize(("low_hz", "high_hz"), [(400.0, 2200.0), (350.0, 2500.0)])
def test_manual_peak_follows_the_pedal_mapping(position: float, low_hz: float,
                                               high_hz: float) -> None:
    fx = Wah(position=position, low_hz=low_hz, high_hz=high_hz, q=5.0, mix=1.0)
    freqs, db = _impulse_response_db(fx)
    peak = freqs[np.argmax(db)]
    expected = _documented_peak_hz(position, low_hz, high_hz)
    assert peak == pytest.approx(expected, rel=0.03)
    assert db.max() == pytest.approx(0.0, abs=0.1)  # band-pass normalised to 0 dB


@pytest.mark.parametrize("q", [2.0, 5.0, 10.0])
def test_q_sets_the_bandwidth(q: float) -> None:
    fx = Wah(position=0.5, q=q, mix=1.0)
    freqs, db = _impulse_response_db(fx)
    inside = freqs[db >= db.max() - 3.0]
    centre = freqs[np.argmax(db)]
    assert (inside.max() - inside.min()) == pytest.approx(centre / q, rel=0.05)


def test_mix_zero_is_the_identity() -> None:
    riff = (0.5 * guitar_riff(0.5, SR)).astype(np.float32)
    np.testing.assert_array_equal(Wah(mix=0.0, position=0.3).process(riff, SR), riff)


def _telegraph(amplitude: float, seconds: float, rng: np.random.Generator) -> np.ndarray:
    return (amplitude * np.sign(rng.standard_normal(int(seconds * SR)))).astype(np.float32)


def _measured_peak_hz(x: np.ndarray, y: np.ndarray) -> float:
    freqs, pxy = csd(x, y, fs=SR, nperseg=8192)
    _, pxx = welch(x, fs=SR, nperseg=8192)
    gain = np.abs(pxy / pxx)
    band = (freqs > 150) & (freqs < 6000)
    index = np.argmax(gain[band])
    # Parabolic interpolation on the log magnitude around the peak bin.
    f, g = freqs[band], np.log(gain[band])
    a, b, c = g[index - 1], g[index], g[index + 1]
    shift = 0.5 * (a - c) / (a - 2 * b + c)
    return float(f[index] + shift * (f[1] - f[0]))


@pytest.mark.parametrize("amplitude", [0.02, 0.08, 0.2])
def test_auto_mode_moves_the_peak_with_the_input_envelope(amplitude: float,
                                                          rng: np.random.Generator) -> None:
    sensitivity = 0.5  # envelope gain 10 ** ((60 * 0.5 - 20) / 20) = 3.16
    rest = 0.1
    fx = Wah(mode="auto", position=rest, sensitivity=sensitivity, attack_ms=2.0,
             release_ms=50.0, q=4.0, mix=1.0)
    x = _telegraph(amplitude, 3.0, rng)
    y = fx.process(x, SR)
    settled = slice(SR // 2, None)  # after the envelope has risen
    expected_position = rest + amplitude * 10 ** ((60 * sensitivity - 20) / 20)
    expected = _documented_peak_hz(expected_position, 400.0, 2200.0)
    assert _measured_peak_hz(x[settled], y[settled]) == pytest.approx(expected, rel=0.03)


def test_auto_mode_follows_a_note_up_and_back_down(rng: np.random.Generator) -> None:
    """A loud burst opens the filter; after it, the release lets it fall back
    to the resting position."""
    fx = Wah(mode="auto", position=0.0, sensitivity=0.6, attack_ms=2.0, release_ms=40.0)
    fx.prepare(SR, 1, 256)
    fx.reset()
    loud = _telegraph(0.25, 0.3, rng)[np.newaxis, :]
    quiet = np.zeros((1, SR // 2), dtype=np.float32)
    track = []
    for signal in (loud, quiet):
        for start in range(0, signal.shape[1], 256):
            fx.process_inplace(signal[:, start : start + 256])
            track.append(fx.frequency_hz)
    track = np.array(track)
    loud_blocks = loud.shape[1] // 256
    opened = _documented_peak_hz(0.25 * 10 ** ((60 * 0.6 - 20) / 20), 400.0, 2200.0)
    assert track[loud_blocks - 1] == pytest.approx(opened, rel=0.01)
    assert track[-1] == pytest.approx(400.0, rel=0.01)
    assert np.all(np.diff(track[loud_blocks:]) <= 1e-9)  # falls monotonically


def test_pedal_moves_glide_without_jumps() -> None:
    """Rocking the pedal heel to toe in one block: the peak glides (15 ms
    smoothing), a 220 Hz tone through it has no step."""
    fx = Wah(position=0.0, q=8.0)
    fx.prepare(SR, 1, 64)
    fx.reset()
    tone = np.sin(2 * np.pi * 220.0 * np.arange(SR // 5) / SR).astype(np.float32)[None, :]
    track = []
    for start in range(0, tone.shape[1], 64):
        if start == 64 * 20:
            fx.position = 1.0
        fx.process_inplace(tone[:, start : start + 64])
        track.append(fx.frequency_hz)
    assert track[-1] == pytest.approx(2200.0, rel=1e-3)
    steps = np.abs(np.diff(np.log(track)))
    # 64 samples of a 15 ms glide move the peak by at most 1 - exp(-1.33/15) of
    # the 5.5x sweep (a factor 1.16); an unsmoothed pedal would jump 5.5x at once.
    assert steps.max() < 0.2
    assert np.all(np.isfinite(tone)) and np.max(np.abs(np.diff(tone[0]))) < 0.1


def test_auto_mode_does_not_depend_on_block_size() -> None:
    riff = 0.5 * guitar_riff(0.3, SR)
    audio = np.stack([riff, np.roll(riff, 480)]).astype(np.float32)
    params = {"mode": "auto", "sensitivity": 0.8, "attack_ms": 1.0, "release_ms": 30.0}
    whole = Wah(**params).process(audio, SR)
    for block in (1, 64, 1000):
        fx = Wah(**params)
        piece = audio[:, : (SR // 20 if block == 1 else audio.shape[1])].copy()
        fx.prepare(SR, 2, max(block, 64))
        fx.reset()
        for start in range(0, piece.shape[1], block):
            fx.process_inplace(piece[:, start : start + block])
        assert np.max(np.abs(piece - whole[:, : piece.shape[1]])) <= 1e-5, f"blocks of {block}"
