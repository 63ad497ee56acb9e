"""Compile every effect's kernels into numba's cache: ``python -m pedalboard.effects.warm``.

numba compiles a kernel the first time it runs and keeps the machine code in
its cache (``NUMBA_CACHE_DIR``, set by the package). The installer runs this
once, so that neither the pedal's first start nor the first circuit put into a
live chain waits seconds for the compiler. With a warm cache it takes about a
second; each kernel whose source changed is compiled again.

Each netlist of the circuit library has a kernel of its own
(:mod:`pedalboard.circuit.codegen`; 3-13 s of compiling each on a cold
cache): they are compiled here too, so that picking any library circuit on
stage loads machine code from the cache instead. So is the generic circuit
kernel, which a netlist from outside the library runs on until its own has
been compiled in the background (:mod:`pedalboard.circuit.kernels`).
"""

from __future__ import annotations

import sys
import time


def warm_all(echo: bool = True) -> int:
    """Prepare and warm up every registered effect, mono and stereo; returns
    the number of effects that failed (their error is printed)."""
    from pedalboard.effects import create_effect, effect_names

    start = time.perf_counter()
    failures = warm_circuits()  # first: the circuit effect below finds them cached
    for name in effect_names():
        for channels in (1, 2):
            try:
                effect = create_effect(name)
                effect.prepare(48000, channels, 4096)
                effect.warm_up()
            except Exception as error:  # report every effect, stop at none
                failures += 1
                print(f"warm-up of {name} ({channels} ch) failed: {error}", file=sys.stderr)
    if echo:
        print(f"DSP kernels ready ({time.perf_counter() - start:.1f} s)")
    return failures


def warm_circuits() -> int:
    """Compile the generic circuit kernel (ahead of time, and into numba's
    cache as the fallback) and the generated kernel of every library netlist
    (one kernel serves every oversampling factor and control setting);
    returns the number that failed."""
    import numpy as np

    from pedalboard.circuit import aot, solver
    from pedalboard.circuit.library import circuits_dir, list_netlists
    from pedalboard.circuit.model import CircuitModel

    failures = 0
    try:
        aot.build()
    except Exception as error:  # not fatal: the JIT-compiled generic kernel serves instead
        print(f"warning: {error}\n(a new netlist will wait ~9 s for numba the first time)",
              file=sys.stderr)
    # the generic kernel's JIT build too: the fallback should the ahead-of-time one be missing
    jobs = [(list_netlists()[0], "generic", solver.run_circuit),
            *((name, "generated", None) for name in list_netlists())]
    for name, kind, kernel in jobs:
        try:
            model = CircuitModel.from_file(circuits_dir() / f"{name}.cir", oversample=1,
                                           kernel=kind)
            if kernel is not None:
                model._kernel = kernel
            model.process_block(np.zeros(4), np.zeros(4))
        except Exception as error:  # report every netlist, stop at none
            failures += 1
            print(f"warm-up of circuit {name} failed: {error}", file=sys.stderr)
    return failures


if __name__ == "__main__":
    sys.exit(1 if warm_all() else 0)
