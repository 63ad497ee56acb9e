"""Netlist -> modified nodal analysis -> discrete-time nonlinear state space.

This is the "DK method" (D. T. Yeh, J. S. Abel, J. O. Smith, "Automated
physical modeling of nonlinear audio circuits for real-time audio effects",
2010; M. Holters, U. Zölzer, "A generalized method for the derivation of
non-linear state-space models from circuit schematics", EUSIPCO 2015 -- the
method ACME.jl implements).

1. Every capacitor and inductor is replaced by its trapezoidal companion: a
   conductance ``2C/T`` (``T/2L``) in parallel with a history current source
   ``x``; the history sources are the *states*.
2. Every semiconductor is replaced by its *ports*: current sources
   ``i`` (functions of the port voltages ``v``); gmin sits across each port as
   a linear conductance, as in ngspice.
3. The remaining circuit is linear: ``M z = b_in u + b_dc + N_x x + N_i i``
   with ``z`` the node voltages and source currents. Solving it symbolically
   (one dense solve per control setting) gives

       v      = D x[n-1] + E u[n] + e + F i(v)       (the nonlinear equation)
       x[n]   = A x[n-1] + B u[n] + b + C i(v)       (state update)
       y[n]   = G x[n-1] + H u[n] + h + K i(v)       (output node voltage)

   so each sample needs only a k x k Newton solve, k = number of ports.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from pedalboard.circuit import devices as dev
from pedalboard.circuit.netlist import GROUND, Netlist, NetlistError

#: Unknowns of a DC solve with an inductor: its current (it is a 0 V source).


@dataclass
class Stamps:
    """The linear system ``M z = b_in u + b_dc + N_x x + N_i i`` and the
    selection rows that read branch, port and output voltages out of ``z``."""

    M: np.ndarray
    b_in: np.ndarray
    b_dc: np.ndarray
    N_x: np.ndarray
    N_i: np.ndarray
    T: np.ndarray  # reactive branch voltages
    Q: np.ndarray  # port voltages
    O: np.ndarray  # output voltage
    reactive_g: np.ndarray  # 2C/T or T/2L (filled by discretize)
    reactive_values: np.ndarray  # C in farads or L in henries
    reactive_is_inductor: np.ndarray
    inductor_current_rows: list[int] = field(default_factory=list)  # DC only


@dataclass
class DKMatrices:
    A: np.ndarray
    B: np.ndarray
    b: np.ndarray
    C: np.ndarray
    D: np.ndarray
    E: np.ndarray
    e: np.ndarray
    F: np.ndarray
    G: np.ndarray
    H: float
    h: float
    K: np.ndarray

    def arrays(self) -> tuple[np.ndarray, ...]:
        """Contiguous float64 copies in the kernel's argument order."""
        c = np.ascontiguousarray
        return (c(self.A), c(self.B), c(self.b), c(self.C), c(self.D), c(self.E), c(self.e),
                c(self.F), c(self.G), np.array([self.H, self.h]), c(self.K))


class CircuitSystem:
    """The structure of a parsed netlist: nodes, primitives, devices, ports.

    Built once; :meth:`stamp` fills the matrices for a set of element values
    (controls move values, never the structure)."""

    def __init__(self, netlist: Netlist) -> None:
        self.netlist = netlist
        values = netlist.element_values(self.default_controls())
        expansions = [dev.expand(e, v) for e, v in zip(netlist.elements, values, strict=True)]
        # Charge-free diodes last: while they are frozen (see solver.py) the
        # active ports are a prefix and Newton indexes them directly.
        self.devices = sorted((d for _, d in expansions if d is not None),
                              key=dev.charge_free_diode)
        nodes: dict[str, int] = {}
        for prims, device in expansions:
            for prim in prims:
                for name in _prim_nodes(prim):
                    if name != GROUND:
                        nodes.setdefault(name, len(nodes))
            for a, b in device.ports if device else []:
                for name in (a, b):
                    if name != GROUND:
                        nodes.setdefault(name, len(nodes))
        self.node_index = nodes
        self.ports = [port for d in self.devices for port in d.ports]
        self.port_starts = np.cumsum([0] + [len(d.ports) for d in self.devices])[:-1]
        self.codes = np.array([d.code for d in self.devices], dtype=np.int64)
        self.rows = np.ascontiguousarray(
            np.array([d.params for d in self.devices]).reshape(len(self.devices),
                                                               dev.PARAMS_PER_DEVICE))
        self.port_vt = np.array([vt for d in self.devices for vt in d.port_vt])
        self.port_vcrit = np.array([vc for d in self.devices for vc in d.port_vcrit])
        self.port_quiet = np.array([q for d in self.devices for q in d.port_quiet])
        self.output = netlist.output_node
        if self.output not in nodes:
            raise NetlistError(f"{netlist.path}: output node {self.output!r} is not connected")

    def default_controls(self) -> dict[str, float]:
        return {c.name: c.default for c in self.netlist.controls}

    @property
    def num_ports(self) -> int:
        return len(self.ports)

    def primitives(self, controls: dict[str, float],
                   values: Sequence[float | None] | None = None) -> list[dev.Primitive]:
        """The linear primitives of every element, in netlist order.
        ``values`` (one per element, as :meth:`Netlist.element_values` gives
        them) replaces the values the controls would give."""
        if values is None:
            values = self.netlist.element_values(controls)
        prims: list[dev.Primitive] = []
        for element, value in zip(self.netlist.elements, values, strict=True):
            if element.kind == "l" and value is not None and value <= 0:
                raise element.location.error(f"{element.name}: inductance must be positive")
            prims.extend(dev.expand(element, value)[0])
        return prims

    def stamp(self, controls: dict[str, float], *, dc: bool = False,
              port_conductance: float = dev.GMIN,
              values: Sequence[float | None] | None = None) -> Stamps:
        """Fill the MNA matrices. ``dc``: capacitors open, inductors shorted
        (as 0 V sources whose currents become unknowns). ``values``: element
        values to stamp instead of the controls' (see :meth:`primitives`);
        the rows and columns do not depend on them."""
        prims = self.primitives(controls, values)
        nn = len(self.node_index)
        extra = sum(isinstance(p, dev.VoltageSource | dev.Vcvs) for p in prims)
        reactive = [p for p in prims if isinstance(p, dev.Capacitor | dev.Inductor)]
        if dc:
            extra += sum(isinstance(p, dev.Inductor) for p in reactive)
        nz = nn + extra
        k = self.num_ports
        M = np.zeros((nz, nz))
        b_in = np.zeros(nz)
        b_dc = np.zeros(nz)
        N_x = np.zeros((nz, len(reactive)))
        N_i = np.zeros((nz, k))
        idx = self.node_index

        def n(name: str) -> int:
            return -1 if name == GROUND else idx[name]

        def conductance(a: int, b: int, g: float) -> None:
            if a >= 0:
                M[a, a] += g
            if b >= 0:
                M[b, b] += g
            if a >= 0 and b >= 0:
                M[a, b] -= g
                M[b, a] -= g

        def branch_row(a: int, b: int, row: int) -> None:
            if a >= 0:
                M[a, row] += 1.0
                M[row, a] += 1.0
            if b >= 0:
                M[b, row] -= 1.0
                M[row, b] -= 1.0

        row = nn
        inductor_rows: list[int] = []
        for prim in prims:
            if isinstance(prim, dev.Conductance):
                conductance(n(prim.a), n(prim.b), prim.siemens)
            elif isinstance(prim, dev.CurrentSource):
                a, b = n(prim.a), n(prim.b)
                if a >= 0:
                    b_dc[a] -= prim.amps
                if b >= 0:
                    b_dc[b] += prim.amps
            elif isinstance(prim, dev.VoltageSource):
                branch_row(n(prim.a), n(prim.b), row)
                if prim.is_input:
                    b_in[row] = 1.0
                else:
                    b_dc[row] = prim.volts
                row += 1
            elif isinstance(prim, dev.Vcvs):
                branch_row(n(prim.a), n(prim.b), row)
                ca, cb = n(prim.control_a), n(prim.control_b)
                if ca >= 0:
                    M[row, ca] -= prim.gain
                if cb >= 0:
                    M[row, cb] += prim.gain
                row += 1
        for j, prim in enumerate(reactive):
            a, b = n(prim.a), n(prim.b)
            if dc:
                if isinstance(prim, dev.Inductor):
                    branch_row(a, b, row)
                    inductor_rows.append(row)
                    row += 1
                continue
            # history source x: a capacitor's injects into a, an inductor's leaves a
            sign = -1.0 if isinstance(prim, dev.Inductor) else 1.0
            if a >= 0:
                N_x[a, j] += sign
            if b >= 0:
                N_x[b, j] -= sign
        for p, (pa, pb) in enumerate(self.ports):
            a, b = n(pa), n(pb)
            conductance(a, b, port_conductance)
            if a >= 0:
                N_i[a, p] -= 1.0
            if b >= 0:
                N_i[b, p] += 1.0
        T = _selection([(n(p.a), n(p.b)) for p in reactive], nz)
        Q = _selection([(n(a), n(b)) for a, b in self.ports], nz)
        O = _selection([(n(self.output), -1)], nz)
        values = np.array([p.farads if isinstance(p, dev.Capacitor) else p.henries
                           for p in reactive])
        is_l = np.array([isinstance(p, dev.Inductor) for p in reactive], dtype=bool)
        return Stamps(M, b_in, b_dc, N_x, N_i, T, Q, O, np.zeros(len(reactive)), values, is_l,
                      inductor_rows)


def _prim_nodes(prim: dev.Primitive) -> tuple[str, ...]:
    if isinstance(prim, dev.Vcvs):
        return (prim.a, prim.b, prim.control_a, prim.control_b)
    return (prim.a, prim.b)


def _selection(pairs: list[tuple[int, int]], nz: int) -> np.ndarray:
    rows = np.zeros((len(pairs), nz))
    for r, (a, b) in enumerate(pairs):
        if a >= 0:
            rows[r, a] += 1.0
        if b >= 0:
            rows[r, b] -= 1.0
    return rows


def solve_linear(M: np.ndarray, rhs: np.ndarray, where: str) -> np.ndarray:
    """Solve the MNA system; a singular one is a netlist error, not a crash."""
    try:
        result = np.linalg.solve(M, rhs)
    except np.linalg.LinAlgError:
        raise NetlistError(f"{where}: the circuit equations are singular (a floating node "
                           "or a loop of voltage sources)") from None
    if not np.all(np.isfinite(result)):
        raise NetlistError(f"{where}: the circuit equations are ill-conditioned")
    return result


def companion_conductances(s: Stamps, sample_rate_hz: float) -> np.ndarray:
    """Each reactive element's trapezoidal companion conductance at the
    (oversampled) rate: ``2C/T`` for a capacitor, ``T/2L`` for an inductor."""
    period = 1.0 / sample_rate_hz
    return np.where(s.reactive_is_inductor,
                    period / (2.0 * np.maximum(s.reactive_values, 1e-300)),
                    2.0 * s.reactive_values / period)


def companion_matrix(s: Stamps, g: np.ndarray) -> np.ndarray:
    """``s.M`` with the companion conductances ``g`` stamped across their branches."""
    M = s.M.copy()
    for j in range(len(g)):
        a = np.flatnonzero(s.T[j] > 0)
        b = np.flatnonzero(s.T[j] < 0)
        ia = int(a[0]) if a.size else -1
        ib = int(b[0]) if b.size else -1
        for r, c, sign in ((ia, ia, 1), (ib, ib, 1), (ia, ib, -1), (ib, ia, -1)):
            if r >= 0 and c >= 0:
                M[r, c] += sign * g[j]
    return M


def right_hand_sides(s: Stamps) -> np.ndarray:
    """The MNA right-hand sides, one column each: history sources, port
    currents, input, DC sources."""
    return np.column_stack([s.N_x, s.N_i, s.b_in, s.b_dc])


def dk_matrices(TZ: np.ndarray, QZ: np.ndarray, OZ: np.ndarray, g: np.ndarray,
                is_inductor: np.ndarray) -> DKMatrices:
    """The DK matrices from the solved system read through the selection rows:
    ``TZ = T @ Z``, ``QZ = Q @ Z``, ``OZ = O @ Z`` with ``Z = M^-1 [N_x N_i
    b_in b_dc]`` (columns as :func:`right_hand_sides` orders them), ``g`` the
    companion conductances."""
    nx, k = len(g), QZ.shape[0]
    TZx, TZi, Tzin, Tzdc = TZ[:, :nx], TZ[:, nx:nx + k], TZ[:, nx + k], TZ[:, nx + k + 1]
    Sv = 2.0 * g
    Sx = np.where(is_inductor, 1.0, -1.0)
    A = Sv[:, None] * TZx + np.diag(Sx)
    B = Sv * Tzin
    b = Sv * Tzdc
    C = Sv[:, None] * TZi
    return DKMatrices(
        A=A.reshape(nx, nx), B=B, b=b, C=C.reshape(nx, k),
        D=QZ[:, :nx].reshape(k, nx), E=QZ[:, nx + k], e=QZ[:, nx + k + 1],
        F=QZ[:, nx:nx + k].reshape(k, k),
        G=OZ[0, :nx], H=float(OZ[0, nx + k]), h=float(OZ[0, nx + k + 1]), K=OZ[0, nx:nx + k],
    )


def discretize(system: CircuitSystem, controls: dict[str, float],
               sample_rate_hz: float) -> tuple[DKMatrices, Stamps]:
    """Trapezoidal DK matrices at ``sample_rate_hz`` (the oversampled rate).

    The full path: every element stamped, the whole MNA system solved. A
    control change takes the faster :mod:`pedalboard.circuit.variable` path,
    which equals this one to rounding."""
    s = system.stamp(controls)
    g = companion_conductances(s, sample_rate_hz)
    s.reactive_g = g
    M = companion_matrix(s, g)
    sol = solve_linear(M, right_hand_sides(s), str(system.netlist.path))
    return dk_matrices(s.T @ sol, s.Q @ sol, s.O @ sol, g, s.reactive_is_inductor), s
