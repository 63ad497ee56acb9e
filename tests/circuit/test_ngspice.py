"""The ngspice reference: rawfile reader, pipeline, convergence and errors."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from pedalboard.circuit.ngspice import (
    NgspiceError,
    operating_point,
    read_rawfile,
    run_batch,
    simulate_reference,
)
from pedalboard.circuit.verify import error_db, input_volts
from pedalboard.errors import PedalError

CIRCUITS_DIR = Path(__file__).resolve().parents[2] / "circuits"
SAMPLE_RATE = 48000.0

RC_LOWPASS = """RC low-pass, 1k and 100 nF (1.59 kHz)
Vin in 0 dc 0
R1 in out 1k
C1 out 0 100n
.end
"""


def test_rawfile_reader_gives_the_exact_rc_charging_curve(tmp_path: Path) -> None:
    """1 V through 1k into 1 uF from 0 V: v(t) = 1 - exp(-t / 1 ms) at ngspice's own points."""
    rawfile = tmp_path / "rc.raw"
    deck = "\n".join([
        "rc step", "V1 in 0 dc 1", "R1 in out 1k", "C1 out 0 1u",
        ".options reltol=1e-7 vntol=1e-12 abstol=1e-15",
        ".control", "set filetype=binary", "tran 10u 5m 0 10u uic",
        f"write {rawfile} v(out) v(in)", "quit", ".endc", ".end",
    ]) + "\n"
    raw = run_batch(deck, tmp_path, rawfile, "the RC step")
    t = raw["time"]
    assert raw.variables[0] == "time" and len(t) > 400
    assert 0.0 <= t[0] < 1e-6 and t[-1] == pytest.approx(5e-3)
    np.testing.assert_allclose(raw["v(in)"], 1.0, rtol=0, atol=1e-12)
    exact = 1.0 - np.exp(-t / 1e-3)
    # Trapezoidal steps of 10 us on a 1 ms time constant: error ~ (h/tau)^2/12.
    assert np.max(np.abs(raw["v(out)"] - exact)) < 2e-5
    # Binary, not 8-digit text: consecutive values differ in far more digits.
    assert len({f"{v:.12f}" for v in raw["v(out)"][1:50]}) == 49
    with pytest.raises(KeyError, match="v\\(nowhere\\)"):
        raw["v(nowhere)"]


def test_rawfile_that_is_not_binary_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "text.raw"
    path.write_text("Title: x\nValues:\n 0 0\n")
    with pytest.raises(NgspiceError, match="not a binary ngspice rawfile"):
        read_rawfile(path)


def test_reference_of_an_rc_lowpass_matches_its_transfer_function() -> None:
    """Amplitude and phase of a 2 kHz sine after the RC, against 1/(1 + j w R C):
    checks the filesource timing, the spline and the decimation all at once.

    The phase (timing) is exact to a few ns; the gain carries the passband
    ripple of resample_poly's default Kaiser filter, about 0.1 % per
    resampling, applied twice (up 32x, down 128x)."""
    frequency_hz, rc_s = 2000.0, 1e3 * 100e-9
    t = np.arange(int(0.02 * SAMPLE_RATE)) / SAMPLE_RATE
    x = 0.5 * np.sin(2 * np.pi * frequency_hz * t)
    y = simulate_reference(RC_LOWPASS, x, SAMPLE_RATE)
    settled = (t > 10 * rc_s + 0.002) & (t < t[-1] - 0.002)  # transient, resampler edges
    w = 2 * np.pi * frequency_hz * t[settled]
    basis = np.column_stack([np.sin(w), np.cos(w)])
    (a, b), *_ = np.linalg.lstsq(basis, y[settled], rcond=None)
    h = 1.0 / (1.0 + 1j * 2 * np.pi * frequency_hz * rc_s)
    assert math.hypot(a, b) == pytest.approx(0.5 * abs(h), rel=3e-3)
    assert math.atan2(b, a) == pytest.approx(np.angle(h), abs=2e-5)  # 1.6 ns at 2 kHz
    residual = y[settled] - basis @ (a, b)
    assert np.sqrt(np.mean(residual**2)) < 1e-4 * abs(h)  # a clean sine, nothing else


def test_reference_converges_on_the_diode_clipper() -> None:
    """16x and 32x input give the same answer to better than -78 dB (CIRCUITS.md)."""
    path = CIRCUITS_DIR / "diode_clipper_si.cir"
    volts = input_volts("hot", 0.1, SAMPLE_RATE)
    y16 = simulate_reference(path, volts, SAMPLE_RATE, oversample=16,
                             controls={"drive": 1.0})
    y32 = simulate_reference(path, volts, SAMPLE_RATE, oversample=32,
                             controls={"drive": 1.0})
    assert np.max(np.abs(y32)) > 0.3  # it does clip: the diodes conduct hard
    assert error_db(y16, y32) < -78.0


def test_controls_override_the_params() -> None:
    path = CIRCUITS_DIR / "diode_clipper_si.cir"
    volts = input_volts("guitar", 0.05, SAMPLE_RATE)
    low = simulate_reference(path, volts, SAMPLE_RATE, oversample=8, controls={"drive": 0.0})
    high = simulate_reference(path, volts, SAMPLE_RATE, oversample=8, controls={"drive": 1.0})
    # More drive, less series resistance, more signal at the diodes.
    assert np.std(high) > 2.0 * np.std(low)


def test_operating_point_of_a_divider_and_a_transistor() -> None:
    op = operating_point("divider\nVcc vcc 0 dc 9\nR1 vcc mid 10k\nR2 mid 0 20k\nVin in 0 dc 0\n"
                         "Rl in 0 1k\n.end\n")
    assert op["mid"] == pytest.approx(6.0, rel=1e-9)
    assert op["i(vcc)"] == pytest.approx(-9.0 / 30e3, rel=1e-9)  # SPICE: into the + node
    booster = operating_point(CIRCUITS_DIR / "bjt_booster.cir")
    # 430k/43k divider with the base current of a high-beta NPN, 390 ohm emitter.
    assert 0.6 < booster["b"] - booster["e"] < 0.7
    assert booster["c"] == pytest.approx(9.0 - 10e3 * booster["e"] / 390.0, rel=0.02)


def test_unknown_control_is_named() -> None:
    with pytest.raises(NgspiceError, match=r"diode_clipper_si\.cir: unknown control.*'gain'"):
        operating_point(CIRCUITS_DIR / "diode_clipper_si.cir", controls={"gain": 1.0})


def test_failing_simulation_raises_with_ngspice_last_lines(tmp_path: Path) -> None:
    """Two ideal sources in parallel at different voltages: no solution exists."""
    netlist = tmp_path / "impossible.cir"
    netlist.write_text("impossible\nVin in 0 dc 0\nV1 a 0 dc 1\nV2 a 0 dc 2\nR1 in out 1k\n"
                       "Rl out 0 1k\n.end\n")
    with pytest.raises(PedalError) as caught:
        simulate_reference(netlist, np.zeros(64), SAMPLE_RATE, oversample=2)
    message = str(caught.value)
    assert isinstance(caught.value, NgspiceError)
    assert message.startswith(f"{netlist}: ngspice failed the transient reference")
    assert "timestep too small" in message.lower()  # ngspice's own words


def test_missing_model_card_is_reported() -> None:
    with pytest.raises(NgspiceError, match="nosuch"):
        simulate_reference("no model\nVin in 0 dc 0\nR1 in out 1k\nD1 out 0 NOSUCH\n.end\n",
                           np.zeros(64), SAMPLE_RATE, oversample=2)


def test_netlist_without_input_source_is_refused() -> None:
    with pytest.raises(NgspiceError, match="Vin in 0 dc 0"):
        simulate_reference("no input\nV1 a 0 dc 1\nR1 a out 1k\n.end\n", np.zeros(64),
                           SAMPLE_RATE)


def test_missing_ngspice_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(NgspiceError, match="ngspice is not installed"):
        operating_point(RC_LOWPASS)


