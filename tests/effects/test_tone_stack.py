"""The TMB tone stack against Yeh & Smith's H(s), and H(s) against ngspice.

The bilinear transform maps the analog response at ``2 fs tan(pi f / fs)``
exactly onto digital frequency ``f``, so the effect's measured response must
equal H(s) there. H(s) itself is checked against an ngspice AC analysis of
the circuit, so a wrong coefficient in the formula cannot hide.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from pedalboard.effects.registry import create_effect

SR = 48000
FREQS = np.array([30.0, 60.0, 100.0, 200.0, 400.0, 700.0, 1000.0, 2000.0, 4000.0, 8000.0,
                  15000.0])

# (R1 treble, R2 bass, R3 mid, R4, C1, C2, C3)
PARTS = {
    "fender": (250e3, 1e6, 25e3, 56e3, 250e-12, 20e-9, 20e-9),
    "marshall": (220e3, 1e6, 22e3, 33e3, 470e-12, 22e-9, 22e-9),
}
KNOBS = [(0.5, 0.5, 0.5), (0.0, 0.0, 0.0), (1.0, 1.0, 1.0), (0.8, 0.2, 0.6), (0.1, 1.0, 0.3)]


def bass_fraction(knob: float) -> float:
    """Audio-taper pot: 10 % of the track at half travel."""
    return (10 ** (2 * knob) - 1) / 99


def yeh_response(model: str, bass: float, mid: float, treble: float,
                 s: np.ndarray) -> np.ndarray:
    """H(s) of the TMB stack, D. Yeh & J. O. Smith, DAFx 2006, eq. (1)-(2)."""
    R1, R2, R3, R4, C1, C2, C3 = PARTS[model]
    t, m, l = treble, mid, bass_fraction(bass)
    b1 = t * C1 * R1 + m * C3 * R3 + l * (C1 * R2 + C2 * R2) + (C1 * R3 + C2 * R3)
    b2 = (t * (C1 * C2 * R1 * R4 + C1 * C3 * R1 * R4)
          - m**2 * (C1 * C3 * R3**2 + C2 * C3 * R3**2)
          + m * (C1 * C3 * R1 * R3 + C1 * C3 * R3**2 + C2 * C3 * R3**2)
          + l * (C1 * C2 * R1 * R2 + C1 * C2 * R2 * R4 + C1 * C3 * R2 * R4)
          + l * m * (C1 * C3 * R2 * R3 + C2 * C3 * R2 * R3)
          + (C1 * C2 * R1 * R3 + C1 * C2 * R3 * R4 + C1 * C3 * R3 * R4))
    b3 = (l * m * (C1 * C2 * C3 * R1 * R2 * R3 + C1 * C2 * C3 * R2 * R3 * R4)
          - m**2 * (C1 * C2 * C3 * R1 * R3**2 + C1 * C2 * C3 * R3**2 * R4)
          + m * (C1 * C2 * C3 * R1 * R3**2 + C1 * C2 * C3 * R3**2 * R4)
          + t * C1 * C2 * C3 * R1 * R3 * R4 - t * m * C1 * C2 * C3 * R1 * R3 * R4
          + t * l * C1 * C2 * C3 * R1 * R2 * R4)
    a1 = ((C1 * R1 + C1 * R3 + C2 * R3 + C2 * R4 + C3 * R4) + m * C3 * R3
          + l * (C1 * R2 + C2 * R2))
    a2 = (m * (C1 * C3 * R1 * R3 - C2 * C3 * R3 * R4 + C1 * C3 * R3**2 + C2 * C3 * R3**2)
          + l * m * (C1 * C3 * R2 * R3 + C2 * C3 * R2 * R3)
          - m**2 * (C1 * C3 * R3**2 + C2 * C3 * R3**2)
          + l * (C1 * C2 * R2 * R4 + C1 * C2 * R1 * R2 + C1 * C3 * R2 * R4 + C2 * C3 * R2 * R4)
          + (C1 * C2 * R1 * R4 + C1 * C3 * R1 * R4 + C1 * C2 * R3 * R4 + C1 * C2 * R1 * R3
             + C1 * C3 * R3 * R4 + C2 * C3 * R3 * R4))
    a3 = (l * m * (C1 * C2 * C3 * R1 * R2 * R3 + C1 * C2 * C3 * R2 * R3 * R4)
          - m**2 * (C1 * C2 * C3 * R1 * R3**2 + C1 * C2 * C3 * R3**2 * R4)
          + m * (C1 * C2 * C3 * R3**2 * R4 + C1 * C2 * C3 * R1 * R3**2
                 - C1 * C2 * C3 * R1 * R3 * R4)
          + l * C1 * C2 * C3 * R1 * R2 * R4 + C1 * C2 * C3 * R1 * R3 * R4)
    return (b1 * s + b2 * s**2 + b3 * s**3) / (1 + a1 * s + a2 * s**2 + a3 * s**3)


def expected_db(model: str, knobs: tuple[float, float, float], freqs: np.ndarray) -> np.ndarray:
    warped = 2j * SR * np.tan(np.pi * freqs / SR)
    return 20 * np.log10(np.abs(yeh_response(model, *knobs, warped)))


def measured_db(model: str, knobs: tuple[float, float, float], freqs: np.ndarray,
                frames: int = 1 << 16) -> np.ndarray:
    bass, mid, treble = knobs
    fx = create_effect("tone_stack", {"model": model, "bass": bass, "mid": mid,
                                      "treble": treble})
    impulse = np.zeros(frames)
    impulse[0] = 1.0
    h = fx.process(impulse, SR).astype(np.float64)
    n = np.arange(frames)
    spectrum = np.array([np.sum(h * np.exp(-2j * np.pi * f * n / SR)) for f in freqs])
    return 20 * np.log10(np.abs(spectrum))


@pytest.mark.parametrize("model", ["fender", "marshall"])
@pytest.mark.parametrize("knobs", KNOBS)
def test_response_matches_yeh_smith_at_prewarped_frequency(
    model: str, knobs: tuple[float, float, float]
) -> None:
    measured = measured_db(model, knobs, FREQS)
    expected = expected_db(model, knobs, FREQS)
    assert np.max(np.abs(measured - expected)) <= 0.1


def _ngspice_ac(model: str, knobs: tuple[float, float, float], workdir: Path) -> tuple:
    """AC analysis of the TMB circuit in ngspice: (frequencies, complex v(out))."""
    R1, R2, R3, R4, C1, C2, C3 = PARTS[model]
    bass, mid, treble = knobs
    l = bass_fraction(bass)

    def r(value: float) -> float:  # a pot turned fully one way is a short
        return max(value, 1e-3)

    data = workdir / f"{model}.txt"
    netlist = f"""TMB tone stack
Vin in 0 dc 0 ac 1
C1 in top {C1}
R1a top out {r((1 - treble) * R1)}
R1b out bot {r(treble * R1)}
R4 in mid {R4}
C2 mid bot {C2}
C3 mid wiper {C3}
R2 bot midtop {r(l * R2)}
R3a midtop wiper {r((1 - mid) * R3)}
R3b wiper 0 {r(mid * R3)}
.control
ac dec 10 20 20k
wrdata {data} v(out)
quit
.endc
.end
"""
    path = workdir / f"{model}.cir"
    path.write_text(netlist)
    subprocess.run(["ngspice", "-b", str(path)], check=True, capture_output=True, timeout=60)
    table = np.loadtxt(data)
    return table[:, 0], table[:, 1] + 1j * table[:, 2]


@pytest.mark.parametrize("model", ["fender", "marshall"])
def test_yeh_smith_formula_matches_ngspice(model: str, tmp_path: Path) -> None:
    for knobs in KNOBS:
        freqs, v_out = _ngspice_ac(model, knobs, tmp_path)
        formula = yeh_response(model, *knobs, 2j * np.pi * freqs)
        error = np.abs(20 * np.log10(np.abs(v_out)) - 20 * np.log10(np.abs(formula)))
        assert error.max() < 0.01, f"{model} {knobs}"


def test_fender_mid_scoop_with_all_knobs_on_five() -> None:
    freqs = np.geomspace(100.0, 5000.0, 200)
    response = measured_db("fender", (0.5, 0.5, 0.5), freqs)
    deepest = freqs[np.argmin(response)]
    # The notch of the bridged T: in the lower mids, well below both ends.
    assert 400.0 <= deepest <= 900.0
    assert response.min() < response[0] - 5 and response.min() < response[-1] - 5


@pytest.mark.parametrize("model", ["fender", "marshall"])
def test_passive_stack_never_exceeds_0_db(model: str) -> None:
    freqs = np.geomspace(20.0, 20000.0, 60)
    for bass in (0.0, 0.5, 1.0):
        for mid in (0.0, 0.5, 1.0):
            for treble in (0.0, 0.5, 1.0):
                response = measured_db(model, (bass, mid, treble), freqs, frames=1 << 15)
                assert response.max() <= 0.01, f"{model} bass={bass} mid={mid} treble={treble}"


def test_knobs_do_what_they_say() -> None:
    """Each knob, from 0 to 10 with the others on 5, lifts its own band most:
    bass at 100 Hz, mid at 650 Hz, treble at 5 kHz."""
    freqs = np.array([100.0, 650.0, 5000.0])
    for band, knob in enumerate(((1, 0.5, 0.5), (0.5, 1, 0.5), (0.5, 0.5, 1))):
        low = measured_db("fender", tuple(0.0 if k == 1 else k for k in knob), freqs)
        high = measured_db("fender", knob, freqs)
        lift = high - low
        assert lift[band] > 6.0
        assert np.argmax(lift) == band


def test_knob_glide_is_smooth() -> None:
    """Turning the treble while a note plays keeps the output continuous."""
    fx = create_effect("tone_stack", {"treble": 0.0})
    fx.prepare(SR, 1, 64)
    tone = (0.5 * np.sin(2 * np.pi * 2000.0 * np.arange(SR) / SR)).astype(np.float32)
    out = np.empty_like(tone)
    for start in range(0, tone.size, 64):
        if start == 64 * 200:
            fx.treble = 1.0
        work = tone[np.newaxis, start:start + 64].copy()
        fx.process_inplace(work)
        out[start:start + 64] = work[0]
    level_db = 10 * np.log10(np.mean(out[6048:].astype(float).reshape(-1, 96) ** 2, axis=1))
    assert np.diff(level_db).min() > -0.05  # rises steadily, never dips back
    final = expected_db("fender", (0.5, 0.5, 1.0), np.array([2000.0]))[0] + 20 * np.log10(0.5)
    assert level_db[-20:] + 3.0103 == pytest.approx(np.full(20, final), abs=0.1)


# ---------------------------------------------------------------- Baxandall
# r1, r2, bass pot, c1, c2, c3, c4, treble pot, r4 (see BaxandallParts)
BAX = (10e3, 10e3, 100e3, 47e-9, 47e-9, 10e-9, 10e-9, 100e3, 2.2e3)
BAX_KNOBS = [(0.5, 0.5), (1.0, 0.5), (0.0, 1.0), (0.3, 0.8), (1.0, 0.0), (0.0, 0.0)]


def baxandall_nodal(bass: float, treble: float, s: np.ndarray) -> np.ndarray:
    """|H| of the Baxandall by nodal analysis at each s (ideal op-amp: the
    summing node g is held at 0 V and its KCL fixes the output)."""
    r1, r2, pot_b, c1, c2, c3, c4, pot_t, r4 = BAX
    ra, rb = max((1 - bass) * pot_b, 1e-3), max(bass * pot_b, 1e-3)
    rc, rd = max((1 - treble) * pot_t, 1e-3), max(treble * pot_t, 1e-3)
    nodes = ["a", "b", "c", "d", "v", "out"]  # unknowns; "in" = 1 V, "g" = 0 V
    kcl = ["a", "b", "c", "d", "v", "g"]
    result = []
    for sk in np.atleast_1d(s):
        branches = [("in", "a", 1 / r1), ("a", "g", 1 / ra + sk * c1),
                    ("g", "b", 1 / rb + sk * c2), ("b", "out", 1 / r2),
                    ("in", "c", sk * c3), ("c", "v", 1 / rc), ("v", "d", 1 / rd),
                    ("d", "out", sk * c4), ("v", "g", 1 / r4)]
        matrix = np.zeros((6, 6), dtype=complex)
        rhs = np.zeros(6, dtype=complex)
        for p, q, y in branches:
            for here, there in ((p, q), (q, p)):
                if here not in kcl:
                    continue
                row = kcl.index(here)
                if here in nodes:
                    matrix[row, nodes.index(here)] += y
                if there in nodes:
                    matrix[row, nodes.index(there)] -= y
                elif there == "in":
                    rhs[row] += y
        result.append(np.linalg.solve(matrix, rhs)[-1])
    return np.array(result)


def test_baxandall_nodal_analysis_matches_ngspice(tmp_path: Path) -> None:
    r1, r2, pot_b, c1, c2, c3, c4, pot_t, r4 = BAX
    for bass, treble in BAX_KNOBS:
        def r(value: float) -> float:
            return max(value, 1e-3)

        data = tmp_path / "bax.txt"
        netlist = f"""Baxandall
Vin in 0 dc 0 ac 1
R1 in a {r1}
Ra a g {r((1 - bass) * pot_b)}
C1 a g {c1}
Rb g b {r(bass * pot_b)}
C2 g b {c2}
R2 b out {r2}
C3 in c {c3}
Rc c v {r((1 - treble) * pot_t)}
Rd v d {r(treble * pot_t)}
C4 d out {c4}
R4 v g {r4}
E1 out 0 0 g 1e8
.control
ac dec 10 20 20k
wrdata {data} v(out)
quit
.endc
.end
"""
        path = tmp_path / "bax.cir"
        path.write_text(netlist)
        subprocess.run(["ngspice", "-b", str(path)], check=True, capture_output=True,
                       timeout=60)
        table = np.loadtxt(data)
        spice = np.abs(table[:, 1] + 1j * table[:, 2])
        nodal = np.abs(baxandall_nodal(bass, treble, 2j * np.pi * table[:, 0]))
        assert np.max(np.abs(20 * np.log10(spice / nodal))) < 0.01, (bass, treble)


@pytest.mark.parametrize("knobs", BAX_KNOBS)
def test_baxandall_response_matches_circuit(knobs: tuple[float, float]) -> None:
    bass, treble = knobs
    fx = create_effect("tone_stack", {"model": "baxandall", "bass": bass, "treble": treble,
                                      "mid": 0.9})
    impulse = np.zeros(1 << 16)
    impulse[0] = 1.0
    h = fx.process(impulse, SR).astype(np.float64)
    n = np.arange(h.size)
    measured = 20 * np.log10(np.abs([np.sum(h * np.exp(-2j * np.pi * f * n / SR))
                                     for f in FREQS]))
    expected = 20 * np.log10(np.abs(baxandall_nodal(bass, treble,
                                                    2j * SR * np.tan(np.pi * FREQS / SR))))
    assert np.max(np.abs(measured - expected)) <= 0.1


def test_baxandall_is_flat_at_noon_and_boosts_as_much_as_it_cuts() -> None:
    s = 2j * np.pi * FREQS
    assert np.max(np.abs(20 * np.log10(np.abs(baxandall_nodal(0.5, 0.5, s))))) < 0.01
    boost = 20 * np.log10(np.abs(baxandall_nodal(0.9, 0.8, s)))
    cut = 20 * np.log10(np.abs(baxandall_nodal(0.1, 0.2, s)))
    np.testing.assert_allclose(boost, -cut, atol=0.01)
    full = 20 * np.log10(np.abs(baxandall_nodal(1.0, 1.0, s)))
    assert full[0] > 15 and full[-1] > 12  # about +17 dB at 30 Hz, +14 dB at 15 kHz
    assert np.min(full) > -0.5  # both knobs up: a smile, no dip below flat
