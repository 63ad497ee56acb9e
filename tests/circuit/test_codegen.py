"""The kernel generated for each circuit computes what the generic one does.

:mod:`pedalboard.circuit.codegen` writes the generic kernel's algorithm out
for one circuit (literal sizes, literal device parameters, a straight path for
the usual active set); the generic :func:`pedalboard.circuit.solver.run_circuit`
is the reference. Held to -150 dB on every netlist of the library, at the
default and at both extreme settings, on a clean and a hot clip (the hot one
at full gain drives the op-amp circuits into their rail clamps, so the
general step the generated kernels hand over to is exercised too)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pedalboard.circuit import codegen
from pedalboard.circuit.model import CircuitModel
from pedalboard.circuit.netlist import NetlistError, parse_netlist
from pedalboard.circuit.verify import error_db, input_volts

CIRCUITS_DIR = Path(__file__).resolve().parents[2] / "circuits"
NAMES = sorted(p.stem for p in CIRCUITS_DIR.glob("*.cir"))
FS = 48000.0
SETTINGS = ("default", "maximum", "minimum")


def controls_for(name: str, setting: str) -> dict[str, float]:
    if setting == "default":
        return {}
    specs = parse_netlist(CIRCUITS_DIR / f"{name}.cir").controls
    return {c.name: c.max if setting == "maximum" else c.min for c in specs}


@pytest.mark.parametrize("name", NAMES)
def test_generated_kernel_matches_the_generic_one(name: str) -> None:
    path = CIRCUITS_DIR / f"{name}.cir"
    for setting in SETTINGS:
        controls = controls_for(name, setting)
        for clip in ("guitar", "hot"):
            volts = input_volts(clip, 0.05, FS)
            generated = CircuitModel.from_file(path, oversample=4, controls=controls,
                                               kernel="generated")
            generic = CircuitModel.from_file(path, oversample=4, controls=controls,
                                             kernel="generic")
            assert generated.kernel == "generated"
            out = generated.process_volts(volts)
            reference = generic.process_volts(volts)
            assert np.all(np.isfinite(out))
            assert error_db(out, reference) < -150.0, (setting, clip)
            assert generated.newton_failures == generic.newton_failures


@pytest.mark.parametrize("name", ["fuzz_face_si"])
def test_newton_failures_are_handled_alike(name: str) -> None:
    """10 kV into a circuit sampled coarsely: Newton diverges or runs out of
    iterations on some steps; both kernels count them and carry on alike."""
    absurd = 1e4 * np.sin(np.arange(2400) / 3.0)
    path = CIRCUITS_DIR / f"{name}.cir"
    generated = CircuitModel.from_file(path, oversample=1, kernel="generated")
    generic = CircuitModel.from_file(path, oversample=1, kernel="generic")
    out = generated.process_volts(absurd)
    reference = generic.process_volts(absurd)
    assert generic.newton_failures > 0
    assert generated.newton_failures == generic.newton_failures
    assert np.all(np.isfinite(out))
    assert error_db(out, reference) < -150.0


def test_a_control_move_reaches_the_generated_kernel() -> None:
    """Controls rewrite the matrices the kernel reads; nothing is recompiled."""
    path = CIRCUITS_DIR / "ts808.cir"
    volts = input_volts("guitar", 0.03, FS)
    generated = CircuitModel.from_file(path, oversample=2, kernel="generated")
    generic = CircuitModel.from_file(path, oversample=2, kernel="generic")
    kernel = generated._kernel
    for model in (generated, generic):
        model.set_control("drive", 1.0)
        model.set_control("tone", 0.1)
    assert generated._kernel is kernel
    assert error_db(generated.process_volts(volts), generic.process_volts(volts)) < -150.0


def test_the_source_is_cached_by_its_hash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Written once under the numba cache directory, named by its hash; the
    same circuit gets the same file and the same loaded kernel."""
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))
    model = CircuitModel.from_file(CIRCUITS_DIR / "diode_clipper_si.cir", kernel="generic")
    args = (model._codes, model._starts, model._rows, model._port_info,
            model._mats[1].shape[0] - 1)
    codegen._LOADED.clear()
    first = codegen.load_kernel(*args)
    files = list((tmp_path / "circuit-kernels").glob("circuit_*.py"))
    assert len(files) == 1
    assert files[0].read_text() == codegen.kernel_source(*args)
    assert codegen.load_kernel(*args) is first


def test_an_unknown_kernel_kind_is_an_error() -> None:
    with pytest.raises(NetlistError, match="kernel"):
        CircuitModel.from_file(CIRCUITS_DIR / "diode_clipper_si.cir", kernel="fast")
