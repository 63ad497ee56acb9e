"""The generic circuit kernel compiled ahead of time, so no netlist waits for a compiler.

numba compiles :func:`pedalboard.circuit.solver.run_circuit` the first time
it runs: about 9 s of CPU in which a new netlist cannot play. numba's cache
keeps that machine code, but a cache is lost whenever numba, the sources or
the cache directory change. So the installer also compiles the generic
kernel *ahead of time* with ``numba.pycc`` into a plain CPython extension
module -- machine code for this CPU, the same LLVM pipeline, the same
options -- and every circuit model whose own generated kernel is not yet
compiled runs on it (:func:`load`). Importing it takes milliseconds and
needs no numba at all; its output is bit-identical to the JIT-compiled
kernel's (``tests/circuit/test_aot.py``), and its speed the same (measured
on the TS808 at 4x: 6.4x real time against 6.1x).

Two choices make it as fast as the JIT kernel (without them it ran 1.8x
slower): no NRT (``use_nrt=False``, like the JIT kernel's ``_nrt=False``: the
NRT makes every array passed to a helper an atomic reference-count
increment and decrement), and ``target_cpu="host"`` (the generic x86-64
target has no AVX).

The module's name carries a digest of everything its machine code depends
on (the kernel's sources, numba, numpy, Python, the CPU): after any change
the old file is simply not found and the JIT kernel serves until the
installer builds the new one (``python -m pedalboard.effects.warm``, which
calls :func:`build`). ``numba.pycc`` is deprecated upstream; while numba
still ships it this costs nothing, and when it goes :func:`build` reports
it and the JIT kernel serves (docs/circuits.md, "Start-up").
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import importlib.machinery
import importlib.util
import os
import platform
import sys
import tempfile
import threading
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["build", "compiled_dir", "generic_kernel", "load", "module_name"]

#: The environment variable that moves the compiled kernel's folder.
DIR_VARIABLE = "PEDAL_KERNEL_DIR"
#: The sources the generic kernel's machine code is compiled from.
SOURCES = ("solver.py", "devices.py", "../jit.py")
_LOCK = threading.Lock()
_LOADED: dict[str, Callable[..., None] | None] = {}


def compiled_dir() -> Path:
    """Where the compiled kernel lives: ``$PEDAL_KERNEL_DIR``, else beside
    this module (``pedalboard/circuit/_compiled``), installed with the package."""
    return Path(os.environ.get(DIR_VARIABLE) or Path(__file__).with_name("_compiled"))


def _cpu_name() -> str:
    """The CPU the machine code is built for (LLVM's name, as numba's own)."""
    try:
        import llvmlite.binding as llvm

        return str(llvm.get_host_cpu_name())
    except Exception:  # no llvmlite: nothing could have been built for it anyway
        return platform.machine()


@functools.cache
def _build_inputs() -> bytes:
    """The kernel's sources and the versions it is compiled with: read once
    per process (every model build asks for the module's name)."""
    from importlib.metadata import version

    here = Path(__file__).parent
    parts = [(here / name).read_bytes() for name in SOURCES]
    parts += [part.encode() for part in (version("numba"), np.__version__, sys.version)]
    return b"\0".join(parts)


def module_name() -> str:
    """``generic_kernel_<digest>``: the digest covers the kernel's sources and
    the versions and CPU the machine code is only valid for."""
    digest = hashlib.sha256(_build_inputs())
    digest.update(_cpu_name().encode())
    return f"generic_kernel_{digest.hexdigest()[:16]}"


def _module_file(directory: Path, name: str) -> Path:
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    return directory / f"{name}{suffix}"


def load(directory: Path | None = None) -> Callable[..., None] | None:
    """The ahead-of-time compiled ``run_circuit`` (same arguments as
    :func:`pedalboard.circuit.solver.run_circuit`), or None when it is not
    built for this installation. Imported once per process."""
    directory = directory or compiled_dir()
    name = module_name()
    key = f"{directory}/{name}"
    with _LOCK:
        if key not in _LOADED:
            _LOADED[key] = _import(_module_file(directory, name), name)
        return _LOADED[key]


def generic_kernel() -> Callable[..., None]:
    """The generic kernel a model runs: the ahead-of-time build when there is
    one, else numba's JIT-compiled :func:`pedalboard.circuit.solver.run_circuit`."""
    from pedalboard.circuit.solver import run_circuit

    return load() or run_circuit


def _import(path: Path, name: str) -> Callable[..., None] | None:
    if not path.exists():
        return None
    try:
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    except (ImportError, OSError):  # built for another ABI, truncated: not usable
        return None
    return module.run_circuit  # type: ignore[no-any-return]


def _signature() -> Any:
    """``void(...)`` in :func:`solver.run_circuit`'s parameter order: the
    argument types every circuit model passes (C-contiguous float64 and
    int64 arrays, one float, one int)."""
    import numba

    f1, f2 = numba.float64[::1], numba.float64[:, ::1]
    i1, i2 = numba.int64[::1], numba.int64[:, ::1]
    return numba.void(f1, f1, f2, f2, f2, i1, i1, f2, f2, i2, numba.float64, f1, f2, f2,
                      f2, f2, i2, f2, f1, f1, f1, i1, i1, numba.int64)


def build(directory: Path | None = None, force: bool = False) -> Path:
    """Compile the generic kernel into ``directory`` (default
    :func:`compiled_dir`) unless it is there already; returns the module's
    path. About 7 s of CPU and a C compiler (``gcc``) for numba's glue.
    The file appears atomically (built in a temporary folder, then renamed);
    two builders wait for each other on a lock file."""
    directory = directory or compiled_dir()
    directory.mkdir(parents=True, exist_ok=True)
    name = module_name()
    target = _module_file(directory, name)
    with open(directory / "build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if target.exists() and not force:
            return target
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pycc's deprecation notice
            from numba.pycc import CC

        from pedalboard.circuit.solver import run_circuit

        with tempfile.TemporaryDirectory(dir=directory) as work:
            cc = CC(name)
            cc.output_dir = work
            cc.use_nrt = False
            cc.target_cpu = "host"
            cc.verbose = False
            cc.export("run_circuit", _signature())(run_circuit.py_func)
            with _quiet() as log:
                try:
                    cc.compile()
                except Exception as error:  # no C compiler, pycc gone: say which
                    raise RuntimeError(f"compiling the generic circuit kernel ahead of "
                                       f"time failed: {error}\n{log()}") from None
            os.replace(_module_file(Path(work), name), target)
        for old in directory.glob("generic_kernel_*"):
            if old != target:
                with contextlib.suppress(OSError):
                    old.unlink()
    with _LOCK:
        _LOADED.pop(f"{directory}/{name}", None)
    return target


@contextlib.contextmanager
def _quiet() -> Iterator[Callable[[], str]]:
    """The C compiler's command lines go to a log, not the installer's
    screen; yields a function returning the log's last lines (for an error)."""
    sys.stdout.flush()
    saved = os.dup(1)
    with tempfile.TemporaryFile() as log:
        os.dup2(log.fileno(), 1)

        def tail() -> str:
            sys.stdout.flush()
            log.seek(0)
            return "\n".join(log.read().decode(errors="replace").splitlines()[-10:])

        try:
            yield tail
        finally:
            sys.stdout.flush()
            os.dup2(saved, 1)
            os.close(saved)
