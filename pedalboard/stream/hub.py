"""The stream hub: reads the engine's output once, encodes once, fans out.

It runs in the server process (never on the audio thread): a thread polls the
engine's shared-memory output ring every couple of milliseconds, sends PCM to
the RTP senders and the recorder, encodes Opus, wraps packets in Ogg pages,
and hands each page or packet to every listener. When the ring brings nothing
for ``silence_after_s`` (the engine is restarting) the hub goes on with
silence at the real-time pace, so no listener's player or connection times
out and the recordings keep their timeline.

Every listener has a bounded queue. A slow or stalled listener loses packets
(counted) instead of growing memory, and is cut off once it has not taken
anything for ``stall_timeout_s``: its queue is emptied, its ``cut`` event is
set and the endpoint serving it stops sending and closes the connection. It
never slows the others or the engine.

Ogg listeners come in two kinds: ``"ogg"`` gets the pages as encoded,
``"ogg-padded"`` the same pages with Opus padding up to ``pad_bytes_per_s``
(for web browsers, whose media elements wait for 32 KiB blocks: see
:func:`pedalboard.stream.ogg.pad_opus_packet`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from pedalboard.stream.ogg import MAX_PACKET_BYTES, OggOpusStream, pad_opus_packet, page_overhead
from pedalboard.stream.opus import OpusEncoder, OpusPacket


class AudioSource(Protocol):
    """Where the hub gets audio: ``read()`` returns whatever new frames exist,
    float32 ``(channels, frames)``, possibly zero frames; never blocks long."""

    channels: int

    def read(self, max_frames: int | None = None) -> np.ndarray: ...


@dataclass
class Listener:
    """One consumer (an HTTP client, a WebSocket, ...) with a bounded queue."""

    kind: str  # "ogg" (pages), "ogg-padded" (padded pages) or "opus" (packets)
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[Any]
    dropped: int = 0
    last_taken: float = field(default_factory=time.monotonic)
    closed: bool = False
    stalled: bool = False  # cut off for not taking anything (not: the stream ended)
    cut: asyncio.Event = field(default_factory=asyncio.Event)  # set when it must stop

    async def get(self) -> Any:
        item = await self.queue.get()
        self.last_taken = time.monotonic()
        return item

    def end(self, *, stalled: bool = False) -> None:
        """Called in the event loop's thread: the consumer's next get() is None
        and ``cut`` is set (for a consumer stuck in a send)."""
        self.closed = True
        self.stalled = stalled
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queue.put_nowait(None)
        self.cut.set()

    def offer(self, item: Any) -> None:
        """Called in the event loop's thread: add or drop, never wait."""
        if self.closed:
            return
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            self.dropped += 1


class StreamHub:
    """Encode the engine's output and fan it out; see the module docstring."""

    def __init__(
        self,
        source: AudioSource,
        *,
        bitrate: int = 128000,
        frame_ms: float = 20.0,
        title: Callable[[], str] = lambda: "",
        queue_packets: int = 50,
        stall_timeout_s: float = 10.0,
        poll_s: float = 0.002,
        pad_bytes_per_s: int = 256_000,
        silence_after_s: float = 0.25,
    ) -> None:
        self.source = source
        self.channels = source.channels
        self.encoder = OpusEncoder(self.channels, bitrate, frame_ms)
        self.title = title
        self.ogg = OggOpusStream(self.channels, self.encoder.pre_skip)
        self.ogg_padded = OggOpusStream(self.channels, self.encoder.pre_skip)
        self.pad_bytes_per_s = pad_bytes_per_s
        self.silence_after_s = silence_after_s
        self.queue_packets = queue_packets
        self.stall_timeout_s = stall_timeout_s
        self.poll_s = poll_s
        self.pcm_sinks: list[Callable[[np.ndarray], None]] = []  # RTP senders, recorders
        self.page_sinks: list[Callable[[bytes], None]] = []  # Icecast
        self.packet_sinks: list[Callable[[OpusPacket], None]] = []  # Ogg recorders
        self.packets = 0
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()  # guards the listener list only (not audio)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="stream-hub", daemon=True)

    # ------------------------------------------------------------ lifecycle
    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop encoding and end every listener (their next get() is None)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        with self._lock:
            listeners, self._listeners = self._listeners, []
        for listener in listeners:
            with contextlib.suppress(RuntimeError):  # the loop may have closed
                listener.loop.call_soon_threadsafe(listener.end)

    def headers(self) -> bytes:
        """Ogg header pages for a listener joining now (title = current preset)."""
        return OggOpusStream(
            self.channels, self.encoder.pre_skip, serial=self.ogg.serial, title=self.title()
        ).headers

    # ------------------------------------------------------------ listeners
    def add_listener(self, kind: str) -> Listener:
        loop = asyncio.get_running_loop()
        listener = Listener(kind, loop, asyncio.Queue(maxsize=self.queue_packets))
        with self._lock:
            self._listeners.append(listener)
        return listener

    def remove_listener(self, listener: Listener) -> None:
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    @property
    def listener_count(self) -> int:
        with self._lock:
            return len(self._listeners)

    # ------------------------------------------------------------ the loop
    def _run(self) -> None:
        last_audio = time.monotonic()
        silence_until: float | None = None  # wall time up to which silence was sent
        while not self._stop.is_set():
            audio = self.source.read()
            now = time.monotonic()
            if audio.shape[1]:
                last_audio, silence_until = now, None
            elif now - last_audio > self.silence_after_s:
                # No audio (the engine is restarting): silence at the real-time pace
                # keeps every connection, player and recording going.
                silence_until = now if silence_until is None else silence_until
                step = self.encoder.frame_size
                frames = int((now - silence_until) * 48000) // step * step
                if frames:
                    audio = np.zeros((self.channels, frames), dtype=np.float32)
                    silence_until += frames / 48000
            if audio.shape[1] == 0:
                time.sleep(self.poll_s)
                continue
            for sink in self.pcm_sinks:
                sink(audio)
            for packet in self.encoder.encode(audio):
                self._publish(packet)

    def padded(self, packet: OpusPacket) -> bytes:
        """The Opus packet padded so that its page carries ``pad_bytes_per_s``."""
        page_bytes = self.pad_bytes_per_s * packet.samples // 48000
        size = min(page_bytes - page_overhead(page_bytes), MAX_PACKET_BYTES)
        return pad_opus_packet(packet.data, size)

    def _publish(self, packet: OpusPacket) -> None:
        self.packets += 1
        page = self.ogg.page(packet.data, packet.samples)
        for sink in self.page_sinks:
            sink(page)
        for packet_sink in self.packet_sinks:
            packet_sink(packet)
        now = time.monotonic()
        sent_ms = time.time() * 1000.0
        with self._lock:
            listeners = list(self._listeners)
        padded = b""
        if any(listener.kind == "ogg-padded" for listener in listeners):
            padded = self.ogg_padded.page(self.padded(packet), packet.samples)
        else:  # the padded stream keeps its numbering for whoever joins next
            self.ogg_padded.skip(packet.samples)
        for listener in listeners:
            if now - listener.last_taken > self.stall_timeout_s and listener.queue.full():
                self.remove_listener(listener)  # stalled: cut off
                with contextlib.suppress(RuntimeError):
                    listener.loop.call_soon_threadsafe(functools.partial(listener.end, stalled=True))
                continue
            if listener.kind == "ogg":
                item: Any = page
            elif listener.kind == "ogg-padded":
                item = padded
            else:
                item = (packet, sent_ms)
            with contextlib.suppress(RuntimeError):  # the loop may have closed
                listener.loop.call_soon_threadsafe(listener.offer, item)
