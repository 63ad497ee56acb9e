"""The one generic kernel that runs every compiled circuit.

Per audio sample: push the input into the polyphase interpolator, and for
each of the ``L`` oversampled steps solve the DK equations

    v = p + F i(v),       p = Wp [x; u; 1]                 (k x k damped Newton)
    [x; y] <- Ws [x; u; 1; i(v)]                            (state update, output)

then feed ``y`` to the decimator. ``Wp`` = [D E e] and ``Ws`` = [[A B b C];
[G H h K]] are the DK matrices fused so that each is one matrix-vector
product (see :func:`fuse`).

**Newton.** It limits junction voltages as SPICE does (pnjlim) and stops
when a step that was not limited moved no port by more than
:data:`STEP_TOLERANCE_VOLTS` (1 mV), without a further solve to confirm it.
A *quiet* port does not count while it moves less than
:data:`QUIET_MOVE_VOLTS`: a junction below ``port_info[:, QUIET]``
(carrying under ``devices.QUIET_AMPS``, 0.1 nA: a transistor's
reverse-biased collector junction) has a current linear to ~1e-11 A, so
the step already put it where the linear network wants it.
Newton converges quadratically: the voltage error left after a step ``s`` is
~ s^2 / (2 n Vt), ~20 uV for s = 1 mV, and the currents and charges are then
moved to the final voltages to first order (along the Jacobian the step was
solved with), so the pair (v, i) satisfies the linear network exactly and the
current misses the exponential by ~ (s / n Vt)^2 / 2 of itself, on the few
steps whose last move was that large. Measured against a 10 uV tolerance (a
confirming solve on almost every step): -92 to -135 dB at the output on the
fuzzes, overdrives and the Big Muff, for 25-35 % fewer solves
(docs/circuit-findings.md section 7). When it fails
it keeps the previous solution, counts the event (``stats[0]``) and carries
on: the kernel never emits NaN. ``stats[1]`` counts the linear solves.

**First guess.** The number of solves per step is set by how far the first
guess lands (each solve squares the error). Two guesses are made: the linear
extrapolation of the last two solutions, and the same corrected by the
linearised circuit's response to the part of ``p`` that its own
extrapolation missed (``dv = (I - F G)^-1 dp``, with the LU factors of the
previous step's last Jacobian: a k x k triangular solve, no device
evaluation). Each port starts from whichever of the two was closer to its
solution at the previous step: the correction wins while a clipper holds
(the input moves, the diodes barely do), extrapolation on smooth stretches
of a high-gain stage. A diode clipper then needs one solve per step.

**Frozen ports.** A diode without junction charge (an op-amp's rail clamp,
say) deep in reverse bias carries exactly ``-IS``: below ``-40 n Vt`` the
exponential is under 5e-18, so the current is ``-IS`` to the last bit of a
double and its conductance is 1e-18 of gmin. Such a port is taken out of the
Newton system (its constant current moves into the right-hand side); after
Newton its voltage is computed from the solution and, should it have crossed
the threshold, the port rejoins the system and Newton continues. The result
is the full system's, at a fraction of the cost of a k x k solve. The
compiler puts these diodes last, so the active ports are usually a prefix
and the Jacobian is built with direct indexing (measured: 20-30 % of the
whole step on the op-amp circuits).

**Cost.** No reference counting (see ``jit`` below); every helper is
inlined into :func:`run_circuit` (a call that passes a dozen arrays costs
~150 ns, more than a BJT), one level deep (numba's inliner copies a nested
body once per level: four levels took 10-15 s to compile, one takes ~5 s);
fixed-size loops on contiguous float64 rows. What is left is the Newton work
itself: device evaluation (~25 ns per BJT), the k x k Jacobian and LU, times
the solves per step.

Everything is preallocated by the caller; the kernel allocates nothing.
"""

from __future__ import annotations

import math

import numpy as np

from pedalboard.circuit.devices import (
    CQ,
    CUR,
    D_INV_NVT,
    DEVICE_ROWS,
    Q,
    V,
    eval_device,
    eval_device_anchored,
    junction,
    pnjlim,
)
from pedalboard.jit import kernel

__all__ = ["SCRATCH_ROWS", "fuse", "run_circuit", "solve_step_general"]
MAX_ITERATIONS = 60
#: Newton stops after an unlimited step smaller than this (volts): the
#: remaining error is ~ step^2 / (2 n Vt), second order (see the module's
#: docstring for what it costs at the output: below -90 dB).
STEP_TOLERANCE_VOLTS = 1e-3
#: A charge-free diode port is frozen below this many n*Vt of reverse bias.
FREEZE_THERMAL_VOLTAGES = 40.0
#: Rows of the scratch array ``vec`` after the devices' (V, CUR, Q, CQ):
#: prediction p, Newton residual and solution (by active position), step (by
#: port), right-hand side with the frozen ports' currents, next state, the
#: three first guesses (extrapolated, tangent-corrected, v[n-2] plus slope).
P, RES, SOL, DV, RHS, XN, G0, G1, G2 = range(DEVICE_ROWS, DEVICE_ROWS + 9)
SCRATCH_ROWS = DEVICE_ROWS + 9
#: Rows of the per-channel history array: v[n-1], v[n-2], charge history,
#: p[n-1], p[n-2], v[n-3], and each junction's depletion anchor (1/s0 and
#: s0^-m, see :func:`pedalboard.circuit.devices.depletion_anchored`; zero:
#: none yet).
V1, V2, HQ, P1, P2, V3, AI, AM = range(8)
HISTORY_ROWS = 8
#: Columns of ``port_info`` (float): n*Vt, critical voltage, freeze
#: threshold, quiet voltage (below it the junction carries under
#: devices.QUIET_AMPS; -inf for a port that is never quiet).
VT, VCRIT, OFF, QUIET = range(4)
PORT_INFO_COLUMNS = 4
#: A quiet port's move does not hold Newton back while it stays under this:
#: its current is linear to ~1e-11 A there (devices.quiet_volts), and its
#: depletion charge's curvature over 10 mV costs ~1e-11 A at 4x.
QUIET_MOVE_VOLTS = 0.01
#: Columns of ``port_int`` (int): first and last+1 port of the port's device, device index.
LO, HI, DEV = range(3)
#: Rows of ``marks`` (int, k+1 columns): frozen flag by port, active ports
#: in order, the LU factorisation's pivots and its active ports (its size in
#: the last column: 0 when there is none to reuse), and by port the kind of
#: first guess that was closest last step (0, 1, 2: vec rows G0, G1, G2).
FROZEN, ACTIVE, PIVOT, LU_ACTIVE, CHOICE = range(5)
MARK_ROWS = 5

#: No reference counting in the kernel: numba's runtime would increment and
#: decrement (atomically) the count of every array argument at every call of
#: a helper, ~6 ns per array; a per-step helper with 17 arrays paid ~200 ns
#: per oversampled step for nothing (measured: 557 ns -> 1.4 ns per call in
#: isolation). Without the runtime the kernel also cannot allocate: any
#: array creation here fails to compile.
jit = kernel(error_model="numpy", _nrt=False)
inline = kernel(error_model="numpy", _nrt=False, inline="always")


def fuse(A: np.ndarray, B: np.ndarray, b: np.ndarray, C: np.ndarray, D: np.ndarray,
         E: np.ndarray, e: np.ndarray, G: np.ndarray, H: float, h: float,
         K: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The kernel's two fused matrices: ``Wp`` (k x nx+2) gives the port
    prediction from [x; u; 1]; ``Ws`` (nx+1 x nx+2+k) gives the next state and
    the output from [x; u; 1; i]."""
    k, nx = D.shape[0], A.shape[0]
    Wp = np.zeros((k, nx + 2))
    Wp[:, :nx] = D
    Wp[:, nx] = E
    Wp[:, nx + 1] = e
    Ws = np.zeros((nx + 1, nx + 2 + k))
    Ws[:nx, :nx] = A
    Ws[:nx, nx] = B
    Ws[:nx, nx + 1] = b
    Ws[:nx, nx + 2:] = C
    Ws[nx, :nx] = G
    Ws[nx, nx] = H
    Ws[nx, nx + 1] = h
    Ws[nx, nx + 2:] = K
    return Wp, Ws


@inline
def lu_solve(J: np.ndarray, vec: np.ndarray, n: int, pivots: np.ndarray) -> bool:
    """Solve ``J vec[SOL] = vec[RES]`` (n x n leading block) by Gaussian
    elimination with partial pivoting; False when singular. ``J`` is left
    holding its LU factors, with the *reciprocals* of U's diagonal on the
    diagonal (each is computed once for the elimination anyway; the back
    substitutions then multiply, instead of a chain of dependent divisions),
    and ``pivots`` the row swaps (for :func:`_tangent_correction`);
    ``vec[RES]`` is destroyed."""
    for col in range(n):
        pivot = col
        best = abs(J[col, col])
        for r in range(col + 1, n):
            if abs(J[r, col]) > best:
                best = abs(J[r, col])
                pivot = r
        if best == 0.0 or not (best < 1e300):
            return False
        pivots[col] = pivot
        if pivot != col:
            for c in range(n):
                t = J[col, c]
                J[col, c] = J[pivot, c]
                J[pivot, c] = t
            t = vec[RES, col]
            vec[RES, col] = vec[RES, pivot]
            vec[RES, pivot] = t
        inv = 1.0 / J[col, col]
        J[col, col] = inv
        for r in range(col + 1, n):
            factor = J[r, col] * inv
            J[r, col] = factor
            if factor != 0.0:
                for c in range(col + 1, n):
                    J[r, c] -= factor * J[col, c]
                vec[RES, r] -= factor * vec[RES, col]
    for r in range(n - 1, -1, -1):
        acc = vec[RES, r]
        for c in range(r + 1, n):
            acc -= J[r, c] * vec[SOL, c]
        vec[SOL, r] = acc * J[r, r]
    return True


#: The Newton loop's device evaluation (depletion anchors), inlined; the
#: fallback path calls the exact ``eval_device``.
eval_device_inline = inline(getattr(eval_device_anchored, "py_func", eval_device_anchored))


@inline
def _predict(u: float, Wp: np.ndarray, x: np.ndarray, hist: np.ndarray,
             port_info: np.ndarray, vec: np.ndarray, marks: np.ndarray) -> None:
    """``p`` and two first guesses: the extrapolation ``G0`` (also the
    provisional guess, whose frozen ports the tangent needs) and ``G2``."""
    nx = x.shape[0]
    for r in range(Wp.shape[0]):
        acc = Wp[r, nx] * u + Wp[r, nx + 1]
        for j in range(nx):
            acc += Wp[r, j] * x[j]
        vec[P, r] = acc
        vec[G0, r] = vec[V, r] = 2.0 * hist[V1, r] - hist[V2, r]
        # A junction whose charge sits behind almost no resistance rings at
        # half the step rate (trapezoidal integration is not L-stable):
        # v[n-2] plus the smooth part's slope predicts such a port.
        vec[G2, r] = hist[V2, r] + hist[V1, r] - hist[V3, r]
        marks[FROZEN, r] = 1 if vec[V, r] < port_info[r, OFF] else 0


@inline
def _tangent_correction(k: int, J: np.ndarray, vec: np.ndarray, hist: np.ndarray,
                        marks: np.ndarray) -> bool:
    """Add to the extrapolated guess ``vec[V]`` the linearised circuit's
    answer to the part of ``p`` that its own extrapolation missed:
    ``dv = (I - F G)^-1 dp``, with the LU factors of the last Newton Jacobian
    (``J = F G - I``, its diagonal inverted: :func:`lu_solve`) when the same
    ports are active. False when there is no factorisation to use."""
    n = marks[LU_ACTIVE, -1]
    if n == 0:
        return False
    m = 0
    for r in range(k):
        if marks[FROZEN, r] == 0:
            if m >= n or marks[LU_ACTIVE, m] != r:
                return False
            m += 1
    if m != n:
        return False
    for a in range(n):
        r = marks[LU_ACTIVE, a]
        vec[RES, a] = 2.0 * hist[P1, r] - hist[P2, r] - vec[P, r]
    for col in range(n):  # forward substitution with the stored row swaps
        pivot = marks[PIVOT, col]
        if pivot != col:
            t = vec[RES, col]
            vec[RES, col] = vec[RES, pivot]
            vec[RES, pivot] = t
        for r in range(col + 1, n):
            vec[RES, r] -= J[r, col] * vec[RES, col]
    for r in range(n - 1, -1, -1):
        acc = vec[RES, r]
        for c in range(r + 1, n):
            acc -= J[r, c] * vec[SOL, c]
        vec[SOL, r] = acc * J[r, r]
    for a in range(n):
        vec[V, marks[LU_ACTIVE, a]] += vec[SOL, a]
    return True


@inline
def _choose_guesses(k: int, corrected: bool, hist: np.ndarray, port_info: np.ndarray,
                    vec: np.ndarray, marks: np.ndarray) -> None:
    """Each port starts from the kind of guess that was closest to its
    solution last step (the tangent wins while a clipper holds,
    extrapolation on smooth stretches of a high-gain stage), limited as
    SPICE limits a Newton step; and is frozen by that guess (a frozen port's
    current is taken at this voltage, so it must be below the threshold)."""
    for r in range(k):
        vec[G1, r] = vec[V, r]
        choice = marks[CHOICE, r]
        if choice == 0 or (choice == 1 and not corrected):
            vec[V, r] = vec[G0, r]
        elif choice == 2:
            vec[V, r] = vec[G2, r]
        vec[V, r] = pnjlim(vec[V, r], hist[V1, r], port_info[r, VT], port_info[r, VCRIT])
        marks[FROZEN, r] = 1 if vec[V, r] < port_info[r, OFF] else 0


@inline
def _prepare_pass(k: int, F: np.ndarray, rows: np.ndarray, port_int: np.ndarray,
                  vec: np.ndarray, marks: np.ndarray) -> int:
    """List the active ports, give the frozen ones their current (-IS to the
    last bit) and the active ones their right-hand side ``p`` plus the frozen
    ports' share; returns the number of active ports."""
    n = 0
    for r in range(k):
        if marks[FROZEN, r] == 0:
            marks[ACTIVE, n] = r
            n += 1
            continue
        d = port_int[r, DEV]
        vec[CUR, r] = junction(vec[V, r], rows[d, 0], rows[d, D_INV_NVT])[0]
        vec[Q, r] = 0.0
        vec[CQ, r] = 0.0
    for a in range(n):
        r = marks[ACTIVE, a]
        acc = vec[P, r]
        if n < k:
            for c in range(k):
                if marks[FROZEN, c] != 0:
                    acc += F[r, c] * vec[CUR, c]
        vec[RHS, r] = acc
    return n


@inline
def _residual_and_jacobian_full(n: int, F: np.ndarray, port_int: np.ndarray,
                                vec: np.ndarray, jac: np.ndarray, J: np.ndarray) -> None:
    """Newton's residual and Jacobian ``F G - I`` when the active ports are
    the first ``n`` (the usual case: the compiler puts the charge-free diodes
    last), with direct indexing."""
    for r in range(n):
        acc = vec[RHS, r] - vec[V, r]
        for c in range(n):
            acc += F[r, c] * vec[CUR, c]
        vec[RES, r] = -acc
    for c in range(n):
        lo = port_int[c, LO]
        if port_int[c, HI] - lo == 1:
            g = jac[c, c]
            for r in range(n):
                J[r, c] = F[r, c] * g
        else:
            g0 = jac[lo, c]
            g1 = jac[lo + 1, c]
            for r in range(n):
                J[r, c] = F[r, lo] * g0 + F[r, lo + 1] * g1
        J[c, c] -= 1.0


@inline
def _residual_and_jacobian_active(n: int, F: np.ndarray, port_int: np.ndarray,
                                  vec: np.ndarray, jac: np.ndarray, J: np.ndarray,
                                  marks: np.ndarray) -> None:
    """The same over any active set ``marks[ACTIVE, :n]``."""
    for a in range(n):
        r = marks[ACTIVE, a]
        acc = vec[RHS, r] - vec[V, r]
        for b in range(n):
            c = marks[ACTIVE, b]
            acc += F[r, c] * vec[CUR, c]
        vec[RES, a] = -acc
        for b in range(n):
            c = marks[ACTIVE, b]
            s = -1.0 if a == b else 0.0
            for m in range(port_int[c, LO], port_int[c, HI]):
                s += F[r, m] * jac[m, c]
            J[a, b] = s


@inline
def _newton_update(n: int, port_info: np.ndarray, vec: np.ndarray, marks: np.ndarray) -> float:
    """Apply the Newton step ``vec[SOL]`` with junction limiting; returns the
    largest move that counts for convergence (a quiet port's small one does
    not), ``inf`` if a port was limited, -1 if the step diverged."""
    limited = False
    largest = 0.0
    for a in range(n):
        r = marks[ACTIVE, a]
        old = vec[V, r]
        target = old + vec[SOL, a]
        if not (abs(target) < 1e6):
            return -1.0
        new = pnjlim(target, old, port_info[r, VT], port_info[r, VCRIT])
        if new != target:
            limited = True
        vec[DV, r] = new - old
        vec[V, r] = new
        move = abs(new - old)
        if move > largest and (move >= QUIET_MOVE_VOLTS or max(old, new) >= port_info[r, QUIET]):
            largest = move
    return math.inf if limited else largest


@inline
def _accept(n: int, port_int: np.ndarray, vec: np.ndarray, jac: np.ndarray,
            marks: np.ndarray) -> None:
    """Converged: keep the factorisation for the next step's tangent guess,
    move currents and charges to the final voltages (first order)."""
    for a in range(n):
        marks[LU_ACTIVE, a] = marks[ACTIVE, a]
    marks[LU_ACTIVE, -1] = n
    for a in range(n):
        r = marks[ACTIVE, a]
        acc = 0.0
        for m in range(port_int[r, LO], port_int[r, HI]):
            acc += jac[r, m] * vec[DV, m]
        vec[CUR, r] += acc
        vec[Q, r] += vec[CQ, r] * vec[DV, r]


@inline
def _thaw(k: int, F: np.ndarray, hist: np.ndarray, port_info: np.ndarray, vec: np.ndarray,
          marks: np.ndarray) -> bool:
    """The frozen ports' voltages at the solution; True if one crossed its
    threshold (it conducts after all: back into Newton, from a limited move
    away from its last voltage, as the computed one assumed no current)."""
    thawed = False
    for r in range(k):
        if marks[FROZEN, r] == 0:
            continue
        acc = vec[P, r]
        for c in range(k):
            acc += F[r, c] * vec[CUR, c]
        vec[V, r] = acc
        if acc >= port_info[r, OFF]:
            vec[V, r] = pnjlim(acc, hist[V1, r], port_info[r, VT], port_info[r, VCRIT])
            marks[FROZEN, r] = 0
            thawed = True
    return thawed


@inline
def _advance(k: int, rate2: float, hist: np.ndarray, vec: np.ndarray,
             marks: np.ndarray) -> None:
    """Shift the port histories and score the guesses against the solution."""
    for r in range(k):
        hist[V3, r] = hist[V2, r]
        hist[V2, r] = hist[V1, r]
        hist[V1, r] = vec[V, r]
        hist[P2, r] = hist[P1, r]
        hist[P1, r] = vec[P, r]
        hist[HQ, r] = 2.0 * rate2 * vec[Q, r] - hist[HQ, r]
        miss0 = abs(vec[V, r] - vec[G0, r])
        miss1 = abs(vec[V, r] - vec[G1, r])
        miss2 = abs(vec[V, r] - vec[G2, r])
        if miss2 < miss0 and miss2 < miss1:
            marks[CHOICE, r] = 2
        else:
            marks[CHOICE, r] = 1 if miss1 < miss0 else 0


@inline
def _linear_update(u: float, Ws: np.ndarray, x: np.ndarray, vec: np.ndarray) -> float:
    """Next state and the output node voltage from [x; u; 1; i]."""
    nx = x.shape[0]
    k = Ws.shape[1] - nx - 2
    y = 0.0
    for i in range(nx + 1):
        acc = Ws[i, nx] * u + Ws[i, nx + 1]
        for j in range(nx):
            acc += Ws[i, j] * x[j]
        for r in range(k):
            acc += Ws[i, nx + 2 + r] * vec[CUR, r]
        if i < nx:
            vec[XN, i] = acc
        else:
            y = acc
    for i in range(nx):
        x[i] = vec[XN, i]
    return y


@inline
def _push(hist: np.ndarray, position: int, value: float) -> int:
    """Write ``value`` into a doubled ring buffer (so a dot product never
    wraps) one slot before ``position``; returns the new position."""
    taps = hist.shape[0] // 2
    pos = position - 1
    if pos < 0:
        pos = taps - 1
    hist[pos] = value
    hist[pos + taps] = value
    return pos


@inline
def _dot(a: np.ndarray, b: np.ndarray, offset: int) -> float:
    """``a . b[offset:offset + len(a)]`` in four interleaved partial sums: a
    single running sum is a chain of dependent additions (the resampler's
    81-tap decimator took ~80 adds' latency per audio sample); four chains
    overlap in the pipeline."""
    n = a.shape[0]
    s0 = s1 = s2 = s3 = 0.0
    j = 0
    while j + 4 <= n:
        s0 += a[j] * b[offset + j]
        s1 += a[j + 1] * b[offset + j + 1]
        s2 += a[j + 2] * b[offset + j + 2]
        s3 += a[j + 3] * b[offset + j + 3]
        j += 4
    while j < n:
        s0 += a[j] * b[offset + j]
        j += 1
    return (s0 + s1) + (s2 + s3)


@jit
def run_circuit(inp: np.ndarray, out: np.ndarray, Wp: np.ndarray, Ws: np.ndarray,
                F: np.ndarray, codes: np.ndarray, starts: np.ndarray, rows: np.ndarray,
                port_info: np.ndarray, port_int: np.ndarray, rate2: float, x: np.ndarray,
                hist: np.ndarray, vec: np.ndarray, jac: np.ndarray, J: np.ndarray,
                marks: np.ndarray, up_taps: np.ndarray, up_hist: np.ndarray,
                down_taps: np.ndarray, down_hist: np.ndarray, positions: np.ndarray,
                stats: np.ndarray, live_steps: int) -> None:
    """Run ``inp`` (audio-rate volts at Vin) through the circuit into ``out``
    (audio-rate volts at the output node), oversampled ``up_taps.shape[0]``
    times. With oversampling the output is delayed by the resampler's
    latency (see :mod:`pedalboard.circuit.oversampling`).

    ``live_steps`` >= 0 ends the signal after that many oversampled steps:
    from then on the decimator is fed 0 V, as ``resample_poly`` pads a clip
    that ends (used to finish a clip exactly like the ngspice reference).
    ``positions`` = (interpolator write index, decimator write index, steps
    still to hold the input at 0 V): after a reset the circuit rests until
    the first sample's time, as a SPICE transient that starts at t = 0."""
    factor = up_taps.shape[0]
    k = F.shape[0]
    for n in range(inp.shape[0]):
        sample = inp[n]
        if not (abs(sample) < 1e9):  # NaN, inf or absurd: treat as silence
            sample = 0.0
        # One path for every factor (at 1x both filters are a single unit tap).
        positions[0] = _push(up_hist, positions[0], sample)
        for phase in range(factor):
            if live_steps == 0:
                y = 0.0
            else:
                live_steps -= 1 if live_steps > 0 else 0
                u = _dot(up_taps[phase], up_hist, positions[0])
                if positions[2] > 0:  # the interpolator's pre-ringing before the first sample
                    positions[2] -= 1
                    u = 0.0
                if k > 0:
                    # The port equations of this step. The helpers are leaves
                    # inlined here, one level deep: numba's inliner copies a
                    # nested body once per level (a four-level version took
                    # 10-15 s to compile instead of a few).
                    _predict(u, Wp, x, hist, port_info, vec, marks)
                    corrected = _tangent_correction(k, J, vec, hist, marks)
                    _choose_guesses(k, corrected, hist, port_info, vec, marks)
                    solved = False
                    for _ in range(k + 1):  # again whenever a frozen port thaws
                        active = _prepare_pass(k, F, rows, port_int, vec, marks)
                        solved = active == 0
                        for _ in range(MAX_ITERATIONS if active > 0 else 0):
                            stats[1] += 1
                            for d in range(codes.shape[0]):
                                if marks[FROZEN, starts[d]] == 0:
                                    eval_device_inline(d, codes, starts, rows, vec, rate2,
                                                       hist[HQ], hist[AI], hist[AM], jac)
                            if marks[ACTIVE, active - 1] == active - 1:
                                _residual_and_jacobian_full(active, F, port_int, vec, jac, J)
                            else:
                                _residual_and_jacobian_active(active, F, port_int, vec, jac, J,
                                                              marks)
                            if not lu_solve(J, vec, active, marks[PIVOT]):
                                break
                            moved = _newton_update(active, port_info, vec, marks)
                            if moved < 0.0:
                                break
                            if moved < STEP_TOLERANCE_VOLTS:
                                _accept(active, port_int, vec, jac, marks)
                                solved = True
                                break
                        if not solved or not _thaw(k, F, hist, port_info, vec, marks):
                            break
                    if not solved:  # keep the last solution, count it, carry on
                        stats[0] += 1
                        marks[LU_ACTIVE, -1] = 0
                        for r in range(k):
                            vec[V, r] = hist[V1, r]
                        for d in range(codes.shape[0]):
                            eval_device(d, codes, starts, rows, vec, rate2, hist[HQ], jac)
                    _advance(k, rate2, hist, vec, marks)
                y = _linear_update(u, Ws, x, vec)
                if not math.isfinite(y):
                    y = 0.0
            positions[1] = _push(down_hist, positions[1], y)
            if phase == 0:
                out[n] = _dot(down_taps, down_hist, positions[1])


@jit
def solve_step_general(whole_step: bool, passes: int, F: np.ndarray, codes: np.ndarray,
                       starts: np.ndarray, rows: np.ndarray, port_info: np.ndarray,
                       port_int: np.ndarray, rate2: float, hist: np.ndarray, vec: np.ndarray,
                       jac: np.ndarray, J: np.ndarray, marks: np.ndarray,
                       stats: np.ndarray) -> None:
    """One step's port equations the general way, for the generated kernels
    (:mod:`pedalboard.circuit.codegen`) when their straight-line path does
    not apply: some rail clamp conducts, so the active set is not the one
    the generated code was written for.

    Entered with ``vec[P]``, the guesses ``vec[G0]``, ``vec[G2]`` (and
    ``vec[V] = vec[G0]``) and ``marks[FROZEN]`` as :func:`_predict` leaves
    them (``whole_step``: tangent guess, choice, then Newton), or after a
    first pass whose solution thawed a port (``vec[V]``, ``vec[CUR]``,
    ``marks[FROZEN]`` as :func:`_thaw` leaves them: ``passes`` more passes).
    Leaves ``vec[V]``, ``vec[CUR]``, ``vec[Q]`` (and ``vec[G1]``) as
    :func:`run_circuit` would; the history update is the caller's. The same
    code as :func:`run_circuit`'s (kept apart so that the generic kernel's
    inlined body stays one level deep)."""
    k = F.shape[0]
    if whole_step:
        corrected = _tangent_correction(k, J, vec, hist, marks)
        _choose_guesses(k, corrected, hist, port_info, vec, marks)
    solved = False
    for _ in range(passes):
        active = _prepare_pass(k, F, rows, port_int, vec, marks)
        solved = active == 0
        for _ in range(MAX_ITERATIONS if active > 0 else 0):
            stats[1] += 1
            for d in range(codes.shape[0]):
                if marks[FROZEN, starts[d]] == 0:
                    eval_device_inline(d, codes, starts, rows, vec, rate2, hist[HQ], hist[AI],
                                       hist[AM], jac)
            if marks[ACTIVE, active - 1] == active - 1:
                _residual_and_jacobian_full(active, F, port_int, vec, jac, J)
            else:
                _residual_and_jacobian_active(active, F, port_int, vec, jac, J, marks)
            if not lu_solve(J, vec, active, marks[PIVOT]):
                break
            moved = _newton_update(active, port_info, vec, marks)
            if moved < 0.0:
                break
            if moved < STEP_TOLERANCE_VOLTS:
                _accept(active, port_int, vec, jac, marks)
                solved = True
                break
        if not solved or not _thaw(k, F, hist, port_info, vec, marks):
            break
    if not solved:  # keep the last solution, count it, carry on
        stats[0] += 1
        marks[LU_ACTIVE, -1] = 0
        for r in range(k):
            vec[V, r] = hist[V1, r]
        for d in range(codes.shape[0]):
            eval_device(d, codes, starts, rows, vec, rate2, hist[HQ], jac)
