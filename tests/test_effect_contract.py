"""The contract every registered effect keeps (the engine relies on it).

* Block-size invariance: whole, or in blocks of 1, 64 or 1000 frames, the
  output is the same (within 1e-5): the live engine runs 64-frame blocks,
  ``pedal render`` 4096-frame ones, and they must agree.
* Silence in, silence out, with no subnormal numbers left in the state.
* NaN, inf and huge input never poison the state.
* Parameters changed on every block keep the output finite and bounded.
* Mono and stereo; to_dict/from_dict round trip.
"""

from __future__ import annotations

import numpy as np
import pytest

from pedalboard.effects import create_effect, effect_class, effect_names
from pedalboard.effects.base import Effect
from pedalboard.signals import guitar_riff

SR = 48000
EFFECTS = effect_names()


def _fresh(name: str) -> Effect:
    return create_effect(name)


def _input(channels: int, seconds: float = 0.4) -> np.ndarray:
    riff = 0.5 * guitar_riff(seconds, SR)
    if channels == 1:
        return riff.astype(np.float32)[np.newaxis, :]
    return np.stack([riff, np.roll(riff, 480)]).astype(np.float32)


def _run_in_blocks(effect: Effect, audio: np.ndarray, block: int) -> np.ndarray:
    out = audio.copy()
    effect.prepare(SR, audio.shape[0], max(block, 64))
    effect.reset()
    for start in range(0, out.shape[1], block):
        effect.process_inplace(out[:, start : start + block])
    return out


def test_registry_is_populated() -> None:
    expected = {
        "gain",
        "noise_gate",
        "compressor",
        "limiter",
        "eq",
        "tone_stack",
        "wah",
        "overdrive",
        "distortion",
        "fuzz",
        "chorus",
        "flanger",
        "phaser",
        "tremolo",
        "vibrato",
        "delay",
        "reverb",
        "cabinet",
        "tuner",
        "circuit",
    }
    assert expected <= set(EFFECTS), f"missing effects: {sorted(expected - set(EFFECTS))}"


@pytest.mark.parametrize("channels", [1, 2])
@pytest.mark.parametrize("name", EFFECTS)
def test_block_size_invariance(name: str, channels: int) -> None:
    audio = _input(channels)
    whole = _fresh(name).process(audio, SR)
    for block in (1, 64, 1000):
        seconds = 0.1 if block == 1 else 0.4  # blocks of 1 frame: keep it short
        piece = audio[:, : int(seconds * SR)]
        out = _run_in_blocks(_fresh(name), piece, block)
        error = np.max(np.abs(out - whole[:, : piece.shape[1]]))
        assert error <= 1e-5, f"{name}: blocks of {block} differ from whole by {error:.2e}"


def _subnormals(effect: Effect) -> list[str]:
    found = []
    for key, value in vars(effect).items():
        if isinstance(value, np.ndarray) and value.dtype.kind == "f" and value.size:
            tiny = np.finfo(value.dtype).tiny
            nonzero = np.abs(value[value != 0])
            if nonzero.size and nonzero.min() < tiny:
                found.append(key)
    return found


@pytest.mark.parametrize("name", EFFECTS)
def test_silence_in_silence_out(name: str) -> None:
    effect = _fresh(name)
    silence = np.zeros((1, SR), dtype=np.float32)
    out = effect.process(silence, SR)
    assert np.max(np.abs(out)) < 1e-6, f"{name} makes sound from silence"
    # After sound, a long silence must decay to exact zeros, not subnormals.
    effect.process(_input(1, 0.2), SR)
    tail = np.zeros((1, 4096), dtype=np.float32)
    for _ in range(int(20 * SR / 4096)):
        effect.process_inplace(tail)
        tail[:] = 0.0
    assert not _subnormals(effect), f"{name} keeps subnormal state: {_subnormals(effect)}"


@pytest.mark.parametrize("name", EFFECTS)
def test_bad_input_does_not_poison_state(name: str) -> None:
    effect = _fresh(name)
    bad = _input(1, 0.1)
    bad[0, 100] = np.nan
    bad[0, 200] = np.inf
    bad[0, 300] = -np.inf
    bad[0, 400:500] = 1e30
    out = effect.process(bad, SR)
    assert np.all(np.isfinite(out)), f"{name} passes NaN/inf"
    after = effect.process(_input(1, 0.2), SR, reset=False)
    assert np.all(np.isfinite(after)), f"{name} state poisoned by bad input"
    assert np.max(np.abs(after)) < 100.0


@pytest.mark.parametrize("name", EFFECTS)
def test_parameter_changes_every_block(name: str, rng: np.random.Generator) -> None:
    effect = _fresh(name)
    specs = [p for p in effect.param_specs() if p.kind in ("float", "bool")]
    audio = _input(2, 0.5)
    effect.prepare(SR, 2, 64)
    peak = 0.0
    for start in range(0, audio.shape[1], 64):
        spec = specs[(start // 64) % len(specs)] if specs else None
        if spec is not None:
            value = bool(rng.integers(2)) if spec.kind == "bool" else spec.from_position(rng.random())
            effect.set_param(spec.name, value)
        block = audio[:, start : start + 64]
        effect.process_inplace(block)
        assert np.all(np.isfinite(block)), f"{name}: non-finite output after {spec.name if spec else ''}"
        peak = max(peak, float(np.max(np.abs(block))))
    assert peak < 100.0, f"{name}: output peak {peak} with changing parameters"


@pytest.mark.parametrize("name", EFFECTS)
def test_round_trip_and_description(name: str) -> None:
    effect = _fresh(name)
    copy = Effect.from_dict(effect.to_dict())
    assert type(copy) is type(effect) and copy.params == effect.params
    described = effect.describe()
    assert described["effect"] == name and all("name" in p for p in described["params"])
    effect_class(name).check_params({})


#: Variants that take another code path than the defaults.
AUDIO_PATH_CASES = [(name, {}) for name in EFFECTS] + [
    ("delay", {"ping_pong": True, "mod_depth_ms": 1.0}),
    ("overdrive", {"oversample": "4"}),
    ("distortion", {"oversample": "4"}),
    ("fuzz", {"oversample": "4"}),
]


@pytest.mark.parametrize(("name", "params"), AUDIO_PATH_CASES,
                         ids=[f"{n}{'-' if p else ''}{'-'.join(p)}" for n, p in AUDIO_PATH_CASES])
def test_processing_allocates_no_block_sized_arrays(name: str, params: dict) -> None:
    """The audio path allocates nothing per block: over steady and gliding
    4096-frame stereo blocks, Python's allocator never holds more than a few
    small objects (one float32 copy of the block alone would be 32 kB)."""
    import tracemalloc

    effect = create_effect(name, params)
    effect.prepare(SR, 2, 4096)
    effect.warm_up()  # as the engine does before a chain goes live
    block = np.random.default_rng(0).standard_normal((2, 4096)).astype(np.float32)
    effect.process_inplace(block)
    floats = [p for p in effect.param_specs() if p.kind == "float"]
    peak = 0
    tracemalloc.start()
    try:
        for i in range(10):
            if i >= 5 and floats:  # glide a parameter: the chunked path
                spec = floats[i % len(floats)]
                effect.set_param(spec.name, spec.from_position(0.1 * i))  # the control thread's work
            tracemalloc.reset_peak()
            before = tracemalloc.get_traced_memory()[0]
            effect.process_inplace(block)
            peak = max(peak, tracemalloc.get_traced_memory()[1] - before)
    finally:
        tracemalloc.stop()
    assert peak < 8192, f"{name}: {peak} bytes allocated in the audio path"
