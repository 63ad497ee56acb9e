"""Which kernel a circuit runs on, and its generated kernel compiled in the background.

A generated kernel (:mod:`pedalboard.circuit.codegen`) is ~1.3x faster than
the generic one but compiles per netlist: 3-13 s of CPU, holding the GIL.
The generic kernel (:func:`pedalboard.circuit.solver.run_circuit`) is one
for every circuit, compiled once per installation, ahead of time
(:mod:`pedalboard.circuit.aot`, by ``python -m pedalboard.effects.warm``).
``CircuitModel(..., kernel="auto")`` (the default) therefore takes the
generated kernel only when numba's cache already holds its machine code
(:func:`is_cached`); otherwise it runs on the generic kernel at once and
:func:`compile_in_background` starts

    python -m pedalboard.circuit.kernels JOBFILE

a separate, low-priority process that compiles the generated kernel into
numba's on-disk cache without touching the caller's GIL. The next model
built from the same circuit (the next preset load, the next render) gets the
fast kernel. The two kernels' outputs are bit-identical
(``tests/circuit/test_codegen.py``), so which one ran is a question of speed
only.

Files beside the generated source ``circuit_<hash>.py`` in
:func:`pedalboard.circuit.codegen.cache_dir`:

- ``circuit_<hash>.job``: the kernel's argument types, written by the
  caller (the compiling process imports the source the caller wrote, not a
  new one: the hash stays the caller's even while solver.py or devices.py
  change);
- ``circuit_<hash>.lock``: held (``flock``) by the process compiling it: a
  second process for the same kernel sees it and leaves;
- ``circuit_<hash>.ready``: written (atomically) when the compile finished.

Compiles of different kernels queue on ``compile.lock``, one at a time per
cache directory, so a run of new netlists does not start one compiler each.
numba writes its own cache files atomically (temporary name, then rename).

**Cached?** The marker file exists, and numba's cache index for the
generated function holds an entry for this signature on this machine (the
key numba itself looks up: signature, CPU, bytecode hash; the index is
discarded by numba when the source file's time stamp changed). Both are a
file read: well under a millisecond.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import os
import pickle
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numba
import numpy as np

from pedalboard.circuit import codegen

if TYPE_CHECKING:
    from pedalboard.circuit.model import CircuitModel

__all__ = ["compile_in_background", "generated_kernel", "is_cached", "pending", "settle",
           "wait_for"]

#: Niceness of the compiling process (added to the caller's).
NICENESS = 10
_LOCK = threading.Lock()
#: Compiles this process started, by kernel source path (reaped when done).
_STARTED: dict[Path, subprocess.Popen[bytes]] = {}


def generated_kernel(model: CircuitModel) -> Any:
    """The generated kernel (a numba dispatcher) for a model's circuit:
    its source written and imported, nothing compiled (milliseconds)."""
    return codegen.load_kernel(model._codes, model._starts, model._rows, model._port_info,
                               model._mats[1].shape[0] - 1)


def source_path(kernel: Any) -> Path:
    """The generated module's file: ``circuit_<hash>.py``."""
    return Path(sys.modules[kernel.py_func.__module__].__file__ or "")


def signature(model: CircuitModel) -> tuple[Any, ...]:
    """numba's argument types of ``model``'s kernel calls, read from a call of
    :meth:`CircuitModel.process_block` on a copy whose kernel records its
    arguments instead of running."""
    seen: list[tuple[Any, ...]] = []

    def record(*args: Any) -> None:
        seen.append(args)

    twin = model.copy()
    twin._kernel = record
    twin.process_block(np.zeros(0), np.zeros(0))
    return tuple(numba.typeof(a, numba.core.typing.typeof.Purpose.argument) for a in seen[0])


def _marker(path: Path, kind: str) -> Path:
    return path.with_suffix(f".{kind}")


def is_cached(kernel: Any, sig: tuple[Any, ...]) -> bool:
    """Whether numba's cache holds the machine code of ``kernel`` for ``sig``:
    its ``.ready`` marker exists and numba's index has the entry (see the
    module docstring). A cached kernel loads in milliseconds on first call."""
    try:
        cache = kernel._cache
        key = cache._index_key(sig, kernel.targetctx.codegen())
        return key in cache._cache_file._load_index()
    except AttributeError:  # numba's internals moved: trust the marker
        return _marker(source_path(kernel), "ready").exists()
    except Exception:  # an unreadable index is a miss
        return False


@contextlib.contextmanager
def _flock(path: Path, blocking: bool) -> Iterator[bool]:
    """Hold an exclusive ``flock`` on ``path``; yields False (and holds
    nothing) when not blocking and another process holds it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)  # releases the lock


def _write_atomically(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def pending(path: Path) -> bool:
    """Whether a process is compiling the kernel whose source is ``path``."""
    with _LOCK:
        for started, proc in list(_STARTED.items()):
            if proc.poll() is not None:  # finished: reaped
                del _STARTED[started]
        if path in _STARTED:
            return True
    with _flock(_marker(path, "lock"), blocking=False) as free:
        return not free


def compile_in_background(model: CircuitModel, kernel: Any,
                          sig: tuple[Any, ...]) -> subprocess.Popen[bytes] | None:
    """Start the process that compiles ``kernel`` for ``sig`` into numba's
    cache, unless one is already at it; returns it (None if not started).

    No ``preexec_fn`` (unsafe in a process with threads): the child lowers
    its own priority. It runs in its own session, so it finishes the compile
    even when the caller exits or is interrupted."""
    path = source_path(kernel)
    if pending(path):
        return None
    job = _marker(path, "job")
    _write_atomically(job, pickle.dumps({"source": str(path), "signature": sig}))
    # the same package as this process's, whatever the working directory holds
    root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [root, *filter(None, [os.environ.get("PYTHONPATH")])]))
    with open(_marker(path, "log"), "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "pedalboard.circuit.kernels", str(job)],
                                stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                start_new_session=True, env=env)
    with _LOCK:
        _STARTED[path] = proc
    # reaped when it ends, not at the next compile: no zombie for the pedal's lifetime
    threading.Thread(target=proc.wait, name="kernel-compile-reaper", daemon=True).start()
    return proc


def settle(model: CircuitModel, background: bool = True) -> Callable[..., None]:
    """The kernel an ``"auto"`` model runs: its generated kernel when that is
    cached, else the generic one (the generated kernel then compiled in the
    background if ``background``). Sets ``model.kernel`` to the kind chosen."""
    from pedalboard.circuit import aot

    kernel = generated_kernel(model)
    sig = signature(model)
    if is_cached(kernel, sig):
        model.kernel = "generated"
        return kernel
    model.kernel = "generic"
    if background:
        compile_in_background(model, kernel, sig)
    return aot.generic_kernel()


def wait_for(model: CircuitModel, timeout: float | None = None) -> bool:
    """Block until the background compile of ``model``'s generated kernel has
    finished (or ``timeout`` seconds passed); whether it is now cached."""
    kernel = generated_kernel(model)
    sig = signature(model)
    path = source_path(kernel)
    deadline = None if timeout is None else time.monotonic() + timeout
    while not is_cached(kernel, sig):
        if not pending(path):
            return is_cached(kernel, sig)
        if deadline is not None and time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def import_generated(path: Path) -> Any:
    """The ``run_circuit`` dispatcher of a generated source file, imported
    under the module name :func:`pedalboard.circuit.codegen.load_kernel`
    gives it (numba's cache files are named after the module)."""
    digest = path.stem.removeprefix("circuit_")
    name = f"pedalboard_circuit_kernel_{digest}"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name].run_circuit


def run_job(job: Path) -> int:
    """The compiling process: compile the job's kernel into numba's cache
    and write its ``.ready`` marker. Returns the exit status."""
    with contextlib.suppress(OSError):
        os.nice(NICENESS)
    data = pickle.loads(job.read_bytes())
    path = Path(data["source"])
    with _flock(_marker(path, "lock"), blocking=False) as mine:
        if not mine:
            return 0  # another process is compiling it
        with _flock(path.parent / "compile.lock", blocking=True):
            kernel = import_generated(path)
            sig = data["signature"]
            if not is_cached(kernel, sig):
                wall, cpu = time.perf_counter(), time.process_time()
                with codegen.vectorizing():
                    kernel.compile(sig)
                _write_atomically(_marker(path, "ready"), repr(sig).encode())
                print(f"{path.name}: compiled in {time.perf_counter() - wall:.1f} s "
                      f"({time.process_time() - cpu:.1f} s CPU)", flush=True)
    with contextlib.suppress(OSError):
        job.unlink()
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m pedalboard.circuit.kernels JOBFILE")
    sys.exit(run_job(Path(sys.argv[1])))
