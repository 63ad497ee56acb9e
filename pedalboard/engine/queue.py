"""Message rings between ordinary threads and the audio callback.

The audio callback must never wait, so nothing it touches may be guarded by a
lock that another thread could hold. A :class:`Ring` is a fixed array of
slots with a write index and a read index:

* the single consumer (the callback for commands, the housekeeping thread for
  retired chains) reads the slot at ``read``, clears it, then advances
  ``read``;
* the producer fills the slot at ``write``, then advances ``write``.

Each of those steps is one bytecode-level store of a Python reference or int,
atomic under the GIL, and each index has exactly one writer, so the ring is a
correct single-producer single-consumer queue without locks. The slots are
allocated once; pushing and popping allocate nothing.

Several threads may *produce* commands (footswitch, MIDI, the control socket),
so :class:`CommandQueue` serialises producers with a lock that only producers
take; the consumer (the callback) never touches it. Each command gets a
sequence number so a caller can find out when (at which block) it took effect.
"""

from __future__ import annotations

import threading
from typing import Any

from pedalboard.errors import PedalError


class QueueFullError(PedalError):
    """The engine did not drain its command queue (audio stopped or overloaded)."""


class Ring:
    """A preallocated single-producer single-consumer queue of references."""

    def __init__(self, capacity: int) -> None:
        if capacity < 2:
            raise ValueError("capacity must be at least 2")
        self._slots: list[Any] = [None] * capacity
        self._capacity = capacity
        self._write = 0  # only the producer stores this
        self._read = 0  # only the consumer stores this

    @property
    def capacity(self) -> int:
        return self._capacity

    def __len__(self) -> int:
        return self._write - self._read

    def push(self, item: Any) -> bool:
        """Append ``item``; False (nothing stored) when the ring is full."""
        write = self._write
        if write - self._read >= self._capacity:
            return False
        self._slots[write % self._capacity] = item
        self._write = write + 1  # publish after the slot is filled
        return True

    def pop(self) -> Any:
        """The oldest item, or None when empty (None is never a valid item)."""
        read = self._read
        if read == self._write:
            return None
        index = read % self._capacity
        item = self._slots[index]
        self._slots[index] = None
        self._read = read + 1
        return item


class CommandQueue:
    """Commands from any thread to the audio callback, numbered in order.

    A command is a tuple ``(sequence, kind, a, b, c)``; the callback applies
    at most ``per_block`` of them per block so a burst (a MIDI controller
    sweep) cannot overrun one period.
    """

    def __init__(self, capacity: int = 1024, per_block: int = 32) -> None:
        self._ring = Ring(capacity)
        self._producers = threading.Lock()  # producers only; never the consumer
        self._sequence = 0
        self.per_block = per_block

    def __len__(self) -> int:
        return len(self._ring)

    @property
    def submitted(self) -> int:
        """Sequence number of the last command queued (0 before any)."""
        return self._sequence

    def put(self, kind: str, a: Any = None, b: Any = None, c: Any = None) -> int:
        """Queue a command; returns its sequence number (1, 2, ...)."""
        with self._producers:
            sequence = self._sequence + 1
            if not self._ring.push((sequence, kind, a, b, c)):
                raise QueueFullError(
                    f"engine command queue is full ({self._ring.capacity} commands waiting): "
                    "the audio callback is not running"
                )
            self._sequence = sequence
        return sequence

    def pop(self) -> tuple[int, str, Any, Any, Any] | None:
        """Consumer side (the callback): the next command or None."""
        return self._ring.pop()
