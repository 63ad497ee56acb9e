"""The effect base class: declared parameters, smoothing and block processing.

An effect is a small object with named parameters (plain attributes, units in
their names: ``threshold_db``, ``delay_seconds``) and two ways to run it:

* ``process(audio, sample_rate)`` for whole arrays, like Spotify's pedalboard;
* ``process_inplace(block)`` for the real-time engine: a float32 array shaped
  ``(channels, frames)`` is overwritten with the result. It allocates no
  arrays, takes no lock and logs nothing.

Subclasses declare ``PARAMS`` and implement four hooks:

* ``_allocate()``  -- make state arrays for ``self.sample_rate``,
  ``self.channels`` and ``self.max_block`` (called by ``prepare``);
* ``_reset()``     -- clear that state (silence, no tails);
* ``_configure()`` -- recompute coefficients from ``self.value(name)``; called
  before the next samples whenever a parameter moved, and every
  ``SMOOTHING_CHUNK`` samples while a smoothed parameter is still ramping;
* ``_process(block)`` -- run the block in place (usually one numba kernel).

Parameter smoothing: a float parameter with ``smoothing_ms > 0`` follows its
target with a one-pole glide (time constant ``smoothing_ms``), evaluated in
closed form at chunk boundaries, so a knob turn never zippers and a block of
any size sees the same trajectory. When nothing ramps, blocks are processed
whole, so the output does not depend on how the signal was split into blocks.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np

from pedalboard.errors import ParameterError

ParamKind = Literal["float", "bool", "choice", "text"]
Taper = Literal["linear", "log", "audio"]
ParamValue = float | bool | str

#: Largest block an effect is prepared for; ``process`` feeds long files in
#: pieces of this size so scratch memory stays bounded.
MAX_BLOCK = 4096
#: Samples between coefficient updates while a parameter glides (0.67 ms at 48 kHz).
SMOOTHING_CHUNK = 32


@dataclass(frozen=True)
class Param:
    """One declared parameter of an effect.

    ``taper`` says how a knob's travel (position 0..1) maps to the value:
    ``linear``; ``log`` (geometric between min and max, for frequencies and
    times; needs min > 0); ``audio`` (the classic 10 %-at-half audio-taper pot).
    """

    name: str
    default: ParamValue
    min: float = 0.0
    max: float = 1.0
    unit: str = ""
    taper: Taper = "linear"
    smoothing_ms: float = 20.0
    label: str = ""
    kind: ParamKind = "float"
    choices: tuple[str, ...] = ()
    description: str = ""

    def __post_init__(self) -> None:
        if not self.label:
            object.__setattr__(self, "label", self.name.replace("_", " ").capitalize())
        if self.kind == "float" and not (self.min <= float(self.default) <= self.max):
            raise ValueError(f"{self.name}: default {self.default} outside [{self.min}, {self.max}]")

    @property
    def smoothed(self) -> bool:
        return self.kind == "float" and self.smoothing_ms > 0

    def range_text(self) -> str:
        if self.kind == "float":
            unit = f" {self.unit}" if self.unit else ""
            return f"[{self.min:g}, {self.max:g}]{unit}"
        if self.kind == "choice":
            return "one of " + ", ".join(self.choices)
        if self.kind == "bool":
            return "true or false"
        return "text"

    def validate(self, value: Any, owner: str = "") -> ParamValue:
        """Return ``value`` converted to this parameter's type, or raise
        :class:`ParameterError` naming the effect, the parameter and its range."""
        where = f"{owner}: " if owner else ""
        bad = ParameterError(f"{where}{self.name} = {value!r} is not allowed: {self.range_text()}")
        if self.kind == "float":
            if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
                raise bad
            number = float(value)
            if not math.isfinite(number) or not (self.min <= number <= self.max):
                raise bad
            return number
        if self.kind == "bool":
            if isinstance(value, (bool, np.bool_)):
                return bool(value)
            if isinstance(value, (int, float)) and value in (0, 1):
                return bool(value)
            raise bad
        if self.kind == "choice":
            if isinstance(value, str) and value in self.choices:
                return value
            # Numeric choices ("oversample": 4 in a preset, --set x.oversample=2) name the same choice.
            number = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
            if number and math.isfinite(value) and float(value).is_integer():
                name = f"{int(value)}"
                if name in self.choices:
                    return name
            raise bad
        if isinstance(value, str) and len(value) <= 4096:
            return value
        raise bad

    def to_position(self, value: float) -> float:
        """Knob position 0..1 of a float value, through the taper."""
        span = self.max - self.min
        if span <= 0:
            return 0.0
        if self.taper == "log" and self.min > 0:
            return math.log(value / self.min) / math.log(self.max / self.min)
        fraction = (value - self.min) / span
        if self.taper == "audio":
            return math.log10(1.0 + 99.0 * fraction) / 2.0
        return fraction

    def from_position(self, position: float) -> float:
        """Float value at knob position 0..1, through the taper."""
        position = min(1.0, max(0.0, float(position)))
        if self.taper == "log" and self.min > 0:
            return self.min * (self.max / self.min) ** position
        if self.taper == "audio":
            position = (10.0 ** (2.0 * position) - 1.0) / 99.0
        return self.min + position * (self.max - self.min)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["choices"] = list(self.choices)
        return data


@dataclass
class _Smoothing:
    """Per-effect glide state for the float parameters that are smoothed."""

    names: list[str] = field(default_factory=list)
    index: dict[str, int] = field(default_factory=dict)
    current: np.ndarray = field(default_factory=lambda: np.zeros(0))
    target: np.ndarray = field(default_factory=lambda: np.zeros(0))
    seconds: np.ndarray = field(default_factory=lambda: np.zeros(0))
    snap: np.ndarray = field(default_factory=lambda: np.zeros(0))


class Effect:
    """Base class of every effect; see the module docstring for the contract."""

    name: ClassVar[str] = ""
    label: ClassVar[str] = ""
    category: ClassVar[str] = ""
    PARAMS: ClassVar[tuple[Param, ...]] = ()

    def __init__(self, **values: Any) -> None:
        specs = {p.name: p for p in self.param_specs()}
        object.__setattr__(self, "_specs", specs)
        self._values: dict[str, ParamValue] = {p.name: p.default for p in specs.values()}
        smoothed = [p for p in specs.values() if p.smoothed]
        self._smooth = _Smoothing(
            names=[p.name for p in smoothed],
            index={p.name: i for i, p in enumerate(smoothed)},
            current=np.array([float(p.default) for p in smoothed]),
            target=np.array([float(p.default) for p in smoothed]),
            seconds=np.array([p.smoothing_ms / 1000.0 for p in smoothed]),
            snap=np.array([1e-6 * max(p.max - p.min, 1e-9) for p in smoothed]),
        )
        self.sample_rate = 0.0
        self.channels = 0
        self.max_block = 0
        self._ramping = False
        self._needs_configure = True
        for key, value in values.items():
            self.set_param(key, value)
        self._smooth.current[:] = self._smooth.target  # construction does not glide

    # ----------------------------------------------------------- parameters
    def param_specs(self) -> tuple[Param, ...]:
        """The parameters of this instance (a circuit's depend on its netlist)."""
        return self.PARAMS

    @property
    def param_map(self) -> Mapping[str, Param]:
        return self._specs

    def __getattr__(self, key: str) -> Any:
        # Only reached when ordinary lookup fails: parameters read as attributes.
        specs = self.__dict__.get("_specs")
        if specs is not None and key in specs:
            return self.__dict__["_values"][key]
        raise AttributeError(f"{type(self).__name__} has no attribute {key!r}")

    def __setattr__(self, key: str, value: Any) -> None:
        if key in self.__dict__.get("_specs", ()):
            self.set_param(key, value)
        else:
            object.__setattr__(self, key, value)

    def set_param(self, name: str, value: Any) -> None:
        """Set a parameter's target value (validated); smoothed ones glide there."""
        spec = self._specs.get(name)
        if spec is None:
            known = ", ".join(self._specs) or "none"
            raise ParameterError(f"{self.name}: no parameter {name!r} (parameters: {known})")
        checked = spec.validate(value, owner=self.name)
        self._values[name] = checked
        i = self._smooth.index.get(name)
        if i is not None:
            self._smooth.target[i] = float(checked)
            if self.sample_rate == 0.0:
                self._smooth.current[i] = float(checked)
            else:
                self._ramping = True
        self._needs_configure = True
        self._on_param_change(name)

    def get_param(self, name: str) -> ParamValue:
        if name not in self._specs:
            raise ParameterError(f"{self.name}: no parameter {name!r}")
        return self._values[name]

    @property
    def params(self) -> dict[str, ParamValue]:
        """Target values of all parameters (what a preset stores)."""
        return dict(self._values)

    def value(self, name: str) -> Any:
        """The value the DSP should use now: the glide position for smoothed
        float parameters, the set value for everything else."""
        i = self._smooth.index.get(name)
        if i is not None:
            return float(self._smooth.current[i])
        return self._values[name]

    def _on_param_change(self, name: str) -> None:
        """Hook for parameters that need more than ``_configure`` (rare)."""

    def set_tempo(self, bpm: float) -> None:
        """The pedal's tempo changed (tap tempo, MIDI clock). Effects with a
        ``sync`` parameter derive their times and rates from it."""

    # ------------------------------------------------------------ lifecycle
    def prepare(self, sample_rate: float, channels: int, max_block: int = MAX_BLOCK) -> None:
        """Allocate state for a sample rate, channel count and largest block.
        Does nothing when already prepared for the same (or a smaller) shape."""
        if sample_rate == self.sample_rate and channels == self.channels and max_block <= self.max_block:
            return
        self.sample_rate = float(sample_rate)
        self.channels = int(channels)
        self.max_block = int(max_block)
        self._smooth.current[:] = self._smooth.target
        self._ramping = False
        self._allocate()
        self._needs_configure = True
        self._reset()

    def warm_up(self) -> None:
        """Run the kernels once on both block layouts the audio path uses: a
        whole block, and the strided chunks of a parameter glide (a column
        slice of a 2-D array is another numba signature). numba compiles, or
        loads from its cache, here and not at the first knob turn inside the
        audio callback. Call after :meth:`prepare`, off the audio thread, before
        the effect goes live (the engine does); offline rendering skips it and
        loads only what it uses. The state is reset afterwards."""
        if not self.sample_rate:
            raise RuntimeError(f"{self.name}: prepare() before warm_up()")
        frames = min(2 * SMOOTHING_CHUNK, self.max_block)
        scratch = np.zeros((self.channels, frames), np.float32)
        current = self._smooth.current.copy()
        _glide(current, self._smooth.target, self._smooth.seconds, self._smooth.snap, 1e-3)
        self._configure()
        self._process(scratch)
        self._process(scratch[:, : max(1, frames // 2)])
        self._needs_configure = True
        self._reset()

    def reset(self) -> None:
        """Clear all internal state (delay lines, envelopes): silence, no tails."""
        self._smooth.current[:] = self._smooth.target
        self._ramping = False
        self._needs_configure = True
        if self.sample_rate:
            self._reset()

    @property
    def latency(self) -> int:
        """Delay in samples this effect adds to the signal at the prepared rate."""
        return 0

    @property
    def tail_seconds(self) -> float:
        """How long the output can ring after the input stops (0 for none)."""
        return 0.0

    # ------------------------------------------------------------ processing
    def process(self, audio: np.ndarray, sample_rate: float, *, reset: bool = True) -> np.ndarray:
        """Process a whole array (1-D mono, or ``(channels, frames)``) and
        return a new float32 array of the same shape. Like Spotify's
        pedalboard, state is reset first unless ``reset=False``."""
        from pedalboard.effects.dsp import sanitize

        block, was_1d = as_block(audio)
        self.prepare(sample_rate, block.shape[0], MAX_BLOCK)
        if reset:
            self.reset()
        for start in range(0, block.shape[1], MAX_BLOCK):
            piece = block[:, start : start + MAX_BLOCK]
            sanitize(piece)  # NaN, inf and absurd levels never reach the state
            self.process_inplace(piece)
        return block[0] if was_1d else block

    def __call__(self, audio: np.ndarray, sample_rate: float, *, reset: bool = True) -> np.ndarray:
        return self.process(audio, sample_rate, reset=reset)

    def process_inplace(self, block: np.ndarray) -> None:
        """Overwrite ``block`` (float32, ``(channels, frames)``, frames <=
        ``max_block``) with the processed signal. Real-time safe."""
        if not (self._ramping or self._needs_configure):
            self._process(block)
            return
        frames = block.shape[1]
        start = 0
        while start < frames:
            count = min(SMOOTHING_CHUNK, frames - start) if self._ramping else frames - start
            if self._ramping:
                self._ramping = _glide(
                    self._smooth.current,
                    self._smooth.target,
                    self._smooth.seconds,
                    self._smooth.snap,
                    count / self.sample_rate,
                )
            self._configure()
            self._needs_configure = False
            self._process(block[:, start : start + count])
            start += count

    # ------------------------------------------------------- subclass hooks
    def _allocate(self) -> None:
        """Create state arrays for the prepared shape."""

    def _reset(self) -> None:
        """Zero the state arrays."""

    def _configure(self) -> None:
        """Recompute coefficients from ``self.value(...)``."""

    def _process(self, block: np.ndarray) -> None:
        raise NotImplementedError

    # --------------------------------------------------------------- data
    def to_dict(self) -> dict[str, Any]:
        return {"effect": self.name, "params": self.params}

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> Effect:
        """Build an instance from a preset's parameter mapping."""
        return cls(**dict(params))

    @classmethod
    def check_params(cls, params: Mapping[str, Any]) -> None:
        """Validate a preset's parameter mapping without building the effect
        (fast: no DSP state). Effects whose parameters are dynamic override it."""
        specs = {p.name: p for p in cls.PARAMS}
        for key, value in params.items():
            spec = specs.get(key)
            if spec is None:
                known = ", ".join(specs) or "none"
                raise ParameterError(f"{cls.name}: no parameter {key!r} (parameters: {known})")
            spec.validate(value, owner=cls.name)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Effect:
        from pedalboard.effects.registry import create_effect

        return create_effect(str(data["effect"]), data.get("params", {}))

    def describe(self) -> dict[str, Any]:
        """What a UI needs to draw this effect's controls."""
        return {
            "effect": self.name,
            "label": self.label or self.name.replace("_", " ").title(),
            "category": self.category,
            "params": [p.to_dict() for p in self.param_specs()],
        }

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._values.items())
        return f"{type(self).__name__}({args})"

    def __iter__(self) -> Iterator[Any]:  # an Effect is not a container
        raise TypeError(f"{type(self).__name__} is not iterable")


def _glide(
    current: np.ndarray,
    target: np.ndarray,
    seconds: np.ndarray,
    snap: np.ndarray,
    elapsed: float,
) -> bool:
    """Advance one-pole glides by ``elapsed`` seconds in place; return whether
    any is still moving. A handful of parameters: plain Python beats a kernel."""
    moving = False
    for i in range(current.shape[0]):
        gap = current[i] - target[i]
        if gap == 0.0:
            continue
        gap *= math.exp(-elapsed / seconds[i])
        if abs(gap) <= snap[i]:
            current[i] = target[i]
        else:
            current[i] = target[i] + gap
            moving = True
    return moving


def as_block(audio: np.ndarray) -> tuple[np.ndarray, bool]:
    """Copy audio into a fresh C-contiguous float32 ``(channels, frames)`` array.

    Returns the array and whether the input was 1-D (mono)."""
    array = np.asarray(audio)
    if array.ndim == 1:
        return np.array(array[np.newaxis, :], dtype=np.float32, order="C"), True
    if array.ndim != 2:
        raise ParameterError(f"audio must be 1-D or (channels, frames), not shape {array.shape}")
    if array.shape[0] > 8 and array.shape[1] <= 8:
        raise ParameterError(f"audio shaped {array.shape} looks like (frames, channels); pass audio.T")
    return np.array(array, dtype=np.float32, order="C"), False
