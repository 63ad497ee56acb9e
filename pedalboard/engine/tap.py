"""Taps: lock-free rings of the engine's samples that other threads and
processes read.

The audio callback is the single writer. It copies each block into a
preallocated ring of interleaved float32 frames and then publishes a frame
counter (total frames ever written). Readers never block the writer: they read
the counter, copy the frames they want, and read the counter again; if the
writer came round and may have overwritten what they copied, they retry (or,
for a stream reader that fell too far behind, skip ahead and report the loss).

* :class:`Tap` lives in the engine's process: the tuner reads the most recent
  input through it.
* :class:`OutputRing` puts the same structure in ``multiprocessing``
  shared memory so another process (the stream encoder) can poll the engine's
  output; :class:`OutputRingReader` attaches to it by name.

Layout of the shared block: a header of ``HEADER_WORDS`` int64 (magic,
version, capacity, channels, sample rate, frame counter), then ``capacity``
frames of ``channels`` interleaved float32.
"""

from __future__ import annotations

import contextlib
import time
from multiprocessing import resource_tracker, shared_memory

import numpy as np

from pedalboard.jit import kernel

MAGIC = 0x5045_4441_4C52_4E47  # "PEDALRNG"
VERSION = 1
HEADER_WORDS = 8
_CAPACITY, _CHANNELS, _RATE, _COUNT = 2, 3, 4, 5
#: Frames a reader leaves between itself and the writer: the writer may be
#: filling up to one (large) block beyond the published counter.
WRITER_MARGIN = 4096
#: Names of the rings this process created: the resource tracker already
#: knows them, and it must keep them (so a reader here must not unregister).
_CREATED_HERE: set[str] = set()


@kernel()
def _ring_write(data: np.ndarray, start: int, block: np.ndarray) -> None:
    """Write ``block`` (channels_in, frames) at frame ``start`` of ``data``
    (capacity, channels); a mono block fills every ring channel."""
    capacity, channels = data.shape
    block_channels, frames = block.shape
    position = start % capacity
    for i in range(frames):
        for c in range(channels):
            data[position, c] = block[min(c, block_channels - 1), i]
        position += 1
        if position == capacity:
            position = 0


def _copy_range(data: np.ndarray, start: int, stop: int) -> np.ndarray:
    """Frames [start, stop) of a ring as a new (frames, channels) array."""
    capacity = data.shape[0]
    frames = stop - start
    first = start % capacity
    if first + frames <= capacity:
        return data[first : first + frames].copy()
    head = capacity - first
    return np.concatenate([data[first:], data[: frames - head]])


class _RingArrays:
    """A header and a data array (in process memory or shared memory)."""

    header: np.ndarray
    data: np.ndarray

    def _bind(self, buffer: memoryview | bytearray, capacity: int, channels: int) -> None:
        self.header = np.ndarray((HEADER_WORDS,), dtype=np.int64, buffer=buffer)
        self.data = np.ndarray((capacity, channels), dtype=np.float32, buffer=buffer,
                               offset=HEADER_WORDS * 8)

    @property
    def frames_written(self) -> int:
        return int(self.header[_COUNT])

    @property
    def capacity(self) -> int:
        return int(self.header[_CAPACITY])

    @property
    def channels(self) -> int:
        return int(self.header[_CHANNELS])

    @property
    def sample_rate(self) -> int:
        return int(self.header[_RATE])

    def write(self, block: np.ndarray) -> None:
        """Append one (channels, frames) block (the single writer; real-time safe)."""
        header = self.header
        count = header[_COUNT]
        _ring_write(self.data, count, block)
        header[_COUNT] = count + block.shape[1]  # publish after the samples

    def latest(self, frames: int) -> np.ndarray:
        """The most recent ``frames`` frames as (frames, channels) float32
        (fewer if fewer were written). Safe from any thread."""
        limit = self.capacity - WRITER_MARGIN
        frames = max(0, min(int(frames), limit))
        while True:
            stop = int(self.header[_COUNT])
            start = max(0, stop - frames)
            out = _copy_range(self.data, start, stop)
            if int(self.header[_COUNT]) - start <= limit:
                return out


def _header_init(header: np.ndarray, capacity: int, channels: int, sample_rate: int) -> None:
    header[:] = 0
    header[0] = MAGIC
    header[1] = VERSION
    header[_CAPACITY] = capacity
    header[_CHANNELS] = channels
    header[_RATE] = sample_rate


class Tap(_RingArrays):
    """An in-process ring of recent samples (the tuner reads the input tap)."""

    def __init__(self, channels: int, capacity: int = 1 << 16, sample_rate: int = 48000) -> None:
        if capacity <= WRITER_MARGIN:
            raise ValueError(f"capacity must exceed {WRITER_MARGIN} frames")
        self._buffer = bytearray(HEADER_WORDS * 8 + capacity * channels * 4)
        self._bind(self._buffer, capacity, channels)
        _header_init(self.header, capacity, channels, sample_rate)


class OutputRing(_RingArrays):
    """The engine's output in shared memory, for readers in other processes.

    The engine creates it (and unlinks it on :meth:`close`); readers attach
    with :class:`OutputRingReader` using :attr:`name`.
    """

    def __init__(self, channels: int, capacity: int = 1 << 17, sample_rate: int = 48000,
                 name: str | None = None) -> None:
        if capacity <= WRITER_MARGIN:
            raise ValueError(f"capacity must exceed {WRITER_MARGIN} frames")
        size = HEADER_WORDS * 8 + capacity * channels * 4
        self._shm = shared_memory.SharedMemory(name=name, create=True, size=size)
        self._bind(self._shm.buf, capacity, channels)
        _header_init(self.header, capacity, channels, sample_rate)
        _CREATED_HERE.add(self._shm._name)  # type: ignore[attr-defined]

    @property
    def name(self) -> str:
        return self._shm.name

    def close(self) -> None:
        """Release and remove the shared block (readers keep their mapping)."""
        del self.header, self.data
        self._shm.close()
        with contextlib.suppress(FileNotFoundError):
            self._shm.unlink()
        _CREATED_HERE.discard(self._shm._name)  # type: ignore[attr-defined]


class OutputRingReader(_RingArrays):
    """Reads an :class:`OutputRing` from another process by polling its counter.

    ``read()`` returns every frame written since the previous call (as
    (frames, channels) float32). A reader that fell more than the ring behind
    skips to the oldest frames still intact and adds the gap to ``lost_frames``.
    """

    def __init__(self, name: str, *, from_start: bool = False) -> None:
        self._shm = shared_memory.SharedMemory(name=name, create=False)
        # The creating process owns the block's lifetime; without this,
        # Python's resource tracker would unlink it when a reader in another
        # process exits. In the creating process the tracker's entry is the
        # creator's own (unlink removes it), so it stays.
        if self._shm._name not in _CREATED_HERE:  # type: ignore[attr-defined]
            resource_tracker.unregister(self._shm._name, "shared_memory")  # type: ignore[attr-defined]
        header = np.ndarray((HEADER_WORDS,), dtype=np.int64, buffer=self._shm.buf)
        if int(header[0]) != MAGIC or int(header[1]) != VERSION:
            self._shm.close()
            raise ValueError(f"shared memory {name!r} is not a pedal output ring")
        self._bind(self._shm.buf, int(header[_CAPACITY]), int(header[_CHANNELS]))
        self.position = 0 if from_start else self.frames_written
        self.lost_frames = 0

    def read(self, max_frames: int | None = None) -> np.ndarray:
        limit = self.capacity - WRITER_MARGIN
        while True:
            stop = self.frames_written
            start = self.position
            if stop - start > limit:
                self.lost_frames += stop - limit - start
                start = stop - limit
            if max_frames is not None:
                stop = min(stop, start + int(max_frames))
            out = _copy_range(self.data, start, stop)
            if self.frames_written - start <= limit:
                self.position = stop
                return out

    def read_exactly(self, frames: int, timeout_s: float = 5.0, poll_s: float = 0.002) -> np.ndarray:
        """Poll until ``frames`` new frames arrived (TimeoutError after ``timeout_s``)."""
        parts: list[np.ndarray] = []
        have = 0
        deadline = time.monotonic() + timeout_s
        while have < frames:
            part = self.read(frames - have)
            if part.shape[0]:
                parts.append(part)
                have += part.shape[0]
            elif time.monotonic() > deadline:
                raise TimeoutError(f"output ring: {have} of {frames} frames after {timeout_s} s")
            else:
                time.sleep(poll_s)
        return np.concatenate(parts) if parts else np.zeros((0, self.channels), np.float32)

    def close(self) -> None:
        del self.header, self.data
        self._shm.close()
