"""Footswitches and LEDs: GPIO lines, gpiozero pins or the keyboard, into gestures.

Sources of contact edges, all feeding one :class:`GestureEngine`:

* **gpiod** (libgpiod v2, the production path): each footswitch is an input
  line with a pull-up bias, active-low (a closed contact pulls it to
  ground), both edges detected by the kernel and time-stamped on
  CLOCK_MONOTONIC, which is Python's ``time.monotonic``: the gesture timing
  uses the kernel's time of the edge, not the time we got to read it.
* **gpiozero** pins (``Button`` on pin ``line``): the same on boards where
  gpiozero is set up, and, with its mock pin factory, in tests.
* **the keyboard**: when stdin is a terminal, each footswitch's ``key``
  presses it (the upper-case key holds it long).
* **the control socket**: ``press`` commands run the mapped action directly.

Gestures run the controller's live mapping (pedal.toml's ``[actions]`` with
the assignments made since from a phone or the socket) through the
controller (source ``footswitch``). When the mapping changes
(``footswitches_changed``), the gesture engine follows at its next edge or
timer tick: a switch that gains a double action starts holding back single
presses for the double window, one that loses it stops. LEDs (gpiod output
lines or gpiozero LEDs on ``led_line``) follow the controller's events: a
switch that toggles an effect lights while the effect is on, the tuner
switch while the tuner is on, a snapshot switch while its snapshot is
selected.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from pedalboard.device.config import DeviceConfig, Footswitch
from pedalboard.device.gestures import GestureEngine
from pedalboard.device.priority import promote_input_thread

log = logging.getLogger(__name__)
Echo = Callable[[str], None]
POLL_INTERVAL_S = 0.005


class Footswitches:
    """Edges in, controller actions out; LEDs follow the state."""

    def __init__(self, controller: Any, config: DeviceConfig, *,
                 clock: Callable[[], float] = time.monotonic, poll: bool = True) -> None:
        self.controller = controller
        self.config = config
        self.actions = _copy(getattr(controller, "actions", None) or config.action_map())
        timing = config.gestures
        self.gestures = GestureEngine(
            self._on_gesture, clock=clock, debounce_ms=timing.debounce_ms, long_ms=timing.long_ms,
            double_ms=timing.double_ms, repeat_delay_ms=timing.repeat_delay_ms,
            repeat_interval_ms=timing.repeat_interval_ms)
        for name, gestures in self.actions.items():
            self.gestures.add_switch(name, double="double" in gestures, repeat="repeat" in gestures)
        # A changed mapping, waiting for the gesture engine's lock (see _on_message).
        self._new_actions: dict[str, dict[str, str]] | None = None
        self.leds: dict[str, Callable[[bool], None]] = {}
        self.last_error: str | None = None
        self._lock = threading.Lock()
        self._closers: list[Callable[[], None]] = []
        self._stop = threading.Event()
        if poll:
            thread = threading.Thread(target=self._poll_loop, name="footswitch-timers", daemon=True)
            thread.start()
        controller.add_listener(self._on_message)

    # ------------------------------------------------------------ input
    def edge(self, name: str, closed: bool, t: float | None = None) -> None:
        """A raw contact edge from any source (thread-safe)."""
        with self._lock:
            self._follow_mapping()
            self.gestures.edge(name, closed, t)

    def poll(self, t: float | None = None) -> None:
        with self._lock:
            self._follow_mapping()
            self.gestures.poll(t)

    def _follow_mapping(self) -> None:
        """Apply a mapping changed since the last edge or tick (under our lock)."""
        actions, self._new_actions = self._new_actions, None
        if actions is None:
            return
        self.actions = actions
        for name, gestures in actions.items():
            self.gestures.configure(name, double="double" in gestures, repeat="repeat" in gestures)

    def _poll_loop(self) -> None:
        promote_input_thread()  # a long press fires from here
        while not self._stop.wait(POLL_INTERVAL_S):
            self.poll()

    def _on_gesture(self, switch: str, gesture: str) -> None:
        if gesture == "release" or gesture not in self.actions.get(switch, {}):
            return
        reply = self.controller.gesture(switch, gesture, "footswitch")
        if reply.get("type") == "error":
            self.last_error = reply["message"]
            log.warning("footswitch %s %s: %s", switch, gesture, reply["message"])

    # ------------------------------------------------------------ LEDs
    def add_led(self, switch: str, setter: Callable[[bool], None]) -> None:
        self.leds[switch] = setter
        self.refresh_leds()

    def _on_message(self, message: dict[str, Any]) -> None:
        """A controller event (under the controller's lock: only hand over,
        never take our lock, which an edge holds while it calls the controller)."""
        if message.get("type") != "event":
            return
        if message.get("event") == "footswitches_changed":
            self._new_actions = _copy(self.controller.actions)
        self.refresh_leds()

    def refresh_leds(self) -> None:
        """Set every LED from the controller's state (called under its lock)."""
        for switch, setter in list(self.leds.items()):
            try:
                setter(bool(self.led_state(switch)))  # dark when it shows nothing
            except Exception:
                log.exception("LED of %s failed", switch)

    def led_state(self, switch: str) -> bool | None:
        """Whether the LED of ``switch`` should be lit (None: it shows nothing)."""
        actions = getattr(self.controller, "actions", None) or self.actions
        action = actions.get(switch, {}).get("press") or actions.get(switch, {}).get("long")
        if action is None:
            return None
        kind, _, arg = action.partition(":")
        c = self.controller
        if kind == "toggle":
            node = next((n for n in _walk(c.live.chain) if n.id == arg), None)
            return node is not None and not node.bypass
        if kind == "tuner":
            return bool(c.tuner_on)
        if kind == "snapshot":
            return c.snapshot == int(arg) - 1
        return None

    # ------------------------------------------------------------ lifecycle
    def on_close(self, closer: Callable[[], None]) -> None:
        self._closers.append(closer)

    def close(self) -> None:
        self._stop.set()
        self.controller.remove_listener(self._on_message)
        for closer in reversed(self._closers):
            with contextlib.suppress(Exception):
                closer()
        self._closers.clear()


def _copy(actions: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    return {switch: dict(gestures) for switch, gestures in actions.items()}


def _walk(nodes: list[Any]) -> Any:
    from pedalboard.presets import walk

    return walk(nodes)


# ================================================================ sources
def attach_gpiozero(switches: Footswitches, footswitches: list[Footswitch]) -> None:
    """Buttons (and LEDs) on gpiozero pins numbered by ``line``/``led_line``.
    In tests: ``GPIOZERO_PIN_FACTORY=mock`` or ``Device.pin_factory = MockFactory()``."""
    from gpiozero import LED, Button

    for fs in footswitches:
        if fs.line is not None:
            button = Button(fs.line, pull_up=fs.bias != "pull-down", bounce_time=None)
            button.when_pressed = lambda _b=None, name=fs.name: switches.edge(name, True)
            button.when_released = lambda _b=None, name=fs.name: switches.edge(name, False)
            switches.on_close(button.close)
        if fs.led_line is not None:
            led = LED(fs.led_line)
            switches.add_led(fs.name, lambda lit, led=led: led.on() if lit else led.off())
            switches.on_close(led.close)


def attach_gpiod(switches: Footswitches, footswitches: list[Footswitch], echo: Echo) -> None:
    """Input lines with edge events and LED output lines through libgpiod v2."""
    import gpiod
    from gpiod.line import Bias, Direction, Edge, Value

    biases = {"pull-up": Bias.PULL_UP, "pull-down": Bias.PULL_DOWN, "disabled": Bias.DISABLED,
              "as-is": Bias.AS_IS}
    for fs in footswitches:
        if fs.line is None:
            continue
        try:
            request = gpiod.request_lines(fs.chip, consumer=f"pedal-{fs.name}", config={
                fs.line: gpiod.LineSettings(direction=Direction.INPUT, edge_detection=Edge.BOTH,
                                            bias=biases[fs.bias], active_low=fs.active_low)})
        except (OSError, ValueError) as error:
            echo(f"warning: footswitch {fs.name}: cannot open {fs.chip} line {fs.line}: {error}")
            continue
        thread = threading.Thread(target=_gpiod_events, args=(switches, fs.name, request),
                                  name=f"gpiod-{fs.name}", daemon=True)
        thread.start()
        switches.on_close(request.release)
        if fs.led_line is not None:
            chip = fs.led_chip or fs.chip
            try:
                led = gpiod.request_lines(chip, consumer=f"pedal-{fs.name}-led", config={
                    fs.led_line: gpiod.LineSettings(direction=Direction.OUTPUT)})
            except (OSError, ValueError) as error:
                echo(f"warning: LED of {fs.name}: cannot open {chip} line {fs.led_line}: {error}")
                continue
            switches.add_led(fs.name, lambda lit, led=led, line=fs.led_line: led.set_value(
                line, Value.ACTIVE if lit else Value.INACTIVE))
            switches.on_close(led.release)


def _gpiod_events(switches: Footswitches, name: str, request: Any) -> None:
    from datetime import timedelta

    promote_input_thread()
    try:
        while not switches._stop.is_set():
            if not request.wait_edge_events(timedelta(milliseconds=100)):
                continue
            for ev in request.read_edge_events():
                closed = ev.event_type == ev.Type.RISING_EDGE  # active (closed) with active_low
                switches.edge(name, closed, ev.timestamp_ns / 1e9)
    except (OSError, ValueError) as error:
        log.warning("footswitch %s: %s", name, error)


def attach_keyboard(switches: Footswitches, footswitches: list[Footswitch], echo: Echo) -> bool:
    """Terminal keys press footswitches (upper case: a long press)."""
    keys = {fs.key: fs.name for fs in footswitches if fs.key}
    if not keys:
        keys = {str(i + 1): name for i, name in enumerate(list(switches.actions)[:9])}
    if not keys or not sys.stdin.isatty():
        return False
    import termios
    import tty

    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    tty.setcbreak(fd)
    switches.on_close(lambda: termios.tcsetattr(fd, termios.TCSADRAIN, saved))
    long_s = switches.config.gestures.long_ms / 1000.0 + 0.05
    echo("keys: " + ", ".join(f"{k}={n}" for k, n in keys.items()) + " (upper case: long press)")

    def read_keys() -> None:
        while not switches._stop.is_set():
            try:
                key = os.read(fd, 1).decode(errors="ignore")
            except OSError:
                return
            name = keys.get(key.lower())
            if name is None:
                continue
            switches.edge(name, True)
            hold = long_s if key.isupper() else 0.05
            threading.Timer(hold, switches.edge, args=(name, False)).start()

    threading.Thread(target=read_keys, name="footswitch-keys", daemon=True).start()
    return True


def start_footswitches(controller: Any, config: DeviceConfig, *, keyboard: bool = False,
                       echo: Echo = print) -> Footswitches:
    """Footswitches from the config's GPIO backend, plus the keyboard."""
    switches = Footswitches(controller, config)
    wired = [fs for fs in config.footswitch if fs.line is not None or fs.led_line is not None]
    if wired and config.gpio == "gpiod":
        attach_gpiod(switches, wired, echo)
    elif wired and config.gpio == "gpiozero":
        attach_gpiozero(switches, wired)
    if keyboard:
        attach_keyboard(switches, config.footswitch, echo)
    return switches
