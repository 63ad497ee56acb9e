"""How every compiled kernel in the package is compiled.

All per-sample work runs in numba kernels. :func:`kernel` is ``numba.njit``
with the package's two fixed choices; a module adds only what is its own
(``fastmath``, ``error_model``, ``inline``)::

    from pedalboard.jit import kernel

    @kernel(fastmath=True)
    def convolve(...): ...

``cache=True``
    Machine code is kept in ``NUMBA_CACHE_DIR`` (set by :mod:`pedalboard`
    before numba loads), so the second start loads kernels in milliseconds
    instead of compiling them for seconds.

``nogil=False``
    The kernels keep the GIL while they run. That is the faster choice for
    the pedal, whose audio callback is a Python function calling a dozen
    kernels per block: a kernel that released the GIL would have to take it
    back on return, and with another Python thread busy (the controller
    applying a preset, a chain being built ahead) every return waits up to a
    switch interval. Measured on 60 preset switches with the virtual engine,
    each flag with its own warm cache, run twice in turn: the block that
    applies a switch took 0.90-1.26 of its period at p99 with
    ``nogil=False`` against 1.88-3.05 with ``nogil=True``, and the engine
    counted 1-5 xruns against 37-50 (docs/engine.md, "The GIL"). Nothing
    in the package runs kernels in parallel threads: offline batches use
    processes (:mod:`pedalboard.render`), the server and the stream
    encoder are processes of their own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numba

#: The options every kernel shares (see the module docstring for why).
KERNEL_OPTIONS: dict[str, Any] = {"cache": True, "nogil": False}


def kernel(**options: Any) -> Callable[[Callable[..., Any]], Any]:
    """``numba.njit`` with :data:`KERNEL_OPTIONS` and ``options`` on top."""
    return numba.njit(**KERNEL_OPTIONS, **options)
