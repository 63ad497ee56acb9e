"""The compiler and kernel: linear circuits against their analytic transfer
functions, nonlinear ones and operating points against ngspice."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import signal

from pedalboard.circuit.model import CircuitModel
from pedalboard.circuit.ngspice import operating_point, simulate_reference
from pedalboard.circuit.oversampling import design
from pedalboard.circuit.verify import error_db

FS = 48000.0


def write(folder: Path, text: str, name: str = "circuit.cir") -> Path:
    path = folder / name
    path.write_text(text)
    return path


def bilinear_response(b_s: list[float], a_s: list[float], x: np.ndarray, rate: float
                      ) -> np.ndarray:
    """The trapezoidal rule applied to H(s) is the bilinear transform."""
    b, a = signal.bilinear(b_s, a_s, fs=rate)
    return signal.lfilter(b, a, x)


def test_rc_lowpass_is_the_bilinear_transform(tmp_path: Path, rng: np.random.Generator) -> None:
    r, c = 1e3, 100e-9
    path = write(tmp_path, f"RC\nVin in 0 dc 0\nR1 in out {r}\nC1 out 0 {c}\n.end\n")
    x = rng.standard_normal(4800)
    model = CircuitModel.from_file(path, oversample=1, sample_rate=FS)
    y = model.process_volts(x)
    expected = bilinear_response([1.0], [r * c, 1.0], x, FS)
    np.testing.assert_allclose(y, expected, atol=1e-10)


def test_rlc_bandpass_and_control(tmp_path: Path, rng: np.random.Generator) -> None:
    """Series R-L-C, output across R: H(s) = sRC / (s^2 LC + sRC + 1). The
    resistor follows a control, and moving it gives the new response."""
    l_h, c_f = 100e-3, 100e-9
    text = ("RLC\n*@control q min=10 max=1000 default=100\n.param q=100\nVin in 0 dc 0\n"
            f"L1 in a {l_h}\nC1 a out {c_f}\nR1 out 0 {{q}}\n.end\n")
    path = write(tmp_path, text)
    x = rng.standard_normal(4800)
    model = CircuitModel.from_file(path, oversample=1, sample_rate=FS)
    for ohms in (100.0, 1000.0):
        model.set_control("q", ohms)
        model.reset()
        y = model.process_volts(x)
        expected = bilinear_response([ohms * c_f, 0.0], [l_h * c_f, ohms * c_f, 1.0], x, FS)
        np.testing.assert_allclose(y, expected, atol=1e-9)


def test_oversampled_linear_circuit_keeps_time_alignment(tmp_path: Path) -> None:
    """With oversampling, the resampler's delay is removed exactly: a 1 kHz
    tone through an RC lowpass matches the analytic response (magnitude
    and phase) to the resampling filter's passband flatness."""
    r, c = 1e3, 10e-9
    path = write(tmp_path, f"RC\nVin in 0 dc 0\nR1 in out {r}\nC1 out 0 {c}\n.end\n")
    t = np.arange(9600) / FS
    x = np.sin(2 * np.pi * 1000 * t)
    model = CircuitModel.from_file(path, oversample=4, sample_rate=FS)
    assert model.latency == design(4, FS).latency > 0
    y = model.process_volts(x)
    h = 1.0 / (1.0 + 1j * 2 * np.pi * 1000 * r * c)
    expected = np.abs(h) * np.sin(2 * np.pi * 1000 * t + np.angle(h))
    steady = slice(2400, 9000)
    assert error_db(y[steady], expected[steady]) < -60.0


def test_process_volts_continues_state(tmp_path: Path, rng: np.random.Generator) -> None:
    path = write(tmp_path, "RC\nVin in 0 dc 0\nR1 in out 1k\nC1 out 0 1u\n.end\n")
    x = rng.standard_normal(2000)
    model = CircuitModel.from_file(path, oversample=1)
    whole = model.process_volts(x)
    model.reset()
    parts = np.concatenate([model.process_volts(x[:700]), model.process_volts(x[700:])])
    np.testing.assert_allclose(parts, whole, atol=1e-12)


def test_diode_clipper_against_ngspice() -> None:
    netlist = Path(__file__).resolve().parents[2] / "circuits" / "diode_clipper_si.cir"
    t = np.arange(2400) / FS
    volts = 1.0 * np.sin(2 * np.pi * 330 * t) * np.exp(-10 * t)
    reference = simulate_reference(netlist, volts, FS, controls={"drive": 1.0})
    model = CircuitModel.from_file(netlist, oversample=4, controls={"drive": 1.0})
    assert error_db(model.process_volts(volts), reference) < -70.0
    assert model.newton_failures == 0


BJT_STAGE = """\
Common-emitter stage with emitter degeneration and a PNP follower
Vin in 0 dc 0
Vcc vcc 0 dc 9
C1 in b 1u
R1 vcc b 100k
R2 b 0 22k
Q1 c b e QN
Rc vcc c 4.7k
Re e 0 1k
Q2 0 c f QP
Rf vcc f 2.2k
C2 f out 1u
Rl out 0 100k
.model QN NPN(IS=6.734f BF=416 BR=0.7371 VAF=74.03 RB=10 RC=1 CJE=4.5p CJC=3.6p)
.model QP PNP(IS=1e-14 BF=180 VAF=50 RE=0.5)
.options reltol=1e-9 vntol=1e-12 abstol=1e-15
.end
"""


def test_bjt_operating_point_against_ngspice(tmp_path: Path) -> None:
    path = write(tmp_path, BJT_STAGE)
    model = CircuitModel.from_file(path, oversample=1)
    reference = operating_point(path)
    for node, volts in model.operating_point.items():
        assert volts == pytest.approx(reference[node], abs=1e-6), node
    assert 0.5 < model.operating_point["e"] < 2.0  # a real bias point, not a trivial one


def test_biased_circuit_starts_at_rest(tmp_path: Path) -> None:
    """Silence in, the operating point out: no settling transient."""
    path = write(tmp_path, BJT_STAGE.replace("*@", "") + "")
    text = path.read_text().replace(".options", "*@output c\n.options")
    path.write_text(text)
    model = CircuitModel.from_file(path, oversample=4)
    y = model.process_volts(np.zeros(2000))
    # (the last `latency` samples finish the clip as resample_poly does: the
    # signal, DC included, ends there)
    np.testing.assert_allclose(y[: -model.latency], model.operating_point["c"], atol=1e-9)


def test_newton_failures_are_counted_and_output_stays_finite() -> None:
    netlist = Path(__file__).resolve().parents[2] / "circuits" / "fuzz_face_si.cir"
    model = CircuitModel.from_file(netlist, oversample=1)
    absurd = 1e4 * np.sin(np.arange(4800) / 3.0)  # 10 kV into a fuzz, sampled coarsely
    y = model.process_volts(absurd)
    assert model.newton_failures > 0
    assert np.all(np.isfinite(y))
    garbage = np.array([np.nan, np.inf, -np.inf, 0.1] * 100)
    assert np.all(np.isfinite(model.process_volts(garbage)))
    model.reset()
    assert model.newton_failures == 0


def test_jfet_and_ts808_operating_points_against_ngspice() -> None:
    root = Path(__file__).resolve().parents[2] / "circuits"
    for name in ("jfet_booster", "rat"):
        model = CircuitModel.from_file(root / f"{name}.cir", oversample=1)
        reference = operating_point(root / f"{name}.cir")
        for node, volts in model.operating_point.items():
            assert volts == pytest.approx(reference[node], abs=1e-4), (name, node)
