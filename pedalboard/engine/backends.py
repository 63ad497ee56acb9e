"""Audio backends: where the engine's blocks come from and go to.

Every backend does the same small job behind one interface: when the audio
device wants a block, copy the device's input into the engine's preallocated
``input`` array (shape (1, max_block), float32), call ``process(frames)``, and
copy the engine's ``output`` array (shape (channels, max_block)) to the device.

* ``jack``    -- a JACK client through JACK-Client's process callback (chosen
  over sounddevice-on-JACK by measurement: see docs/engine.md). Client
  ``pedal``, ports ``in_1`` and ``out_1`` (``out_2``); it connects itself to
  the physical ports and restores the connections it had when the server
  comes back after dying.
* ``alsa``    -- PortAudio's ALSA host API through sounddevice; ``alsa:NAME``
  picks a device by (part of) its name or index.
* ``virtual`` -- no sound card: a clock thread wakes every block period
  (deadline based, so it never drifts), reads a demo input (the synthesized
  guitar riff or a WAV loop) and writes to a sink that tests can record.
* ``manual``  -- the virtual backend without its clock: the caller runs
  blocks with :meth:`VirtualBackend.step` (tests, offline checks).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from pedalboard.errors import PedalError
from pedalboard.jit import kernel

ProcessFn = Callable[[int], None]


class BackendError(PedalError):
    """An audio backend that cannot be used (no server, no device, bad name)."""


class Backend:
    """The interface the engine drives. Subclasses fill in open/close."""

    name = "backend"

    def __init__(self, sample_rate: int, block_size: int, channels_out: int) -> None:
        self.sample_rate = int(sample_rate)
        self.block_size = int(block_size)
        self.channels_out = int(channels_out)
        self.lost = False  # set (from any thread) when the device or server went away
        self.lost_reason = ""
        self.realtime = False  # whether the audio thread runs SCHED_FIFO
        self.on_xrun: Callable[[], None] = lambda: None

    @property
    def latency_samples(self) -> int:
        """Input-to-output delay the backend adds (capture + playback)."""
        return 0

    def open(self, process: ProcessFn, input_block: np.ndarray, output_block: np.ndarray) -> None:
        """Connect and start calling ``process``; raise :class:`BackendError`."""
        raise NotImplementedError

    def close(self) -> None:
        """Stop calling ``process`` and release the device (idempotent)."""

    def housekeeping(self) -> None:
        """Light periodic work off the audio thread (about once a second, and
        soon after ``graph_changed`` is set)."""

    graph_changed = False

    def _mark_lost(self, reason: str) -> None:
        self.lost_reason = reason
        self.lost = True


# ---------------------------------------------------------------- kernels
@kernel()
def _deinterleave_first(src: np.ndarray, dst: np.ndarray, frames: int) -> None:
    """dst[0, :frames] = src[:frames, 0] (device input (frames, ch) -> (1, frames))."""
    for i in range(frames):
        dst[0, i] = src[i, 0]


@kernel()
def _interleave(src: np.ndarray, dst: np.ndarray, frames: int) -> None:
    """dst[:frames, c] = src[c, :frames] (engine (ch, frames) -> device (frames, ch))."""
    channels = dst.shape[1]
    for i in range(frames):
        for c in range(channels):
            dst[i, c] = src[c, i]


@kernel()
def _loop_read(source: np.ndarray, position: int, dst: np.ndarray, frames: int, loop: bool) -> int:
    """Copy ``frames`` samples of ``source`` from ``position`` into dst[0];
    wrap when looping, else pad with silence. Returns the new position."""
    length = source.shape[0]
    p = position
    for i in range(frames):
        if p >= length:
            if loop and length > 0:
                p = 0
            else:
                dst[0, i] = 0.0
                continue
        dst[0, i] = source[p]
        p += 1
    return p


# ---------------------------------------------------------------- JACK
def _libjack() -> Any:
    path = ctypes.util.find_library("jack") or "libjack.so.0"
    lib = ctypes.CDLL(path)
    lib.jack_port_get_latency_range.argtypes = [ctypes.c_void_p, ctypes.c_int,
                                                ctypes.POINTER(ctypes.c_uint32 * 2)]
    lib.jack_port_get_latency_range.restype = None
    return lib


class JackBackend(Backend):
    """A JACK client driven by JACK-Client's process callback.

    The callback copies port buffers with ``memoryview`` slice assignment
    into and out of the engine's arrays: no numpy array is created per
    block (``port.get_array()`` would make one each time).
    """

    name = "jack"

    def __init__(self, sample_rate: int, block_size: int, channels_out: int,
                 server: str | None = None, client_name: str = "pedal") -> None:
        super().__init__(sample_rate, block_size, channels_out)
        self.server = server or os.environ.get("JACK_DEFAULT_SERVER") or None
        self.client_name = client_name
        self.client: Any = None
        self.connections: dict[str, list[str]] = {}  # our port -> peers, to restore
        self._latency = block_size
        self._libjack: Any = None
        self.graph_changed = False
        self.latency_updates = 0  # how often the latency was re-read (tests wait on it)

    @property
    def latency_samples(self) -> int:
        return self._latency

    def open(self, process: ProcessFn, input_block: np.ndarray, output_block: np.ndarray) -> None:
        import jack

        jack.set_error_function(lambda message: None)  # failures reach the user as BackendError
        jack.set_info_function(lambda message: None)
        where = f"JACK server {self.server!r}" if self.server else "the default JACK server"
        try:
            client = jack.Client(self.client_name, no_start_server=True,
                                 servername=self.server, use_exact_name=True)
        except jack.JackOpenError as error:
            raise BackendError(f"cannot connect to {where} as {self.client_name!r}: {error}") from None
        if client.samplerate != self.sample_rate:
            client.close()
            raise BackendError(f"{where} runs at {client.samplerate} Hz; the engine needs "
                               f"{self.sample_rate} Hz (start jackd with -r {self.sample_rate})")
        frames_max = input_block.shape[1]
        if client.blocksize > frames_max:
            client.close()
            raise BackendError(f"{where} uses {client.blocksize}-frame periods; the engine "
                               f"was prepared for at most {frames_max}")
        self.block_size = client.blocksize
        inport = client.inports.register("in_1")
        outports = [client.outports.register(f"out_{k + 1}") for k in range(self.channels_out)]
        period = client.blocksize
        # Views of exactly one period, made once: the common path slices nothing.
        in_view = memoryview(input_block[0, :period]).cast("B")
        pairs = [(port, memoryview(output_block[k, :period]).cast("B"))
                 for k, port in enumerate(outports)]
        in_all = memoryview(input_block[0]).cast("B")
        out_all = [memoryview(output_block[k]).cast("B") for k in range(self.channels_out)]

        def callback(frames: int) -> None:
            if frames == period:
                in_view[:] = inport.get_buffer()
                process(frames)
                for port, view in pairs:
                    port.get_buffer()[:] = view
            else:  # the server changed its period under us: rare, small allocations tolerated
                size = frames * 4
                in_all[:size] = inport.get_buffer()
                process(frames)
                for port, data in zip(outports, out_all, strict=True):
                    port.get_buffer()[:] = data[:size]

        client.set_process_callback(callback)
        client.set_xrun_callback(lambda delay_usecs: self.on_xrun())
        client.set_shutdown_callback(lambda status, reason: self._mark_lost(f"JACK server stopped: {reason}"))
        client.set_blocksize_callback(self._blocksize_changed)
        client.set_graph_order_callback(self._graph_changed)
        self.lost = False
        self.lost_reason = ""
        client.activate()
        self.client = client
        self.realtime = bool(client.realtime)
        self._connect(inport, outports)
        self.housekeeping()

    def _blocksize_changed(self, blocksize: int) -> None:
        self.block_size = int(blocksize)

    def _graph_changed(self) -> None:
        self.graph_changed = True  # connections moved: housekeeping re-reads latency

    def _connect(self, inport: Any, outports: list[Any]) -> None:
        """Restore remembered connections, else connect to the physical ports."""
        client = self.client
        ours = [inport, *outports]
        if any(self.connections.get(port.shortname) for port in ours):
            for port in ours:
                for peer in self.connections.get(port.shortname, []):
                    with contextlib.suppress(jack_errors()):
                        if port.is_input:
                            client.connect(peer, port)
                        else:
                            client.connect(port, peer)
            return
        captures = client.get_ports(is_audio=True, is_output=True, is_physical=True)
        playbacks = client.get_ports(is_audio=True, is_input=True, is_physical=True)
        with contextlib.suppress(jack_errors()):
            if captures:
                client.connect(captures[0], inport)
            for port, peer in zip(outports, playbacks, strict=False):
                client.connect(port, peer)

    def housekeeping(self) -> None:
        client = self.client
        if client is None or self.lost:
            return
        try:
            remembered = {}
            for port in [*client.inports, *client.outports]:
                remembered[port.shortname] = [p.name for p in client.get_all_connections(port)]
            self.connections = remembered
            self.graph_changed = False
            self._latency = self._measure_latency()
            self.latency_updates += 1
        except Exception:
            return

    def _measure_latency(self) -> int:
        """Capture latency at in_1 plus playback latency at out_1 as JACK
        propagates them (a real interface: about nperiods x period). A client
        loop reports zero there but still sees one period: the floor."""
        import jack

        if self._libjack is None:
            self._libjack = _libjack()
        lib = self._libjack
        ranges = (ctypes.c_uint32 * 2)()
        total = 0
        for port, mode in ((self.client.inports[0], 0), (self.client.outports[0], 1)):
            pointer = int(jack._ffi.cast("uintptr_t", port._ptr))
            lib.jack_port_get_latency_range(pointer, mode, ctypes.byref(ranges))
            total += int(ranges[1])
        return max(self.block_size, total)

    def close(self) -> None:
        client, self.client = self.client, None
        if client is None:
            return
        with contextlib.suppress(Exception):
            if not self.lost:
                client.deactivate()
            client.close()


def jack_errors() -> tuple[type[BaseException], ...]:
    import jack

    return (jack.JackError,)


# ---------------------------------------------------------------- PortAudio
class SoundDeviceBackend(Backend):
    """A duplex PortAudio stream through sounddevice (ALSA, or JACK for the
    backend comparison). PortAudio hands the callback fresh numpy views of
    its interleaved buffers each block; two small kernels copy them."""

    name = "alsa"

    def __init__(self, sample_rate: int, block_size: int, channels_out: int,
                 host_api: str = "ALSA", device: str | None = None) -> None:
        super().__init__(sample_rate, block_size, channels_out)
        self.host_api = host_api
        self.device = device
        self.stream: Any = None
        self._latency = block_size

    @property
    def latency_samples(self) -> int:
        return self._latency

    def _find_device(self) -> int:
        import sounddevice as sd

        wanted = self.host_api.lower()
        apis = [i for i, api in enumerate(sd.query_hostapis()) if wanted in api["name"].lower()]
        devices = [(i, d) for i, d in enumerate(sd.query_devices())
                   if d["hostapi"] in apis and d["max_input_channels"] >= 1
                   and d["max_output_channels"] >= self.channels_out]
        if self.device is not None:
            devices = [(i, d) for i, d in devices
                       if self.device == str(i) or self.device.lower() in d["name"].lower()]
        if not devices:
            wanted = f"device {self.device!r}" if self.device else "any duplex device"
            raise BackendError(f"no {self.host_api} audio {wanted} with 1 input and "
                               f"{self.channels_out} output channel(s) (see `python -m sounddevice`)")
        return devices[0][0]

    def open(self, process: ProcessFn, input_block: np.ndarray, output_block: np.ndarray) -> None:
        import sounddevice as sd

        device = self._find_device()

        def callback(indata: np.ndarray, outdata: np.ndarray, frames: int, when: Any, status: Any) -> None:
            if status.input_overflow or status.output_underflow:
                self.on_xrun()
            _deinterleave_first(indata, input_block, frames)
            process(frames)
            _interleave(output_block, outdata, frames)

        try:
            stream = sd.Stream(samplerate=self.sample_rate, blocksize=self.block_size,
                               device=(device, device), channels=(1, self.channels_out),
                               dtype="float32", latency="low", callback=callback,
                               finished_callback=lambda: self._finished())
            stream.start()
        except sd.PortAudioError as error:
            raise BackendError(f"cannot open {self.host_api} device {device}: {error}") from None
        self.lost = False
        self.stream = stream
        seconds = stream.latency
        self._latency = round((seconds[0] + seconds[1]) * self.sample_rate)

    def _finished(self) -> None:
        if self.stream is not None:  # not closed by us: the device went away
            self._mark_lost(f"{self.host_api} stream stopped")

    def close(self) -> None:
        stream, self.stream = self.stream, None
        if stream is not None:
            with contextlib.suppress(Exception):
                stream.abort()
                stream.close()


# ---------------------------------------------------------------- virtual
def load_demo_input(demo_input: str | None, sample_rate: int) -> np.ndarray:
    """The virtual backend's input: ``None`` or ``"riff"`` gives 8 s of the
    synthesized guitar riff at -6 dBFS; otherwise a WAV/FLAC path (mixed to
    mono, resampled to ``sample_rate``)."""
    if demo_input in (None, "", "riff"):
        return _demo_riff(sample_rate)
    if demo_input == "silence":
        return np.zeros(sample_rate, dtype=np.float32)
    import soundfile

    path = Path(demo_input)
    try:
        audio, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    except (OSError, RuntimeError, soundfile.LibsndfileError) as error:
        raise BackendError(f"demo input {str(path)!r}: cannot read audio file: {error}") from None
    mono = audio.mean(axis=1)
    if rate != sample_rate:
        import soxr

        mono = soxr.resample(mono, rate, sample_rate)
    if mono.size == 0:
        raise BackendError(f"demo input {str(path)!r} holds no samples")
    return np.ascontiguousarray(mono, dtype=np.float32)


def _demo_riff(sample_rate: int) -> np.ndarray:
    """8 s of the synthesized riff at -6 dBFS, cached as a .npy file next to
    numba's cache: synthesizing it needs scipy.signal (~0.5 s to import, ~0.3 s
    to render), and ``pedal run`` should start in well under a second. The
    cache key includes the synthesizer's file size and mtime, so an edited
    synthesizer renders afresh."""
    import pedalboard

    synth = Path(pedalboard.__file__).with_name("signals.py")
    stat = synth.stat()
    numba_cache = os.environ.get("NUMBA_CACHE_DIR")  # pedalboard/__init__ sets it
    cache_dir = Path(numba_cache).parent if numba_cache else None
    key = f"demo-riff-{sample_rate}-{stat.st_size}-{stat.st_mtime_ns}.npy"
    cache = cache_dir / key if cache_dir else None
    if cache is not None:
        with contextlib.suppress(OSError, ValueError):
            return np.load(cache)
    from pedalboard.signals import guitar_riff

    riff = (0.5 * guitar_riff(8.0, sample_rate)).astype(np.float32)
    if cache_dir is None or cache is None:
        return riff
    with contextlib.suppress(OSError):
        cache_dir.mkdir(parents=True, exist_ok=True)
        partial = cache.with_suffix(f".{os.getpid()}.tmp")
        with partial.open("wb") as file:
            np.save(file, riff)
        partial.replace(cache)  # atomic: a concurrent start never reads half a file
    return riff


class _Sink:
    """Records the backend's output when armed (preallocated per request)."""

    def __init__(self) -> None:
        self.buffer = np.zeros((1, 0), dtype=np.float32)
        self.filled = 0
        self.done = threading.Event()

    def arm(self, channels: int, frames: int) -> None:
        self.done.clear()
        self.filled = frames  # nothing is written while re-arming
        self.buffer = np.zeros((channels, frames), dtype=np.float32)
        self.filled = 0

    def write(self, block: np.ndarray, frames: int) -> None:
        room = self.buffer.shape[1] - self.filled
        if room <= 0:
            return
        count = min(room, frames)
        self.buffer[:, self.filled : self.filled + count] = block[:, :count]
        self.filled += count
        if self.filled == self.buffer.shape[1]:
            self.done.set()


class VirtualBackend(Backend):
    """A clock instead of a sound card, a demo signal instead of a guitar."""

    name = "virtual"

    def __init__(self, sample_rate: int, block_size: int, channels_out: int,
                 demo_input: str | None = None, clock: bool = True) -> None:
        super().__init__(sample_rate, block_size, channels_out)
        self.source = load_demo_input(demo_input, self.sample_rate)
        self.loop = True
        self.position = 0
        self.clock = clock
        self.sink = _Sink()
        self._process: ProcessFn | None = None
        self._input: np.ndarray | None = None
        self._output: np.ndarray | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def play(self, signal: np.ndarray, *, loop: bool = False) -> None:
        """Replace the input with ``signal`` from its start (silence after it
        unless ``loop``). Call while the clock is stopped for exact timing."""
        source = np.ascontiguousarray(signal, dtype=np.float32).reshape(-1)
        self.loop = loop
        self.position = 0
        self.source = source

    def record(self, frames: int) -> None:
        """Start recording the next ``frames`` output frames."""
        self.sink.arm(self.channels_out, int(frames))

    def recording(self, timeout_s: float = 30.0) -> np.ndarray:
        """The recorded (channels, frames) output once complete."""
        if not self.sink.done.wait(timeout_s):
            raise TimeoutError(f"virtual sink: {self.sink.filled} frames recorded after {timeout_s} s")
        return self.sink.buffer.copy()

    def open(self, process: ProcessFn, input_block: np.ndarray, output_block: np.ndarray) -> None:
        self._process = process
        self._input = input_block
        self._output = output_block
        self.lost = False
        if self.clock:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="pedal-virtual-clock", daemon=True)
            self._thread.start()

    def step(self, blocks: int = 1) -> None:
        """Run ``blocks`` blocks now, in the caller's thread (manual mode)."""
        for _ in range(blocks):
            self._cycle()

    def _cycle(self) -> None:
        frames = self.block_size
        self.position = _loop_read(self.source, self.position, self._input, frames, self.loop)
        self._process(frames)
        self.sink.write(self._output, frames)

    def _run(self) -> None:
        self.realtime = try_realtime(50)
        period = self.block_size / self.sample_rate
        deadline = time.monotonic()
        stop = self._stop
        while not stop.is_set():
            self._cycle()
            deadline += period
            now = time.monotonic()
            if now > deadline + period:
                # A whole period late: a sound card would have run dry. Count
                # it and start a fresh schedule instead of bursting to catch up.
                self.on_xrun()
                deadline = now
            elif now < deadline:
                time.sleep(deadline - now)

    def close(self) -> None:
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=2.0)


def try_realtime(priority: int) -> bool:
    """Ask for SCHED_FIFO for the calling thread; False where not permitted."""
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(priority))
    except (AttributeError, OSError):
        return False
    return True


def create_backend(name: str, *, sample_rate: int, block_size: int, channels_out: int,
                   jack_server: str | None = None, client_name: str = "pedal",
                   demo_input: str | None = None) -> Backend:
    """A backend by name: ``jack``, ``alsa`` / ``alsa:DEVICE``, ``virtual``, ``manual``,
    ``jack-portaudio`` (sounddevice on JACK, kept for the measured comparison)."""
    kind, _, device = name.partition(":")
    if kind == "jack":
        return JackBackend(sample_rate, block_size, channels_out, jack_server, client_name)
    if kind == "alsa":
        return SoundDeviceBackend(sample_rate, block_size, channels_out, "ALSA", device or None)
    if kind == "jack-portaudio":
        if jack_server:
            os.environ["JACK_DEFAULT_SERVER"] = jack_server
        backend = SoundDeviceBackend(sample_rate, block_size, channels_out, "JACK", device or None)
        backend.name = "jack-portaudio"
        return backend
    if kind in ("virtual", "manual"):
        backend = VirtualBackend(sample_rate, block_size, channels_out, demo_input, clock=kind == "virtual")
        backend.name = kind
        return backend
    raise BackendError(f"unknown audio backend {name!r} (backends: jack, alsa, alsa:DEVICE, virtual, manual)")
