"""A numba kernel written for one compiled circuit.

:func:`pedalboard.circuit.solver.run_circuit` runs every circuit with the same
machine code: loops whose trip counts (ports, states, devices) are read from
the arrays, a device loop that dispatches on each device's type code and reads
its model parameters from a table, index tables for the Jacobian's device
blocks. This module writes the same algorithm out for one circuit as Python
source, in which all of that is known:

- the sizes are literal: every loop (the DK matrix-vector products ``Wp``
  and ``Ws``, the residual, the k x k LU with its partial pivoting, the
  guesses) has a constant trip count, which LLVM unrolls where it pays;
- the active set of the usual step is known (see below), so the Jacobian is
  built column by column from the devices' blocks with direct indices (no
  ``port_int`` or ``marks[ACTIVE]`` look-ups);
- each device is its model function inlined (``devices.INLINE_MODELS``)
  with its model card's values as literal constants (no type dispatch, no
  parameter table, no call);
- the products with ``Wp`` and ``Ws`` are taken a column at a time into
  local accumulators, and a Newton system of up to
  :data:`UNROLLED_SOLVE_PORTS` ports is assembled, factorised and solved in
  local variables (:func:`_unrolled_solve`), which LLVM keeps in registers.

Measured (docs/circuit-findings.md): 1.2-1.45x the generic kernel's speed;
nothing on the RAT and the DS-1, whose rail clamps conduct on most steps (the
general step below).
Written out fully as straight-line code instead (every product and the LU
unrolled in the source, per-step values in local variables) it was ~15 %
faster again on the Fuzz Face, but numba's front end is superlinear in the
size of a function: 35 s to compile the TS808 and 110 s the Big Muff. With
literal-bound loops the front end sees the generic kernel's size.

The matrices themselves stay arrays the kernel reads: a control move still
rewrites them in place, off the audio thread, and the kernel is not
recompiled. A generated kernel reads ``Wp`` and ``Ws`` transposed (the
model keeps both layouts, :meth:`CircuitModel.kernel_matrices`), so that the
column-at-a-time products load contiguous memory, and it is compiled with
LLVM's SLP vectorizer (:func:`vectorizing`), which numba leaves off by
default.

**One path is written out: the usual one.** Ports that can freeze (charge-free
rail-clamp diodes, last in port order; see :mod:`pedalboard.circuit.solver`)
are assumed frozen, so the Newton system is the non-freezable prefix of the
ports. When a step's guess has a clamp conducting, or the solution thaws one,
the kernel hands that step to
:func:`pedalboard.circuit.solver.solve_step_general` (the generic code, one
call) and carries on. Every operation is the generic kernel's, in the same
order (the same floating-point sums), so the two agree to rounding: the
generic kernel is the reference (``tests/circuit/test_codegen.py``).

**Caching.** The source goes into ``$NUMBA_CACHE_DIR/circuit-kernels/`` under
a name made from a hash of its text (which includes a fingerprint of this
module, the solver and the device models, so that a change to any of them
writes a new file); it is imported from there and compiled with
``njit(cache=True)``, so numba's cache keeps its machine code between runs:
the second start of the same circuit loads it in milliseconds.
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.util
import math
import os
import string
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from pedalboard.circuit import solver
from pedalboard.circuit.devices import (
    BJT,
    D_DEP,
    D_INV_NVT,
    DEP_WIDTH,
    DIODE,
    J_INV_NVT,
    JFET,
    PARAMS_PER_DEVICE,
    Q_DEP_C,
    Q_DEP_E,
    Q_INV_BF,
    Q_INV_BR,
    Q_INV_NF,
    Q_INV_NR,
)

__all__ = ["cache_dir", "kernel_source", "load_kernel", "vectorizing"]

_LOCK = threading.Lock()
_LOADED: dict[str, Callable[..., None]] = {}
#: Ports of each device type.
WIDTH = {DIODE: 1, BJT: 2, JFET: 2}


@functools.cache
def _fingerprint() -> str:
    """Hash of the sources a generated kernel depends on: numba's cache of
    the generated module does not notice a change in a function it calls."""
    h = hashlib.sha256()
    here = Path(__file__).resolve().parent
    for name in ("codegen.py", "solver.py", "devices.py"):
        h.update((here / name).read_bytes())
    h.update((here.parent / "jit.py").read_bytes())  # the options every kernel shares
    return h.hexdigest()[:16]


def lit(value: float) -> str:
    """A float as Python source that reads back to the same double."""
    value = float(value)
    if math.isnan(value):
        return "math.nan"
    if math.isinf(value):
        return "math.inf" if value > 0 else "(-math.inf)"
    return repr(value)


def _block(lines: list[str], depth: int) -> str:
    """Lines of source indented ``depth`` levels (four spaces each)."""
    pad = "    " * depth
    return "\n".join(pad + line for line in lines) if lines else pad + "pass"


def _device_lines(code: int, start: int, p: list[float], anchored: bool) -> list[str]:
    """Port currents, charges, capacitances and Jacobian block of one device
    at the port voltages ``vec[V]``: the generic ``eval_device`` with the
    model card's values as literals; ``anchored``: with the junctions'
    depletion anchors (``eval_device_anchored``, the Newton loop's), whose
    model functions are inlined (``devices.INLINE_MODELS``); without, the
    failure path's, rare, whose functions are called (``called.``), which
    keeps the compile shorter."""
    call = "" if anchored else "called."
    a, b = start, start + 1
    V, CUR, Q, CQ, HQ = solver.V, solver.CUR, solver.Q, solver.CQ, solver.HQ

    def depletion_call(port: int, charge: str, first: int) -> str:
        constants = p[first:first + DEP_WIDTH]
        if constants[0] == 0.0:  # no junction capacitance: nothing to evaluate
            return f"{charge} = 0.0, 0.0"
        if anchored:
            return (f"{charge}, hist[{AI}, {port}], hist[{AM}, {port}] = depletion_anchored("
                    f"vec[{V}, {port}], hist[{AI}, {port}], hist[{AM}, {port}], "
                    + ", ".join(lit(v) for v in constants) + ")")
        return (f"{charge} = called.depletion(vec[{V}, {port}], "
                + ", ".join(lit(v) for v in constants) + ")")

    AI, AM = solver.AI, solver.AM
    if code == DIODE and anchored:
        return [f"di, dg = junction(vec[{V}, {a}], {lit(p[0])}, {lit(p[D_INV_NVT])})",
                depletion_call(a, "dq, dc", D_DEP),
                f"dq += {lit(p[6])} * di", f"dc += {lit(p[6])} * dg",
                f"vec[{Q}, {a}] = dq",
                f"vec[{CQ}, {a}] = dc",
                f"vec[{CUR}, {a}] = di + rate2 * dq - hist[{HQ}, {a}]",
                f"jac[{a}, {a}] = dg + rate2 * dc"]
    if code == DIODE:
        args = ", ".join(lit(v) for v in (p[0], p[D_INV_NVT], p[6],
                                          *p[D_DEP:D_DEP + DEP_WIDTH]))
        return [f"di, dg, dq, dc = called.diode_point(vec[{V}, {a}], {args})",
                f"vec[{Q}, {a}] = dq",
                f"vec[{CQ}, {a}] = dc",
                f"vec[{CUR}, {a}] = di + rate2 * dq - hist[{HQ}, {a}]",
                f"jac[{a}, {a}] = dg + rate2 * dc"]
    if code == BJT:
        args = ", ".join(lit(v) for v in (p[0], p[Q_INV_BF], p[Q_INV_BR], p[Q_INV_NF],
                                          p[Q_INV_NR], p[5]))
        lines = [f"t1, t2, t11, t12, t21, t22 = {call}bjt_point(vec[{V}, {a}], vec[{V}, {b}], "
                 f"{args})",
                 depletion_call(a, "qe, ce", Q_DEP_E),
                 depletion_call(b, "qc, cc", Q_DEP_C)]
    else:
        lines = [f"t1, t2, t11, t12, t21, t22 = {call}jfet_point(vec[{V}, {a}], vec[{V}, {b}], "
                 + ", ".join(lit(v) for v in (*p[:4], p[J_INV_NVT])) + ")",
                 "qe = ce = qc = cc = 0.0"]
    return [*lines,
            f"vec[{Q}, {a}] = qe", f"vec[{Q}, {b}] = qc",
            f"vec[{CQ}, {a}] = ce", f"vec[{CQ}, {b}] = cc",
            f"vec[{CUR}, {a}] = t1 + rate2 * qe - hist[{HQ}, {a}]",
            f"vec[{CUR}, {b}] = t2 + rate2 * qc - hist[{HQ}, {b}]",
            f"jac[{a}, {a}] = t11 + rate2 * ce", f"jac[{a}, {b}] = t12",
            f"jac[{b}, {a}] = t21", f"jac[{b}, {b}] = t22 + rate2 * cc"]


def _products(W: str, rows: int, nx: int, k: int) -> list[str]:
    """``W [x; u; 1; i]`` (``x`` the ``nx`` states, ``i`` the ``k`` ports'
    currents) into ``rows`` local accumulators ``a0, a1, ...``, a column at
    a time, from ``W`` stored transposed (``{W}T``: a column of ``W`` is a row
    of it, contiguous). Each row's sum is taken in the generic kernel's order
    (the same rounding), but the rows are independent chains the CPU runs
    side by side, where row-by-row dot products were one dependent chain of
    additions after another (TS808: 12 % of a step less); with the columns
    contiguous, LLVM's SLP vectorizer (:func:`vectorizing`) packs four rows'
    multiply-adds into one vector instruction (TS808: 15 % of a step less)."""
    T = f"{W}T"
    lines = [f"a{i} = {T}[{nx}, {i}] * u + {T}[{nx + 1}, {i}]" for i in range(rows)]
    if nx:
        lines += [f"for j in range({nx}):", "    z = x[j]"]
        lines += [f"    a{i} += {T}[j, {i}] * z" for i in range(rows)]
    if k:
        lines += [f"for j in range({k}):", f"    z = vec[{solver.CUR}, j]"]
        lines += [f"    a{i} += {T}[{nx + 2} + j, {i}] * z" for i in range(rows)]
    return lines


#: Newton systems up to this size are solved in local variables (below).
UNROLLED_SOLVE_PORTS = 6


def _unrolled_solve(n: int, widths: list[int], firsts: list[int]) -> tuple[list[str], list[str]]:
    """The residual, the Jacobian ``F G - I``, its LU with partial pivoting and
    the back substitution of one Newton solve of ``n`` ports, written out in
    local variables ``jR_C`` (the matrix), ``bR`` (the right-hand side) and
    ``sR`` (the step), so that LLVM keeps them in registers: the loop form
    reads and writes ``J`` in memory, and a small LU is a chain of dependent
    loads and stores (a third of a Fuzz Face's step). The same operations
    in the same order as the loop form (the generic kernel's), so the same
    rounding. Returns the lines and those that keep the factorisation (``J``
    and the pivots in ``marks``) for the next step's tangent guess, run only
    when Newton has converged.

    ``widths[c]``/``firsts[c]``: the ports of the device owning port ``c``
    (the Jacobian's column ``c`` is ``F[:, first..first+width] @ jac[..., c]``)."""
    S = solver
    lines: list[str] = []
    for r in range(n):
        terms = "".join(f" + F[{r}, {c}] * vec[{S.CUR}, {c}]" for c in range(n))
        lines.append(f"b{r} = -(vec[{S.RHS}, {r}] - vec[{S.V}, {r}]{terms})")
    for c in range(n):
        lo = firsts[c]
        if widths[c] == 1:
            lines.append(f"g0 = jac[{c}, {c}]")
            lines += [f"j{r}_{c} = F[{r}, {c}] * g0" for r in range(n)]
        else:
            lines += [f"g0 = jac[{lo}, {c}]", f"g1 = jac[{lo + 1}, {c}]"]
            lines += [f"j{r}_{c} = F[{r}, {lo}] * g0 + F[{r}, {lo + 1}] * g1" for r in range(n)]
        lines.append(f"j{c}_{c} -= 1.0")
    for col in range(n):
        lines += [f"p{col} = {col}", f"best = abs(j{col}_{col})"]
        for r in range(col + 1, n):
            lines += [f"a = abs(j{r}_{col})", "if a > best:", "    best = a", f"    p{col} = {r}"]
        lines += ["if best == 0.0 or not (best < 1e300):", "    break  # singular"]
        for r in range(col + 1, n):
            lines.append(f"if p{col} == {r}:")
            for c in range(n):
                lines.append(f"    j{col}_{c}, j{r}_{c} = j{r}_{c}, j{col}_{c}")
            lines.append(f"    b{col}, b{r} = b{r}, b{col}")
        lines += [f"inv = 1.0 / j{col}_{col}", f"j{col}_{col} = inv"]
        for r in range(col + 1, n):
            lines += [f"fac = j{r}_{col} * inv", f"j{r}_{col} = fac", "if fac != 0.0:"]
            lines += [f"    j{r}_{c} -= fac * j{col}_{c}" for c in range(col + 1, n)]
            lines.append(f"    b{r} -= fac * b{col}")
    for r in range(n - 1, -1, -1):
        terms = "".join(f" - j{r}_{c} * s{c}" for c in range(r + 1, n))
        lines += [f"s{r} = (b{r}{terms}) * j{r}_{r}", f"vec[{S.SOL}, {r}] = s{r}"]
    keep = [f"marks[{S.PIVOT}, {c}] = p{c}" for c in range(n)]
    keep += [f"J[{r}, {c}] = j{r}_{c}" for r in range(n) for c in range(n)]
    return lines, keep


def kernel_source(codes: np.ndarray, starts: np.ndarray, rows: np.ndarray,
                  port_info: np.ndarray, num_states: int) -> str:
    """Python source of a ``run_circuit`` for one circuit (the signature of
    :func:`pedalboard.circuit.solver.run_circuit`) from its device type
    codes, first ports and parameter rows, the per-port table (n*Vt,
    critical voltage, freeze threshold) and its number of states."""
    S = solver
    K = int(port_info.shape[0])
    NX = int(num_states)
    freezable = [r for r in range(K) if port_info[r, S.OFF] > -math.inf]
    KC = min(freezable) if freezable else K
    if freezable != list(range(KC, K)):
        raise ValueError("freezable ports must come last")
    devices = [(int(codes[d]), int(starts[d]), [float(v) for v in rows[d]])
               for d in range(codes.shape[0])]
    device_of: dict[int, int] = {}
    for d, (code, start, _) in enumerate(devices):
        if start >= KC and code != DIODE:
            raise ValueError("only diodes may freeze")
        for port in range(start, start + WIDTH[code]):
            device_of[port] = d
    core_eval: list[str] = []
    all_eval: list[str] = []
    for code, start, params in devices:
        all_eval += _device_lines(code, start, params, anchored=False)
        if start < KC:
            core_eval += _device_lines(code, start, params, anchored=True)
    jacobian: list[str] = []  # J = F G - I, column by column (G: the device blocks)
    accept: list[str] = []  # currents and charges moved to the final voltages
    for c in range(KC):
        code, lo, _ = devices[device_of[c]]
        if WIDTH[code] == 1:
            jacobian += [f"g0 = jac[{c}, {c}]",
                         f"for r in range({KC}):",
                         f"    J[r, {c}] = F[r, {c}] * g0"]
        else:
            jacobian += [f"g0 = jac[{lo}, {c}]", f"g1 = jac[{lo + 1}, {c}]",
                         f"for r in range({KC}):",
                         f"    J[r, {c}] = F[r, {lo}] * g0 + F[r, {lo + 1}] * g1"]
        jacobian.append(f"J[{c}, {c}] -= 1.0")
        terms = " + ".join(f"jac[{c}, {m}] * vec[{S.DV}, {m}]"
                           for m in range(lo, lo + WIDTH[code]))
        accept += [f"vec[{S.CUR}, {c}] += 0.0 + {terms}",
                   f"vec[{S.Q}, {c}] += vec[{S.CQ}, {c}] * vec[{S.DV}, {c}]"]
    frozen_currents: list[str] = []
    for r in range(KC, K):
        p = devices[device_of[r]][2]
        frozen_currents += [f"vec[{S.CUR}, {r}] = junction(vec[{S.V}, {r}], {lit(p[0])}, "
                            f"{lit(p[D_INV_NVT])})[0]",
                            f"vec[{S.Q}, {r}] = 0.0", f"vec[{S.CQ}, {r}] = 0.0"]
    values: dict[str, object] = {
        "PREDICTION": _block(_products("Wp", K, NX, 0)
                             + [f"vec[{S.P}, {i}] = a{i}" for i in range(K)], 4),
        "STATE_UPDATE": _block(_products("Ws", NX + 1, NX, K)
                               + [f"x[{i}] = a{i}" for i in range(NX)] + [f"y = a{NX}"], 4),
        "K": K, "NX": NX, "KC": KC,
        "MAXIT": S.MAX_ITERATIONS, "TOL": lit(S.STEP_TOLERANCE_VOLTS),
        "QUIET_MOVE": lit(S.QUIET_MOVE_VOLTS),
        "FP": _fingerprint(), "ND": len(devices),
        "CORE_EVAL": _block(core_eval, 6), "ALL_EVAL": _block(all_eval, 6),
        "ACCEPT": _block(accept, 7),
        "FROZEN_CURRENTS": _block(frozen_currents, 5),
    }
    for name in ("V", "CUR", "Q", "CQ", "P", "RES", "SOL", "DV", "RHS", "G0", "G1", "G2",
                 "V1", "V2", "HQ", "P1", "P2", "V3", "VT", "VCRIT", "OFF", "QUIET", "FROZEN",
                 "PIVOT", "LU_ACTIVE", "CHOICE"):
        values[name] = getattr(S, name)
    if KC <= UNROLLED_SOLVE_PORTS:
        solve, keep = _unrolled_solve(KC, [WIDTH[devices[device_of[c]][0]] for c in range(KC)],
                                      [devices[device_of[c]][1] for c in range(KC)])
        values["LINEAR_SOLVE"], values["KEEP_LU"] = _block(solve, 6), _block(keep, 7)
    else:
        values["LINEAR_SOLVE"] = string.Template(_LOOP_SOLVE).substitute(
            values, JACOBIAN=_block(jacobian, 6))
        values["KEEP_LU"] = _block([], 7)
    # Without rail clamps the straight-line path is the only one: the
    # general step is not called, so not compiled.
    values["GENERAL"] = "" if KC == K else "\n".join([
        "                else:  # a clamp conducts: the general step",
        f"                    solve_step_general(whole, {K + 1}, F, codes, starts, rows, "
        "port_info,",
        "                                       port_int, rate2, hist, vec, jac, J, marks, "
        "stats)"])
    # (never empty: the failure branch below is the ``else`` of this ``if``)
    values["THAW"] = string.Template(_THAW).substitute(values) if KC < K else \
        "                    if solved:\n                        pass"
    values["IMPORT_GENERAL"] = "" if KC == K else \
        "from pedalboard.circuit.solver import solve_step_general\n"
    template = _HEADER + (_STEP if K else "") + _LINEAR_UPDATE
    return string.Template(template).substitute(values)


_HEADER = '''"""Generated by pedalboard.circuit.codegen ($FP): $K ports ($KC always in
Newton), $NX states, $ND devices. See that module; do not edit."""
import math

from pedalboard.jit import kernel
from pedalboard.circuit import devices as called
from pedalboard.circuit.devices import INLINE_MODELS

from pedalboard.circuit.solver import _dot, _push

bjt_point, depletion_anchored, jfet_point, junction, pnjlim = (
    INLINE_MODELS[name]
    for name in ("bjt_point", "depletion_anchored", "jfet_point", "junction", "pnjlim"))
$IMPORT_GENERAL

@kernel(error_model="numpy", _nrt=False)
def run_circuit(inp, out, WpT, WsT, F, codes, starts, rows, port_info, port_int, rate2, x,
                hist, vec, jac, J, marks, up_taps, up_hist, down_taps, down_hist,
                positions, stats, live_steps):
    factor = up_taps.shape[0]
    for n in range(inp.shape[0]):
        sample = inp[n]
        if not (abs(sample) < 1e9):
            sample = 0.0
        positions[0] = _push(up_hist, positions[0], sample)
        for phase in range(factor):
            if live_steps == 0:
                y = 0.0
            else:
                live_steps -= 1 if live_steps > 0 else 0
                u = _dot(up_taps[phase], up_hist, positions[0])
                if positions[2] > 0:
                    positions[2] -= 1
                    u = 0.0
'''

_THAW = '''                    if solved:
                        # the clamps' voltages at the solution: one that crossed its
                        # threshold conducts after all (the general step goes on)
                        thawed = False
                        for r in range($KC, $K):
                            acc = vec[$P, r]
                            for c in range($K):
                                acc += F[r, c] * vec[$CUR, c]
                            vec[$V, r] = acc
                            if acc >= port_info[r, $OFF]:
                                vec[$V, r] = pnjlim(acc, hist[$V1, r], port_info[r, $VT],
                                                    port_info[r, $VCRIT])
                                marks[$FROZEN, r] = 0
                                thawed = True
                        if thawed:
                            solve_step_general(False, $K, F, codes, starts, rows, port_info,
                                               port_int, rate2, hist, vec, jac, J, marks, stats)
'''

_LINEAR_UPDATE = '''
                # next state and output: [x; y] = Ws [x; u; 1; i], a column at a time
$STATE_UPDATE
                if not math.isfinite(y):
                    y = 0.0
            positions[1] = _push(down_hist, positions[1], y)
            if phase == 0:
                out[n] = _dot(down_taps, down_hist, positions[1])
'''


_STEP = '''
                # prediction p = Wp [x; u; 1] and the extrapolated guesses
$PREDICTION
                for r in range($K):
                    vec[$G0, r] = vec[$V, r] = 2.0 * hist[$V1, r] - hist[$V2, r]
                    vec[$G2, r] = hist[$V2, r] + hist[$V1, r] - hist[$V3, r]
                    marks[$FROZEN, r] = 1 if vec[$V, r] < port_info[r, $OFF] else 0
                fast = True
                for r in range($KC, $K):
                    fast = fast and marks[$FROZEN, r] == 1
                whole = not fast
                if fast:
                    # tangent correction with the last factorisation (the core ports)
                    corrected = $KC > 0 and marks[$LU_ACTIVE, $K] == $KC
                    for a in range($KC):
                        corrected = corrected and marks[$LU_ACTIVE, a] == a
                    if corrected:
                        for a in range($KC):
                            vec[$RES, a] = 2.0 * hist[$P1, a] - hist[$P2, a] - vec[$P, a]
                        for col in range($KC):
                            pivot = marks[$PIVOT, col]
                            if pivot != col:
                                t = vec[$RES, col]
                                vec[$RES, col] = vec[$RES, pivot]
                                vec[$RES, pivot] = t
                            for r in range(col + 1, $KC):
                                vec[$RES, r] -= J[r, col] * vec[$RES, col]
                        for r in range($KC - 1, -1, -1):
                            acc = vec[$RES, r]
                            for c in range(r + 1, $KC):
                                acc -= J[r, c] * vec[$SOL, c]
                            vec[$SOL, r] = acc * J[r, r]
                        for a in range($KC):
                            vec[$V, a] += vec[$SOL, a]
                    # each port's guess: the kind that was closest last step, limited
                    for r in range($K):
                        vec[$G1, r] = vec[$V, r]
                        choice = marks[$CHOICE, r]
                        if choice == 0 or (choice == 1 and not corrected):
                            vec[$V, r] = vec[$G0, r]
                        elif choice == 2:
                            vec[$V, r] = vec[$G2, r]
                        vec[$V, r] = pnjlim(vec[$V, r], hist[$V1, r], port_info[r, $VT],
                                            port_info[r, $VCRIT])
                        marks[$FROZEN, r] = 1 if vec[$V, r] < port_info[r, $OFF] else 0
                    for r in range($KC, $K):
                        fast = fast and marks[$FROZEN, r] == 1
                if fast:
                    # Newton on the core ports, the clamps frozen at their guesses
$FROZEN_CURRENTS
                    for r in range($KC):
                        acc = vec[$P, r]
                        for c in range($KC, $K):
                            acc += F[r, c] * vec[$CUR, c]
                        vec[$RHS, r] = acc
                    solved = $KC == 0
                    for _ in range($MAXIT if $KC > 0 else 0):
                        stats[1] += 1
$CORE_EVAL
$LINEAR_SOLVE
                        # the Newton step, junction-limited
                        limited = False
                        diverged = False
                        largest = 0.0
                        for a in range($KC):
                            old = vec[$V, a]
                            target = old + vec[$SOL, a]
                            if not (abs(target) < 1e6):
                                diverged = True
                                break
                            new = pnjlim(target, old, port_info[a, $VT], port_info[a, $VCRIT])
                            if new != target:
                                limited = True
                            vec[$DV, a] = new - old
                            vec[$V, a] = new
                            move = abs(new - old)
                            if move > largest and (move >= $QUIET_MOVE
                                                   or max(old, new) >= port_info[a, $QUIET]):
                                largest = move
                        if diverged:
                            break
                        if not limited and largest < $TOL:
                            for a in range($KC):
                                marks[$LU_ACTIVE, a] = a
                            marks[$LU_ACTIVE, $K] = $KC
$KEEP_LU
$ACCEPT
                            solved = True
                            break
$THAW
                    else:  # keep the last solution, count it, carry on
                        stats[0] += 1
                        marks[$LU_ACTIVE, $K] = 0
                        for r in range($K):
                            vec[$V, r] = hist[$V1, r]
$ALL_EVAL
$GENERAL
                # history, and each guess's score
                for r in range($K):
                    hist[$V3, r] = hist[$V2, r]
                    hist[$V2, r] = hist[$V1, r]
                    hist[$V1, r] = vec[$V, r]
                    hist[$P2, r] = hist[$P1, r]
                    hist[$P1, r] = vec[$P, r]
                    hist[$HQ, r] = 2.0 * rate2 * vec[$Q, r] - hist[$HQ, r]
                    miss0 = abs(vec[$V, r] - vec[$G0, r])
                    miss1 = abs(vec[$V, r] - vec[$G1, r])
                    miss2 = abs(vec[$V, r] - vec[$G2, r])
                    if miss2 < miss0 and miss2 < miss1:
                        marks[$CHOICE, r] = 2
                    else:
                        marks[$CHOICE, r] = 1 if miss1 < miss0 else 0
'''


_LOOP_SOLVE = '''                        for r in range($KC):
                            acc = vec[$RHS, r] - vec[$V, r]
                            for c in range($KC):
                                acc += F[r, c] * vec[$CUR, c]
                            vec[$RES, r] = -acc
$JACOBIAN
                        # LU with partial pivoting (solver.lu_solve)
                        singular = False
                        for col in range($KC):
                            pivot = col
                            best = abs(J[col, col])
                            for r in range(col + 1, $KC):
                                if abs(J[r, col]) > best:
                                    best = abs(J[r, col])
                                    pivot = r
                            if best == 0.0 or not (best < 1e300):
                                singular = True
                                break
                            marks[$PIVOT, col] = pivot
                            if pivot != col:
                                for c in range($KC):
                                    t = J[col, c]
                                    J[col, c] = J[pivot, c]
                                    J[pivot, c] = t
                                t = vec[$RES, col]
                                vec[$RES, col] = vec[$RES, pivot]
                                vec[$RES, pivot] = t
                            inv = 1.0 / J[col, col]
                            J[col, col] = inv
                            for r in range(col + 1, $KC):
                                fac = J[r, col] * inv
                                J[r, col] = fac
                                if fac != 0.0:
                                    for c in range(col + 1, $KC):
                                        J[r, c] -= fac * J[col, c]
                                    vec[$RES, r] -= fac * vec[$RES, col]
                        if singular:
                            break
                        for r in range($KC - 1, -1, -1):
                            acc = vec[$RES, r]
                            for c in range(r + 1, $KC):
                                acc -= J[r, c] * vec[$SOL, c]
                            vec[$SOL, r] = acc * J[r, r]
'''


@contextlib.contextmanager
def vectorizing() -> Iterator[None]:
    """numba compiles with LLVM's SLP vectorizer while this is held.

    numba turned it off by default (numba PR #8852) after it miscompiled
    some functions; the generated kernels are checked against the generic
    one, compiled without it, on every library netlist
    (``tests/circuit/test_codegen.py``, -150 dB) and against ngspice. The
    setting is global, so it is held with numba's compiler lock: no other
    function compiles meanwhile, in any thread."""
    from numba.core import config
    from numba.core.compiler_lock import global_compiler_lock

    with global_compiler_lock:
        saved = config.SLP_VECTORIZE
        config.SLP_VECTORIZE = 1
        try:
            yield
        finally:
            config.SLP_VECTORIZE = saved


def _vectorized(dispatcher: Any) -> Any:
    """``dispatcher`` compiling (or loading from numba's cache) under
    :func:`vectorizing`, whoever triggers it: its first call, ``compile``;
    marked as reading ``Wp`` and ``Ws`` transposed (what the model passes)."""
    plain = dispatcher.compile
    dispatcher.reads_transposed = True

    def compile_vectorized(sig: Any) -> Any:
        with vectorizing():
            return plain(sig)

    dispatcher.compile = compile_vectorized
    return dispatcher


def cache_dir() -> Path:
    """Where generated kernels are written: beside numba's own cache."""
    base = os.environ.get("NUMBA_CACHE_DIR") or os.path.join(tempfile.gettempdir(), "numba")
    return Path(base) / "circuit-kernels"


def load_kernel(codes: np.ndarray, starts: np.ndarray, rows: np.ndarray,
                port_info: np.ndarray, num_states: int) -> Callable[..., None]:
    """The generated kernel for these tables: written (once) under
    :func:`cache_dir`, imported, returned as a numba dispatcher (compiled on
    its first call, or loaded from numba's cache)."""
    assert rows.shape[1] == PARAMS_PER_DEVICE
    source = kernel_source(codes, starts, rows, port_info, num_states)
    digest = hashlib.sha256(source.encode()).hexdigest()[:20]
    with _LOCK:
        kernel = _LOADED.get(digest)
        if kernel is not None:
            return kernel
        folder = cache_dir()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"circuit_{digest}.py"
        if not path.exists() or path.read_text() != source:
            # Atomic, and only when missing: numba's cache index is keyed
            # on the file's modification time.
            fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
            with os.fdopen(fd, "w") as f:
                f.write(source)
            os.replace(tmp, path)
        name = f"pedalboard_circuit_kernel_{digest}"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        kernel = _vectorized(module.run_circuit)
        _LOADED[digest] = kernel
        return kernel

