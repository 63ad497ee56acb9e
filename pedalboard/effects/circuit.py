"""The ``circuit`` effect: a SPICE netlist running as a pedal.

    {"effect": "circuit", "params": {"netlist": "fuzz_face_si", "fuzz": 0.8}}

``netlist`` (a library name or a path) is fixed when the effect is created;
every ``*@control`` of the netlist becomes a float parameter with its range,
taper and label; ``oversample`` picks the internal rate (1, 2, 4, 8, 16 x).

Levels: a full-scale sample (+-1.0) is ``input_volts`` peak at ``Vin`` (from
the netlist's ``*@input_volts``, default 1 V), and the output node's voltage
is divided by ``output_volts``. A biased circuit's output node sits at a DC
voltage (a collector at 4.5 V, say) that a real pedal's output capacitor and
the amplifier's input would remove: the effect removes it with a first-order
high-pass at 5 Hz, started at the operating point so there is no thump.

Control moves: the parameter glides (20 ms); the DK matrices for a few points
along the glide are computed when the parameter is set (off the audio thread)
and the audio thread only copies the nearest set into place. A set costs
40-80 µs (only the elements the controls move are stamped anew, see
:mod:`pedalboard.circuit.variable`): the first point of the glide is
published as soon as it is ready and the rest right after, so a knob moved
between two 64-frame blocks is heard in the next one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from pedalboard.circuit.library import resolve_netlist
from pedalboard.circuit.model import CircuitModel
from pedalboard.circuit.netlist import parse_netlist
from pedalboard.effects.base import Effect, Param
from pedalboard.effects.dsp import biquad_cascade, jit
from pedalboard.effects.registry import register
from pedalboard.errors import ParameterError, PedalError

DEFAULT_NETLIST = "diode_clipper_si"
DC_BLOCK_HZ = 5.0
#: Matrix sets computed along a control glide.
GLIDE_STEPS = 6
RESERVED = ("netlist", "oversample")


@jit
def scale_into(source: np.ndarray, gain: float, target: np.ndarray) -> None:
    """``target[:] = source * gain`` across float32/float64 without the
    temporary buffer numpy's casting ufuncs allocate."""
    for i in range(source.shape[0]):
        target[i] = source[i] * gain


@register
class Circuit(Effect):
    """A netlist compiled into a real-time model (see the module docstring)."""

    name = "circuit"
    label = "Circuit"
    category = "circuit"
    PARAMS = (
        Param("netlist", DEFAULT_NETLIST, kind="text", label="Netlist",
              description="library name or path of the .cir file (fixed at creation)"),
        Param("oversample", "4", kind="choice", choices=("1", "2", "4", "8", "16"),
              label="Oversampling", description="internal rate, times the audio rate"),
    )

    def __init__(self, netlist: str = DEFAULT_NETLIST, **values: Any) -> None:
        path = resolve_netlist(netlist)
        parsed = parse_netlist(path)
        clash = [c.name for c in parsed.controls if c.name in RESERVED]
        if clash:
            raise PedalError(f"{path}: control name(s) {', '.join(clash)} are reserved")
        object.__setattr__(self, "_netlist", parsed)
        object.__setattr__(self, "_control_params", tuple(
            Param(c.name, c.default, c.min, c.max, taper=c.taper,  # type: ignore[arg-type]
                  label=c.label, smoothing_ms=20.0)
            for c in parsed.controls))
        self._prototype: CircuitModel | None = None
        self._models: list[CircuitModel] = []
        self._plan: list[tuple[tuple[float, ...], tuple[np.ndarray, ...]]] = []
        self._loaded: tuple[np.ndarray, ...] | None = None  # the set in the kernel
        self._constructed = False
        super().__init__(netlist=str(netlist), **values)
        self._constructed = True
        self._prototype = self._build_model(48000.0)

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> Effect:
        data = dict(params)
        netlist = data.pop("netlist", DEFAULT_NETLIST)
        if not isinstance(netlist, str):
            raise ParameterError(f"circuit: netlist must be a name or a path, not {netlist!r}")
        return cls(netlist, **data)

    @classmethod
    def check_params(cls, params: Mapping[str, Any]) -> None:
        """Validate a preset's circuit slot: the netlist exists and parses, and
        every other key is ``oversample`` or one of that netlist's controls,
        in its range (the netlist is parsed, no model is built)."""
        data = dict(params)
        netlist = data.pop("netlist", DEFAULT_NETLIST)
        if not isinstance(netlist, str):
            raise ParameterError(f"circuit: netlist must be a name or a path, not {netlist!r}")
        controls = {c.name: Param(c.name, c.default, c.min, c.max, taper=c.taper,  # type: ignore[arg-type]
                                  label=c.label)
                    for c in parse_netlist(resolve_netlist(netlist)).controls}
        specs = {p.name: p for p in cls.PARAMS if p.name != "netlist"} | controls
        owner = f"circuit {netlist}"
        for key, value in data.items():
            spec = specs.get(key)
            if spec is None:
                raise ParameterError(f"{owner}: no parameter {key!r} (parameters: {', '.join(specs)})")
            spec.validate(value, owner=owner)

    def param_specs(self) -> tuple[Param, ...]:
        return self.PARAMS + self.__dict__["_control_params"]

    @property
    def control_names(self) -> list[str]:
        return [p.name for p in self._control_params]

    def set_param(self, name: str, value: Any) -> None:
        if name == "netlist" and self.__dict__.get("_constructed") and \
                value != self._values.get("netlist"):
            raise ParameterError("circuit: the netlist is fixed when the effect is created; "
                                 "create a new circuit effect for another netlist")
        super().set_param(name, value)

    # --------------------------------------------------------------- models
    def _targets(self) -> dict[str, float]:
        return {n: float(self._values[n]) for n in self.control_names}

    def _build_model(self, sample_rate: float) -> CircuitModel:
        return CircuitModel(self._netlist, oversample=int(self._values["oversample"]),
                            sample_rate=sample_rate, controls=self._targets())

    def _on_param_change(self, name: str) -> None:
        if not self.__dict__.get("_constructed"):
            return
        if name == "oversample":
            self._prototype = self._build_model(self.sample_rate or 48000.0)
            if self.sample_rate:
                self._allocate()
                self._reset()
            return
        if name not in self.control_names:
            return
        model = self._prototype
        assert model is not None
        if not self.sample_rate:  # not running: jump straight there
            model.set_control(name, float(self._values[name]))
            return
        start = np.array([self.value(n) for n in self.control_names])
        target = np.array([self._targets()[n] for n in self.control_names])
        plan = []
        for step in range(1, GLIDE_STEPS + 1):
            point = start + (target - start) * step / GLIDE_STEPS
            values = dict(zip(self.control_names, point.tolist(), strict=True))
            plan.append((tuple(point.tolist()), model.matrices_for(values)))
            if step == 1:
                # The glide's first step, at once: the next block moves. Each
                # publication is one reference swap (the audio thread sees
                # the old plan or a new one, never half of one).
                self._plan = [plan[0]]
        self._plan = plan

    # ---------------------------------------------------------- lifecycle
    def _allocate(self) -> None:
        proto = self._prototype
        # The model built at creation serves when the rate matches (a second
        # build would compile the same system again; _reset restores its state).
        if proto is None or proto.sample_rate != self.sample_rate or \
                proto.oversample != int(self._values["oversample"]):
            proto = self._build_model(self.sample_rate)
        self._prototype = proto
        self._models = [self._prototype] + [self._prototype.copy()
                                            for _ in range(self.channels - 1)]
        self._in = np.zeros(self.max_block)
        self._out = np.zeros(self.max_block)
        w = math.tan(math.pi * DC_BLOCK_HZ / self.sample_rate)
        b0 = 1.0 / (1.0 + w)
        a1 = (w - 1.0) / (1.0 + w)
        self._dc_coeffs = np.array([[b0, -b0, 0.0, a1, 0.0]])
        self._dc_state = np.zeros((self.channels, 1, 2))
        self._plan = []
        self._loaded = None

    def _reset(self) -> None:
        first = self._models[0]
        targets = self._targets()
        if targets != first.control_values:
            first._values.update(targets)
            first.load_matrices(first.matrices_for(targets))
        self._plan = []
        self._loaded = None
        first.reset()
        for model in self._models[1:]:
            model._state.assign(first._state)
        rest = first.operating_point[first.output_node] / first.output_volts
        self._dc_state[:, 0, 0] = -self._dc_coeffs[0, 0] * rest
        self._dc_state[:, 0, 1] = 0.0

    def _configure(self) -> None:
        plan = self._plan
        if not plan:
            return
        names = self._control_params
        best, best_distance = 0, math.inf
        for index, (point, _) in enumerate(plan):
            distance = 0.0
            for j, spec in enumerate(names):
                span = spec.max - spec.min
                distance += ((self.value(spec.name) - point[j]) / span) ** 2
            if distance < best_distance:
                best, best_distance = index, distance
        # By identity, not index: a plan published while an older one was
        # loaded must be loaded even at the same index.
        chosen = plan[best][1]
        if chosen is not self._loaded:
            self._models[0].load_matrices(chosen)  # shared by every channel
            self._loaded = chosen

    @property
    def latency(self) -> int:
        return self._prototype.latency if self._prototype is not None else 0

    @property
    def model(self) -> CircuitModel:
        """The first channel's model (for inspection: operating point, failures)."""
        assert self._prototype is not None
        return self._models[0] if self._models else self._prototype

    def _process(self, block: np.ndarray) -> None:
        frames = block.shape[1]
        for c, model in enumerate(self._models):
            inp = self._in[:frames]
            out = self._out[:frames]
            scale_into(block[c], model.input_volts, inp)
            model.process_block(inp, out)
            scale_into(out, 1.0 / model.output_volts, block[c])
        biquad_cascade(block, self._dc_coeffs, self._dc_state)
