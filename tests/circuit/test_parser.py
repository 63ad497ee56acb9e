"""The netlist parser: numbers, expressions, every card form, subcircuits,
includes, directives, and one clear message per kind of bad netlist."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from pedalboard.circuit.expressions import ExpressionError, evaluate, parse_number
from pedalboard.circuit.netlist import NetlistError, parse_netlist
from pedalboard.errors import PedalError


def write(folder: Path, text: str, name: str = "test.cir") -> Path:
    path = folder / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "value"),
    [("1", 1.0), ("4.7u", 4.7e-6), ("4.7uF", 4.7e-6), ("10kOhm", 1e4), ("2meg", 2e6),
     ("2MEG", 2e6), ("3m", 3e-3), ("1.5e-3", 1.5e-3), ("22n", 22e-9), ("100p", 1e-10),
     ("5f", 5e-15), ("1g", 1e9), ("2t", 2e12), (".5k", 500.0), ("-3.3", -3.3), ("9V", 9.0),
     ("1e3k", 1e6)],
)
def test_spice_numbers(text: str, value: float) -> None:
    assert parse_number(text) == pytest.approx(value, rel=1e-12)


@pytest.mark.parametrize("text", ["k10", "1..2", "", "abc", "-"])
def test_malformed_numbers_are_rejected(text: str) -> None:
    with pytest.raises(ExpressionError):
        parse_number(text)


@pytest.mark.parametrize(
    ("text", "value"),
    [("{2.2k+47k*(1-drive)}", 2200 + 47000 * 0.75), ("{-drive^2}", -0.0625),
     ("{2**3**2}", 512.0), ("{sqrt(16)+abs(-2)+max(1,3)+min(4,5)+pow(2,3)}", 4 + 2 + 3 + 4 + 8),
     ("{exp(0)+log(1)+log10(100)+sin(0)+cos(0)+tan(0)+atan(0)}", 4.0),
     ("{(1+2)*3/4}", 2.25), ("{drive*1meg}", 250000.0), ("{-(-drive)}", 0.25)],
)
def test_brace_expressions(text: str, value: float) -> None:
    assert evaluate(text, {"drive": 0.25}) == pytest.approx(value, rel=1e-12)


@pytest.mark.parametrize(
    ("text", "message"),
    [("{__import__('os')}", "unexpected character"), ("{nope+1}", "unknown parameter"),
     ("{foo(1)}", "unknown function"), ("{1/0}", "division by zero"), ("{(1+2}", "expected"),
     ("{1 2}", "unexpected"), ("{sqrt(-1)}", "undefined")],
)
def test_bad_expressions_say_why(text: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=message.replace("(", r"\(")):
        evaluate(text, {})


EVERY_CARD = """\
Every card form the compiler accepts
* a comment line
*@control drive min=0 max=1 default=0.25 taper=audio label="Drive level"
*@control tone min=100 max=10k default=1k taper=log
*@input_volts 0.5
*@output_volts 2
*@output OUT2
.PARAM drive=0.5 gain = 2 , half={drive/2}
.param tone=1k
.include parts.inc
vin IN 0 DC 0
Vcc vcc 0 9V
Vref ref 0 dc 4.5 ac 1
I1 vcc bias 1mA
R1 in a {2.2k+47k*(1-drive)} ; an inline comment
R2 a 0 r=10k $ another inline comment
C1 a b 4.7uF ic=0
L1 b c 100mH
+
Rb c 0 1k
D1 c 0 DMOD 2
Q1 col c em QN
Q2 col2 c em sub QP
Rsub sub 0 1meg
Rsub2 sub vcc 1meg
Rc col vcc 10k
Rc2 col2 0 10k
Re em 0 1k
J1 vcc g js JMOD
Rg g 0 1meg
Rjs js 0 1k
Rbias bias 0 10k
E1 op 0 a ref {gain*10}
Rop op 0 10k
X1 op out2 ref STAGE rload={tone}
.model DMOD D(IS=1e-14 N=1.5 RS=1 CJO=2p VJ=0.7 M=0.5)
.model QN NPN (IS=1e-15 BF=200 VAF=50
+ RB=10 RE=1 RC=2 CJE=5p CJC=2p)
.model QP PNP(IS=1e-15 BF=100)
.options reltol=1e-6
.tran 10u 1m
.control
run
this line is not SPICE and is skipped
.endc
.end
"""

PARTS = """\
* included part: two nested subcircuits with parameters
.subckt STAGE in out ref params: rload=1k
X1 in mid ref HALF r=2k
Rload mid out {rload}
Rout out 0 10k
.ends
.subckt half a b ref r=1k
Ra a b {r}
Rr b ref 100k
.ends STAGE
.model JMOD NJF(VTO=-2 BETA=1m LAMBDA=0.01 IS=1e-14)
"""


def test_every_card_form(tmp_path: Path) -> None:
    write(tmp_path, PARTS, "parts.inc")
    net = parse_netlist(write(tmp_path, EVERY_CARD))
    kinds = {e.name: e.kind for e in net.elements}
    assert kinds["vin"] == "v" and kinds["q2"] == "q" and kinds["j1"] == "j"
    assert kinds["e1"] == "e" and kinds["i1"] == "i" and kinds["l1"] == "l"
    assert net.output_node == "out2"
    assert net.input_volts == 0.5 and net.output_volts == 2.0
    drive, tone = net.controls
    assert (drive.name, drive.taper, drive.label, drive.default) == ("drive", "audio",
                                                                     "Drive level", 0.25)
    assert (tone.min, tone.max, tone.taper) == (100.0, 10000.0, "log")
    by_name = {e.name: e for e in net.elements}
    assert by_name["d1"].area == 2.0
    assert by_name["q2"].nodes == ("col2", "c", "em")  # substrate node dropped
    assert by_name["q1"].model.params["rb"] == 10.0  # +-continued, spaced "NPN ("
    # nested subcircuits flatten with hierarchical names and parameters
    assert by_name["x1.x1.ra"].nodes == ("op", "x1.mid")
    assert by_name["x1.rload"].nodes == ("x1.mid", "out2")
    values = dict(zip([e.name for e in net.elements], net.element_values(), strict=True))
    assert values["x1.x1.ra"] == 2000.0
    assert values["x1.rload"] == 1000.0
    assert values["r1"] == pytest.approx(2200 + 47000 * 0.5)
    assert values["r2"] == 10000.0
    assert values["c1"] == pytest.approx(4.7e-6)
    assert values["vcc"] == 9.0 and values["vref"] == 4.5 and values["i1"] == 1e-3
    assert values["e1"] == 20.0
    controlled = net.element_values({"drive": 1.0, "tone": 5000.0})
    changed = dict(zip([e.name for e in net.elements], controlled, strict=True))
    assert changed["r1"] == 2200.0 and changed["x1.rload"] == 5000.0
    assert net.dependent_elements() == {"r1": {"drive"}, "x1.rload": {"tone"}}


def bad(tmp_path: Path, body: str, *, title: str = "Bad netlist") -> str:
    text = f"{title}\nVin in 0 dc 0\nRin in out 1k\nRout out 0 1k\n{body}\n.end\n"
    with pytest.raises(NetlistError) as info:
        parse_netlist(write(tmp_path, text))
    assert isinstance(info.value, PedalError)
    return str(info.value)


def test_unknown_element_names_file_line_and_card(tmp_path: Path) -> None:
    message = bad(tmp_path, "M1 out in 0 0 NMOS")
    assert "test.cir:5:" in message and "unknown element 'M1'" in message
    assert "M1 out in 0 0 NMOS" in message


def test_missing_model(tmp_path: Path) -> None:
    message = bad(tmp_path, "D1 out 0 D1N4148")
    assert ":5:" in message and "missing model 'D1N4148'" in message


def test_unsupported_model_parameter(tmp_path: Path) -> None:
    message = bad(tmp_path, "D1 out 0 DX\n.model DX D(IS=1n IKF=0.1)")
    assert ":6:" in message and "unsupported model parameter IKF" in message


def test_floating_node_with_one_connection(tmp_path: Path) -> None:
    message = bad(tmp_path, "R9 out dangling 1k")
    assert ":5:" in message and "floating node 'dangling'" in message


def test_floating_node_without_dc_path(tmp_path: Path) -> None:
    message = bad(tmp_path, "C1 out mid 1u\nC2 mid 0 1u")
    assert "floating node 'mid'" in message and "no DC path" in message


def test_voltage_source_loop(tmp_path: Path) -> None:
    message = bad(tmp_path, "V1 a 0 dc 1\nV2 a 0 dc 2\nRa a 0 1k")
    assert ":6:" in message and "voltage-source loop" in message and "v2" in message


def test_control_that_names_no_param(tmp_path: Path) -> None:
    message = bad(tmp_path, "*@control gain min=0 max=1 default=0.5")
    assert ":5:" in message and "*@control 'gain' names no .param" in message


def test_malformed_number(tmp_path: Path) -> None:
    message = bad(tmp_path, "R9 out 0 1x2k")
    assert ":5:" in message and "malformed number" in message


def test_missing_vin(tmp_path: Path) -> None:
    path = write(tmp_path, "No input\nV1 in 0 dc 0\nR1 in out 1k\nR2 out 0 1k\n.end\n")
    with pytest.raises(NetlistError, match="missing input source"):
        parse_netlist(path)


def test_missing_output_node(tmp_path: Path) -> None:
    path = write(tmp_path, "No output\nVin in 0 dc 0\nR1 in a 1k\nR2 a 0 1k\n.end\n")
    with pytest.raises(NetlistError, match="missing output node 'out'"):
        parse_netlist(path)


def test_bad_expression_in_a_value(tmp_path: Path) -> None:
    message = bad(tmp_path, "R9 out 0 {1k*nothing}")
    assert ":5:" in message and "unknown parameter 'nothing'" in message


def test_transient_source_only_on_vin(tmp_path: Path) -> None:
    message = bad(tmp_path, "V1 x 0 sin(0 1 1k)\nRx x 0 1k")
    assert "only DC sources" in message


def test_unknown_subcircuit_and_port_count(tmp_path: Path) -> None:
    assert "unknown subcircuit 'nothing'" in bad(tmp_path, "X1 out 0 nothing")
    message = bad(tmp_path, ".subckt two a b\nR1 a b 1k\n.ends\nX1 out two")
    assert "has 2 ports, instance gives 1" in message


def test_missing_include(tmp_path: Path) -> None:
    assert "does not exist" in bad(tmp_path, ".include nothing.inc")


def test_missing_file() -> None:
    with pytest.raises(NetlistError, match="not found"):
        parse_netlist("/nonexistent/circuit.cir")


def test_control_default_outside_range(tmp_path: Path) -> None:
    message = bad(tmp_path, ".param g=1\n*@control g min=0 max=1 default=2")
    assert "min <= default <= max" in message


def test_library_netlists_parse() -> None:
    from pedalboard.circuit.library import list_netlists, resolve_netlist

    names = list_netlists()
    assert "fuzz_face_si" in names and "ts808" in names
    for name in names:
        net = parse_netlist(resolve_netlist(name))
        assert net.vin.nodes[1] == "0"
        assert all(math.isfinite(v) for v in net.element_values() if v is not None)


def test_resolve_unknown_name_lists_available() -> None:
    from pedalboard.circuit.library import resolve_netlist

    with pytest.raises(NetlistError, match=r"available: .*fuzz_face_si"):
        resolve_netlist("no_such_pedal")


def test_circuits_dir_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pedalboard.circuit.library import list_netlists, resolve_netlist

    write(tmp_path, "Mine\nVin in 0 dc 0\nR1 in out 1k\nR2 out 0 1k\n.end\n", "mine.cir")
    monkeypatch.setenv("PEDAL_CIRCUITS_DIR", str(tmp_path))
    assert list_netlists() == ["mine"]
    assert resolve_netlist("mine") == tmp_path / "mine.cir"
