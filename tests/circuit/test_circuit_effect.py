"""The ``circuit`` effect: parameters from the netlist, levels, DC blocking,
control moves, block-size invariance, and use inside a chain."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import signal

from pedalboard.circuit.model import CircuitModel
from pedalboard.circuit.verify import error_db
from pedalboard.effects import create_effect
from pedalboard.errors import ParameterError, PedalError

FS = 48000


def pluck(seconds: float, peak: float = 0.8) -> np.ndarray:
    t = np.arange(int(seconds * FS)) / FS
    tone = np.sin(2 * np.pi * 110 * t) + 0.5 * np.sin(2 * np.pi * 330 * t + 1.0)
    return (peak / 1.5 * tone * np.exp(-3 * t)).astype(np.float32)


def test_parameters_come_from_the_netlist() -> None:
    effect = create_effect("circuit", {"netlist": "fuzz_face_si", "fuzz": 0.9})
    described = {p["name"]: p for p in effect.describe()["params"]}
    assert described["fuzz"]["min"] == 0.0 and described["fuzz"]["max"] == 1.0
    assert described["volume"]["taper"] == "audio" and described["volume"]["label"] == "Volume"
    assert described["oversample"]["choices"] == ["1", "2", "4", "8", "16"]
    assert effect.fuzz == 0.9
    assert effect.latency == effect.model.latency == 20
    with pytest.raises(ParameterError, match=r"fuzz = 2 is not allowed: \[0, 1\]"):
        effect.set_param("fuzz", 2)


def test_netlist_is_fixed_and_checked() -> None:
    effect = create_effect("circuit", {"netlist": "diode_clipper_si"})
    with pytest.raises(ParameterError, match="create a new circuit effect"):
        effect.set_param("netlist", "ts808")
    with pytest.raises(PedalError, match="unknown netlist 'nope'"):
        create_effect("circuit", {"netlist": "nope"})


def test_levels_follow_input_and_output_volts() -> None:
    """A full-scale sample is input_volts at Vin; the output node's voltage is
    divided by output_volts. Checked against the model driven directly."""
    effect = create_effect("circuit", {"netlist": "diode_clipper_si", "drive": 0.3,
                                       "oversample": "1"})
    x = pluck(0.5)
    y = effect.process(x, FS)
    model = CircuitModel.from_file(effect.model.netlist.path, oversample=1,
                                   controls={"drive": 0.3})
    volts = model.process_volts(x.astype(np.float64) * model.input_volts) / model.output_volts
    # the effect adds its DC blocker, a first-order 5 Hz high-pass
    b0, b1, _, a1, _ = effect._dc_coeffs[0]
    w = np.tan(np.pi * 5.0 / FS)
    assert (b0, a1) == pytest.approx((1 / (1 + w), (w - 1) / (1 + w)))
    expected = signal.lfilter([b0, b1], [1.0, a1], volts)
    assert error_db(y, expected) < -100.0


def test_biased_output_is_dc_blocked_without_a_thump(tmp_path: Path) -> None:
    path = tmp_path / "biased.cir"
    path.write_text("Collector as output\n*@output c\nVin in 0 dc 0\nVcc vcc 0 dc 9\n"
                    "C1 in b 1u\nR1 vcc b 100k\nR2 b 0 22k\nQ1 c b e QN\nRc vcc c 4.7k\n"
                    "Re e 0 1k\n.model QN NPN(IS=1e-14 BF=200)\n.end\n")
    effect = create_effect("circuit", {"netlist": str(path)})
    silence = effect.process(np.zeros(4800, dtype=np.float32), FS)
    assert np.max(np.abs(silence)) < 1e-6  # 4.7 V at the collector, nothing at the output
    y = effect.process(pluck(1.0, 0.05), FS)
    assert abs(float(np.mean(y[24000:]))) < 0.01 * float(np.std(y[24000:]))


def test_block_size_invariance() -> None:
    x = pluck(0.3)
    outputs = []
    for block in (64, 1000, 4096):
        effect = create_effect("circuit", {"netlist": "fuzz_face_si"})
        effect.prepare(FS, 1, 4096)
        effect.reset()
        data = x[np.newaxis, :].copy()
        for start in range(0, data.shape[1], block):
            effect.process_inplace(data[:, start:start + block])
        outputs.append(data[0])
    assert np.max(np.abs(outputs[0])) > 0.1
    np.testing.assert_array_equal(outputs[0], outputs[1])
    np.testing.assert_array_equal(outputs[0], outputs[2])


def test_control_change_reaches_the_audio_and_settles() -> None:
    """Turning drive mid-signal: the next block already differs, and once the
    glide is over the output is what an effect set there from the start gives."""
    x = pluck(1.5, 0.5)
    moved = create_effect("circuit", {"netlist": "diode_clipper_si", "drive": 0.1})
    moved.prepare(FS, 1, 512)
    moved.reset()
    fixed = create_effect("circuit", {"netlist": "diode_clipper_si", "drive": 0.1})
    fixed.prepare(FS, 1, 512)
    fixed.reset()
    target = create_effect("circuit", {"netlist": "diode_clipper_si", "drive": 0.9})
    target.prepare(FS, 1, 512)
    target.reset()
    results = {"moved": [], "fixed": [], "target": []}
    for index, start in enumerate(range(0, x.size, 512)):
        if index == 20:
            moved.set_param("drive", 0.9)
        for key, effect in (("moved", moved), ("fixed", fixed), ("target", target)):
            block = x[np.newaxis, start:start + 512].copy()
            effect.process_inplace(block)
            results[key].append(block[0])
    first_after = 20
    assert not np.allclose(results["moved"][first_after], results["fixed"][first_after])
    tail_moved = np.concatenate(results["moved"][-30:])
    tail_target = np.concatenate(results["target"][-30:])
    assert error_db(tail_moved, tail_target) < -60.0


def test_in_a_chain_with_other_effects() -> None:
    from pedalboard.chain import Chain

    chain = Chain([create_effect("gain", {"gain_db": -6.0}),
                   create_effect("circuit", {"netlist": "ts808", "oversample": "2"})])
    stereo = np.stack([pluck(0.3), pluck(0.3, 0.4)])
    out = chain.process(stereo, FS)
    assert out.shape == stereo.shape and out.dtype == np.float32
    assert np.all(np.isfinite(out))
    assert np.std(out[0]) > 0.01 and not np.allclose(out[0], out[1])
    alone = create_effect("circuit", {"netlist": "ts808", "oversample": "2"})
    np.testing.assert_allclose(out[1], alone.process(stereo[1] * 10 ** (-6 / 20), FS),
                               atol=1e-5)
