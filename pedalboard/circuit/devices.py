"""Circuit elements: what each one adds to the equations.

Linear elements expand into *primitives* (conductance, capacitor, inductor,
voltage source, current source, VCVS) that the compiler stamps into the MNA
matrix. Semiconductors expand into series resistors (RS, RB, RE, RC become
internal nodes) plus a :class:`NonlinearDevice`: a set of *ports* (junction
voltages) and a row of parameters that the compiled kernel evaluates with the
numba functions at the bottom of this file.

Port convention: a port is a node pair (plus, minus); its voltage is
``v(plus) - v(minus)`` and its current flows from plus to minus through the
device. A BJT's ports are B'E' and B'C' (port currents ``ib + ic`` and
``-ic``); a JFET's are GS and GD (``igs + ids`` and ``igd - ids``). PNP and
P-channel parts swap each port's nodes, which turns them into NPN/N-channel
parts with identical equations.

Constants follow ngspice: 27 C (thermal voltage 25.85 mV), gmin = 1e-12 S
across every junction (stamped as a linear conductance by the compiler), the
SPICE depletion-charge formula with its FC linearisation. Junction
capacitance enters through its charge ``q(v)``: with trapezoidal integration
the capacitor current is ``(2/T) q(v) - h`` where ``h`` carries the history,
so the capacitance is part of the nonlinear port current (charge-conserving).
"""

from __future__ import annotations

import math
import types
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from pedalboard.circuit.netlist import GROUND, Element
from pedalboard.jit import kernel

#: ngspice's constants (const.h), so the thermal voltage matches to the last digit.
BOLTZMANN = 1.38064852e-23
CHARGE = 1.6021766208e-19
#: Thermal voltage at 27 C as ngspice computes it (kT/q with T = 300.15 K): 25.865 mV.
VT = BOLTZMANN * 300.15 / CHARGE
GMIN = 1e-12
#: Length of a device's parameter row: its model card's values, then constants
#: derived from them once (reciprocals, depletion-charge coefficients), so that
#: the per-step evaluation multiplies instead of dividing (a division costs
#: ~4x a multiplication's throughput and sits on the Newton step's critical
#: path; measured in docs/circuit-findings.md section 7).
PARAMS_PER_DEVICE = 40
MIN_OHMS = 1e-3
DIODE, BJT, JFET = 0, 1, 2
#: Rows of the scratch array ``vec`` that :func:`eval_device` reads (port
#: voltages) and writes (currents, charges, capacitances); the solver adds
#: its own rows after these.
V, CUR, Q, CQ = range(4)
DEVICE_ROWS = 4
#: Where the derived constants sit in a parameter row. Diode: card values
#: 0-8 (IS, n*Vt, CJO, VJ, M, FC, TT, F1, F2), then 1/(n*Vt) and the junction's
#: :func:`depletion_constants`. BJT: card values 0-16, then 1/BF, 1/BR,
#: 1/(NF*Vt), 1/(NR*Vt) and the B'E' and B'C' depletion constants. JFET: card
#: values 0-4 (VTO, BETA, LAMBDA, IS, n*Vt), then 1/(n*Vt).
D_INV_NVT, D_DEP = 9, 10
Q_INV_BF, Q_INV_BR, Q_INV_NF, Q_INV_NR, Q_DEP_E, Q_DEP_C = 17, 18, 19, 20, 21, 30
J_INV_NVT = 5
#: Number of :func:`depletion_constants`.
DEP_WIDTH = 9
jit = kernel(error_model="numpy")
#: Array code runs without numba's reference counting (see
#: :mod:`pedalboard.circuit.solver`): it is the per-step path.
array_jit = kernel(error_model="numpy", _nrt=False)


# -------------------------------------------------------------- primitives
@dataclass(frozen=True)
class Conductance:
    a: str
    b: str
    siemens: float


@dataclass(frozen=True)
class Capacitor:
    a: str
    b: str
    farads: float


@dataclass(frozen=True)
class Inductor:
    a: str
    b: str
    henries: float


@dataclass(frozen=True)
class VoltageSource:
    a: str
    b: str
    volts: float
    is_input: bool = False


@dataclass(frozen=True)
class CurrentSource:
    """SPICE convention: ``amps`` flow from ``a`` through the source to ``b``."""

    a: str
    b: str
    amps: float


@dataclass(frozen=True)
class Vcvs:
    a: str
    b: str
    control_a: str
    control_b: str
    gain: float


Primitive = Conductance | Capacitor | Inductor | VoltageSource | CurrentSource | Vcvs


@dataclass
class NonlinearDevice:
    """A semiconductor as the kernel sees it: its type code, ports, parameter
    row, and per-port junction data for voltage limiting."""

    name: str
    code: int
    ports: list[tuple[str, str]]
    params: np.ndarray
    port_vt: list[float] = field(default_factory=list)  # n*Vt per port (limiting)
    port_vcrit: list[float] = field(default_factory=list)
    #: Per port, the voltage below which its junction conducts under
    #: :data:`QUIET_AMPS` (its exponentials are then all but linear: see
    #: :func:`quiet_volts`); -inf where a port's current is not that kind.
    port_quiet: list[float] = field(default_factory=list)


Expansion = tuple[list[Primitive], NonlinearDevice | None]


def charge_free_diode(device: NonlinearDevice) -> bool:
    """A diode with neither junction (CJO) nor transit-time (TT) charge: its
    current is a pure exponential, which the solver may take out of Newton
    while it is deep in reverse bias (an op-amp's rail clamp)."""
    return device.code == DIODE and device.params[2] == 0.0 and device.params[6] == 0.0


# ------------------------------------------------------- linear elements
def resistor(element: Element, value: float | None) -> Expansion:
    assert value is not None
    # A pot swept to its end must not change the circuit's structure: clamp
    # at 1 milliohm instead of turning the resistor into a short.
    ohms = value if abs(value) >= MIN_OHMS else MIN_OHMS
    return [Conductance(element.nodes[0], element.nodes[1], 1.0 / ohms)], None


def capacitor(element: Element, value: float | None) -> Expansion:
    assert value is not None
    return [Capacitor(element.nodes[0], element.nodes[1], value)], None


def inductor(element: Element, value: float | None) -> Expansion:
    assert value is not None
    return [Inductor(element.nodes[0], element.nodes[1], value)], None


def voltage_source(element: Element, value: float | None) -> Expansion:
    assert value is not None
    is_input = element.name == "vin"
    return [VoltageSource(element.nodes[0], element.nodes[1], 0.0 if is_input else value,
                          is_input)], None


def current_source(element: Element, value: float | None) -> Expansion:
    assert value is not None
    return [CurrentSource(element.nodes[0], element.nodes[1], value)], None


def vcvs(element: Element, value: float | None) -> Expansion:
    assert value is not None
    a, b, ca, cb = element.nodes
    return [Vcvs(a, b, ca, cb, value)], None


# --------------------------------------------------------- semiconductors
def _series(node: str, ohms: float, internal: str, out: list[Primitive]) -> str:
    """A series resistance: returns the internal node (or ``node`` if none)."""
    if ohms <= 0.0:
        return node
    out.append(Conductance(node, internal, 1.0 / ohms))
    return internal


def _vcrit(nvt: float, saturation_amps: float) -> float:
    return nvt * math.log(nvt / (math.sqrt(2.0) * saturation_amps))


#: A junction carrying less than this is *quiet*: Newton need not confirm
#: its voltage (:data:`pedalboard.circuit.solver.QUIET_MOVE_VOLTS`).
QUIET_AMPS = 1e-10


def quiet_volts(nvt: float, saturation_amps: float) -> float:
    """The voltage below which ``saturation_amps * exp(v / nvt)`` is under
    :data:`QUIET_AMPS`. Below it a Newton step of ``s`` leaves a current
    error of at most ~ (s / nvt)^2 / 2 * QUIET_AMPS: a reverse-biased
    junction's voltage is right after one step whatever it moved, because
    its current is linear there."""
    return nvt * math.log(QUIET_AMPS / saturation_amps)


def diode(element: Element, value: float | None) -> Expansion:
    assert element.model is not None
    p = element.model.params
    area = element.area
    anode, cathode = element.nodes
    prims: list[Primitive] = []
    inner = _series(anode, p.get("rs", 0.0) / area, f"{element.name}#a", prims)
    i_s = p.get("is", 1e-14) * area
    nvt = p.get("n", 1.0) * VT
    cjo = p.get("cjo", p.get("cj0", 0.0)) * area
    row = np.zeros(PARAMS_PER_DEVICE)
    vj, m, fc = p.get("vj", 1.0), p.get("m", 0.5), p.get("fc", 0.5)
    f1, f2 = fc_constants(vj, m, fc)
    row[:9] = (i_s, nvt, cjo, vj, m, fc, p.get("tt", 0.0), f1, f2)
    row[D_INV_NVT] = 1.0 / nvt
    row[D_DEP:D_DEP + DEP_WIDTH] = depletion_constants(cjo, vj, m, fc, f1, f2)
    device = NonlinearDevice(element.name, DIODE, [(inner, cathode)], row, [nvt],
                             [_vcrit(nvt, i_s)], [quiet_volts(nvt, i_s)])
    return prims, device


def bjt(element: Element, value: float | None) -> Expansion:
    assert element.model is not None
    p = element.model.params
    area = element.area
    c, b, e = element.nodes
    prims: list[Primitive] = []
    ci = _series(c, p.get("rc", 0.0) / area, f"{element.name}#c", prims)
    bi = _series(b, p.get("rb", 0.0) / area, f"{element.name}#b", prims)
    ei = _series(e, p.get("re", 0.0) / area, f"{element.name}#e", prims)
    i_s = p.get("is", 1e-16) * area
    nf, nr = p.get("nf", 1.0) * VT, p.get("nr", 1.0) * VT
    vaf = p.get("vaf", p.get("va", 0.0))
    row = np.zeros(PARAMS_PER_DEVICE)
    vje, mje = p.get("vje", p.get("pe", 0.75)), p.get("mje", p.get("me", 0.33))
    vjc, mjc = p.get("vjc", p.get("pc", 0.75)), p.get("mjc", p.get("mc", 0.33))
    fc = p.get("fc", 0.5)
    f1e, f2e = fc_constants(vje, mje, fc)
    f1c, f2c = fc_constants(vjc, mjc, fc)
    cje, cjc = p.get("cje", 0.0) * area, p.get("cjc", 0.0) * area
    bf, br = p.get("bf", 100.0), p.get("br", 1.0)
    row[:17] = (i_s, bf, br, nf, nr, 1.0 / vaf if vaf > 0 else 0.0,
                cje, vje, mje, cjc, vjc, mjc, fc, f1e, f2e, f1c, f2c)
    row[Q_INV_BF:Q_INV_NR + 1] = (1.0 / bf, 1.0 / br, 1.0 / nf, 1.0 / nr)
    row[Q_DEP_E:Q_DEP_E + DEP_WIDTH] = depletion_constants(cje, vje, mje, fc, f1e, f2e)
    row[Q_DEP_C:Q_DEP_C + DEP_WIDTH] = depletion_constants(cjc, vjc, mjc, fc, f1c, f2c)
    ports = [(bi, ei), (bi, ci)] if element.model.kind == "npn" else [(ei, bi), (ci, bi)]
    # each junction's exponential drives the collector and the base current
    loudest = i_s * (1.0 + max(1.0 / bf, 1.0 / br))
    device = NonlinearDevice(element.name, BJT, ports, row, [nf, nr],
                             [_vcrit(nf, i_s), _vcrit(nr, i_s)],
                             [quiet_volts(nf, loudest), quiet_volts(nr, loudest)])
    return prims, device


def jfet(element: Element, value: float | None) -> Expansion:
    assert element.model is not None
    p = element.model.params
    area = element.area
    d, g, s = element.nodes
    i_s = p.get("is", 1e-14) * area
    nvt = p.get("n", 1.0) * VT
    row = np.zeros(PARAMS_PER_DEVICE)
    row[:5] = (p.get("vto", -2.0), p.get("beta", 1e-4) * area, p.get("lambda", 0.0), i_s, nvt)
    row[J_INV_NVT] = 1.0 / nvt
    ports = [(g, s), (g, d)] if element.model.kind == "njf" else [(s, g), (d, g)]
    vcrit = _vcrit(nvt, i_s)
    # the channel current is square-law in the gate voltages: never quiet
    return [], NonlinearDevice(element.name, JFET, ports, row, [nvt, nvt], [vcrit, vcrit],
                               [-math.inf, -math.inf])


#: Element letter -> expansion; adding an element type starts here.
EXPANDERS: dict[str, Callable[[Element, float | None], Expansion]] = {
    "r": resistor, "c": capacitor, "l": inductor, "v": voltage_source,
    "i": current_source, "e": vcvs, "d": diode, "q": bjt, "j": jfet,
}


def expand(element: Element, value: float | None) -> Expansion:
    return EXPANDERS[element.kind](element, value)


def is_ground(node: str) -> bool:
    return node == GROUND


# ------------------------------------------------- kernel-side evaluation
@jit
def junction(v: float, i_s: float, inv_nvt: float) -> tuple[float, float]:
    """Shockley current and conductance (``inv_nvt`` = 1/(n Vt)); the
    exponential is continued linearly above 80 thermal voltages so a wild
    Newton step cannot overflow, and dropped below -40 (deep reverse bias).
    One exponential gives both."""
    arg = v * inv_nvt
    if arg > 80.0:
        e80 = math.exp(80.0)
        return i_s * (e80 * (1.0 + arg - 80.0) - 1.0), i_s * e80 * inv_nvt
    if arg < -40.0:
        # exp(arg) < 5e-18: the current is -IS to the last bit (1 - e rounds
        # to 1) and the conductance < 1e-17 IS/(n Vt), below gmin by far
        # (it only shapes Newton's Jacobian): no exponential needed.
        return -i_s, 0.0
    e = math.exp(arg)
    return i_s * (e - 1.0), i_s * e * inv_nvt


def fc_constants(vj: float, m: float, fc: float) -> tuple[float, float]:
    """SPICE's F1 and F2 of the depletion charge's linearised part (they
    depend only on the model card). NaN for a card outside their domain
    (FC >= 1 or M = 1), used only if CJ0 > 0."""
    if not (fc < 1.0 and m != 1.0):
        return math.nan, math.nan
    f1 = vj * (1.0 - math.exp((1.0 - m) * math.log(1.0 - fc))) / (1.0 - m)
    f2 = math.exp((1.0 + m) * math.log(1.0 - fc))
    return f1, f2


def depletion_constants(cj0: float, vj: float, m: float, fc: float, f1: float,
                        f2: float) -> tuple[float, ...]:
    """The :data:`DEP_WIDTH` constants :func:`depletion` takes, computed once
    per junction: ``(cj0, fc*vj, 1/vj, m, vj*cj0/(1-m), cj0*f1, cj0*f3/f2,
    cj0*m/(2 vj f2), cj0*m/(vj f2))`` with SPICE's ``f3 = 1 - fc (1 + m)``.
    All zero for a junction without charge (CJ0 = 0); NaN where the card is
    outside the formula's domain (M = 1 or FC >= 1)."""
    if cj0 == 0.0:
        return (0.0,) * DEP_WIDTH
    if not (fc < 1.0 and m != 1.0):
        return (cj0, fc * vj, 1.0 / vj, m) + (math.nan,) * 5
    f3 = 1.0 - fc * (1.0 + m)
    k = cj0 / f2
    return (cj0, fc * vj, 1.0 / vj, m, vj * cj0 / (1.0 - m), cj0 * f1, k * f3,
            k * 0.5 * m / vj, k * m / vj)


@jit
def depletion(v: float, cj0: float, fcv: float, inv_vj: float, m: float, qk: float,
              qa: float, qb: float, qc: float, cc: float) -> tuple[float, float]:
    """SPICE depletion charge and capacitance, linearised above ``fc*vj``,
    from :func:`depletion_constants`: below, ``s = 1 - v/vj``,
    ``q = vj cj0 (1 - s^(1-m))/(1-m)`` and ``c = cj0 s^-m``, both from one
    ``s^-m`` (an exp and a log); above, a quadratic charge and a linear
    capacitance (no transcendental)."""
    if cj0 == 0.0:
        return 0.0, 0.0
    if v < fcv:
        s = 1.0 - v * inv_vj
        sm = math.exp(-m * math.log(s))  # s**-m
        return qk * (1.0 - s * sm), cj0 * sm
    return qa + qb * (v - fcv) + qc * (v * v - fcv * fcv), qb + cc * v


#: A junction's depletion anchor (see :func:`depletion_anchored`) serves
#: voltages whose ``s = 1 - v/vj`` is within this fraction of the anchor's.
ANCHOR_REACH = 0.05


@jit
def depletion_anchored(v: float, a_inv: float, a_sm: float, cj0: float, fcv: float,
                       inv_vj: float, m: float, qk: float, qa: float, qb: float, qc: float,
                       cc: float) -> tuple[float, float, float, float]:
    """:func:`depletion` without its exp and log near an *anchor*: a point
    ``s0`` where ``s0^-m`` was computed exactly, kept by the caller as
    ``a_inv = 1/s0`` and ``a_sm = s0^-m`` (``a_sm = 0``: none yet). With
    ``s = s0 (1 - x)``, ``s^-m = s0^-m (1 - x)^-m`` and the binomial series to
    x^4 leaves ``m(m+1)(m+2)(m+3)(m+4)/120 x^5``: below 4e-8 of the
    capacitance for |x| <= :data:`ANCHOR_REACH` and M <= 0.5 (a charge error
    of ~1e-19 C on a transistor's junction). Farther away, the exact value,
    which becomes the new anchor. Returns (q, c, a_inv, a_sm).

    A junction moves a few millivolts per oversampled step except on the
    edges of a clipped wave, so most evaluations (all but the first of a
    step's Newton iterations, and most first ones) need no transcendental:
    on a Fuzz Face two of every step's four depletion evaluations were an
    exp and a log each."""
    if cj0 == 0.0:
        return 0.0, 0.0, a_inv, a_sm
    if v >= fcv:
        return qa + qb * (v - fcv) + qc * (v * v - fcv * fcv), qb + cc * v, a_inv, a_sm
    s = 1.0 - v * inv_vj
    x = 1.0 - s * a_inv
    if a_sm > 0.0 and abs(x) <= ANCHOR_REACH:
        sm = a_sm * (1.0 + m * x * (1.0 + (m + 1.0) / 2.0 * x * (
            1.0 + (m + 2.0) / 3.0 * x * (1.0 + (m + 3.0) / 4.0 * x))))
    else:
        sm = math.exp(-m * math.log(s))  # s**-m
        a_inv = 1.0 / s
        a_sm = sm
    return qk * (1.0 - s * sm), cj0 * sm, a_inv, a_sm


@jit
def diode_point(v: float, i_s: float, inv_nvt: float, tt: float, cj0: float, fcv: float,
                inv_vj: float, m: float, qk: float, qa: float, qb: float, qc: float,
                cc: float) -> tuple[float, float, float, float]:
    """Diode current, conductance, charge and capacitance at junction voltage
    v (the depletion arguments: :func:`depletion_constants`)."""
    i, g = junction(v, i_s, inv_nvt)
    q, c = depletion(v, cj0, fcv, inv_vj, m, qk, qa, qb, qc, cc)
    return i, g, q + tt * i, c + tt * g  # tt: transit-time (diffusion) charge


@jit
def bjt_point(vbe: float, vbc: float, i_s: float, inv_bf: float, inv_br: float,
              inv_nfvt: float, inv_nrvt: float, inv_vaf: float
              ) -> tuple[float, float, float, float, float, float]:
    """Gummel-Poon without high injection (ngspice's bjtload with IKF=IKR=0,
    ISE=ISC=0), Early effect through qb = 1/(1 - vbc/VAF), from the
    reciprocals of BF, BR, NF*Vt and NR*Vt. Returns the port currents
    (B'E': ib + ic, B'C': -ic) and their 2x2 Jacobian."""
    cbe, gbe = junction(vbe, i_s, inv_nfvt)
    cbc, gbc = junction(vbc, i_s, inv_nrvt)
    one_over_qb = 1.0 - vbc * inv_vaf
    ic = (cbe - cbc) * one_over_qb - cbc * inv_br
    ib = cbe * inv_bf + cbc * inv_br
    dic_dbe = gbe * one_over_qb
    dic_dbc = -gbc * one_over_qb - (cbe - cbc) * inv_vaf - gbc * inv_br
    return (ib + ic, -ic, gbe * inv_bf + dic_dbe, gbc * inv_br + dic_dbc, -dic_dbe, -dic_dbc)


@jit
def _shichman_hodges(vgst: float, vds: float, beta: float, lam: float
                     ) -> tuple[float, float, float]:
    """Drain current, d/dvgst and d/dvds for vds >= 0 (ngspice JFET level 1, B=1)."""
    if vgst <= 0.0:
        return 0.0, 0.0, 0.0
    betap = beta * (1.0 + lam * vds)
    if vgst >= vds:  # linear region
        ids = betap * vds * (2.0 * vgst - vds)
        gm = betap * 2.0 * vds
        gds = betap * (2.0 * vgst - 2.0 * vds) + beta * lam * vds * (2.0 * vgst - vds)
        return ids, gm, gds
    return betap * vgst * vgst, 2.0 * betap * vgst, beta * lam * vgst * vgst


@jit
def jfet_point(vgs: float, vgd: float, vto: float, beta: float, lam: float, i_s: float,
               inv_nvt: float) -> tuple[float, float, float, float, float, float]:
    """Shichman-Hodges JFET with gate diodes (``inv_nvt`` = 1/(n Vt)): port
    currents (GS: igs + ids, GD: igd - ids) and their 2x2 Jacobian."""
    igs, ggs = junction(vgs, i_s, inv_nvt)
    igd, ggd = junction(vgd, i_s, inv_nvt)
    vds = vgs - vgd
    if vds >= 0.0:
        ids, gm, gds = _shichman_hodges(vgs - vto, vds, beta, lam)
        d_gs = gm + gds
        d_gd = -gds
    else:  # inverse mode: drain and source swap roles
        ids, gm, gds = _shichman_hodges(vgd - vto, -vds, beta, lam)
        ids = -ids
        d_gs = gds
        d_gd = -(gm + gds)
    return igs + ids, igd - ids, ggs + d_gs, d_gd, -d_gs, ggd - d_gd


@array_jit
def eval_device(d: int, codes: np.ndarray, starts: np.ndarray, rows: np.ndarray,
                vec: np.ndarray, rate2: float, hq: np.ndarray, jac: np.ndarray) -> None:
    """Port currents ``vec[CUR]``, charges ``vec[Q]``, capacitances
    ``vec[CQ]`` and the Jacobian block ``jac`` of device ``d`` at the port
    voltages ``vec[V]``; ``rate2`` = 2/T (0 for DC), ``hq`` the charge
    history. A junction capacitance adds ``rate2*q - h`` to its port current
    (trapezoidal, charge-conserving)."""
    code = codes[d]
    p = starts[d]
    if code == DIODE:
        k = D_DEP
        i, g, q, c = diode_point(vec[V, p], rows[d, 0], rows[d, D_INV_NVT], rows[d, 6],
                                 rows[d, k], rows[d, k + 1], rows[d, k + 2], rows[d, k + 3],
                                 rows[d, k + 4], rows[d, k + 5], rows[d, k + 6],
                                 rows[d, k + 7], rows[d, k + 8])
        vec[Q, p] = q
        vec[CQ, p] = c
        vec[CUR, p] = i + rate2 * q - hq[p]
        jac[p, p] = g + rate2 * c
        return
    if code == BJT:
        vbe = vec[V, p]
        vbc = vec[V, p + 1]
        j1, j2, g11, g12, g21, g22 = bjt_point(vbe, vbc, rows[d, 0], rows[d, Q_INV_BF],
                                               rows[d, Q_INV_BR], rows[d, Q_INV_NF],
                                               rows[d, Q_INV_NR], rows[d, 5])
        k = Q_DEP_E
        qe, ce = depletion(vbe, rows[d, k], rows[d, k + 1], rows[d, k + 2], rows[d, k + 3],
                           rows[d, k + 4], rows[d, k + 5], rows[d, k + 6], rows[d, k + 7],
                           rows[d, k + 8])
        k = Q_DEP_C
        qc, cc = depletion(vbc, rows[d, k], rows[d, k + 1], rows[d, k + 2], rows[d, k + 3],
                           rows[d, k + 4], rows[d, k + 5], rows[d, k + 6], rows[d, k + 7],
                           rows[d, k + 8])
    else:
        j1, j2, g11, g12, g21, g22 = jfet_point(vec[V, p], vec[V, p + 1], rows[d, 0],
                                                rows[d, 1], rows[d, 2], rows[d, 3],
                                                rows[d, J_INV_NVT])
        qe = ce = qc = cc = 0.0
    vec[Q, p] = qe
    vec[Q, p + 1] = qc
    vec[CQ, p] = ce
    vec[CQ, p + 1] = cc
    vec[CUR, p] = j1 + rate2 * qe - hq[p]
    vec[CUR, p + 1] = j2 + rate2 * qc - hq[p + 1]
    jac[p, p] = g11 + rate2 * ce
    jac[p, p + 1] = g12
    jac[p + 1, p] = g21
    jac[p + 1, p + 1] = g22 + rate2 * cc


@array_jit
def eval_device_anchored(d: int, codes: np.ndarray, starts: np.ndarray, rows: np.ndarray,
                         vec: np.ndarray, rate2: float, hq: np.ndarray, ai: np.ndarray,
                         am: np.ndarray, jac: np.ndarray) -> None:
    """:func:`eval_device` with the junctions' depletion anchors ``ai``,
    ``am`` (by port: :func:`depletion_anchored`), which it reads and moves:
    the Newton loop's evaluation. ``eval_device`` stays exact (the DC
    operating point, the failure path)."""
    code = codes[d]
    p = starts[d]
    if code == DIODE:
        k = D_DEP
        i, g = junction(vec[V, p], rows[d, 0], rows[d, D_INV_NVT])
        q, c, ai[p], am[p] = depletion_anchored(vec[V, p], ai[p], am[p], rows[d, k],
                                                rows[d, k + 1], rows[d, k + 2],
                                                rows[d, k + 3], rows[d, k + 4],
                                                rows[d, k + 5], rows[d, k + 6],
                                                rows[d, k + 7], rows[d, k + 8])
        q += rows[d, 6] * i  # transit-time (diffusion) charge, as diode_point
        c += rows[d, 6] * g
        vec[Q, p] = q
        vec[CQ, p] = c
        vec[CUR, p] = i + rate2 * q - hq[p]
        jac[p, p] = g + rate2 * c
        return
    if code == BJT:
        vbe = vec[V, p]
        vbc = vec[V, p + 1]
        j1, j2, g11, g12, g21, g22 = bjt_point(vbe, vbc, rows[d, 0], rows[d, Q_INV_BF],
                                               rows[d, Q_INV_BR], rows[d, Q_INV_NF],
                                               rows[d, Q_INV_NR], rows[d, 5])
        k = Q_DEP_E
        qe, ce, ai[p], am[p] = depletion_anchored(
            vbe, ai[p], am[p], rows[d, k], rows[d, k + 1], rows[d, k + 2], rows[d, k + 3],
            rows[d, k + 4], rows[d, k + 5], rows[d, k + 6], rows[d, k + 7], rows[d, k + 8])
        k = Q_DEP_C
        qc, cc, ai[p + 1], am[p + 1] = depletion_anchored(
            vbc, ai[p + 1], am[p + 1], rows[d, k], rows[d, k + 1], rows[d, k + 2], rows[d, k + 3],
            rows[d, k + 4], rows[d, k + 5], rows[d, k + 6], rows[d, k + 7], rows[d, k + 8])
    else:
        j1, j2, g11, g12, g21, g22 = jfet_point(vec[V, p], vec[V, p + 1], rows[d, 0],
                                                rows[d, 1], rows[d, 2], rows[d, 3],
                                                rows[d, J_INV_NVT])
        qe = ce = qc = cc = 0.0
    vec[Q, p] = qe
    vec[Q, p + 1] = qc
    vec[CQ, p] = ce
    vec[CQ, p + 1] = cc
    vec[CUR, p] = j1 + rate2 * qe - hq[p]
    vec[CUR, p + 1] = j2 + rate2 * qc - hq[p + 1]
    jac[p, p] = g11 + rate2 * ce
    jac[p, p + 1] = g12
    jac[p + 1, p] = g21
    jac[p + 1, p + 1] = g22 + rate2 * cc


@jit
def pnjlim(vnew: float, vold: float, vt: float, vcrit: float) -> float:
    """SPICE junction-voltage limiting (ngspice DEVpnjlim): a Newton step
    into the exponential region moves logarithmically, not linearly."""
    if vnew > vcrit and abs(vnew - vold) > 2.0 * vt:
        if vold > 0.0:
            arg = 1.0 + (vnew - vold) / vt
            if arg > 0.0:
                return vold + vt * math.log(arg)
            return vcrit
        return vt * math.log(vnew / vt)
    if vnew < 0.0:
        arg = -vold - 1.0 if vold > 0.0 else 2.0 * vold - 1.0
        if vnew < arg:
            return arg
    return vnew


def _inlined(names: tuple[str, ...]) -> dict[str, object]:
    """Copies of these scalar model functions that numba inlines into their
    caller at IR level, calling each other's copies (``bjt_point`` inlines
    ``junction``), for the per-circuit kernels (:mod:`.codegen`).

    A call of a compiled numba function from another is a real call: LLVM
    never inlines across numba's per-function libraries, and numba's calling
    convention adds a status word and a store of every returned tuple. On a
    TS808 step that was 35-40 calls; inlined, the step took 11 % less time
    and a Fuzz Face's 17 % less (docs/circuit-findings.md section 8). The
    generic kernel keeps the ordinary functions: inlining them there would
    lengthen its compile, which is the cold start's cost."""
    namespace = dict(globals())  # the copies' globals: names resolve to the copies
    copies: dict[str, object] = {}
    for name in names:
        f = globals()[name].py_func
        twin = types.FunctionType(f.__code__, namespace, name, f.__defaults__, f.__closure__)
        twin.__doc__ = f.__doc__
        copies[name] = kernel(error_model="numpy", _nrt=False, inline="always")(twin)
    namespace.update(copies)
    return copies


#: The inlined model functions (see :func:`_inlined`), by name.
INLINE_MODELS = _inlined(("junction", "depletion", "depletion_anchored", "diode_point",
                          "bjt_point", "_shichman_hodges", "jfet_point", "pnjlim"))
