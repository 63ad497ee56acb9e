"""The generic kernel compiled ahead of time is the JIT kernel, without the wait.

A netlist whose own kernel is not compiled yet runs on the installer's
ahead-of-time build of the generic kernel (:mod:`pedalboard.circuit.aot`):
in a fresh process with an empty numba cache it must be the kernel the model
got, numba must never have compiled the generic kernel there, and its output
must equal the JIT-compiled kernel's sample for sample."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pedalboard.circuit import aot, kernels, solver
from pedalboard.circuit.model import CircuitModel
from pedalboard.circuit.verify import input_volts

CIRCUITS_DIR = Path(__file__).resolve().parents[2] / "circuits"
NAMES = sorted(p.stem for p in CIRCUITS_DIR.glob("*.cir"))

FRESH_PROCESS = """
import json, sys, time
import numpy as np
from pedalboard.circuit import solver
from pedalboard.circuit.model import CircuitModel
start = time.perf_counter()
model = CircuitModel.from_file(sys.argv[1], oversample=4, kernel="generic")
out = model.process_volts(np.load(sys.argv[2]))
ready_s = time.perf_counter() - start
np.save(sys.argv[3], out)
print(json.dumps({"kernel_is_jit": hasattr(model._kernel, "py_func"),
                  "jit_compiled": len(solver.run_circuit.signatures), "ready_s": ready_s}))
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("kernels")
    aot.build(directory)
    return directory


@pytest.mark.parametrize("name", NAMES)
def test_every_circuit_calls_the_kernel_with_the_compiled_argument_types(name: str) -> None:
    model = CircuitModel.from_file(CIRCUITS_DIR / f"{name}.cir", oversample=2, kernel="generic")
    assert aot._signature().args == kernels.signature(model)


def test_a_fresh_process_runs_the_compiled_kernel_and_hears_what_the_jit_one_gives(
        built: Path, tmp_path: Path) -> None:
    netlist = CIRCUITS_DIR / "fuzz_face_si.cir"
    clip = input_volts("hot", 0.1, 48000.0)
    np.save(tmp_path / "in.npy", clip)
    env = dict(os.environ, PEDAL_KERNEL_DIR=str(built), NUMBA_CACHE_DIR=str(tmp_path / "numba"))
    done = subprocess.run([sys.executable, "-c", FRESH_PROCESS, str(netlist),
                           str(tmp_path / "in.npy"), str(tmp_path / "out.npy")],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert not report["kernel_is_jit"]
    assert report["jit_compiled"] == 0  # numba never compiled the generic kernel
    reference = CircuitModel.from_file(netlist, oversample=4, kernel="generic")
    reference._kernel = solver.run_circuit
    expected = reference.process_volts(clip)
    got = np.load(tmp_path / "out.npy")
    assert np.max(np.abs(expected)) > 0.1  # a fuzz driven hard, not silence
    np.testing.assert_array_equal(got, expected)


def test_a_build_for_other_sources_or_another_cpu_is_not_loaded(
        built: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert aot.load(built) is not None
    monkeypatch.setattr(aot, "_cpu_name", lambda: "some-other-cpu")
    assert aot.load(built) is None  # its name no longer matches: the JIT kernel serves


def test_a_damaged_module_file_is_not_used(tmp_path: Path) -> None:
    name = aot.module_name()
    aot._module_file(tmp_path, name).write_bytes(b"\x7fELF truncated")
    assert aot.load(tmp_path) is None


def test_a_failed_build_says_why_and_leaves_no_file(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CC", "/nonexistent/cc")  # no C compiler for numba's glue
    with pytest.raises(RuntimeError, match="generic circuit kernel ahead of time failed"):
        aot.build(tmp_path)
    assert not list(tmp_path.glob("generic_kernel_*"))
