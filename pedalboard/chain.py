"""Chains: effects in series, parallel branches, click-free bypass.

A :class:`Chain` is a list of effects, as in Spotify's pedalboard::

    chain = Chain([Compressor(threshold_db=-20), Distortion(drive_db=20), Delay()])
    wet = chain.process(audio, 48000)

Each effect sits in a :class:`Slot` with an ``id`` unique in the chain (the
effect's name, then ``delay-2``, ...) by which presets, the CLI, the API and
MIDI address it. A slot's bypass crossfades over ``BYPASS_FADE_MS`` so
switching never clicks; a bypassed effect costs no CPU once faded out, unless
it keeps its tails: then it goes on with silence in, and its delay repeats or
reverb decay ring out over the dry signal until its ``tail_seconds`` pass.

A :class:`Parallel` node splits the signal into two branches (each a chain;
an empty branch is the dry signal) and mixes them: ``mix`` 0 is branch A
only, 1 is branch B only. The branch with less latency is delayed to line up
with the other, so a parallel blend never comb-filters.

The chain's latency is constant whatever is bypassed (bypassed paths are
delayed by the effect's latency), so the live engine can report one figure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, Union

import numpy as np

from pedalboard.effects.base import MAX_BLOCK, Effect, as_block
from pedalboard.effects.dsp import sanitize
from pedalboard.errors import ParameterError
from pedalboard.jit import kernel

#: Crossfade length of a bypass toggle.
BYPASS_FADE_MS = 10.0
#: Crossfade length of a parallel mix change.
MIX_GLIDE_MS = 20.0

jit = kernel()


@jit
def _ramp_scale(block: np.ndarray, start: float, step: float) -> None:
    """block *= g, where g starts at ``start`` and moves by ``step`` per sample."""
    channels, frames = block.shape
    for c in range(channels):
        g = start
        for i in range(frames):
            g = min(1.0, max(0.0, g + step))
            block[c, i] *= g


@jit
def _ramp_mix(out: np.ndarray, dry: np.ndarray, start: float, step: float, tails: bool) -> None:
    """Crossfade from ``dry`` to the effect output already in ``out``.

    Without tails: out = g*wet + (1-g)*dry. With tails the effect was fed
    g*x, so its output is already weighted: out = wet + (1-g)*dry."""
    channels, frames = out.shape
    for c in range(channels):
        g = start
        for i in range(frames):
            g = min(1.0, max(0.0, g + step))
            if tails:
                out[c, i] = out[c, i] + (1.0 - g) * dry[c, i]
            else:
                out[c, i] = g * out[c, i] + (1.0 - g) * dry[c, i]


@jit
def _delay(block: np.ndarray, line: np.ndarray, position: int) -> int:
    """Delay ``block`` in place by ``line.shape[1]`` samples (a ring buffer).
    Returns the new write position."""
    channels, frames = block.shape
    length = line.shape[1]
    if length == 0:
        return position
    p = position
    for i in range(frames):
        for c in range(channels):
            x = block[c, i]
            block[c, i] = line[c, p]
            line[c, p] = x
        p += 1
        if p == length:
            p = 0
    return p


@jit
def _blend(a: np.ndarray, b: np.ndarray, start: float, target: float, step: float) -> float:
    """a = (1-m)*a + m*b, with m moving from ``start`` toward ``target`` by
    ``step`` per sample. Returns where m ended."""
    channels, frames = a.shape
    m = start
    for c in range(channels):
        m = start
        for i in range(frames):
            if m < target:
                m = min(target, m + step)
            elif m > target:
                m = max(target, m - step)
            a[c, i] = (1.0 - m) * a[c, i] + m * b[c, i]
    return m


@jit
def _add(a: np.ndarray, b: np.ndarray) -> None:
    channels, frames = a.shape
    for c in range(channels):
        for i in range(frames):
            a[c, i] += b[c, i]


class _DelayLine:
    """A fixed delay of ``samples`` for ``channels`` (latency compensation)."""

    def __init__(self, channels: int, samples: int) -> None:
        self.line = np.zeros((channels, max(0, samples)), dtype=np.float32)
        self.position = 0

    def process(self, block: np.ndarray) -> None:
        if self.line.shape[1]:
            self.position = _delay(block, self.line, self.position)

    def reset(self) -> None:
        self.line[:] = 0.0
        self.position = 0


Processor = Union[Effect, "Parallel"]


class Slot:
    """One effect (or parallel node) in a chain, with an id and a bypass."""

    def __init__(
        self, processor: Processor, slot_id: str, *, bypass: bool = False, keep_tails: bool | None = None
    ) -> None:
        self.processor = processor
        self.id = slot_id
        self.auto_id = False
        self._bypass = bool(bypass)
        self._fade = 0.0 if bypass else 1.0  # 1 = effect fully in
        self.keep_tails = keep_tails
        self._tail_left = 0.0  # seconds of tail still to render while bypassed
        self._sample_rate = 0.0
        self._dry = np.zeros((0, 0), dtype=np.float32)
        self._scratch = np.zeros((0, 0), dtype=np.float32)
        self._dry_delay = _DelayLine(0, 0)

    @property
    def effect(self) -> Processor:
        return self.processor

    @property
    def bypass(self) -> bool:
        return self._bypass

    @bypass.setter
    def bypass(self, value: bool) -> None:
        value = bool(value)
        if value and not self._bypass and self.tails_kept:
            self._tail_left = self.processor.tail_seconds
        self._bypass = value
        if self._sample_rate == 0.0:
            self._fade = 0.0 if value else 1.0

    @property
    def tails_kept(self) -> bool:
        if self.keep_tails is not None:
            return self.keep_tails
        return self.processor.tail_seconds > 0.0

    @property
    def latency(self) -> int:
        return self.processor.latency

    @property
    def tail_seconds(self) -> float:
        return self.processor.tail_seconds

    def prepare(self, sample_rate: float, channels: int, max_block: int) -> None:
        self.processor.prepare(sample_rate, channels, max_block)
        if (self._sample_rate, self._dry.shape) != (sample_rate, (channels, max_block)):
            self._dry = np.zeros((channels, max_block), dtype=np.float32)
            self._scratch = np.zeros((channels, max_block), dtype=np.float32)
        self._sample_rate = float(sample_rate)
        self._dry_delay = _DelayLine(channels, self.processor.latency)

    def reset(self) -> None:
        self.processor.reset()
        self._dry_delay.reset()
        self._fade = 0.0 if self._bypass else 1.0
        self._tail_left = 0.0

    def set_tempo(self, bpm: float) -> None:
        self.processor.set_tempo(bpm)

    def warm_up(self) -> None:
        self.processor.warm_up()

    def process_inplace(self, block: np.ndarray) -> None:
        target = 0.0 if self._bypass else 1.0
        frames = block.shape[1]
        if self._fade == target:
            if target == 1.0:
                if self._dry_delay.line.shape[1]:
                    # Keep the dry path's delay line current for the next fade.
                    dry = self._dry[:, :frames]
                    dry[:] = block
                    self._dry_delay.process(dry)
                self.processor.process_inplace(block)
            elif self._tail_left > 0.0:
                self._ring_out(block)
            else:
                self._dry_delay.process(block)  # bypassed: latency stays constant
            return
        # A linear fade at a fixed rate: BYPASS_FADE_MS from fully in to fully out.
        rate = 1.0 / max(1.0, BYPASS_FADE_MS * 1e-3 * self._sample_rate)
        step = rate if target > self._fade else -rate
        tails = self.tails_kept
        dry = self._dry[:, :frames]
        dry[:] = block
        self._dry_delay.process(dry)
        if tails:
            _ramp_scale(block, self._fade, step)  # the effect hears g*x
        self.processor.process_inplace(block)
        _ramp_mix(block, dry, self._fade, step, tails)
        self._fade = min(1.0, max(0.0, self._fade + step * frames))
        if abs(self._fade - target) < 1e-9:
            self._fade = target

    def _ring_out(self, block: np.ndarray) -> None:
        """Bypassed with tails: dry passes (delayed to keep latency constant)
        and the effect, fed silence, adds what is still ringing."""
        frames = block.shape[1]
        self._dry_delay.process(block)
        scratch = self._scratch[:, :frames]
        scratch[:] = 0.0
        self.processor.process_inplace(scratch)
        _add(block, scratch)
        self._tail_left -= frames / self._sample_rate
        if self._tail_left <= 0.0:
            self.processor.reset()  # what is left is below audibility: start clean

    def to_dict(self) -> dict[str, Any]:
        data = {"id": self.id, **self.processor.to_dict()}
        if self._bypass:
            data["bypass"] = True
        return data


class Chain:
    """Effects in series; see the module docstring."""

    def __init__(self, effects: Iterable[Processor | Slot] = ()) -> None:
        self.slots: list[Slot] = []
        self._sample_rate = 0.0
        self._channels = 0
        self._max_block = 0
        self._sanitize = True
        for item in effects:
            self.append(item)

    # ------------------------------------------------------------ list API
    def append(self, item: Processor | Slot, slot_id: str | None = None) -> Slot:
        """Add an effect (or a parallel node, or a ready slot) at the end.

        Ids given explicitly must be unique in the whole chain, parallel
        branches included; ids made up automatically are renamed on collision."""
        if isinstance(item, Slot):
            slot = item
        else:
            slot = Slot(item, slot_id or _base_id(item))
            slot.auto_id = slot_id is None
        taken = {s.id for s in self.all_slots()}
        for new in _subtree(slot):
            if new.id in taken:
                if not new.auto_id:
                    raise ParameterError(f"slot id {new.id!r} is used twice in the chain")
                new.id = unique_id(_base_id(new.processor), taken)
            taken.add(new.id)
        self.slots.append(slot)
        if self._sample_rate:
            slot.prepare(self._sample_rate, self._channels, self._max_block)
        return slot

    def __len__(self) -> int:
        return len(self.slots)

    def __iter__(self) -> Iterator[Processor]:
        return (s.processor for s in self.slots)

    def __getitem__(self, key: int | str) -> Processor:
        if isinstance(key, int):
            return self.slots[key].processor
        return self.slot(key).processor

    def slot(self, slot_id: str) -> Slot:
        """The slot with this id, searching parallel branches too."""
        for slot in self.all_slots():
            if slot.id == slot_id:
                return slot
        known = ", ".join(s.id for s in self.all_slots()) or "none"
        raise ParameterError(f"no effect with id {slot_id!r} in this chain (ids: {known})")

    def all_slots(self) -> Iterator[Slot]:
        """Every slot, depth first through parallel branches."""
        for slot in self.slots:
            yield slot
            if isinstance(slot.processor, Parallel):
                for branch in slot.processor.branches:
                    yield from branch.all_slots()

    def effect(self, slot_id: str) -> Effect:
        processor = self.slot(slot_id).processor
        if not isinstance(processor, Effect):
            raise ParameterError(f"{slot_id!r} is a parallel node, not an effect")
        return processor

    # ------------------------------------------------------------ properties
    @property
    def latency(self) -> int:
        return sum(slot.latency for slot in self.slots)

    @property
    def tail_seconds(self) -> float:
        return sum(slot.tail_seconds for slot in self.slots)

    def set_tempo(self, bpm: float) -> None:
        for slot in self.slots:
            slot.set_tempo(bpm)

    def warm_up(self) -> None:
        """Load every kernel the audio path may call (see :meth:`Effect.warm_up`);
        after :meth:`prepare`, before the chain goes live."""
        for slot in self.slots:
            slot.warm_up()

    # ------------------------------------------------------------ processing
    def prepare(self, sample_rate: float, channels: int, max_block: int = MAX_BLOCK,
                pace: Callable[[], None] | None = None) -> None:
        """Allocate everything for a rate, channel count and largest block.
        Call off the audio thread; ``process_inplace`` then allocates nothing.
        ``pace()``, when given, is called before each slot is prepared (see
        :meth:`pedalboard.engine.Engine.after_block`)."""
        for slot in self.slots:
            if pace is not None:
                pace()
            slot.prepare(sample_rate, channels, max_block)
        self._sample_rate = float(sample_rate)
        self._channels = int(channels)
        self._max_block = int(max_block)

    def reset(self) -> None:
        for slot in self.slots:
            slot.reset()

    def process_inplace(self, block: np.ndarray) -> None:
        """Run one block (float32, (channels, frames)) in place. Real-time safe."""
        if self._sanitize:
            sanitize(block)
        for slot in self.slots:
            slot.process_inplace(block)

    def process(
        self, audio: np.ndarray, sample_rate: float, *, reset: bool = True, buffer_size: int = MAX_BLOCK
    ) -> np.ndarray:
        """Process a whole array (1-D mono or (channels, frames)); returns float32."""
        block, was_1d = as_block(audio)
        buffer_size = max(1, min(int(buffer_size), MAX_BLOCK))
        self.prepare(sample_rate, block.shape[0], max(buffer_size, self._max_block))
        if reset:
            self.reset()
        for start in range(0, block.shape[1], buffer_size):
            self.process_inplace(block[:, start : start + buffer_size])
        return block[0] if was_1d else block

    __call__ = process

    def to_list(self) -> list[dict[str, Any]]:
        return [slot.to_dict() for slot in self.slots]

    def __repr__(self) -> str:
        return f"Chain({[s.processor for s in self.slots]!r})"


class Parallel:
    """Two branches side by side, blended by ``mix`` (0 = A, 1 = B)."""

    name = "parallel"

    def __init__(
        self, a: Chain | Iterable[Processor] = (), b: Chain | Iterable[Processor] = (), mix: float = 0.5
    ) -> None:
        self.branches = [a if isinstance(a, Chain) else Chain(a), b if isinstance(b, Chain) else Chain(b)]
        for branch in self.branches:
            branch._sanitize = False
        self._mix = 0.5
        self.mix = mix
        self._mix_now = self._mix
        self._sample_rate = 0.0
        self._b = np.zeros((0, 0), dtype=np.float32)
        self._align = [_DelayLine(0, 0), _DelayLine(0, 0)]

    @property
    def mix(self) -> float:
        return self._mix

    @mix.setter
    def mix(self, value: float) -> None:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
            raise ParameterError(f"parallel: mix = {value!r} is not allowed: [0, 1]")
        self._mix = float(value)

    @property
    def latency(self) -> int:
        return max(branch.latency for branch in self.branches)

    @property
    def tail_seconds(self) -> float:
        return max(branch.tail_seconds for branch in self.branches)

    def set_tempo(self, bpm: float) -> None:
        for branch in self.branches:
            branch.set_tempo(bpm)

    def warm_up(self) -> None:
        for branch in self.branches:
            branch.warm_up()

    def prepare(self, sample_rate: float, channels: int, max_block: int) -> None:
        for branch in self.branches:
            branch.prepare(sample_rate, channels, max_block)
        self._sample_rate = float(sample_rate)
        self._b = np.zeros((channels, max_block), dtype=np.float32)
        latency = self.latency
        self._align = [_DelayLine(channels, latency - branch.latency) for branch in self.branches]

    def reset(self) -> None:
        for branch in self.branches:
            branch.reset()
        for line in self._align:
            line.reset()
        self._mix_now = self._mix

    def process_inplace(self, block: np.ndarray) -> None:
        frames = block.shape[1]
        b = self._b[:, :frames]
        b[:] = block
        self.branches[0].process_inplace(block)
        self.branches[1].process_inplace(b)
        self._align[0].process(block)
        self._align[1].process(b)
        step = 1.0 / max(1.0, MIX_GLIDE_MS * 1e-3 * self._sample_rate)
        self._mix_now = _blend(block, b, self._mix_now, self._mix, step)

    def to_dict(self) -> dict[str, Any]:
        return {"parallel": [b.to_list() for b in self.branches], "mix": self._mix}

    def __repr__(self) -> str:
        return f"Parallel({self.branches[0]!r}, {self.branches[1]!r}, mix={self._mix})"


def _base_id(processor: Processor) -> str:
    return processor.name


def _subtree(slot: Slot) -> Iterator[Slot]:
    yield slot
    if isinstance(slot.processor, Parallel):
        for branch in slot.processor.branches:
            for inner in branch.slots:
                yield from _subtree(inner)


def unique_id(base: str, taken: set[str]) -> str:
    """``base`` if free, else ``base-2``, ``base-3``, ..."""
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"
