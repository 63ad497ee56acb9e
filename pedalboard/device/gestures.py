"""Footswitch gestures from raw contact edges, and tap tempo.

A footswitch is a mechanical contact: when it closes or opens it bounces for
a few milliseconds (1-8 ms on the stomp switches we measured, worn ones up to
~10 ms), so one stomp arrives as a burst of edges. :class:`GestureEngine`
turns edges into gestures, with an injectable clock so tests replay
synthetic bounce traces exactly:

* **debounce** (leading edge): the first edge that changes the switch's state
  is accepted at once (no added latency); edges within ``debounce_ms`` of the
  last accepted edge are ignored. When the window ends, the raw level is
  checked again, so a contact that really changed state inside the window is
  not missed. Default 12 ms: longer than the worst bounce (8-10 ms), far
  shorter than a human stomp (> 40 ms held, > 80 ms between stomps).
* **press** fires on the accepted closing edge, immediately, unless the switch
  has a double-press action: only then is a single press held back for the
  double window (300 ms) to tell the two apart. A guitarist hears any delay
  on a preset switch, so switches without a double action pay nothing.
* **long** fires once while the switch is still held for ``long_ms``
  (600 ms). The press action already fired; a long action adds to it (as on
  most modelers: the tap switch taps, holding it opens the tuner).
* **double**: a second press within ``double_ms`` of the first.
* **repeat**: while held, after ``repeat_delay_ms`` and then every
  ``repeat_interval_ms`` (for switches with a repeat action, e.g. scrolling).
* **release** on the accepted opening edge.

:meth:`GestureEngine.poll` runs the timers (long, double window, repeat,
debounce re-check); a device thread calls it every few milliseconds, tests
call it with the time they want.

:class:`TapTempo` derives a tempo from taps: the median beat length over
the recent taps (robust to one sloppy tap), reset after a 2 s pause, limited
to 40-300 bpm.
"""

from __future__ import annotations

import statistics
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

Gesture = Literal["press", "release", "long", "double", "repeat"]
Clock = Callable[[], float]
GestureHandler = Callable[[str, Gesture], None]

DEBOUNCE_MS = 12.0
LONG_MS = 600.0
DOUBLE_MS = 300.0
REPEAT_DELAY_MS = 600.0
REPEAT_INTERVAL_MS = 150.0


@dataclass
class _Switch:
    double: bool = False
    repeat: bool = False
    raw: bool = False  # last raw level seen (True = closed)
    pressed: bool = False  # debounced state
    accepted_at: float = -1e9  # time of the last accepted edge
    pressed_at: float = 0.0
    long_fired: bool = False
    next_repeat: float = 0.0
    pending_single: float | None = None  # time a held-back single press expires
    presses: list[float] = field(default_factory=list)


class GestureEngine:
    """Edges in, gestures out; see the module docstring."""

    def __init__(
        self,
        on_gesture: GestureHandler,
        *,
        clock: Clock = time.monotonic,
        debounce_ms: float = DEBOUNCE_MS,
        long_ms: float = LONG_MS,
        double_ms: float = DOUBLE_MS,
        repeat_delay_ms: float = REPEAT_DELAY_MS,
        repeat_interval_ms: float = REPEAT_INTERVAL_MS,
    ) -> None:
        self.on_gesture = on_gesture
        self.clock = clock
        self.debounce_s = debounce_ms / 1000.0
        self.long_s = long_ms / 1000.0
        self.double_s = double_ms / 1000.0
        self.repeat_delay_s = repeat_delay_ms / 1000.0
        self.repeat_interval_s = repeat_interval_ms / 1000.0
        self._switches: dict[str, _Switch] = {}

    def add_switch(self, name: str, *, double: bool = False, repeat: bool = False) -> None:
        """Declare a switch; ``double``/``repeat``: it has such an action."""
        self._switches[name] = _Switch(double=double, repeat=repeat)

    def configure(self, name: str, *, double: bool, repeat: bool) -> None:
        """Say again whether ``name`` has a double or a repeat action (the
        mapping changed live). A press held back for a double window that
        is no longer wanted fires at once."""
        sw = self._switches.get(name)
        if sw is None:
            self.add_switch(name, double=double, repeat=repeat)
            return
        sw.double, sw.repeat = double, repeat
        if not double and sw.pending_single is not None:
            sw.pending_single = None
            self.on_gesture(name, "press")

    @property
    def switches(self) -> list[str]:
        return list(self._switches)

    def is_pressed(self, name: str) -> bool:
        return self._switches[name].pressed

    def edge(self, name: str, closed: bool, t: float | None = None) -> None:
        """A raw edge: the contact of switch ``name`` is now ``closed`` (or open)."""
        now = self.clock() if t is None else t
        sw = self._switches[name]
        self._timers(name, sw, now)  # with the level before this edge
        sw.raw = bool(closed)
        if now - sw.accepted_at < self.debounce_s or sw.raw == sw.pressed:
            return  # bounce, or no change of state
        self._accept(name, sw, now)

    def poll(self, t: float | None = None) -> None:
        """Run the timers of every switch up to time ``t`` (now by default)."""
        now = self.clock() if t is None else t
        for name, sw in self._switches.items():
            self._timers(name, sw, now)

    # ------------------------------------------------------------ internals
    def _accept(self, name: str, sw: _Switch, now: float) -> None:
        sw.pressed = sw.raw
        sw.accepted_at = now
        if sw.pressed:
            sw.pressed_at = now
            sw.long_fired = False
            sw.next_repeat = now + self.repeat_delay_s
            if not sw.double:
                self.on_gesture(name, "press")
            elif sw.pending_single is not None:
                sw.pending_single = None
                self.on_gesture(name, "double")
            else:
                sw.pending_single = now + self.double_s
        else:
            self.on_gesture(name, "release")

    def _timers(self, name: str, sw: _Switch, now: float) -> None:
        # Debounce re-check: the window is over and the contact settled elsewhere.
        window_end = sw.accepted_at + self.debounce_s
        if now >= window_end and sw.raw != sw.pressed:
            self._accept(name, sw, window_end)
        if sw.pending_single is not None and now >= sw.pending_single:
            sw.pending_single = None
            self.on_gesture(name, "press")
        if sw.pressed and not sw.long_fired and now - sw.pressed_at >= self.long_s:
            sw.long_fired = True
            self.on_gesture(name, "long")
        while sw.pressed and sw.repeat and now >= sw.next_repeat:
            self.on_gesture(name, "repeat")
            sw.next_repeat += self.repeat_interval_s


class TapTempo:
    """Tempo from taps: the median beat length over the recent taps.

    Every pair of recent taps (i, j) measures a beat as ``(t_j - t_i) / (j - i)``
    and the tempo comes from the median of those (the Theil-Sen estimator):
    one sloppy tap moves it by nothing, and long spans average the foot's
    jitter away, where the median of adjacent intervals alone still wobbles by
    a few bpm at fast tempos. A pause longer than ``timeout_s`` starts over; a
    tap closer than one beat at ``max_bpm`` to the previous one is a double
    trigger and is ignored; the result is limited to ``min_bpm``..``max_bpm``."""

    def __init__(self, *, clock: Clock = time.monotonic, timeout_s: float = 2.0, history: int = 8,
                 min_bpm: float = 40.0, max_bpm: float = 300.0) -> None:
        self.clock = clock
        self.timeout_s = timeout_s
        self.min_bpm = min_bpm
        self.max_bpm = max_bpm
        self._taps: deque[float] = deque(maxlen=history)

    def tap(self, t: float | None = None) -> float | None:
        """Register a tap; returns the tempo in bpm once two taps are in."""
        now = self.clock() if t is None else t
        if self._taps and now - self._taps[-1] > self.timeout_s:
            self._taps.clear()
        if self._taps and now - self._taps[-1] < 60.0 / self.max_bpm:
            return self.bpm
        self._taps.append(now)
        return self.bpm

    @property
    def bpm(self) -> float | None:
        taps = list(self._taps)
        if len(taps) < 2:
            return None
        beats = [(taps[j] - taps[i]) / (j - i) for i in range(len(taps)) for j in range(i + 1, len(taps))]
        bpm = 60.0 / statistics.median(beats)
        return min(self.max_bpm, max(self.min_bpm, bpm))

    def reset(self) -> None:
        self._taps.clear()
