"""A netlist whose generated kernel is not cached runs on the generic kernel at
once; its generated kernel is compiled by a background process, and the next
fresh process gets it (:mod:`pedalboard.circuit.kernels`).

Each test runs fresh interpreters on an empty temporary ``NUMBA_CACHE_DIR``
(numba reads it when first imported), so the generic kernel is compiled there
once too: tens of seconds per test on a loaded machine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
#: A player's own netlist: the library's diode clipper with other diodes (its own kernel).
NETLIST = (ROOT / "circuits" / "diode_clipper_si.cir").read_text()
COMPILE_TIMEOUT_S = 240.0

#: Builds the effect from argv[1], runs a clip, saves it to argv[2], prints
#: which kernel ran and whether its machine code came from numba's cache.
BUILD = """
import json, sys
import numpy as np
from pedalboard.effects.circuit import Circuit
effect = Circuit(sys.argv[1])
effect.prepare(48000, 1, 64)
t = np.arange(4800) / 48000.0
clip = (0.8 * np.sin(2 * np.pi * 220.0 * t)).astype(np.float32)
blocks = []
for i in range(0, clip.size, 64):
    block = clip[None, i:i + 64].copy()
    effect.process_inplace(block)
    blocks.append(block[0])
np.save(sys.argv[2], np.concatenate(blocks))
model = effect.model
kernel = model._kernel
hits = sum(kernel.stats.cache_hits.values()) if hasattr(kernel, "stats") else -1
from pedalboard.circuit import aot
print(json.dumps({"kernel": model.kernel,
                  "generic": model._kernel is aot.generic_kernel(),
                  "cache_hits": hits}))
"""

#: Starts the background compile of argv[1]'s kernel twice (the second
#: finds the first at it), then runs the compiling process twice more by
#: hand on the same job, at once.
RACE = """
import json, subprocess, sys
from pedalboard.circuit import kernels
from pedalboard.circuit.model import CircuitModel
model = CircuitModel.from_file(sys.argv[1], kernel="generic")
kernel = kernels.generated_kernel(model)
sig = kernels.signature(model)
first = kernels.compile_in_background(model, kernel, sig)
second = kernels.compile_in_background(model, kernel, sig)
job = kernels.source_path(kernel).with_suffix(".job")
racers = [subprocess.Popen([sys.executable, "-m", "pedalboard.circuit.kernels", str(job)])
          for _ in range(2)] if job.exists() else []
codes = [p.wait() for p in racers] + [first.wait()]
print(json.dumps({"second_started": second is not None, "codes": codes,
                  "cached": kernels.is_cached(kernel, sig)}))
"""


def run(script: str, cache: Path, *args: str) -> dict[str, object]:
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache))
    done = subprocess.run([sys.executable, "-c", script, *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=COMPILE_TIMEOUT_S)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def wait_for_compile(cache: Path) -> None:
    """Until the background process has written its ``.ready`` marker."""
    folder = cache / "circuit-kernels"
    deadline = time.monotonic() + COMPILE_TIMEOUT_S
    while not list(folder.glob("*.ready")):
        if time.monotonic() > deadline:
            logs = "\n".join(p.read_text() for p in folder.glob("*.log"))
            pytest.fail(f"no background compile finished: {logs}")
        time.sleep(0.2)
    # the marker is written last; the process may still be closing files
    while list(folder.glob("*.job")) and time.monotonic() < deadline:
        time.sleep(0.1)


def test_a_new_netlist_starts_generic_and_gets_its_kernel_next_time(tmp_path: Path) -> None:
    netlist = tmp_path / "my_clipper.cir"
    netlist.write_text(NETLIST.replace("IS=2.52n", "IS=3.1n"))
    cache = tmp_path / "numba"
    first = run(BUILD, cache, str(netlist), str(tmp_path / "first.npy"))
    assert first["kernel"] == "generic" and first["generic"]
    wait_for_compile(cache)
    second = run(BUILD, cache, str(netlist), str(tmp_path / "second.npy"))
    assert second["kernel"] == "generated" and not second["generic"]
    assert second["cache_hits"] == 1  # loaded, not compiled in the pedal's process
    a, b = np.load(tmp_path / "first.npy"), np.load(tmp_path / "second.npy")
    assert np.any(a != 0.0)
    np.testing.assert_array_equal(a, b)  # the two kernels are bit-identical


def test_concurrent_compiles_of_one_kernel_leave_a_valid_cache(tmp_path: Path) -> None:
    netlist = tmp_path / "my_clipper.cir"
    netlist.write_text(NETLIST.replace("IS=2.52n", "IS=4.4n"))
    cache = tmp_path / "numba"
    raced = run(RACE, cache, str(netlist))
    assert not raced["second_started"]
    assert raced["codes"] == [0] * len(raced["codes"])  # type: ignore[arg-type]
    assert raced["cached"]
    again = run(BUILD, cache, str(netlist), str(tmp_path / "out.npy"))
    assert again["kernel"] == "generated" and again["cache_hits"] == 1
