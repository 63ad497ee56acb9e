"""The one generic kernel that runs every compiled circuit.

Per audio sample: push the input into the polyphase interpolator, and for
each of the ``L`` oversampled steps solve the DK equations

    v = p + F i(v),  p = D x + E u + e           (k x k damped Newton)
    y = G x + H u + h + K i(v)
    x = A x + B u + b + C i(v)

then feed ``y`` to the decimator. Newton starts from a linear extrapolation
of the previous two solutions, limits junction voltages as SPICE does
(pnjlim), and usually stops after 1-3 iterations. When it fails it keeps the
previous solution, counts the event (``stats[0]``) and carries on: the kernel
never emits NaN.

Everything is preallocated by the caller; the kernel allocates nothing.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from pedalboard.circuit.devices import CQ, CUR, DV, RES, SCRATCH_ROWS, XN, P, Q, V, eval_devices, pnjlim

__all__ = ["SCRATCH_ROWS", "run_circuit"]
MAX_ITERATIONS = 60
#: Newton stops when no port voltage moved more than this (volts).
TOLERANCE_VOLTS = 1e-9

jit = numba.njit(cache=True, nogil=True, error_model="numpy", inline="always")


@numba.njit(cache=True, nogil=True, fastmath=True)
def _dot(a: np.ndarray, b: np.ndarray, offset: int) -> float:
    acc = 0.0
    for j in range(a.shape[0]):
        acc += a[j] * b[offset + j]
    return acc


@jit
def lu_solve(J: np.ndarray, vec: np.ndarray, k: int) -> bool:
    """Solve ``J vec[DV] = vec[RES]`` (k x k; J and vec[RES] are destroyed)
    by Gaussian elimination with partial pivoting; False when singular."""
    for col in range(k):
        pivot = col
        best = abs(J[col, col])
        for r in range(col + 1, k):
            if abs(J[r, col]) > best:
                best = abs(J[r, col])
                pivot = r
        if best == 0.0 or not (best < 1e300):
            return False
        if pivot != col:
            for c in range(k):
                t = J[col, c]
                J[col, c] = J[pivot, c]
                J[pivot, c] = t
            t = vec[RES, col]
            vec[RES, col] = vec[RES, pivot]
            vec[RES, pivot] = t
        inv = 1.0 / J[col, col]
        for r in range(col + 1, k):
            factor = J[r, col] * inv
            if factor != 0.0:
                for c in range(col + 1, k):
                    J[r, c] -= factor * J[col, c]
                vec[RES, r] -= factor * vec[RES, col]
    for r in range(k - 1, -1, -1):
        acc = vec[RES, r]
        for c in range(r + 1, k):
            acc -= J[r, c] * vec[DV, c]
        vec[DV, r] = acc / J[r, r]
    return True


@jit
def newton(k: int, F: np.ndarray, codes: np.ndarray, starts: np.ndarray, rows: np.ndarray,
           block_lo: np.ndarray, block_hi: np.ndarray, vt: np.ndarray, vcrit: np.ndarray,
           rate2: float, hq: np.ndarray, vec: np.ndarray, jac: np.ndarray, J: np.ndarray,
           stats: np.ndarray) -> bool:
    """Solve ``v = p + F i(v)`` for ``v = vec[V]`` (the first guess on entry;
    ``p = vec[P]``). On success ``vec[CUR]`` and ``vec[Q]`` hold the port
    currents and charges at the solution (first-order corrected)."""
    for _ in range(MAX_ITERATIONS):
        stats[1] += 1
        eval_devices(codes, starts, rows, vec, rate2, hq, jac)
        for r in range(k):
            acc = vec[P, r] - vec[V, r]
            for c in range(k):
                acc += F[r, c] * vec[CUR, c]
            vec[RES, r] = -acc
            for c in range(k):
                s = -1.0 if r == c else 0.0
                for m in range(block_lo[c], block_hi[c]):
                    s += F[r, m] * jac[m, c]
                J[r, c] = s
        if not lu_solve(J, vec, k):
            return False
        limited = False
        largest = 0.0
        for r in range(k):
            old = vec[V, r]
            target = old + vec[DV, r]
            if not (abs(target) < 1e6):
                return False
            new = pnjlim(target, old, vt[r], vcrit[r])
            if new != target:
                limited = True
            vec[DV, r] = new - old
            vec[V, r] = new
            largest = max(largest, abs(new - old))
        if not limited and largest < TOLERANCE_VOLTS:
            # First-order update of currents and charges to the final v.
            for r in range(k):
                acc = 0.0
                for m in range(block_lo[r], block_hi[r]):
                    acc += jac[r, m] * vec[DV, m]
                vec[CUR, r] += acc
                vec[Q, r] += vec[CQ, r] * vec[DV, r]
            return True
    return False


@jit
def circuit_step(u: float, A: np.ndarray, B: np.ndarray, b: np.ndarray, C: np.ndarray,
                 D: np.ndarray, E: np.ndarray, e: np.ndarray, F: np.ndarray, G: np.ndarray,
                 HH: np.ndarray, K: np.ndarray, codes: np.ndarray, starts: np.ndarray,
                 rows: np.ndarray, block_lo: np.ndarray, block_hi: np.ndarray,
                 vt: np.ndarray, vcrit: np.ndarray, rate2: float, x: np.ndarray,
                 v1: np.ndarray, v2: np.ndarray, hq: np.ndarray, vec: np.ndarray,
                 jac: np.ndarray, J: np.ndarray, stats: np.ndarray) -> float:
    """One oversampled time step; returns the output node voltage."""
    k = e.shape[0]
    nx = x.shape[0]
    if k > 0:
        for r in range(k):
            acc = e[r] + E[r] * u
            for j in range(nx):
                acc += D[r, j] * x[j]
            vec[P, r] = acc
            vec[V, r] = pnjlim(2.0 * v1[r] - v2[r], v1[r], vt[r], vcrit[r])
        if not newton(k, F, codes, starts, rows, block_lo, block_hi, vt, vcrit, rate2, hq,
                      vec, jac, J, stats):
            stats[0] += 1
            for r in range(k):
                vec[V, r] = v1[r]
            eval_devices(codes, starts, rows, vec, rate2, hq, jac)
        for r in range(k):
            v2[r] = v1[r]
            v1[r] = vec[V, r]
            hq[r] = 2.0 * rate2 * vec[Q, r] - hq[r]
    y = HH[0] * u + HH[1]
    for j in range(nx):
        y += G[j] * x[j]
    for r in range(k):
        y += K[r] * vec[CUR, r]
    for i in range(nx):
        acc = B[i] * u + b[i]
        for j in range(nx):
            acc += A[i, j] * x[j]
        for r in range(k):
            acc += C[i, r] * vec[CUR, r]
        vec[XN, i] = acc
    for i in range(nx):
        x[i] = vec[XN, i]
    return y


@numba.njit(cache=True, nogil=True, error_model="numpy")
def run_circuit(inp: np.ndarray, out: np.ndarray, A: np.ndarray, B: np.ndarray,
                b: np.ndarray, C: np.ndarray, D: np.ndarray, E: np.ndarray, e: np.ndarray,
                F: np.ndarray, G: np.ndarray, HH: np.ndarray, K: np.ndarray,
                codes: np.ndarray, starts: np.ndarray, rows: np.ndarray,
                block_lo: np.ndarray, block_hi: np.ndarray, vt: np.ndarray,
                vcrit: np.ndarray, rate2: float, x: np.ndarray, v1: np.ndarray,
                v2: np.ndarray, hq: np.ndarray, vec: np.ndarray, jac: np.ndarray,
                J: np.ndarray, up_taps: np.ndarray, up_hist: np.ndarray,
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
    taps_up = up_taps.shape[1]
    taps_down = down_taps.shape[0]
    for n in range(inp.shape[0]):
        sample = inp[n]
        if not (abs(sample) < 1e9):  # NaN, inf or absurd: treat as silence
            sample = 0.0
        if factor == 1:
            y = circuit_step(sample, A, B, b, C, D, E, e, F, G, HH, K, codes, starts, rows,
                             block_lo, block_hi, vt, vcrit, rate2, x, v1, v2, hq, vec, jac, J,
                             stats)
            out[n] = y if math.isfinite(y) else 0.0
            continue
        pos = positions[0] - 1
        if pos < 0:
            pos = taps_up - 1
        positions[0] = pos
        up_hist[pos] = sample
        up_hist[pos + taps_up] = sample
        for phase in range(factor):
            if live_steps >= 0:
                if live_steps == 0:
                    y = 0.0
                    dpos = positions[1] - 1
                    if dpos < 0:
                        dpos = taps_down - 1
                    positions[1] = dpos
                    down_hist[dpos] = y
                    down_hist[dpos + taps_down] = y
                    if phase == 0:
                        out[n] = _dot(down_taps, down_hist, dpos)
                    continue
                live_steps -= 1
            u = _dot(up_taps[phase], up_hist, pos)
            if positions[2] > 0:  # the interpolator's pre-ringing before the first sample
                positions[2] -= 1
                u = 0.0
            y = circuit_step(u, A, B, b, C, D, E, e, F, G, HH, K, codes, starts, rows,
                             block_lo, block_hi, vt, vcrit, rate2, x, v1, v2, hq, vec, jac, J,
                             stats)
            if not math.isfinite(y):
                y = 0.0
            dpos = positions[1] - 1
            if dpos < 0:
                dpos = taps_down - 1
            positions[1] = dpos
            down_hist[dpos] = y
            down_hist[dpos + taps_down] = y
            if phase == 0:
                out[n] = _dot(down_taps, down_hist, dpos)
