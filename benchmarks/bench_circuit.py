"""Benchmark the compiled circuit models and write docs/circuit-benchmark.md.

    .venv/bin/python benchmarks/bench_circuit.py             # every netlist, ~3 minutes
    .venv/bin/python benchmarks/bench_circuit.py ts808 rat   # some (prints, writes nothing)

For every netlist in circuits/, at 1x, 2x and 4x oversampling:

- **effect**: the ``circuit`` effect as the engine runs it: mono, 64-frame
  float32 blocks through ``process_inplace`` at 48 kHz (input scaling, the
  model, output scaling and the DC blocker);
- **whole buffer**: ``CircuitModel.process_volts`` on the whole clip (the
  kernel alone, plus the resampler's tail), with the kernel generated for the
  circuit (the default) and, at 4x, with the generic kernel (the reference,
  measured in the same sitting: the before/after of per-circuit code);
- Newton solves per oversampled step (the kernel's own count).

Speed is seconds of audio per second of CPU time of the processing thread
("x real time on one core"), the best of ``REPEATS`` runs of a 0.5 s
guitar-like clip. CPU time, not wall-clock: the machine is shared, and
wall-clock time would also count the slices the scheduler gives to other
work. The contract's target is 20x at 4x.

**Start-up** (``--startup`` measures only this and rewrites only its section
of the doc): the time from a netlist name to an effect that has processed its
first block, in a fresh Python process each: *nothing compiled* (an empty
numba cache and no ahead-of-time kernel: the generic kernel is compiled in
the process); *cold* with an empty numba cache (the installer's
ahead-of-time generic kernel, :mod:`pedalboard.circuit.aot`; the circuit's
generated one compiled in the background: :mod:`pedalboard.circuit.kernels`);
*installed, new netlist*
with only the generic kernel cached (what the installer leaves for a netlist
from outside the library); *warm* once the background compile has finished.
The import of the package is timed apart. Targets: < 2 s cold, < 0.3 s warm.

No peer figure: Guitarix and ACME.jl (the two open-source DK-method
implementations to compare with) are not installed on this machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pedalboard  # noqa: E402,F401  (sets NUMBA_CACHE_DIR before numba loads)
from pedalboard.circuit import aot  # noqa: E402
from pedalboard.circuit.model import CircuitModel  # noqa: E402
from pedalboard.circuit.verify import input_volts  # noqa: E402
from pedalboard.effects.circuit import Circuit  # noqa: E402

DOC = ROOT / "docs" / "circuit-benchmark.md"
CIRCUITS_DIR = ROOT / "circuits"
SAMPLE_RATE = 48000
BLOCK = 64
CLIP_SECONDS = 0.5
REPEATS = 7
FACTORS = (1, 2, 4)
TARGET_X = 20.0
STARTUP_NETLISTS = ("diode_clipper_si", "ts808", "big_muff")
COLD_TARGET_S = 2.0
WARM_TARGET_S = 0.3

#: Runs in a fresh interpreter: prints the import and netlist-to-ready times.
STARTUP_PROBE = """
import json, sys, time
t0 = time.perf_counter()
import numpy as np
import pedalboard
from pedalboard.effects.circuit import Circuit
if sys.argv[2:] == ["running"]:  # a pedal already playing a chain of builtin effects
    from pedalboard.effects import create_effect
    for kind in ("overdrive", "compressor", "delay", "reverb"):
        fx = create_effect(kind)
        fx.prepare(48000, 1, 64)
        fx.process_inplace(np.zeros((1, 64), dtype=np.float32))
t1, c1 = time.perf_counter(), time.process_time()
effect = Circuit(sys.argv[1])
effect.prepare(48000, 1, 64)
effect.process_inplace(np.zeros((1, 64), dtype=np.float32))
t2, c2 = time.perf_counter(), time.process_time()
print(json.dumps({"import_s": t1 - t0, "ready_s": t2 - t1, "ready_cpu_s": c2 - c1,
                  "kernel": effect.model.kernel}))
"""

#: What the installer leaves for a netlist from outside the library: the
#: generic kernel and the effect's own kernels compiled, not the netlist's
#: generated kernel (the effect is held to the generic one here).
GENERIC_PROBE = """
import sys
import numpy as np
import pedalboard
from pedalboard.circuit import kernels, solver
from pedalboard.effects.circuit import Circuit
def generic(model, background=True):
    model.kernel = "generic"
    return solver.run_circuit
kernels.settle = generic
effect = Circuit(sys.argv[1])
effect.prepare(48000, 1, 64)
effect.process_inplace(np.zeros((1, 64), dtype=np.float32))
"""
COMPILE_TIMEOUT_S = 600.0


@dataclass
class Row:
    name: str
    ports: int
    states: int
    effect_x: dict[int, float]
    whole_x: dict[int, float]
    generic_x4: float
    solves_per_step: float


def best_speed(run: Callable[[], None], seconds: float) -> float:
    """Seconds of audio per second of this thread's CPU time, the best of REPEATS runs."""
    best = float("inf")
    for _ in range(REPEATS):
        start = time.thread_time()
        run()
        best = min(best, time.thread_time() - start)
    return seconds / best


def effect_speed(name: str, factor: int, clip: np.ndarray) -> float:
    effect = Circuit(name, oversample=str(factor))
    effect.prepare(SAMPLE_RATE, 1, BLOCK)
    assert effect.model.kernel == "generated", "measure() compiles it first"
    block = np.zeros((1, BLOCK), dtype=np.float32)
    blocks = clip.size // BLOCK

    def run() -> None:
        for i in range(blocks):
            block[0] = clip[i * BLOCK:(i + 1) * BLOCK]
            effect.process_inplace(block)

    run()  # loads the kernel, settles the glides
    return best_speed(run, blocks * BLOCK / SAMPLE_RATE)


def whole_buffer(name: str, factor: int, volts: np.ndarray,
                 kernel: str = "generated") -> tuple[float, float]:
    """(x real time, Newton solves per oversampled step) of process_volts."""
    model = CircuitModel.from_file(CIRCUITS_DIR / f"{name}.cir", oversample=factor,
                                   sample_rate=SAMPLE_RATE, kernel=kernel)
    model.process_volts(volts[:BLOCK])

    def run() -> None:
        model.reset()
        model.process_volts(volts)

    speed = best_speed(run, volts.size / SAMPLE_RATE)
    model.reset()
    model.process_block(volts, np.empty_like(volts))
    solves = float(model._state.stats[1]) / (volts.size * factor)
    return speed, solves


def measure(path: Path) -> Row:
    # compiled (or loaded) here, so the effect below finds it in the cache
    model = CircuitModel.from_file(path, sample_rate=SAMPLE_RATE, kernel="generated")
    model.process_block(np.zeros(4), np.zeros(4))
    volts = input_volts("guitar", CLIP_SECONDS, SAMPLE_RATE)
    # Full scale at the effect's input is the netlist's input_volts: the same
    # clip, as samples.
    clip = (volts / model.input_volts).astype(np.float32)
    effect_x: dict[int, float] = {}
    whole_x: dict[int, float] = {}
    solves = 0.0
    for factor in FACTORS:
        effect_x[factor] = effect_speed(path.stem, factor, clip)
        whole_x[factor], solves_now = whole_buffer(path.stem, factor, volts)
        if factor == 4:
            solves = solves_now
    generic_x4 = whole_buffer(path.stem, 4, volts, kernel="generic")[0]
    return Row(path.stem, model.system.num_ports, int(model.describe()["states"]), effect_x,
               whole_x, generic_x4, solves)


def _probe(script: str, cache: str, name: str, *extra: str,
           kernel_dir: str | None = None) -> dict[str, Any]:
    env = dict(os.environ, NUMBA_CACHE_DIR=cache)
    if kernel_dir is not None:  # somewhere else than the installed ahead-of-time kernel
        env["PEDAL_KERNEL_DIR"] = kernel_dir
    out = subprocess.run([sys.executable, "-c", script, name, *extra], env=env,
                         capture_output=True, text=True, check=True, cwd=ROOT)
    lines = out.stdout.strip().splitlines()
    return json.loads(lines[-1]) if lines else {}


def _background_compile(cache: str) -> tuple[float, float]:
    """Wait for the background compile in ``cache``; its (wall, CPU) seconds
    from the line its process logs."""
    folder = Path(cache) / "circuit-kernels"
    deadline = time.monotonic() + COMPILE_TIMEOUT_S
    while time.monotonic() < deadline:
        for log in folder.glob("*.log"):
            match = re.search(r"compiled in ([\d.]+) s \(([\d.]+) s CPU\)", log.read_text())
            if match:
                while list(folder.glob("*.job")) and time.monotonic() < deadline:
                    time.sleep(0.1)  # the process is closing
                return float(match[1]), float(match[2])
        time.sleep(0.2)
    raise RuntimeError(f"no background compile finished in {cache}")


def startup(name: str) -> dict[str, Any]:
    """Start-up of one netlist in fresh processes: cold (empty numba cache),
    installed (only the generic kernel cached), warm (after the background
    compile)."""
    path = str(CIRCUITS_DIR / f"{name}.cir")
    aot.build()  # as the installer leaves it
    with tempfile.TemporaryDirectory() as cache, tempfile.TemporaryDirectory() as empty:
        uncompiled = _probe(STARTUP_PROBE, cache, path, kernel_dir=empty)
        _background_compile(cache)  # not left running on the next measurement
    with tempfile.TemporaryDirectory() as cache:
        cold = _probe(STARTUP_PROBE, cache, path)
        compile_s, compile_cpu_s = _background_compile(cache)
        warm = _probe(STARTUP_PROBE, cache, path)
        running = _probe(STARTUP_PROBE, cache, path, "running")
    with tempfile.TemporaryDirectory() as cache:
        _probe(GENERIC_PROBE, cache, path)
        installed = _probe(STARTUP_PROBE, cache, path)
        _background_compile(cache)  # not left running on the next measurement
    return {"uncompiled_s": uncompiled["ready_s"], "uncompiled_kernel": uncompiled["kernel"],
            "cold_s": cold["ready_s"], "cold_cpu_s": cold["ready_cpu_s"],
            "cold_kernel": cold["kernel"], "installed_s": installed["ready_s"],
            "installed_cpu_s": installed["ready_cpu_s"], "installed_kernel": installed["kernel"],
            "compile_s": compile_s, "compile_cpu_s": compile_cpu_s,
            "warm_s": warm["ready_s"], "warm_cpu_s": warm["ready_cpu_s"],
            "warm_kernel": warm["kernel"], "import_s": warm["import_s"],
            "running_s": running["ready_s"], "running_cpu_s": running["ready_cpu_s"],
            "load": os.getloadavg()[0]}


def speed_table(rows: list[Row]) -> str:
    lines = ["| circuit | ports | states | effect 1x | effect 2x | effect 4x | "
             "whole buffer 4x | generic kernel, whole buffer 4x | "
             "Newton solves / step at 4x | 20x at 4x |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        share = int(100.0 * r.effect_x[4] / TARGET_X)  # floored: 99 % is not there yet
        meets = "yes" if r.effect_x[4] >= TARGET_X else f"no ({share} %)"
        lines.append(f"| {r.name} | {r.ports} | {r.states} | "
                     + " | ".join(f"{r.effect_x[f]:.1f}x" for f in FACTORS)
                     + f" | {r.whole_x[4]:.1f}x | {r.generic_x4:.1f}x | "
                     f"{r.solves_per_step:.2f} | {meets} |")
    return "\n".join(lines) + "\n"


def startup_table(results: dict[str, dict[str, Any]]) -> str:
    lines = ["| netlist | nothing compiled | cold (empty numba cache) | cold, CPU time | "
             "installed, new netlist | installed, CPU time | "
             "background compile (CPU) | warm | warm, CPU time | "
             "warm, pedal running | package import (warm) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, r in results.items():
        lines.append(f"| {name} | {r['uncompiled_s']:.2f} s ({r['uncompiled_kernel']}) | "
                     f"{r['cold_s']:.2f} s ({r['cold_kernel']}) | "
                     f"{r['cold_cpu_s']:.2f} s | "
                     f"{r['installed_s']:.2f} s ({r['installed_kernel']}) | "
                     f"{r['installed_cpu_s']:.2f} s | "
                     f"{r['compile_s']:.1f} s ({r['compile_cpu_s']:.1f} s) | "
                     f"{r['warm_s']:.2f} s ({r['warm_kernel']}) | {r['warm_cpu_s']:.2f} s | "
                     f"{r['running_s']:.3f} s ({r['running_cpu_s']:.3f} s) | "
                     f"{r['import_s']:.2f} s |")
    return "\n".join(lines) + "\n"


def startup_section(starts: dict[str, dict[str, Any]]) -> str:
    """The doc's start-up section, from its heading to the next one."""
    cold = max(r["cold_s"] for r in starts.values())
    uncompiled = max(r["uncompiled_s"] for r in starts.values())
    installed = max(r["installed_s"] for r in starts.values())
    warm = max(r["warm_s"] for r in starts.values())
    running = max(r["running_s"] for r in starts.values())
    load = max(r["load"] for r in starts.values())

    def verdict(seconds: float, target: float) -> str:
        return "meets" if seconds < target else "misses"

    return f"""## Start-up: netlist to a ready effect

From `Circuit(name)` to the end of its first processed block, in a fresh
process each, wall-clock (inflated when the machine is busy; CPU time is given
too); the kernel the effect got in parentheses. A circuit whose generated
kernel is not in numba's cache runs on the generic kernel at once, and its
generated kernel is compiled by a low-priority background process
(`pedalboard.circuit.kernels`) for the next time it is built; the two give
bit-identical output.

- *nothing compiled*: an empty numba cache and no ahead-of-time kernel (as
  when the installer could not build it): numba compiles the generic kernel
  in the process, ~9 s;
- *cold*: an empty numba cache (nothing JIT-compiled: numba's cache lost,
  numba upgraded), the generic kernel as the installer compiled it ahead of
  time into a CPython extension (`pedalboard.circuit.aot`), imported in
  milliseconds; the effect's small kernels (DC blocker, scaling) are still
  JIT-compiled in the process;
- *installed, new netlist*: only the generic kernel compiled, as the installer
  (`python -m pedalboard.effects.warm`) leaves it for a netlist from outside
  the library (it compiles the library's generated kernels too);
- *background compile*: the generated kernel's compile in its own process
  (wall-clock, then CPU), which never holds the pedal's GIL;
- *warm*: once that compile has finished (the generated kernel, loaded from
  the cache), in a fresh process: this includes numba's own set-up on the
  first function it loads in a process (its typing and target registries,
  the scan of installed packages for numba extensions: ~0.3 s, whatever the
  function);
- *warm, pedal running*: the same in a process that has already played a
  chain of builtin effects (overdrive, compressor, delay, reverb), as a pedal
  has when a netlist is loaded into it: the netlist's own cost (parse,
  compile to matrices, DC operating point, kernel load, first block),
  wall-clock (CPU).

Targets: < {COLD_TARGET_S:g} s cold, < {WARM_TARGET_S:g} s warm. Load average up to
{load:.1f} on the machine's {os.cpu_count()} cores during these runs.

{startup_table(starts)}
Worst: {cold:.2f} s cold ({verdict(cold, COLD_TARGET_S)} the {COLD_TARGET_S:g} s target;
{uncompiled:.2f} s with nothing compiled at all),
{installed:.2f} s for a new netlist on an installed pedal
({verdict(installed, COLD_TARGET_S)} the {COLD_TARGET_S:g} s target,
{verdict(installed, WARM_TARGET_S)} the {WARM_TARGET_S:g} s one),
{warm:.2f} s warm in a fresh process ({verdict(warm, WARM_TARGET_S)} the {WARM_TARGET_S:g} s target),
{running:.3f} s warm into a running pedal ({verdict(running, WARM_TARGET_S)} it).

"""


def rewrite_startup_section(starts: dict[str, dict[str, Any]]) -> None:
    """Replace only the start-up section of the doc (the rest stays)."""
    text = DOC.read_text()
    start = text.index("## Start-up")
    end = text.index("\n## ", start + 1) + 1
    DOC.write_text(text[:start] + startup_section(starts) + text[end:])


def write_doc(rows: list[Row], starts: dict[str, dict[str, Any]]) -> None:
    meeting = [r.name for r in rows if r.effect_x[4] >= TARGET_X]
    text = f"""# Circuit models: speed

Written by `benchmarks/bench_circuit.py` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}
({platform.machine()}, {os.cpu_count()} cores shared with other work, Python
{platform.python_version()}). Times real time = seconds of audio per second of
CPU time of the processing thread (one core), the best of {REPEATS} runs of a
{CLIP_SECONDS:g} s guitar-like clip. CPU time rather than wall-clock because the
machine is shared: wall-clock would count other work's time slices too (a
loaded run still costs some speed through shared caches, so the figures are
conservative).

## Speed of every netlist

*effect*: the `circuit` effect as the engine calls it (mono, {BLOCK}-frame
float32 blocks, `process_inplace`, 48 kHz). *whole buffer*: `process_volts`
on the whole clip. Both run the kernel generated for the circuit
(`pedalboard.circuit.codegen`); *generic kernel* is the same whole-buffer run
on the one kernel shared by every circuit (the reference), measured in the
same sitting. The contract asks for {TARGET_X:g}x at 4x; the last column
gives the share of it reached when it is not met.

{speed_table(rows)}
At 4x, {len(meeting)} of {len(rows)} netlists meet {TARGET_X:g}x real time:
{', '.join(meeting) or 'none'}.

{startup_section(starts)}## Peers

No peer figure: Guitarix (its DK-method circuit plugins) and ACME.jl are not
installed on this machine, and there is no network to fetch them.
"""
    DOC.write_text(text)


# --------------------------------------------------------- pot change to audio
POT_SECTION = "## Pot change to audio"
POT_REPEATS = 21
BLOCK_MS = 1000.0 * BLOCK / SAMPLE_RATE


@dataclass
class PotRow:
    name: str
    control: str
    before_ms: float  # set_param, every matrix set through the full discretize
    after_ms: float  # set_param as it runs now
    first_ms: float  # one matrix set: the glide's first step is published after it
    blocks: int  # blocks processed after set_param until the output differs


def median_cpu_ms(run: Callable[[], None]) -> float:
    """Median CPU time of this thread per call, in ms, over POT_REPEATS calls."""
    times = []
    for _ in range(POT_REPEATS):
        start = time.thread_time()
        run()
        times.append(time.thread_time() - start)
    return 1000.0 * float(np.median(times))


def pot_change(name: str) -> PotRow:
    """``set_param`` on the circuit's first control (the effect at 4x, running
    in 64-frame blocks), then the blocks until the output moves."""
    from pedalboard.circuit.netlist import parse_netlist
    from pedalboard.circuit.variable import VariableParts

    volts = input_volts("guitar", 0.25, SAMPLE_RATE)
    netlist = parse_netlist(CIRCUITS_DIR / f"{name}.cir")
    clip = (volts / netlist.input_volts).astype(np.float32)
    spec = netlist.controls[0]
    low = spec.min + 0.25 * (spec.max - spec.min)
    high = spec.min + 0.75 * (spec.max - spec.min)

    def running() -> Circuit:
        effect = Circuit(name)
        effect.prepare(SAMPLE_RATE, 1, BLOCK)
        return effect

    effect = running()
    block = clip[np.newaxis, :BLOCK].copy()
    effect.process_inplace(block)
    flip = iter(np.resize([low, high], 4 * POT_REPEATS + 2).tolist())
    model = effect.model
    parts: VariableParts | None = model._variable
    after = median_cpu_ms(lambda: effect.set_param(spec.name, next(flip)))
    values = model.control_values
    first = median_cpu_ms(lambda: model.matrices_for(values))
    model._variable = None  # the full path, as before the fast one existed
    before = median_cpu_ms(lambda: effect.set_param(spec.name, next(flip)))
    model._variable = parts

    moved, fixed = running(), running()
    far = spec.max if spec.default < 0.5 * (spec.min + spec.max) else spec.min
    blocks, count = 0, clip.size // BLOCK
    for index in range(count):
        if index == count // 4:
            moved.set_param(spec.name, far)
        a = clip[np.newaxis, index * BLOCK:(index + 1) * BLOCK].copy()
        b = a.copy()
        moved.process_inplace(a)
        fixed.process_inplace(b)
        if index >= count // 4 and not np.array_equal(a, b):
            blocks = index - count // 4 + 1
            break
    return PotRow(name, spec.name, before, after, first, blocks)


def pot_section(rows: list[PotRow]) -> str:
    from pedalboard.effects.circuit import GLIDE_STEPS

    lines = ["| circuit | control | `set_param` before (full path) | `set_param` now | "
             "first glide step ready | blocks until the output moves |",
             "|---|---|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r.name} | {r.control} | {r.before_ms:.2f} ms | {r.after_ms:.2f} ms | "
                     f"{r.first_ms:.3f} ms | {r.blocks} |")
    worst = max(rows, key=lambda r: r.after_ms)
    worst_first = max(r.first_ms for r in rows)
    blocks = max(r.blocks for r in rows)
    return f"""{POT_SECTION}

Moving a circuit's knob: `Circuit.set_param` on each netlist's first control,
the effect at 4x in {BLOCK}-frame blocks at 48 kHz (a block lasts
{BLOCK_MS:.2f} ms). It runs on the caller's thread (the controller) and
computes the {GLIDE_STEPS} matrix sets of the 20 ms glide; the audio thread copies
the nearest one in at its next block. *before*: every set through the full
`discretize` (the whole netlist re-stamped and solved); *now*: only the
elements the controls move are stamped onto the fixed part
(`pedalboard.circuit.variable`), the same solve. Median CPU time of the
calling thread over {POT_REPEATS} calls, both measured in the same sitting.
*first glide step ready*: one matrix set, after which the first step is
published. *blocks until the output moves*: {BLOCK}-frame blocks processed
after the call until the output differs from a run without it (1 = the very
next block).

{chr(10).join(lines)}

Worst: {worst.after_ms:.2f} ms for the whole `set_param` ({worst.name}), the
first step ready within {worst_first:.3f} ms, so a knob moved is heard in the
next block {'on every circuit' if blocks == 1 else f'(up to {blocks} blocks)'}:
{'under' if worst_first < BLOCK_MS else 'over'} one block ({BLOCK_MS:.2f} ms) from the call to the audio.

"""


def pot_rows(names: list[str] | None = None) -> list[PotRow]:
    paths = sorted(CIRCUITS_DIR.glob("*.cir"))
    return [pot_change(p.stem) for p in paths if names is None or p.stem in names]


def rewrite_pot_section(rows: list[PotRow]) -> None:
    """Replace (or add, before the peers) only the pot-change section of the doc."""
    text = DOC.read_text()
    if POT_SECTION in text:
        start = text.index(POT_SECTION)
        end = text.find("\n## ", start + 1)
        end = len(text) if end < 0 else end + 1
    else:
        start = end = text.index("## Peers") if "## Peers" in text else len(text)
    DOC.write_text(text[:start] + pot_section(rows) + text[end:])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="netlists to measure (default: all)")
    parser.add_argument("--pot", action="store_true",
                        help="measure a pot change to audio only and rewrite only its "
                        "section of the doc (with names: print only)")
    parser.add_argument("--startup", action="store_true",
                        help="measure start-up only and rewrite only its section of the doc")
    args = parser.parse_args()
    if args.pot:
        pots = pot_rows(args.names or None)
        print(pot_section(pots))
        if not args.names:
            rewrite_pot_section(pots)
            print(f"wrote the pot-change section of {DOC.relative_to(ROOT)}")
        return 0
    if args.startup:
        starts = {name: startup(name) for name in STARTUP_NETLISTS}
        print(startup_table(starts))
        rewrite_startup_section(starts)
        print(f"wrote the start-up section of {DOC.relative_to(ROOT)}")
        return 0
    paths = sorted(CIRCUITS_DIR.glob("*.cir"))
    if args.names:
        paths = [p for p in paths if p.stem in args.names]
    rows: list[Row] = []
    starts: dict[str, dict[str, Any]] = {}
    columns = (TextColumn("{task.description:<24}"), BarColumn(),
               TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn())
    with Progress(*columns) as progress:
        task = progress.add_task("circuits", total=len(paths))
        for path in paths:
            progress.update(task, description=path.stem)
            rows.append(measure(path))
            progress.advance(task)
        if not args.names:
            task = progress.add_task("start-up", total=len(STARTUP_NETLISTS))
            for name in STARTUP_NETLISTS:
                progress.update(task, description=f"start-up {name}")
                starts[name] = startup(name)
                progress.advance(task)
    print(speed_table(rows))
    if args.names:
        return 0
    print(startup_table(starts))
    write_doc(rows, starts)
    rewrite_pot_section(pot_rows())
    print(f"wrote {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
