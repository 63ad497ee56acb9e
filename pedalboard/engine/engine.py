"""The real-time engine: runs a chain on live audio, one block at a time.

Threads and who owns what:

* **The audio callback** (JACK's process thread, PortAudio's callback thread
  or the virtual clock) owns the live chain, the crossfade and spillover
  state, the meters and the taps. Per block it: copies the input into a
  preallocated float32 ``(channels, frames)`` buffer (mono is duplicated to
  every output channel), applies at most a bounded number of queued
  commands, runs ``chain.process_inplace``, runs chains that are fading out
  or ringing out, fades for mute, and writes the meters, the taps and the
  output. It allocates no array, takes no lock, logs nothing.
* **Callers** (the controller's footswitch, MIDI and socket threads) validate
  their arguments against the newest chain and queue a command; they never
  wait for the audio. A new chain is prepared in the caller's thread.
* **The housekeeping thread** drops retired chains (so their memory is freed
  off the audio thread), watches the backend, reports ``audio_lost`` /
  ``audio_restored`` and reconnects every ``RECONNECT_S``.

While the audio is down nothing drains the queue, so commands are then
applied directly in the caller's thread (under a lock the callback never
sees): the state keeps moving and is there when the audio comes back.
"""

from __future__ import annotations

import contextlib
import gc
import sys
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

import numpy as np

from pedalboard.chain import Chain
from pedalboard.engine.backends import Backend, BackendError, VirtualBackend, create_backend
from pedalboard.engine.meters import Meters
from pedalboard.engine.queue import CommandQueue, Ring
from pedalboard.engine.tap import OutputRing, Tap
from pedalboard.errors import ParameterError
from pedalboard.jit import kernel

#: Largest period any backend may hand the engine; buffers and chains are
#: prepared for it once, so a JACK period change needs no reallocation.
ENGINE_MAX_BLOCK = 2048
#: Python's thread switch interval in the engine process. The default 5 ms
#: would let any other thread hold the GIL for most of a 1.3 ms period.
SWITCH_INTERVAL_S = 0.0005
#: Seconds between reconnection attempts while the audio is down.
RECONNECT_S = 0.5
#: Fade of the mute switch (the tuner mutes the output).
MUTE_FADE_MS = 10.0
#: Chains that may ring out at once after quick successive preset changes.
SPILL_SLOTS = 4
#: Applied-command time stamps kept (by sequence number modulo this).
STAMP_HISTORY = 1024

_PARAM, _BYPASS, _SNAPSHOT, _TEMPO, _MUTE, _CHAIN = range(6)

jit = kernel()


@jit
def _fan_out(mono: np.ndarray, block: np.ndarray) -> None:
    """Every channel of ``block`` = the single channel of ``mono``."""
    for c in range(block.shape[0]):
        for i in range(block.shape[1]):
            block[c, i] = mono[0, i]


@jit
def _ramp_copy(mono: np.ndarray, block: np.ndarray, start: float, step: float) -> None:
    """block[c] = g * mono[0], g ramping from ``start`` by ``step`` (clamped to 0..1)."""
    for c in range(block.shape[0]):
        g = start
        for i in range(block.shape[1]):
            g = min(1.0, max(0.0, g + step))
            block[c, i] = g * mono[0, i]


@jit
def _ramp_add(target: np.ndarray, source: np.ndarray, start: float, step: float) -> None:
    """target += g * source, g ramping from ``start`` by ``step`` (clamped)."""
    for c in range(target.shape[0]):
        g = start
        for i in range(target.shape[1]):
            g = min(1.0, max(0.0, g + step))
            target[c, i] += g * source[c, i]


@jit
def _ramp_scale(block: np.ndarray, start: float, step: float) -> None:
    """block *= g, g ramping from ``start`` by ``step`` (clamped)."""
    for c in range(block.shape[0]):
        g = start
        for i in range(block.shape[1]):
            g = min(1.0, max(0.0, g + step))
            block[c, i] *= g


def _advance(g: float, step: float, frames: int) -> float:
    return min(1.0, max(0.0, g + step * frames))


class _Spill:
    """A chain leaving the stage: faded out, or fed silence while its tails ring."""

    __slots__ = ("chain", "frames_left", "in_gain", "in_step", "out_gain", "out_step")

    def __init__(self) -> None:
        self.chain: Chain | None = None
        self.in_gain = self.in_step = self.out_gain = self.out_step = 0.0
        self.frames_left = 0


def _freeze_heap() -> None:
    """Collect once, then put every object alive now out of the cyclic
    collector's reach until :meth:`Engine.stop` (``gc.unfreeze``).

    A full collection walks every tracked object, and the imports alone
    (numba, scipy, pydantic) leave ~160 000: 30-43 ms holding the GIL, in
    whichever thread's allocation triggered it -- twenty-odd periods without
    a callback. Python does one every few tens of thousands of surviving
    allocations (a few preset builds). Frozen, the import-time objects are no
    longer walked; later objects (chains built since, controller state) are
    collected as before, in milliseconds. The price: reference cycles among
    the frozen objects (a chain alive at start, once retired) wait until
    ``stop()``. Measured over 2 minutes of the engine benchmark: three full
    collections of up to 42.8 ms and 8 xruns (jack_thru 0) without the
    freeze, 2 xruns (jack_thru 3) with it."""
    gc.collect()
    gc.freeze()


class Engine:
    """Runs a chain on live audio; see the module docstring for the threads."""

    def __init__(self, backend: str = "virtual", *, sample_rate: int = 48000, block_size: int = 64,
                 channels_out: int = 1, jack_server: str | None = None, client_name: str = "pedal",
                 demo_input: str | None = None,
                 on_event: Callable[[str, dict], None] | None = None) -> None:
        if channels_out not in (1, 2):
            raise ParameterError(f"engine: channels_out = {channels_out!r} is not allowed: 1 or 2")
        if not 16 <= int(block_size) <= ENGINE_MAX_BLOCK:
            raise ParameterError(
                f"engine: block_size = {block_size!r} is not allowed: [16, {ENGINE_MAX_BLOCK}]")
        if not 8000 <= int(sample_rate) <= 192000:
            raise ParameterError(f"engine: sample_rate = {sample_rate!r} is not allowed: [8000, 192000] Hz")
        self.backend_name = backend
        self.sample_rate = int(sample_rate)
        self.block_size = int(block_size)
        self.channels = int(channels_out)
        self.on_event = on_event
        self._backend: Backend = create_backend(
            backend, sample_rate=self.sample_rate, block_size=self.block_size,
            channels_out=self.channels, jack_server=jack_server, client_name=client_name,
            demo_input=demo_input)
        self._backend.on_xrun = self._xrun
        self.meters = Meters(self.sample_rate, self.block_size)
        self._queue = CommandQueue()
        self._trash = Ring(64)  # retired chains, callback -> housekeeping
        self._input = np.zeros((1, ENGINE_MAX_BLOCK), dtype=np.float32)
        self._buffer = np.zeros((self.channels, ENGINE_MAX_BLOCK), dtype=np.float32)
        self._scratch = np.zeros((self.channels, ENGINE_MAX_BLOCK), dtype=np.float32)
        self._views: tuple[np.ndarray, np.ndarray, np.ndarray] = self._make_views(self.block_size)
        self.input_tap = Tap(1, sample_rate=self.sample_rate)
        self.output_tap = Tap(self.channels, sample_rate=self.sample_rate)
        self.output_ring: OutputRing | None = None
        # Callback-owned state.
        self._live = Chain()
        self._live.prepare(self.sample_rate, self.channels, ENGINE_MAX_BLOCK)
        self._live_gain = 1.0
        self._live_step = 0.0
        self._spills = [_Spill() for _ in range(SPILL_SLOTS)]
        self._mute_gain = 1.0
        self._mute_target = 1.0
        self._mute_step = 1.0 / (MUTE_FADE_MS * 1e-3 * self.sample_rate)
        self._blocks = 0
        self._block_time = 0.0
        self._stamps = np.zeros((STAMP_HISTORY, 3))  # sequence, monotonic time, block index
        self._applied = 0
        self._tempo_bpm: float | None = None
        # Caller-side state.
        self._front = self._live
        self._owned: set[int] = {id(self._live)}
        # Chains prepared ahead by prepare_chain (weak: a cache may drop them).
        self._warmed: weakref.WeakSet[Chain] = weakref.WeakSet()
        self._warmed_lock = threading.Lock()  # callers' threads only, never the callback
        self._offline = threading.Lock()  # callers and housekeeping only
        self._audio_up = False
        self._running = False
        self._reported_lost = False
        self._last_error = ""
        self._stop = threading.Event()
        self._housekeeper: threading.Thread | None = None
        self._previous_switch_interval: float | None = None

    # ================================================================ lifecycle
    @property
    def backend(self) -> Backend:
        return self._backend

    def start(self) -> None:
        """Open the audio backend and start the housekeeping thread. If a JACK
        server or ALSA device is not there yet, report ``audio_lost`` and keep
        trying every ``RECONNECT_S`` (the state is kept meanwhile)."""
        if self._running:
            return
        self._previous_switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(SWITCH_INTERVAL_S)
        self.output_ring = OutputRing(self.channels, sample_rate=self.sample_rate)
        self._warm_effects()
        self._warm_engine()
        _freeze_heap()
        self._running = True
        self._stop.clear()
        try:
            self._open_backend()
        except BackendError as error:
            if isinstance(self._backend, VirtualBackend):
                self._running = False
                self._release_ring()
                gc.unfreeze()
                raise
            self._last_error = str(error)
            self._report_lost(str(error))
        self._housekeeper = threading.Thread(target=self._housekeeping, name="pedal-housekeeping",
                                             daemon=True)
        self._housekeeper.start()

    def stop(self) -> None:
        """Close the backend and stop the threads; the chain and state stay."""
        if not self._running:
            return
        self._running = False
        self._stop.set()
        if self._housekeeper is not None:
            self._housekeeper.join(timeout=5.0)
            self._housekeeper = None
        with self._offline:
            self._audio_up = False
            self._backend.close()
            self._drain(None)
        self._empty_trash()
        self._release_ring()
        gc.unfreeze()
        if self._previous_switch_interval is not None:
            sys.setswitchinterval(self._previous_switch_interval)

    def __enter__(self) -> Engine:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _warm(self, chain: Chain) -> None:
        """Run one silent block through ``chain`` and reset it, so compiled
        kernels are loaded here and not in the callback's first block."""
        chain.warm_up()  # both block layouts, the glide path too
        block = np.zeros((self.channels, self.block_size), dtype=np.float32)
        chain.process_inplace(block)
        chain.reset()

    def _warm_effects(self) -> None:
        """Load the kernels of every registered effect once, before audio
        starts: numba reads its cache (or compiles) holding the GIL for
        milliseconds, which in the middle of a set would starve the callback."""
        from pedalboard.effects import create_effect, effect_names

        block = np.zeros((self.channels, self.block_size), dtype=np.float32)
        for name in effect_names():
            try:
                effect = create_effect(name)
                effect.prepare(self.sample_rate, self.channels, ENGINE_MAX_BLOCK)
                effect.warm_up()
                block[:] = 0.0
                effect.process_inplace(block)
            except Exception:
                continue

    def _warm_engine(self) -> None:
        """Load every kernel the callback uses (numba compiles or reads its
        cache on first call: milliseconds to seconds, far over one period)."""
        with self._offline:
            audio_up, self._audio_up = self._audio_up, False
            self._process(self.block_size)
            self._process(self.block_size // 2)
            _ramp_copy(self._input[:, :1], self._scratch[:, :1], 1.0, 0.0)
            _ramp_add(self._buffer[:, :1], self._scratch[:, :1], 1.0, 0.0)
            _ramp_scale(self._scratch[:, :1], 1.0, 0.0)
            self._audio_up = audio_up
        self.meters.reset_loads()

    def _release_ring(self) -> None:
        ring, self.output_ring = self.output_ring, None
        if ring is not None:
            ring.close()

    def _open_backend(self) -> None:
        with self._offline:
            self._audio_up = True  # from here on the callback drains the queue
        try:
            self._backend.open(self._process, self._input, self._buffer)
        except BackendError:
            with self._offline:
                self._audio_up = False
                self._drain(None)  # commands queued meanwhile
            raise
        self._follow_period()
        self.meters.reset_loads()

    def _follow_period(self) -> None:
        """Match the callback's buffer views and meters to the backend's period
        (JACK decides it; it may differ from ``block_size`` or change live)."""
        period = self._backend.block_size
        if self._views[0].shape[1] != period and 0 < period <= ENGINE_MAX_BLOCK:
            self._views = self._make_views(period)  # one reference store: atomic for the callback
            self.meters.configure(self.sample_rate, period)

    def _report_lost(self, message: str) -> None:
        if not self._reported_lost:
            self._reported_lost = True
            self._emit("audio_lost", {"backend": self._backend.name, "message": message})

    def _emit(self, name: str, data: dict[str, Any]) -> None:
        if self.on_event is not None:
            # A listener's bug must not stop the engine.
            with contextlib.suppress(Exception):
                self.on_event(name, data)

    # ============================================================ housekeeping
    def _housekeeping(self) -> None:
        next_try = 0.0
        next_chore = 0.0
        while not self._stop.wait(0.02):
            self._empty_trash()
            now = time.monotonic()
            backend = self._backend
            if self._audio_up and backend.lost:
                with self._offline:
                    self._audio_up = False
                    self._drain(None)
                backend.close()
                self._last_error = backend.lost_reason
                self._report_lost(backend.lost_reason)
                next_try = now + RECONNECT_S
            elif not self._audio_up and now >= next_try:
                next_try = now + RECONNECT_S
                try:
                    self._open_backend()
                except BackendError as error:
                    self._last_error = str(error)
                    continue
                if self._reported_lost:
                    self._reported_lost = False
                    self._emit("audio_restored", {"backend": backend.name,
                                                  "message": f"{backend.name} audio is back"})
            if self._audio_up and (now >= next_chore or backend.graph_changed):
                next_chore = now + 1.0
                backend.housekeeping()
                self._follow_period()

    def _empty_trash(self) -> None:
        while True:
            chain = self._trash.pop()
            if chain is None:
                return
            self._owned.discard(id(chain))
            del chain  # the last reference: its arrays are freed here, not in the callback

    # ============================================================ the callback
    def _make_views(self, frames: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self._input[:, :frames], self._buffer[:, :frames], self._scratch[:, :frames]

    def _process(self, frames: int) -> None:
        """One block: the backend filled ``_input`` and reads ``_buffer`` after."""
        start = time.monotonic()
        self._block_time = start
        views = self._views
        if views[0].shape[1] != frames:
            views = self._make_views(frames)  # a period change: rare, tolerated
        mono, block, scratch = views
        _fan_out(mono, block)
        self.input_tap.write(mono)
        self._drain(self._queue.per_block)
        self._live.process_inplace(block)
        if self._live_gain < 1.0:
            _ramp_scale(block, self._live_gain, self._live_step)
            self._live_gain = _advance(self._live_gain, self._live_step, frames)
        for spill in self._spills:
            if spill.chain is not None:
                self._run_spill(spill, mono, block, scratch, frames)
        if self._mute_gain != 1.0 or self._mute_target != 1.0:
            step = self._mute_step if self._mute_target > self._mute_gain else -self._mute_step
            _ramp_scale(block, self._mute_gain, step)
            self._mute_gain = _advance(self._mute_gain, step, frames)
        self.meters.update(mono, block)
        self.output_tap.write(block)
        ring = self.output_ring
        if ring is not None:
            ring.write(block)
        self._blocks += 1
        self.meters.record_load(time.monotonic() - start)

    def _run_spill(self, spill: _Spill, mono: np.ndarray, block: np.ndarray,
                   scratch: np.ndarray, frames: int) -> None:
        _ramp_copy(mono, scratch, spill.in_gain, spill.in_step)
        spill.chain.process_inplace(scratch)
        _ramp_add(block, scratch, spill.out_gain, spill.out_step)
        spill.in_gain = _advance(spill.in_gain, spill.in_step, frames)
        spill.out_gain = _advance(spill.out_gain, spill.out_step, frames)
        spill.frames_left -= frames
        if spill.frames_left <= 0 or (spill.out_gain == 0.0 and spill.out_step <= 0.0):
            self._retire(spill)

    def _retire(self, spill: _Spill) -> None:
        chain, spill.chain = spill.chain, None
        if not self._trash.push(chain):
            spill.chain = chain  # housekeeping is behind: keep it silent one more block
            spill.out_gain = spill.out_step = 0.0

    def _drain(self, limit: int | None) -> None:
        """Apply queued commands (at most ``limit``; all when None)."""
        queue = self._queue
        count = 0
        while limit is None or count < limit:
            command = queue.pop()
            if command is None:
                return
            sequence, kind, a, b, c = command
            if kind == _PARAM:
                a.set_param(b, c)
            elif kind == _BYPASS:
                a.bypass = b
            elif kind == _SNAPSHOT:
                for effect, name, value in a:
                    effect.set_param(name, value)
                for slot, bypass in b:
                    slot.bypass = bypass
            elif kind == _TEMPO:
                self._live.set_tempo(a)
            elif kind == _MUTE:
                self._mute_target = a
            elif kind == _CHAIN:
                self._swap(a, b, c)
            self._stamp(sequence)
            count += 1

    def _stamp(self, sequence: int) -> None:
        row = self._stamps[sequence % STAMP_HISTORY]
        row[0] = sequence
        row[1] = self._block_time if self._audio_up else time.monotonic()
        row[2] = self._blocks
        self._applied = sequence

    def _swap(self, chain: Chain, spillover: bool, fade_frames: int) -> None:
        old = self._live
        self._live = chain
        if not self._audio_up or fade_frames <= 0:
            self._live_gain = 1.0
            if not self._trash.push(old):
                self._owned.discard(id(old))  # no housekeeping yet: dropped right here
            return
        step = 1.0 / fade_frames
        self._live_gain = 0.0
        self._live_step = step
        spill = self._free_spill()
        spill.chain = old
        spill.in_gain = 1.0
        spill.out_gain = 1.0
        if spillover:
            spill.in_step, spill.out_step = -step, 0.0
            spill.frames_left = fade_frames + int(old.tail_seconds * self.sample_rate)
        else:
            spill.in_step, spill.out_step = 0.0, -step
            spill.frames_left = fade_frames

    def _free_spill(self) -> _Spill:
        for spill in self._spills:
            if spill.chain is None:
                return spill
        # All busy: the one closest to its end makes room, dropped at once.
        spill = min(self._spills, key=_frames_left)
        self._retire(spill)
        return spill

    # ============================================================ commands
    def _submit(self, kind: int, a: Any = None, b: Any = None, c: Any = None) -> int:
        with self._offline:
            sequence = self._queue.put(kind, a, b, c)
            if not self._audio_up:
                self._drain(None)  # no callback to do it: apply now, in order
        return sequence

    @property
    def chain(self) -> Chain:
        """The newest chain (what commands address); read-only outside the callback."""
        return self._front

    def load_chain(self, chain: Chain, *, spillover: bool = True, crossfade_ms: float = 10.0) -> int:
        """Prepare ``chain`` here, then swap it in at the next block with a
        crossfade; the old chain fades out, or with ``spillover`` is fed
        silence while its delay and reverb tails ring out. Returns the
        command's sequence number (see :meth:`applied_at`)."""
        if not isinstance(chain, Chain):
            raise ParameterError(f"load_chain: expected a Chain, not {type(chain).__name__}")
        if isinstance(crossfade_ms, bool) or not 0.0 <= float(crossfade_ms) <= 1000.0:
            raise ParameterError(f"load_chain: crossfade_ms = {crossfade_ms!r} is not allowed: [0, 1000] ms")
        if id(chain) in self._owned:
            raise ParameterError("load_chain: this Chain object is still playing (live or ringing "
                                 "out); build a new one, e.g. build_chain(preset)")
        with self._warmed_lock:
            warmed = chain in self._warmed
            self._warmed.discard(chain)
        if not warmed:
            chain.prepare(self.sample_rate, self.channels, ENGINE_MAX_BLOCK)
            self._warm(chain)
        if self._tempo_bpm is not None and not getattr(getattr(chain, "preset", None), "tempo_bpm", None):
            chain.set_tempo(self._tempo_bpm)
        fade_frames = round(float(crossfade_ms) * 1e-3 * self.sample_rate)
        self._owned.add(id(chain))
        self._front = chain
        return self._submit(_CHAIN, chain, bool(spillover), fade_frames)

    def prepare_chain(self, chain: Chain, pace: Callable[[], None] | None = None) -> Chain:
        """Prepare ``chain`` for this engine and load its kernels (off the audio
        thread), so that a later :meth:`load_chain` of it only queues the swap.
        The controller builds the chains of the presets a footswitch or a
        program change can reach next this way, ahead of the switch, with
        ``pace=engine.after_block``: each slot is prepared in a gap of the
        audio (see :meth:`after_block`)."""
        chain.prepare(self.sample_rate, self.channels, ENGINE_MAX_BLOCK, pace=pace)
        if pace is not None:
            pace()  # the warm-up block in a gap of its own
        self._warm(chain)
        with self._warmed_lock:
            self._warmed.add(chain)
        return chain

    def set_param(self, slot_id: str, param: str, value: Any) -> int:
        """Set a parameter of the effect in slot ``slot_id`` (validated here;
        raises :class:`ParameterError` naming the slot, parameter and range)."""
        effect = self._front.effect(slot_id)
        spec = effect.param_map.get(param)
        if spec is None:
            known = ", ".join(effect.param_map) or "none"
            raise ParameterError(f"slot {slot_id!r} ({effect.name}): no parameter {param!r} "
                                 f"(parameters: {known})")
        checked = spec.validate(value, owner=f"slot {slot_id!r} ({effect.name})")
        return self._submit(_PARAM, effect, param, checked)

    def set_bypass(self, slot_id: str, value: bool) -> int:
        slot = self._front.slot(slot_id)
        if not isinstance(value, (bool, np.bool_)):
            raise ParameterError(f"slot {slot_id!r}: bypass = {value!r} is not allowed: true or false")
        return self._submit(_BYPASS, slot, bool(value))

    def apply_snapshot(self, snapshot: Any) -> int:
        """Apply a :class:`pedalboard.presets.Snapshot` (parameters and
        bypasses) at one block boundary; everything is validated first."""
        chain = self._front
        params = []
        for key, value in snapshot.params.items():
            slot_id, _, name = key.partition(".")
            effect = chain.effect(slot_id)
            spec = effect.param_map.get(name)
            if spec is None:
                raise ParameterError(f"snapshot {snapshot.name!r}: slot {slot_id!r} ({effect.name}) "
                                     f"has no parameter {name!r}")
            params.append((effect, name, spec.validate(value, owner=f"snapshot {snapshot.name!r}, {key}")))
        bypasses = [(chain.slot(slot_id), bool(value)) for slot_id, value in snapshot.bypass.items()]
        return self._submit(_SNAPSHOT, tuple(params), tuple(bypasses))

    def set_tempo(self, bpm: float) -> int:
        if isinstance(bpm, bool) or not isinstance(bpm, (int, float)) or not 20.0 <= bpm <= 300.0:
            raise ParameterError(f"tempo: bpm = {bpm!r} is not allowed: [20, 300]")
        self._tempo_bpm = float(bpm)
        return self._submit(_TEMPO, float(bpm))

    def set_mute(self, muted: bool) -> int:
        """Mute (the tuner) or unmute the output with a short fade."""
        if not isinstance(muted, (bool, np.bool_)):
            raise ParameterError(f"mute = {muted!r} is not allowed: true or false")
        return self._submit(_MUTE, 0.0 if muted else 1.0)

    # ============================================================ readers
    @property
    def applied(self) -> int:
        """Sequence number of the last command the audio applied."""
        return self._applied

    def applied_at(self, sequence: int) -> tuple[float, int] | None:
        """``(time.monotonic() at the start of the block that applied it,
        block index)`` for a command, or None if not applied yet (or too old)."""
        row = self._stamps[sequence % STAMP_HISTORY]
        if int(row[0]) != sequence:
            return None
        return float(row[1]), int(row[2])

    def wait_applied(self, sequence: int, timeout_s: float = 2.0) -> tuple[float, int]:
        """Poll until command ``sequence`` was applied; TimeoutError otherwise."""
        deadline = time.monotonic() + timeout_s
        while True:
            stamp = self.applied_at(sequence)
            if stamp is not None:
                return stamp
            if time.monotonic() > deadline:
                raise TimeoutError(f"engine command {sequence} not applied after {timeout_s} s")
            time.sleep(0.0005)

    def after_block(self, timeout_s: float = 0.005) -> None:
        """Return just after the audio finished a block (at once when it is not
        running; at most ``timeout_s``).

        Work done in small steps beside live audio calls this before each
        step: the step then runs in the gap before the next callback instead
        of making the callback wait for the GIL, or hand it over mid-block.
        Building chains ahead without it, every xrun of 100 preset switches
        on JACK fell inside a build (0.85 s of the 45 s run)."""
        if not self._audio_up:
            return
        blocks = self._blocks
        deadline = time.monotonic() + timeout_s
        while self._blocks == blocks and time.monotonic() < deadline:
            time.sleep(0.0001)  # sleeping releases the GIL to the callback

    def wait_caught_up(self, timeout_s: float = 0.025) -> bool:
        """Wait until the audio has applied every command submitted so far and
        finished the block that applied the last one (at most ``timeout_s``);
        True if it has.

        The controller calls this after a change, before its bookkeeping
        (saving the state, building the next presets' chains ahead). That work
        holds the GIL in stretches: started while the change waited for its
        block, it delayed the callback that applies it, and started while
        that block ran, it made the callback hand the GIL over mid-block.
        Measured on 90-120 preset switches on JACK (64-frame periods): the
        footswitch to the applying block p99 3.53 ms with the bookkeeping at
        once, 1.07 ms after waiting for the apply; the applying block's own
        time at most 4.3 periods waiting for the apply, 0.63 waiting for the
        block's end (the GIL handovers then fall on the next block: up to 2.3
        periods, on one switch in ten)."""
        sequence = self._queue.submitted
        deadline = time.monotonic() + timeout_s
        while self._audio_up and sequence:
            stamp = self.applied_at(sequence)
            if stamp is None and self._applied >= sequence:
                return True  # applied long ago (its stamp was recycled)
            if stamp is not None and self._blocks > stamp[1]:
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.0002)  # sleeping releases the GIL to the callback
        return True

    def status(self) -> dict[str, Any]:
        p50, p99 = self.meters.load_percentiles()
        input_db, output_db = self.meters.peak_db()
        backend = self._backend
        return {
            "sample_rate": self.sample_rate,
            "block_size": backend.block_size,
            "latency_samples": int(self._front.latency + backend.latency_samples),
            "xruns": self.meters.xruns,
            "dsp_load_p50": p50,
            "dsp_load_p99": p99,
            "input_peak_db": input_db,
            "output_peak_db": output_db,
            "backend": backend.name,
            "running": self._running,
            "audio_ok": self._running and self._audio_up and not backend.lost,
            "message": "" if self._audio_up else self._last_error,
            "blocks": self._blocks,
            "applied": self._applied,
            "output_ring": self.output_ring.name if self.output_ring is not None else None,
            "channels": self.channels,
            "realtime": backend.realtime,
        }

    def input_snapshot(self, frames: int) -> np.ndarray:
        """The most recent ``frames`` input samples (mono float32), for the tuner."""
        return np.ascontiguousarray(self.input_tap.latest(frames)[:, 0])

    def output_snapshot(self, frames: int) -> np.ndarray:
        """The most recent ``frames`` output frames as (channels, frames) float32."""
        return np.ascontiguousarray(self.output_tap.latest(frames).T)

    def _xrun(self) -> None:
        self.meters.add_xrun()


def _frames_left(spill: _Spill) -> int:
    return spill.frames_left
