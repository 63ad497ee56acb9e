"""``CircuitModel``: a compiled netlist that turns volts at Vin into volts at
the output node, sample by sample, starting from the DC operating point.

    model = CircuitModel.from_file("circuits/fuzz_face.cir", oversample=4)
    out_volts = model.process_volts(in_volts)      # audio-rate float64
    model.set_control("fuzz", 0.8)                 # takes effect at the next sample

Controls move element values, never the structure: :meth:`matrices_for`
recomputes the DK matrices in numpy (off the audio thread if wanted) and
:meth:`load_matrices` copies them into the arrays the kernel reads, in place.

Kernel: ``kernel="auto"`` (the default) runs the circuit's generated kernel
when numba's cache holds it, else the generic one at once while a background
process compiles the generated one for next time
(:mod:`pedalboard.circuit.kernels`); ``model.kernel`` says which it got.
``"generated"`` waits for the compile, ``"generic"`` is the reference: the
installer's ahead-of-time build of it (:mod:`pedalboard.circuit.aot`) when
present, else numba's JIT build.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pedalboard.circuit import aot, codegen, kernels, oversampling, solver
from pedalboard.circuit.compiler import CircuitSystem, discretize
from pedalboard.circuit.dcop import operating_point, port_currents
from pedalboard.circuit.devices import charge_free_diode
from pedalboard.circuit.netlist import ControlSpec, Netlist, NetlistError, parse_netlist
from pedalboard.circuit.solver import HISTORY_ROWS, SCRATCH_ROWS, fuse
from pedalboard.circuit.variable import VariableParts

__all__ = ["CircuitModel", "ControlSpec"]


@dataclass
class _State:
    """Everything the kernel mutates for one channel."""

    x: np.ndarray
    hist: np.ndarray  # past port voltages, charges, predictions (solver.V1, ...)
    lu: np.ndarray  # the last Newton Jacobian's LU factors (the tangent guess)
    marks: np.ndarray  # frozen ports, active sets, pivots, guess choices (solver.FROZEN, ...)
    up_hist: np.ndarray
    down_hist: np.ndarray
    positions: np.ndarray
    stats: np.ndarray

    FIELDS = ("x", "hist", "lu", "marks", "up_hist", "down_hist", "positions", "stats")

    def copy(self) -> _State:
        return _State(*(getattr(self, name).copy() for name in self.FIELDS))

    def assign(self, other: _State) -> None:
        for name in self.FIELDS:
            getattr(self, name)[:] = getattr(other, name)


class CircuitModel:
    """A netlist compiled to a real-time nonlinear state-space model."""

    def __init__(self, netlist: Netlist, *, oversample: int = 4, sample_rate: float = 48000.0,
                 controls: Mapping[str, float] | None = None, kernel: str = "auto") -> None:
        if oversample not in oversampling.FACTORS:
            raise NetlistError(f"oversample must be one of {oversampling.FACTORS}, "
                               f"not {oversample}")
        self.netlist = netlist
        self.system = CircuitSystem(netlist)
        self.controls: list[ControlSpec] = list(netlist.controls)
        self.input_volts = netlist.input_volts
        self.output_volts = netlist.output_volts
        self.output_node = netlist.output_node
        self.oversample = int(oversample)
        self.sample_rate = float(sample_rate)
        self.rate2 = 2.0 * self.oversample * self.sample_rate
        self._values = {c.name: c.default for c in self.controls}
        for name, value in (controls or {}).items():
            self._values[self._check_control(name, value)] = float(value)
        self.resampler = oversampling.design(self.oversample, self.sample_rate)
        system = self.system
        k = system.num_ports
        self._codes = system.codes
        self._starts = np.asarray(system.port_starts, dtype=np.int64)
        self._rows = system.rows
        self._port_info, self._port_int = _port_tables(system)
        self._variable = _variable_parts(system, self.oversample * self.sample_rate)
        self._mats = list(self.matrices_for(self._values))
        # Wp and Ws transposed, for the generated kernels (codegen._products),
        # and views of them shaped like Wp and Ws, to write through.
        self._transposed = (self._mats[0].T.copy(), self._mats[1].T.copy())
        self._transposed_views = (self._transposed[0].T, self._transposed[1].T)
        nx = self._mats[1].shape[0] - 1
        self.kernel = kernel
        self._kernel = _kernel_for(kernel, system, self._port_info, nx)
        self._vec = np.zeros((SCRATCH_ROWS, max(k, nx, 1)))
        self._jac = np.zeros((k, k))
        taps_up = self.resampler.up_taps.shape[1]
        taps_down = self.resampler.down_taps.shape[0]
        self._state = _State(np.zeros(nx), np.zeros((HISTORY_ROWS, k)), np.zeros((k, k)),
                             np.zeros((solver.MARK_ROWS, k + 1), dtype=np.int64),
                             np.zeros(2 * taps_up), np.zeros(2 * taps_down),
                             np.zeros(3, dtype=np.int64), np.zeros(2, dtype=np.int64))
        self._initial: _State | None = None
        self.operating_point: dict[str, float] = {}
        self.reset()
        if kernel == "auto":  # generated if cached, else generic (kernels.settle)
            self._kernel = kernels.settle(self)

    # ------------------------------------------------------------ creation
    @classmethod
    def from_file(cls, path: str | Path, *, oversample: int = 4, sample_rate: float = 48000.0,
                  controls: Mapping[str, float] | None = None,
                  kernel: str = "auto") -> CircuitModel:
        return cls(parse_netlist(path), oversample=oversample, sample_rate=sample_rate,
                   controls=controls, kernel=kernel)

    def copy(self) -> CircuitModel:
        """Another channel: shares the (read-only) matrices, owns its state."""
        twin = object.__new__(CircuitModel)
        twin.__dict__.update(self.__dict__)
        twin._state = self._state.copy()
        twin._initial = self._initial.copy() if self._initial else None
        twin._vec = self._vec.copy()
        twin._jac = self._jac.copy()
        twin._values = dict(self._values)
        return twin

    # ------------------------------------------------------------ controls
    def _check_control(self, name: str, value: float) -> str:
        key = name.lower()
        spec = next((c for c in self.controls if c.name == key), None)
        if spec is None:
            known = ", ".join(c.name for c in self.controls) or "none"
            raise NetlistError(f"{self.netlist.path}: no control {name!r} (controls: {known})")
        if not spec.min <= float(value) <= spec.max:
            raise NetlistError(f"{self.netlist.path}: control {key} = {value} outside "
                               f"[{spec.min:g}, {spec.max:g}]")
        return key

    @property
    def control_values(self) -> dict[str, float]:
        return dict(self._values)

    def matrices_for(self, values: Mapping[str, float]) -> tuple[np.ndarray, ...]:
        """The kernel's matrices (``Wp``, ``Ws``, ``F``: see
        :func:`pedalboard.circuit.solver.fuse`) for a control setting; safe
        to call from any thread. Only the elements the controls move are
        stamped anew (:class:`pedalboard.circuit.variable.VariableParts`,
        40-80 µs); anything that path does not cover takes the full
        :func:`pedalboard.circuit.compiler.discretize` (0.2-1.5 ms), which
        it equals to rounding."""
        parts = self._variable
        mats = parts.matrices(values) if parts is not None else None
        if mats is None:
            mats, _ = discretize(self.system, dict(values), self.oversample * self.sample_rate)
        Wp, Ws = fuse(mats.A, mats.B, mats.b, mats.C, mats.D, mats.E, mats.e, mats.G, mats.H,
                      mats.h, mats.K)
        return Wp, Ws, np.ascontiguousarray(mats.F)

    def load_matrices(self, arrays: tuple[np.ndarray, ...]) -> None:
        """Copy precomputed matrices into the live ones (no allocation)."""
        for live, new in zip(self._mats, arrays, strict=True):
            live[...] = new
        for live, new in zip(self._transposed_views, arrays[:2], strict=True):
            live[...] = new

    @property
    def _kernel(self) -> Callable[..., None]:
        """The kernel :meth:`process_block` calls (assigned: also the layout
        of ``Wp`` and ``Ws`` it is given, see :attr:`kernel_matrices`)."""
        return self._kernel_fn

    @_kernel.setter
    def _kernel(self, kernel: Callable[..., None]) -> None:
        self._kernel_fn = kernel
        self.kernel_matrices = (self._transposed if getattr(kernel, "reads_transposed", False)
                                else (self._mats[0], self._mats[1]))

    def set_control(self, name: str, value: float) -> None:
        """Move a control; the next processed sample uses the new value."""
        key = self._check_control(name, value)
        self._values[key] = float(value)
        self.load_matrices(self.matrices_for(self._values))

    # ------------------------------------------------------------- running
    @property
    def newton_failures(self) -> int:
        return int(self._state.stats[0])

    @property
    def latency(self) -> int:
        """Delay of :meth:`process_block` in audio samples (the resampler's)."""
        return self.resampler.latency

    def reset(self) -> None:
        """Back to the DC operating point at the current control settings."""
        op = operating_point(self.system, self._values)
        s = self._state
        self.operating_point = {n: v for n, v in op.node_volts.items() if "#" not in n}
        st = op.stamps
        _, stamps = discretize(self.system, self._values, self.oversample * self.sample_rate)
        nn = len(self.system.node_index)
        branch = stamps.T[:, :nn] @ op.z[:nn]
        caps = ~stamps.reactive_is_inductor
        # At rest a capacitor carries no current (x = 2C/T * v) and an
        # inductor's history is its DC current.
        x = np.where(caps, stamps.reactive_g * branch, 0.0)
        if st.inductor_current_rows:
            x[~caps] = op.z[st.inductor_current_rows]
        s.x[:] = x
        s.hist[solver.V1] = op.port_volts
        s.hist[solver.V2] = op.port_volts
        s.hist[solver.V3] = op.port_volts
        s.hist[solver.AI] = s.hist[solver.AM] = 0.0  # no depletion anchors yet
        if s.hist.shape[1]:
            s.hist[solver.HQ] = self.rate2 * port_currents(self.system, op.port_volts)[2]
            Wp = self._mats[0]
            nx = s.x.shape[0]
            s.hist[solver.P1] = s.hist[solver.P2] = Wp[:, :nx] @ s.x + Wp[:, nx + 1]
        s.lu[:] = 0.0
        s.marks[:] = 0  # no factorisation to reuse, extrapolated guesses
        s.up_hist[:] = 0.0
        # The decimator's history holds the resting output, so no step at start.
        s.down_hist[:] = op.node_volts[self.output_node]
        s.positions[:] = 0
        s.positions[2] = self.resampler.latency * self.oversample // 2
        s.stats[:] = 0
        self._initial = s.copy()

    def process_block(self, volts_in: np.ndarray, volts_out: np.ndarray,
                      live_steps: int = -1) -> None:
        """Streaming: float64 in -> float64 out (delayed by :attr:`latency`).
        Allocates nothing; this is what the real-time effect calls."""
        Wp, Ws = self.kernel_matrices
        F = self._mats[2]
        s = self._state
        r = self.resampler
        self._kernel(volts_in, volts_out, Wp, Ws, F, self._codes, self._starts, self._rows,
                    self._port_info, self._port_int, self.rate2, s.x, s.hist, self._vec,
                    self._jac, s.lu, s.marks, r.up_taps, s.up_hist, r.down_taps,
                    s.down_hist, s.positions, s.stats, live_steps)

    def process_volts(self, volts: np.ndarray) -> np.ndarray:
        """Audio-rate volts at Vin -> volts at the output node, time-aligned
        (the resampler's delay is removed exactly), continuing the state.

        The last ``latency`` outputs of a call depend on input that has not
        arrived: they are finished the way ``resample_poly`` finishes a clip
        (the circuit hears the rest of the clip, then input and output end),
        which is how the ngspice reference is made. The state is then rewound,
        so the next call continues exactly where this clip's input ended."""
        volts = np.ascontiguousarray(volts, dtype=np.float64).ravel()
        n = volts.size
        m = self.resampler.latency
        out = np.empty(n + m)
        self.process_block(volts, out[:n])
        if m:
            saved = self._state.copy()
            self.process_block(np.zeros(m), out[n:], live_steps=m * self.oversample // 2)
            failures = self._state.stats[0]
            self._state.assign(saved)
            self._state.stats[0] = failures
        return out[m:].copy() if m else out

    def describe(self) -> dict[str, object]:
        """What ``pedal circuit info`` prints."""
        return {
            "title": self.netlist.title,
            "nodes": self.netlist.nodes,
            "elements": [e.name for e in self.netlist.elements],
            "controls": [c.__dict__ for c in self.controls],
            "ports": self.system.num_ports,
            "states": int(self._mats[1].shape[0] - 1),
            "operating_point": self.operating_point,
            "output_node": self.output_node,
            "latency_samples": self.latency,
        }


def _variable_parts(system: CircuitSystem, sample_rate_hz: float) -> VariableParts | None:
    """The fast path for control changes, or None (every setting then takes
    the full path, which reports what is wrong with the netlist)."""
    try:
        return VariableParts(system, sample_rate_hz)
    except NetlistError:
        return None


def _port_tables(system: CircuitSystem) -> tuple[np.ndarray, np.ndarray]:
    """Per-port data for the kernel: (n*Vt, critical voltage, freeze
    threshold, quiet voltage) and (first port of its device, last+1, device
    index).

    Only a diode without junction or transit-time charge may be frozen (see
    :mod:`pedalboard.circuit.solver`): its current is then a pure
    exponential, ``-IS`` to double precision below the threshold."""
    k = system.num_ports
    info = np.zeros((k, solver.PORT_INFO_COLUMNS))
    ints = np.zeros((k, 3), dtype=np.int64)
    info[:, solver.VT] = system.port_vt
    info[:, solver.VCRIT] = system.port_vcrit
    info[:, solver.QUIET] = system.port_quiet
    info[:, solver.OFF] = -np.inf
    for d, start in enumerate(system.port_starts):
        device = system.devices[d]
        count = len(device.ports)
        ints[start:start + count] = (start, start + count, d)
        if charge_free_diode(device):
            info[start, solver.OFF] = -solver.FREEZE_THERMAL_VOLTAGES * device.port_vt[0]
    return info, ints


def _kernel_for(kind: str, system: CircuitSystem, port_info: np.ndarray,
                num_states: int) -> Callable[..., None]:
    """``"generated"``: the kernel written for this circuit
    (:mod:`pedalboard.circuit.codegen`; compiled on first call unless
    cached); ``"generic"``: the one kernel for every circuit
    (:func:`pedalboard.circuit.solver.run_circuit`, the reference). Both take
    the same arguments. ``"auto"`` starts on the generic kernel; the finished
    model then picks (:func:`pedalboard.circuit.kernels.settle`)."""
    if kind in ("generic", "auto"):
        return aot.generic_kernel()
    if kind != "generated":
        raise NetlistError(f"kernel must be 'auto', 'generated' or 'generic', not {kind!r}")
    return codegen.load_kernel(system.codes, np.asarray(system.port_starts, dtype=np.int64),
                               system.rows, port_info, num_states)
