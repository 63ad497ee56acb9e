"""Fast DK matrices for a control change: the fixed part stamped once.

A control moves the values of a few elements (a pot is one or two
resistors), never the structure. :func:`pedalboard.circuit.compiler.discretize`
re-stamps the whole netlist for every setting (every element's value through
the expression evaluator, the primitives, the MNA fill loops, the companion
conductances) before it solves. :class:`VariableParts` splits a compiled
system once into

* the **fixed part**: every element no control reaches, stamped with the
  companion conductances at the oversampled rate into ``M_fixed`` and the
  right-hand sides ``R_fixed`` (the variable elements stamped with values that
  make their stamps vanish: 1/R = 0, C = 0, gain = 0, ...), and
* the **variable elements**, each with the place its stamp goes and the
  coefficient its value turns into:

  =======================  =====================================  ==============
  element                  stamp                                  coefficient
  =======================  =====================================  ==============
  resistor                 ``c u u^T`` with ``u = e_a - e_b``     ``1/R``
  capacitor, inductor      the same across its branch             ``2C/T``, ``T/2L``
  VCVS                     ``c e_row (e_cb - e_ca)^T``            gain
  voltage, current source  the DC column of the right-hand side   volts, amps
  =======================  =====================================  ==============

so that ``M(θ) = M_fixed + U diag(c(θ)) V^T`` and the DC column is
``b_fixed + S s(θ)``. A setting then costs the variable elements' values
(their expressions compiled once, :func:`compile_expression`), one small
matrix product for the stamps, the dense solve and the read-out: 40-80 µs on
the library's circuits (up to 45 unknowns), against 0.2-1.5 ms for the full
path on the same machine. The solve is the full path's own, on the same
matrix up to the order of a few additions, so the result equals it to
rounding (bit for bit on most netlists; ``tests/circuit/test_variable.py``
holds every library netlist to 1e-12 across the controls' range).

Why not a rank-r update? The DK matrices are affine in the inverse of the
variable part (Holters and Zölzer, "Physical modelling of a wah-wah effect
pedal as a case study for application of the nodal DK method to circuits
with variable parts", DAFx 2011): with a reference solution at the defaults,
Woodbury's identity gives a setting from one r x r solve (r = number of
variable elements). Measured on these circuits it saved 5-30 µs of the
40-80 (the rest is the values, the read-out and the kernel's layout, which
both need), and it differs from the full path by up to 1e-10 of a matrix's
largest entry when a pot end nearly shorts the output (the update cancels
against the reference), so the direct solve is what is kept.

Anything the split does not cover (an inductance driven to zero or below, an
expression that fails, a singular system) gives ``None`` and the caller takes
the full path, which reports the problem as it always did.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from pedalboard.circuit import devices as dev
from pedalboard.circuit.compiler import (
    CircuitSystem,
    DKMatrices,
    companion_conductances,
    companion_matrix,
    dk_matrices,
    right_hand_sides,
    solve_linear,
)
from pedalboard.circuit.expressions import (
    Compiled,
    ExpressionError,
    compile_expression,
    depends_on,
)
from pedalboard.circuit.netlist import GROUND, Element, NetlistError

#: Element letters whose values a control may move on the fast path.
LINEAR_KINDS = frozenset("rclevi")
#: A value that makes an element's stamp vanish (conductance, companion
#: conductance, gain or source value exactly 0.0): the fixed part is stamped
#: with these in place of the variable elements.
NULL_VALUES = {"r": float("inf"), "c": 0.0, "l": float("inf"), "e": 0.0, "v": 0.0, "i": 0.0}


def follows_controls(element: Element, controls: set[str]) -> bool:
    """Whether the element's value may change with a control: its expression
    names a control, directly or through ``.param`` and subcircuit
    parameters (every scope up the chain is searched, so a shadowed name
    counts too: erring on "variable" only costs a column)."""
    if element.value is None or element.scope is None:
        return False
    pending = list(depends_on(element.value))
    seen: set[str] = set()
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        scope = element.scope
        while scope is not None:
            if name in scope.exprs:
                if scope.parent is None and name in controls:
                    return True
                pending.extend(depends_on(scope.exprs[name]))
            scope = scope.parent
    return False


@dataclass(frozen=True)
class Variable:
    """One element a control moves: its compiled value and where it lands."""

    element: Element
    value: Compiled
    column: int  # in U and V (r, c, l, e) or in S (v, i)
    reactive: int = -1  # index among the reactive elements (c, l)


class VariableParts:
    """The DK matrices of one compiled system at any control setting, from
    its fixed part stamped once (see the module docstring).

    Immutable after construction: :meth:`matrices` may run on any thread."""

    def __init__(self, system: CircuitSystem, sample_rate_hz: float) -> None:
        self.system = system
        self.sample_rate_hz = float(sample_rate_hz)
        netlist = system.netlist
        self.where = str(netlist.path)
        defaults = system.default_controls()
        names = set(defaults)
        ref_values = netlist.element_values(defaults)
        # Where each element's primitives land: branch rows and reactive indexes.
        nn = len(system.node_index)
        row, reactive = nn, 0
        slots: list[tuple[int, int]] = []  # (branch row, reactive index) per element
        for element, value in zip(netlist.elements, ref_values, strict=True):
            prims = dev.expand(element, value)[0]
            slots.append((row if prims and isinstance(prims[0], dev.VoltageSource | dev.Vcvs)
                          else -1,
                          reactive if prims and isinstance(prims[0], dev.Capacitor | dev.Inductor)
                          else -1))
            row += sum(isinstance(p, dev.VoltageSource | dev.Vcvs) for p in prims)
            reactive += sum(isinstance(p, dev.Capacitor | dev.Inductor) for p in prims)
        null_values = list(ref_values)
        variables: list[Variable] = []
        stamp_cols: list[np.ndarray] = []  # (u, v) pairs of U and V
        source_cols: list[np.ndarray] = []
        nz = row  # nodes, then one branch row per voltage source and VCVS

        def unit(*pairs: tuple[str, float]) -> np.ndarray:
            col = np.zeros(nz)
            for node, sign in pairs:
                if node != GROUND:
                    col[system.node_index[node]] += sign
            return col

        for index, element in enumerate(netlist.elements):
            if element.kind not in LINEAR_KINDS or element.name == "vin" \
                    or not follows_controls(element, names):
                continue
            null_values[index] = NULL_VALUES[element.kind]
            value = compile_expression(element.value or "")
            branch, j = slots[index]
            kind = element.kind
            if kind in "rcl":
                a, b = element.nodes[:2]
                u = unit((a, 1.0), (b, -1.0))
                variables.append(Variable(element, value, len(stamp_cols), j))
                stamp_cols.append(np.stack([u, u]))
            elif kind == "e":
                a, b, ca, cb = element.nodes
                e_row = np.zeros(nz)
                e_row[branch] = 1.0
                variables.append(Variable(element, value, len(stamp_cols)))
                stamp_cols.append(np.stack([e_row, unit((cb, 1.0), (ca, -1.0))]))
            elif kind == "v":
                col = np.zeros(nz)
                col[branch] = 1.0
                variables.append(Variable(element, value, len(source_cols)))
                source_cols.append(col)
            else:  # a current source: amps leave a and enter b
                a, b = element.nodes[:2]
                variables.append(Variable(element, value, len(source_cols)))
                source_cols.append(unit((a, -1.0), (b, 1.0)))
        self.variables = variables
        r = len(stamp_cols)
        self.U = np.array([c[0] for c in stamp_cols]).reshape(r, nz).T.copy()
        self.V = np.array([c[1] for c in stamp_cols]).reshape(r, nz).T.copy()
        self.S = np.array(source_cols).reshape(len(source_cols), nz).T.copy()
        self.scopes = list({id(v.element.scope): v.element.scope for v in variables}.values())

        # The fixed part, stamped once.
        s = system.stamp(defaults, values=null_values)
        self.is_inductor = s.reactive_is_inductor
        self.g_fixed = companion_conductances(s, self.sample_rate_hz)
        self.M_fixed = companion_matrix(s, self.g_fixed)
        self.rhs_fixed = right_hand_sides(s)
        self.P = np.vstack([s.T, s.Q, s.O])  # reads branch, port, output voltages
        self.nx, self.k = s.N_x.shape[1], system.num_ports
        if self.coefficients(defaults) is None:
            raise NetlistError(f"{self.where}: the default control setting is not valid")

    def coefficients(self, controls: Mapping[str, float]
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """At a setting: the variable elements' stamp coefficients ``c``,
        the source values ``s``, and the companion conductances of every
        reactive element; None off the fast path's ground."""
        overrides = dict(controls)
        try:
            env = {id(scope): scope.values(overrides) for scope in self.scopes}
        except ExpressionError:
            return None
        c = np.zeros(self.U.shape[1])
        src = np.zeros(self.S.shape[1])
        g = self.g_fixed.copy()
        period = 1.0 / self.sample_rate_hz
        for var in self.variables:
            try:
                value = var.value(env[id(var.element.scope)])
            except ExpressionError:
                return None
            # The element's own expansion: a resistor's clamp, the input's 0 V.
            prim = dev.expand(var.element, value)[0][0]
            if isinstance(prim, dev.Conductance):
                c[var.column] = prim.siemens
            elif isinstance(prim, dev.Capacitor):  # as companion_conductances has it
                c[var.column] = g[var.reactive] = 2.0 * prim.farads / period
            elif isinstance(prim, dev.Inductor):
                if not prim.henries > 0.0:
                    return None
                c[var.column] = g[var.reactive] = period / (2.0 * max(prim.henries, 1e-300))
            elif isinstance(prim, dev.Vcvs):
                c[var.column] = prim.gain
            elif isinstance(prim, dev.VoltageSource):
                src[var.column] = prim.volts
            else:
                assert isinstance(prim, dev.CurrentSource)
                src[var.column] = prim.amps
        return c, src, g

    def matrices(self, controls: Mapping[str, float]) -> DKMatrices | None:
        """The DK matrices at a setting (what ``discretize`` gives, to
        rounding), or None: take the full path."""
        values = self.coefficients(controls)
        if values is None:
            return None
        c, src, g = values
        M = self.M_fixed + (self.U * c) @ self.V.T
        rhs = self.rhs_fixed
        if src.size:
            rhs = rhs.copy()
            rhs[:, -1] += self.S @ src
        try:
            out = self.P @ solve_linear(M, rhs, self.where)
        except NetlistError:
            return None
        nx, k = self.nx, self.k
        return dk_matrices(out[:nx], out[nx:nx + k], out[nx + k:], g, self.is_inductor)
