"""DC operating point: where a biased circuit sits before the first sample.

Capacitors are open, inductors are shorts, Vin is 0 V. The nonlinear DC
system is reduced to its ports exactly like the transient one
(``v = e + F i(v)``) and solved by Newton with SPICE junction limiting,
starting from all junctions off. When plain Newton fails, ngspice's fallbacks
follow: *gmin stepping* (a large conductance across every junction, reduced
decade by decade) and then *source stepping* (the supplies ramped up from 0).
The result is the state ngspice's transient analysis starts from.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pedalboard.circuit import devices as dev
from pedalboard.circuit.compiler import CircuitSystem, Stamps, solve_linear
from pedalboard.circuit.netlist import NetlistError

MAX_ITERATIONS = 200
TOLERANCE_VOLTS = 1e-12


@dataclass
class OperatingPoint:
    port_volts: np.ndarray
    port_amps: np.ndarray
    z: np.ndarray  # node voltages then source/inductor currents
    stamps: Stamps
    node_volts: dict[str, float]


def port_currents(system: CircuitSystem, v: np.ndarray, rate2: float = 0.0
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Port currents, their Jacobian and the junction charges at ``v``."""
    k = len(v)
    vec = np.zeros((dev.DEVICE_ROWS, max(k, 1)))
    vec[dev.V, :k] = v
    jac = np.zeros((k, k))
    history = np.zeros(k)
    starts = np.asarray(system.port_starts, dtype=np.int64)
    for d in range(len(system.devices)):
        dev.eval_device(d, system.codes, starts, system.rows, vec, rate2, history, jac)
    return vec[dev.CUR, :k].copy(), jac, vec[dev.Q, :k].copy()


def _newton(system: CircuitSystem, e: np.ndarray, F: np.ndarray, v: np.ndarray) -> bool:
    k = len(v)
    for _ in range(MAX_ITERATIONS):
        cur, jac, _ = port_currents(system, v)
        residual = e + F @ cur - v
        J = F @ jac - np.eye(k)
        try:
            step = np.linalg.solve(J, -residual)
        except np.linalg.LinAlgError:
            return False
        if not np.all(np.isfinite(step)):
            return False
        limited = False
        largest = 0.0
        for r in range(k):
            target = v[r] + step[r]
            new = dev.pnjlim(target, v[r], system.port_vt[r], system.port_vcrit[r])
            limited |= new != target
            largest = max(largest, abs(new - v[r]))
            v[r] = new
        if not limited and largest < TOLERANCE_VOLTS + 1e-9 * float(np.max(np.abs(v))):
            return True
    return False


def _reduced(system: CircuitSystem, stamps: Stamps, scale: float) -> tuple[np.ndarray, ...]:
    rhs = np.column_stack([stamps.b_dc * scale, stamps.N_i])
    sol = solve_linear(stamps.M, rhs, str(system.netlist.path))
    return sol[:, 0], sol[:, 1:]


def operating_point(system: CircuitSystem, controls: dict[str, float]) -> OperatingPoint:
    """Solve the DC operating point; raises NetlistError if it cannot be found."""
    k = system.num_ports
    stamps = system.stamp(controls, dc=True)
    z0, Zi = _reduced(system, stamps, 1.0)
    e, F = stamps.Q @ z0, stamps.Q @ Zi
    v = np.zeros(k)
    solved = k == 0 or _newton(system, e, F, v)
    if not solved:
        solved = _gmin_stepping(system, controls, v)
    if not solved:
        solved = _source_stepping(system, stamps, v)
    if not solved:
        raise NetlistError(f"{system.netlist.path}: no DC operating point found (Newton, gmin "
                           "stepping and source stepping all failed)")
    cur = port_currents(system, v)[0] if k else np.zeros(0)
    z = z0 + Zi @ cur
    names = {name: float(z[i]) for name, i in system.node_index.items()}
    return OperatingPoint(v.copy(), cur, z, stamps, names)


def _gmin_stepping(system: CircuitSystem, controls: dict[str, float], v: np.ndarray) -> bool:
    v[:] = 0.0
    for exponent in range(-2, -13, -1):
        stamps = system.stamp(controls, dc=True, port_conductance=10.0 ** exponent)
        z0, Zi = _reduced(system, stamps, 1.0)
        if not _newton(system, stamps.Q @ z0, stamps.Q @ Zi, v):
            return False
    return True


def _source_stepping(system: CircuitSystem, stamps: Stamps, v: np.ndarray) -> bool:
    v[:] = 0.0
    scale = 0.0
    step = 0.1
    while scale < 1.0:
        trial = min(1.0, scale + step)
        z0, Zi = _reduced(system, stamps, trial)
        guess = v.copy()
        if _newton(system, stamps.Q @ z0, stamps.Q @ Zi, guess):
            v[:] = guess
            scale = trial
            step = min(0.5, step * 1.5)
        else:
            step /= 4.0
            if step < 1e-6:
                return False
    return True
