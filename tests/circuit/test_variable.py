"""The fast path for control changes (:mod:`pedalboard.circuit.variable`)
against the full ``discretize``: every library netlist at random settings,
every kind of element a control can move, the fall-back, the compiled
expressions, and the effect hearing a knob in the next block."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from pedalboard.circuit.compiler import CircuitSystem, discretize
from pedalboard.circuit.expressions import ExpressionError, compile_expression, evaluate
from pedalboard.circuit.model import CircuitModel
from pedalboard.circuit.netlist import NetlistError, parse_netlist
from pedalboard.circuit.variable import VariableParts, follows_controls
from pedalboard.effects import create_effect

CIRCUITS = sorted((Path(__file__).resolve().parents[2] / "circuits").glob("*.cir"))
RATE = 4 * 48000.0
#: Agreement with the full path, relative to each DK matrix's largest entry.
#: Both paths solve the same matrix, assembled with a few additions in another
#: order; most netlists agree bit for bit, the op-amp circuits to ~1e-11 in
#: entries the trapezoidal read-out forms by cancellation (``2C/T`` times a
#: difference of node voltages), where the full path itself is no closer than
#: that to the exact solution.
RTOL = 3e-11
MATRICES = ("A", "B", "b", "C", "D", "E", "e", "F", "G", "H h", "K")


def assert_same(full: tuple[np.ndarray, ...], fast: tuple[np.ndarray, ...], where: str) -> None:
    for name, a, b in zip(MATRICES, full, fast, strict=True):
        assert a.shape == b.shape, f"{where}: {name} shape"
        scale = float(np.max(np.abs(a), initial=0.0))
        worst = float(np.max(np.abs(a - b), initial=0.0))
        assert worst <= RTOL * scale, f"{where}: {name} differs by {worst:.3g} of {scale:.3g}"


def settings(netlist_controls: list, rng: np.random.Generator, count: int) -> list[dict]:
    """Random settings, a third of the values at either end of their range."""
    out = []
    for _ in range(count):
        out.append({c.name: float(rng.choice([c.min, c.max, rng.uniform(c.min, c.max)]))
                    for c in netlist_controls})
    return out


@pytest.mark.parametrize("path", CIRCUITS, ids=[p.stem for p in CIRCUITS])
def test_equal_to_the_full_path_on_every_netlist(path: Path) -> None:
    netlist = parse_netlist(path)
    system = CircuitSystem(netlist)
    parts = VariableParts(system, RATE)
    rng = np.random.default_rng(sum(path.stem.encode()))
    for setting in settings(netlist.controls, rng, 25):
        fast = parts.matrices(setting)
        assert fast is not None, f"{path.stem}: fell back at {setting}"
        assert_same(discretize(system, setting, RATE)[0].arrays(), fast.arrays(),
                    f"{path.stem} at {setting}")


@pytest.mark.parametrize("path", CIRCUITS, ids=[p.stem for p in CIRCUITS])
def test_the_variable_elements_are_the_ones_controls_move(path: Path) -> None:
    netlist = parse_netlist(path)
    names = {c.name for c in netlist.controls}
    parts = VariableParts(CircuitSystem(netlist), RATE)
    moved = set(netlist.dependent_elements())
    assert {v.element.name for v in parts.variables} == moved
    assert {e.name for e in netlist.elements if follows_controls(e, names)} == moved


EVERY_KIND = """\
Every element kind on a control, some through a subcircuit parameter
*@control a min=0 max=1 default=0.5
*@control b min=0 max=1 default=0.3
.param a=0.5 b=0.3 base=1k
.param scaled={base*(1+a)}
Vin in 0 dc 0
R1 in n1 {scaled}
C1 n1 0 {10n+90n*b}
L1 n1 n2 {1m+9m*a}
R2 n2 0 2k
E1 n3 0 n2 0 {1+4*b}
R3 n3 n4 1k
X1 n4 out STAGE g={10k*(1-a)+100}
Vb bias 0 dc {1+b}
Rb bias n4 100k
Ib n2 0 dc {1u*a}
D1 out 0 DM
.subckt STAGE x y params: g=1k
Rs x y {g}
Cs y 0 {1n*g/1k}
Rl y 0 47k
.ends
.model DM D(IS=1e-14 N=1.8 CJO=2p)
.end
"""


def test_every_kind_a_control_can_move(tmp_path: Path) -> None:
    """Resistors, capacitors, an inductor, a VCVS gain, a voltage and a current
    source, and elements inside a subcircuit through its parameter."""
    path = tmp_path / "every.cir"
    path.write_text(EVERY_KIND)
    netlist = parse_netlist(path)
    system = CircuitSystem(netlist)
    parts = VariableParts(system, RATE)
    kinds = sorted(v.element.kind for v in parts.variables)
    assert kinds == sorted("rrclevi" + "c")  # R1, x1.rs, C1, x1.cs, L1, E1, Vb, Ib
    rng = np.random.default_rng(5)
    for setting in settings(netlist.controls, rng, 30):
        fast = parts.matrices(setting)
        assert fast is not None
        assert_same(discretize(system, setting, RATE)[0].arrays(), fast.arrays(), str(setting))


def test_what_the_fast_path_does_not_cover_takes_the_full_path(tmp_path: Path) -> None:
    """An inductance a control drives to zero: the fast path declines and the
    model reports the error the full path always gave."""
    path = tmp_path / "coil.cir"
    path.write_text("Coil on a pot\n*@control t min=0 max=1 default=0.5\n.param t=0.5\n"
                    "Vin in 0 dc 0\nR1 in out 1k\nL1 out 0 {1m*t}\n.end\n")
    model = CircuitModel.from_file(path, oversample=1)
    assert model._variable is not None
    assert model._variable.matrices({"t": 0.0}) is None
    with pytest.raises(NetlistError, match="inductance must be positive"):
        model.set_control("t", 0.0)
    model.set_control("t", 0.25)  # and back on the fast path
    full = discretize(model.system, {"t": 0.25}, model.oversample * model.sample_rate)[0]
    assert_same(full.arrays(), model._variable.matrices({"t": 0.25}).arrays(), "t=0.25")


def test_a_netlist_without_controls(tmp_path: Path) -> None:
    path = tmp_path / "rc.cir"
    path.write_text("RC\nVin in 0 dc 0\nR1 in out 1k\nC1 out 0 100n\n.end\n")
    system = CircuitSystem(parse_netlist(path))
    parts = VariableParts(system, RATE)
    assert parts.variables == []
    fast = parts.matrices({})
    assert fast is not None
    assert_same(discretize(system, {}, RATE)[0].arrays(), fast.arrays(), "rc")


@pytest.mark.parametrize("text", [
    "{2.2k+47k*(1-drive)}", "{100k*drive+10}", "'1/(drive+0.1)'", "-drive^2*3",
    "2^-drive", "max(drive, 0.2)*min(1, 2*drive)+sqrt(drive+1)", "pi*drive-(1-drive)/3",
    "{exp(drive)/log10(10+drive) + abs(-drive) ** 1.5}", "4.7u*drive", "drive*2/3*5-1+2-3",
])
def test_compiled_expressions_give_the_evaluators_bits(text: str) -> None:
    compiled = compile_expression(text)
    for drive in (0.0, 0.1, 0.37, 0.5, 1.0, 1e-9):
        params = {"drive": drive}
        assert compiled(params) == evaluate(text, params)


def test_compiled_expressions_fail_as_the_evaluator_does() -> None:
    divide = compile_expression("{1/drive}")
    with pytest.raises(ExpressionError, match="division by zero"):
        divide({"drive": 0.0})
    with pytest.raises(ExpressionError, match="unknown parameter"):
        compile_expression("{tone*2}")({"drive": 1.0})
    with pytest.raises(ExpressionError, match="not finite"):
        compile_expression("{1e308*drive}")({"drive": 10.0})
    with pytest.raises(ExpressionError, match="undefined"):
        compile_expression("{exp(drive)}")({"drive": 1000.0})
    with pytest.raises(ExpressionError, match="unknown function"):
        compile_expression("{frob(1)}")
    assert compile_expression("{pi}")({}) == math.pi


@pytest.mark.parametrize("name", ["ts808", "fuzz_face_si", "big_muff"])
def test_a_knob_is_heard_in_the_next_block(name: str) -> None:
    """64-frame blocks: the block right after ``set_param`` already differs
    from a run without the change."""
    spec = parse_netlist(next(p for p in CIRCUITS if p.stem == name)).controls[0]
    t = np.arange(64 * 40) / 48000.0
    x = (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    effects = []
    for _ in range(2):
        effect = create_effect("circuit", {"netlist": name})
        effect.prepare(48000, 1, 64)
        effect.reset()
        effects.append(effect)
    moved = effects[0]
    target = spec.max if spec.default < 0.5 * (spec.min + spec.max) else spec.min
    for index in range(40):
        if index == 20:
            moved.set_param(spec.name, target)
        blocks = []
        for effect in effects:
            block = x[np.newaxis, index * 64:(index + 1) * 64].copy()
            effect.process_inplace(block)
            blocks.append(block[0])
        if index < 20:
            assert np.array_equal(blocks[0], blocks[1])
        elif index == 20:
            assert not np.array_equal(blocks[0], blocks[1])
            break
