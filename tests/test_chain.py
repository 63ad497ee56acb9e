"""Chains: series order, click-free bypass, tails, parallel branches, latency."""

from __future__ import annotations

import numpy as np
import pytest

from pedalboard.chain import BYPASS_FADE_MS, Chain, Parallel
from pedalboard.effects import create_effect
from pedalboard.effects.base import Effect, Param
from pedalboard.errors import ParameterError
from pedalboard.signals import guitar_riff, sine

SR = 48000


class CountingGain(Effect):
    """A test effect: a fixed gain that counts its calls."""

    name = "counting_gain"
    PARAMS = (Param("gain", 0.5, 0.0, 2.0, smoothing_ms=0.0),)

    def _allocate(self) -> None:
        self.calls = 0

    def _process(self, block: np.ndarray) -> None:
        self.calls += 1
        block *= self.value("gain")


class PureDelay(Effect):
    """A test effect that delays by a fixed number of samples and reports it as latency."""

    name = "pure_delay"
    PARAMS = ()

    def __init__(self, samples: int = 37) -> None:
        self.samples = samples
        super().__init__()

    @property
    def latency(self) -> int:
        return self.samples

    def _allocate(self) -> None:
        self.line = np.zeros((self.channels, self.samples + self.max_block), dtype=np.float32)

    def _reset(self) -> None:
        self.line[:] = 0.0

    def _process(self, block: np.ndarray) -> None:
        n = block.shape[1]
        self.line[:, self.samples : self.samples + n] = block
        block[:] = self.line[:, :n]
        self.line[:, : self.samples] = self.line[:, n : n + self.samples]


def max_jump(x: np.ndarray) -> float:
    return float(np.max(np.abs(np.diff(x))))


def test_series_equals_effects_in_order() -> None:
    x = guitar_riff(0.5, SR).astype(np.float32)
    a, b = create_effect("gain", {"gain_db": -6.0}), CountingGain(gain=1.5)
    chain = Chain([a, b])
    expected = b.process(a.process(x, SR), SR)
    np.testing.assert_allclose(chain.process(x, SR), expected, atol=1e-6)


def test_ids_are_unique_and_addressable() -> None:
    chain = Chain([create_effect("gain"), create_effect("gain"), Parallel([create_effect("gain")], [])])
    assert [s.id for s in chain.all_slots()] == ["gain", "gain-2", "parallel", "gain-3"]
    assert chain.effect("gain-3").name == "gain"
    with pytest.raises(ParameterError, match="no effect with id 'nope'"):
        chain.slot("nope")


@pytest.mark.parametrize("to_bypass", [True, False])
def test_bypass_toggle_is_click_free(to_bypass: bool) -> None:
    # A low sine through -20 dB: an abrupt switch would jump by ~0.9 at a peak.
    x = sine(110.0, 0.5, SR, amplitude=0.9).astype(np.float32)
    effect = create_effect("gain", {"gain_db": -20.0})
    chain = Chain([effect])
    chain.slot("gain").bypass = not to_bypass
    chain.prepare(SR, 1, 64)
    out = x[np.newaxis, :].copy()
    switch_at = int(0.2 * SR) // 64 * 64 + 64 * 3  # near a peak of the 110 Hz sine
    for start in range(0, out.shape[1], 64):
        if start == switch_at:
            chain.slot("gain").bypass = to_bypass
        chain.process_inplace(out[:, start : start + 64])
    signal_jump = max_jump(x)  # the dry sine's own largest step
    assert max_jump(out[0]) <= signal_jump * 1.05
    fade = int(BYPASS_FADE_MS * 1e-3 * SR)
    settled = out[0, switch_at + fade + 64 :]
    expected = x[switch_at + fade + 64 :] * (1.0 if to_bypass else 0.1)
    np.testing.assert_allclose(settled, expected, atol=1e-5)


def test_bypassed_effect_costs_nothing() -> None:
    effect = CountingGain()
    chain = Chain([effect])
    chain.prepare(SR, 1, 64)
    chain.slot("counting_gain").bypass = True
    block = np.ones((1, 64), dtype=np.float32)
    for _ in range(100):
        chain.process_inplace(block)
        block[:] = 1.0
    calls_after_fade = effect.calls
    for _ in range(100):
        chain.process_inplace(block)
    assert effect.calls == calls_after_fade
    np.testing.assert_array_equal(block, 1.0)


def test_delay_tails_ring_out_when_bypassed() -> None:
    delay = create_effect("delay", {"delay_seconds": 0.1, "feedback": 0.5, "mix": 0.5})
    chain = Chain([delay])
    chain.prepare(SR, 1, 64)
    impulse = np.zeros((1, SR), dtype=np.float32)
    impulse[0, 0] = 1.0
    out = impulse.copy()
    for start in range(0, out.shape[1], 64):
        if start == 64 * 20:  # bypass before the first repeat
            chain.slot("delay").bypass = True
        chain.process_inplace(out[:, start : start + 64])
    repeats = np.abs(out[0, int(0.09 * SR) :])
    assert repeats.max() > 0.1, "the delay's repeats should ring out after bypass"

    chain.slot("delay").keep_tails = False
    chain.slot("delay").bypass = False
    chain.reset()
    out = impulse.copy()
    for start in range(0, out.shape[1], 64):
        if start == 64 * 20:
            chain.slot("delay").bypass = True
        chain.process_inplace(out[:, start : start + 64])
    assert np.abs(out[0, int(0.09 * SR) :]).max() < 1e-6


def test_parallel_mix_and_latency_compensation() -> None:
    x = guitar_riff(0.3, SR).astype(np.float32)
    delay = 37
    node = Parallel([PureDelay(delay)], [], mix=0.5)
    chain = Chain([node])
    assert chain.latency == delay
    out = chain.process(x, SR)
    # The dry branch is delayed to line up: the blend is the delayed signal, no comb.
    np.testing.assert_allclose(out[delay:], x[:-delay], atol=1e-6)
    node_b = Parallel([CountingGain(gain=1.0)], [CountingGain(gain=0.0)], mix=0.25)
    np.testing.assert_allclose(Chain([node_b]).process(x, SR), 0.75 * x, atol=1e-6)


def test_bypass_keeps_latency_constant() -> None:
    x = guitar_riff(0.3, SR).astype(np.float32)
    chain = Chain([PureDelay(25)])
    chain.slot("pure_delay").bypass = True
    out = chain.process(x, SR)
    np.testing.assert_allclose(out[25:], x[:-25], atol=1e-6)


def test_chain_sanitizes_bad_input() -> None:
    chain = Chain([create_effect("gain")])
    x = np.array([0.1, np.nan, np.inf, -np.inf, 1e35, 0.2], dtype=np.float32)
    out = chain.process(x, SR)
    assert np.all(np.isfinite(out)) and out[0] == pytest.approx(0.1)
