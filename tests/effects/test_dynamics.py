"""Gate, compressor and limiter against their documented curves and timings.

The gain an effect applies is read exactly with a probe: the effects are
stereo-linked, so a second channel holding a tiny constant (-80 dBFS, below
every threshold here) comes out multiplied by the gain the loud channel
caused, sample by sample.
"""

from __future__ import annotations

import numpy as np
import pytest

from pedalboard.effects.registry import create_effect
from pedalboard.signals import guitar_riff, pluck, sine

SR = 48000
PROBE = 1e-4


def db(x: float | np.ndarray) -> float | np.ndarray:
    return 20 * np.log10(x)


def run_with_probe(name: str, params: dict, signal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Process ``signal`` with a probe channel; return (output, linear gain)."""
    stereo = np.stack([signal, np.full_like(signal, PROBE)])
    out = create_effect(name, params).process(stereo, SR)
    return out[0].astype(np.float64), out[1].astype(np.float64) / PROBE


def tone_at(level_db: float, seconds: float, frequency: float = 1000.0) -> np.ndarray:
    return sine(frequency, seconds, SR, amplitude=10 ** (level_db / 20))


def steady_peak_db(out: np.ndarray, seconds: float = 0.2) -> float:
    return float(db(np.max(np.abs(out[-int(seconds * SR):]))))


def crossing_time_ms(gain_db: np.ndarray, start: int, before: float, after: float) -> float:
    """Time after ``start`` until the gain has covered 63 % of before->after."""
    level = before + (1 - np.exp(-1)) * (after - before)
    tail = gain_db[start:]
    crossed = tail <= level if after < before else tail >= level
    return float(np.argmax(crossed)) / SR * 1000


# ------------------------------------------------------------- compressor
def textbook_gain_db(x: float, threshold: float, ratio: float, knee: float, makeup: float) -> float:
    """Giannoulis, Massberg & Reiss (2012), eq. 4, plus makeup."""
    if 2 * (x - threshold) < -knee:
        y = x
    elif knee > 0 and 2 * abs(x - threshold) <= knee:
        y = x + (1 / ratio - 1) * (x - threshold + knee / 2) ** 2 / (2 * knee)
    else:
        y = threshold + (x - threshold) / ratio
    return y - x + makeup


@pytest.mark.parametrize(
    ("settings", "frequency"),
    [
        ({"threshold_db": -30.0, "ratio": 4.0, "knee_db": 10.0, "makeup_gain_db": 6.0}, 1000.0),
        ({"threshold_db": -30.0, "ratio": 4.0, "knee_db": 10.0, "makeup_gain_db": 6.0}, 110.0),
        ({"threshold_db": -20.0, "ratio": 10.0, "knee_db": 0.0, "makeup_gain_db": 0.0}, 440.0),
        ({"threshold_db": -12.0, "ratio": 2.0, "knee_db": 24.0, "makeup_gain_db": 3.0}, 220.0),
    ],
)
def test_compressor_static_curve(settings: dict, frequency: float) -> None:
    params = {**settings, "attack_ms": 2.0, "release_ms": 80.0}
    levels = [*range(-60, 1, 5), -33.0, -31.0, -27.0, -21.0, -9.0]
    for level in levels:
        out = create_effect("compressor", params).process(tone_at(level, 0.6, frequency), SR)
        expected = level + textbook_gain_db(level, settings["threshold_db"], settings["ratio"],
                                            settings["knee_db"], settings["makeup_gain_db"])
        assert steady_peak_db(out) == pytest.approx(expected, abs=0.5), f"input {level} dBFS"


def test_compressor_attack_and_release_time_constants() -> None:
    """Documented: the gain (dB) covers 63 % of a change in attack_ms /
    release_ms; the release starts when the 10-20 ms peak hold lets go."""
    attack_ms, release_ms = 10.0, 150.0
    params = {"threshold_db": -30.0, "ratio": 4.0, "knee_db": 0.0, "attack_ms": attack_ms,
              "release_ms": release_ms}
    quiet, loud = tone_at(-40.0, 1.0), tone_at(-10.0, 1.0)
    signal = np.concatenate([quiet[: SR // 2], loud, quiet])
    _, gain = run_with_probe("compressor", params, signal)
    gain_db = db(gain)
    step_up, step_down = SR // 2, SR // 2 + SR
    reduced = -15.0  # 20 dB over a 4:1 threshold: 15 dB of gain reduction
    assert gain_db[step_down - 100] == pytest.approx(reduced, abs=0.05)
    assert crossing_time_ms(gain_db, step_up, 0.0, reduced) == pytest.approx(attack_ms, rel=0.2)
    onset = step_down + int(np.argmax(gain_db[step_down:] > reduced + 0.01))
    assert 10.0 <= (onset - step_down) / SR * 1000 <= 21.0
    assert crossing_time_ms(gain_db, onset, reduced, 0.0) == pytest.approx(release_ms, rel=0.2)


def test_compressor_leaves_quiet_signal_alone() -> None:
    signal = tone_at(-40.0, 0.5)
    out = create_effect("compressor", {"threshold_db": -20.0, "knee_db": 6.0}).process(signal, SR)
    np.testing.assert_allclose(out, signal, atol=1e-7)


# ------------------------------------------------------------- noise gate
GATE = {"threshold_db": -40.0, "ratio": 4.0, "hysteresis_db": 6.0, "attack_ms": 1.0,
        "release_ms": 50.0, "hold_ms": 20.0}


@pytest.mark.parametrize("level", [-55.0, -50.0, -43.0])
def test_gate_attenuates_below_threshold_by_the_expansion_ratio(level: float) -> None:
    """Closed, L dB under the threshold comes out ratio*L dB under it (even
    inside the hysteresis band, when the gate never opened)."""
    out = create_effect("noise_gate", GATE).process(tone_at(level, 1.0), SR)
    expected = GATE["threshold_db"] + GATE["ratio"] * (level - GATE["threshold_db"])
    assert steady_peak_db(out) == pytest.approx(expected, abs=0.5)


@pytest.mark.parametrize("level", [-40.0, -30.0, -6.0])
def test_gate_passes_signal_above_threshold_unchanged(level: float) -> None:
    signal = tone_at(level, 0.5, 330.0)
    out = create_effect("noise_gate", GATE).process(signal, SR)
    settled = slice(SR // 10, None)
    assert steady_peak_db(out) == pytest.approx(level, abs=0.1)
    np.testing.assert_allclose(out[settled], signal[settled], atol=2e-3 * 10 ** (level / 20))


def test_gate_stays_open_in_hysteresis_band_after_opening() -> None:
    """Opened at -30 dBFS, a note fading to -43 dBFS (inside the 6 dB band)
    keeps the gate open; below -46 dBFS it closes."""
    signal = np.concatenate([tone_at(-30.0, 0.3), tone_at(-43.0, 0.5), tone_at(-50.0, 0.5)])
    _, gain = run_with_probe("noise_gate", GATE, signal)
    assert db(gain[int(0.75 * SR)]) == pytest.approx(0.0, abs=0.05)
    expected_closed = (GATE["ratio"] - 1) * (-50.0 - GATE["threshold_db"])
    assert db(gain[-1]) == pytest.approx(expected_closed, abs=0.5)


def test_gate_attack_and_release_time_constants() -> None:
    """Documented: the linear gain covers 63 % of its change in attack_ms
    (opening) and release_ms (closing, after hold_ms and the detector hold)."""
    params = {**GATE, "attack_ms": 5.0, "release_ms": 80.0}
    signal = np.concatenate([tone_at(-70.0, 0.5), tone_at(-20.0, 0.5), tone_at(-70.0, 1.0)])
    _, gain = run_with_probe("noise_gate", params, signal)
    closed = gain[SR // 2 - 1]
    assert crossing_time_ms(gain, SR // 2, closed, 1.0) == pytest.approx(5.0, rel=0.2)
    onset = SR + int(np.argmax(gain[SR:] < 0.999))
    delay_ms = (onset - SR) / SR * 1000
    assert params["hold_ms"] + 10 <= delay_ms <= params["hold_ms"] + 21
    floor = gain[-1]
    assert crossing_time_ms(gain, onset, 1.0, floor) == pytest.approx(80.0, rel=0.2)


def _beating_pluck() -> np.ndarray:
    """A note with a slowly beating second string: its envelope wobbles by
    about 4 dB as it decays, as a real chord or a 12-string does."""
    x = pluck(110.0, 6.0, SR, decay_s=8.0) + 0.25 * pluck(113.0, 6.0, SR, decay_s=8.0, seed=5)
    return 0.5 * x / np.max(np.abs(x))


def _gate_transitions(signal: np.ndarray, threshold_db: float, hysteresis_db: float) -> int:
    params = {"threshold_db": threshold_db, "hysteresis_db": hysteresis_db, "hold_ms": 0.0,
              "ratio": 10.0, "attack_ms": 0.5, "release_ms": 5.0}
    _, gain = run_with_probe("noise_gate", params, signal)
    is_open = (gain > 0.5).astype(int)
    return int(np.count_nonzero(np.diff(is_open)))


def test_gate_hysteresis_stops_chattering_on_a_decaying_pluck() -> None:
    signal = _beating_pluck()
    thresholds = [-34.0, -36.0, -38.0, -40.0, -42.0, -44.0]
    with_hysteresis = [_gate_transitions(signal, t, 6.0) for t in thresholds]
    without = [_gate_transitions(signal, t, 0.0) for t in thresholds]
    assert with_hysteresis == [2] * len(thresholds)  # opens once, closes once
    assert max(without) > 2  # the same note chatters through a plain gate


# ----------------------------------------------------------------- limiter
def test_limiter_never_exceeds_threshold_on_loud_plucks() -> None:
    riff = 4.0 * guitar_riff(4.0, SR)  # peaks at +12 dBFS
    for threshold in (-1.0, -6.0, -20.0):
        fx = create_effect("limiter", {"threshold_db": threshold, "release_ms": 50.0})
        out = fx.process(riff, SR)
        assert db(np.max(np.abs(out))) <= threshold + 0.1
        # ... and it does not pump the level down much more than needed.
        assert db(np.max(np.abs(out))) >= threshold - 0.1
    stereo = np.stack([riff, 0.5 * np.roll(riff, 700)])
    out = create_effect("limiter", {"threshold_db": -3.0}).process(stereo, SR)
    assert db(np.max(np.abs(out))) <= -3.0 + 0.1


@pytest.mark.parametrize("frequency", [82.41, 440.0, 3000.0])
def test_limiter_holds_a_sustained_tone_at_the_threshold(frequency: float) -> None:
    out = create_effect("limiter", {"threshold_db": -6.0}).process(
        tone_at(6.0, 1.0, frequency), SR)
    assert db(np.max(np.abs(out))) <= -6.0 + 0.1
    assert steady_peak_db(out, 0.5) == pytest.approx(-6.0, abs=0.1)


def test_limiter_is_transparent_below_threshold_after_its_latency() -> None:
    fx = create_effect("limiter", {"threshold_db": -6.0})
    riff = 0.4 * guitar_riff(1.0, SR)
    out = fx.process(riff, SR)
    latency = fx.latency
    assert latency == round(0.002 * SR) - 1
    np.testing.assert_array_equal(out[latency:], riff[:-latency].astype(np.float32))
    np.testing.assert_array_equal(out[:latency], 0.0)


def test_limiter_matches_a_direct_reference() -> None:
    """Sliding minimum of the needed gain over the look-ahead window, release,
    moving average, delayed audio: recomputed here the slow, obvious way on a
    signal whose needed gain keeps rising for longer than the window (the
    falling half of a loud low E)."""
    threshold_db, release_ms = -6.0, 30.0
    signal = tone_at(9.0, 0.5, 82.41) * np.linspace(0.3, 1.0, SR // 2)
    fx = create_effect("limiter", {"threshold_db": threshold_db, "release_ms": release_ms})
    out = fx.process(signal, SR).astype(np.float64)

    length = fx.latency + 1
    threshold = 10 ** (threshold_db / 20)
    x = signal.astype(np.float32).astype(np.float64)
    need = np.minimum(1.0, threshold / np.maximum(np.abs(x), 1e-30))
    padded = np.concatenate([np.ones(length - 1), need])
    window_min = np.lib.stride_tricks.sliding_window_view(padded, length).min(axis=1)
    a = np.exp(-1000.0 / (release_ms * SR))
    held = np.empty_like(window_min)
    previous = 1.0
    for i, m in enumerate(window_min):
        previous = m if m < previous else m + a * (previous - m)
        held[i] = previous
    gain = np.convolve(np.concatenate([np.ones(length - 1), held]), np.ones(length) / length,
                       mode="valid")
    delayed = np.concatenate([np.zeros(length - 1), x])[: x.size]
    np.testing.assert_allclose(out, gain * delayed, atol=1e-6)
    assert np.max(np.abs(out)) <= threshold * 10 ** (0.1 / 20)
