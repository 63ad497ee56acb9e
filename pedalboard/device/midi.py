"""MIDI: program changes select presets, CCs move knobs, MIDI clock sets the tempo.

Through python-rtmidi, on the ALSA sequencer API by default (a USB MIDI
controller on the pedal) or on JACK (``api = "jack"``; the tests use JACK
virtual ports on a dummy jackd). What the pedal understands:

* **Bank select + program change**: CC 0 (MSB) and CC 32 (LSB) choose the
  bank, ``bank = MSB * 128 + LSB`` counting the library's banks from 0; the
  program change then selects that bank's n-th preset. Without a bank
  select, the program counts within the current bank (or the library).
* **Control change**: a mapping table (``midi_map``: CC and channel to a slot's
  parameter, with an optional min/max) moves the parameter through its taper
  (``Param.from_position``), so CC 64 on a log-taper frequency knob lands at
  its geometric middle. ``midi_learn`` binds the next CC that arrives.
* **MIDI clock** (24 pulses per quarter note): the mean interval over the last
  beat gives the tempo; it is sent to the controller once a beat, and only
  when it moved by more than 0.5 bpm (clock jitter does not spam events).
* **Out**: when the preset changes, the pedal sends the bank select and the
  program change of its position to follow-on gear.

A missing MIDI device (or no ALSA sequencer) is a warning, never a crash.
"""

from __future__ import annotations

import logging
import os
import queue
import statistics
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from pedalboard.device.config import Midi
from pedalboard.device.priority import promote_input_thread

log = logging.getLogger(__name__)
Echo = Callable[[str], None]
CLOCK_PPQN = 24
TEMPO_DEADBAND_BPM = 0.5
#: Messages waiting for the MIDI worker (a knob sweep is ~100/s; a clock 48/s).
INBOX_SIZE = 4096

NOTE_OFF, NOTE_ON, CONTROL_CHANGE, PROGRAM_CHANGE = 0x80, 0x90, 0xB0, 0xC0
CLOCK, START, CONTINUE, STOP = 0xF8, 0xFA, 0xFB, 0xFC


class MidiError(Exception):
    """The MIDI API or port is not available."""


def _api(name: str) -> int:
    import rtmidi

    return {"alsa": rtmidi.API_LINUX_ALSA, "jack": rtmidi.API_UNIX_JACK}[name]


class MidiLink:
    """MIDI in and out for a controller; see the module docstring."""

    def __init__(self, controller: Any, settings: Midi | None = None, *,
                 client_name: str = "pedal-midi") -> None:
        self.controller = controller
        self.settings = settings or Midi()
        self.client_name = client_name
        self.midi_in: Any = None
        self.midi_out: Any = None
        self.in_port_name: str | None = None
        self.out_port_name: str | None = None
        self._bank_msb = 0
        self._bank_lsb = 0
        self._bank_selected = False
        self._time_s = 0.0
        self._last_clock: float | None = None
        self._clock_intervals: deque[float] = deque(maxlen=CLOCK_PPQN)
        self._clock_count = 0
        self._tempo_sent: float | None = None
        self._lock = threading.Lock()
        self._inbox: queue.Queue[tuple[list[int], float] | None] = queue.Queue(INBOX_SIZE)
        self._worker: threading.Thread | None = None
        self.dropped = 0

    # ------------------------------------------------------------ ports
    def open(self) -> None:
        """Open the input (and output) ports; MidiError when impossible."""
        import rtmidi

        if self.settings.api == "alsa" and not os.path.exists("/dev/snd/seq"):
            raise MidiError("no ALSA sequencer on this machine (/dev/snd/seq)")
        try:
            self.midi_in = rtmidi.MidiIn(_api(self.settings.api), name=self.client_name)
        except (rtmidi.SystemError, RuntimeError) as error:
            raise MidiError(f"MIDI ({self.settings.api}): {_first_line(error)}") from None
        self.midi_in.ignore_types(sysex=True, timing=False, active_sense=True)
        self.in_port_name = self._open_port(self.midi_in, self.settings.in_port, "in")
        self._worker = threading.Thread(target=self._work, name="midi-in", daemon=True)
        self._worker.start()
        self.midi_in.set_callback(self._on_message)
        if self.settings.out_port is not None:
            try:
                # A client name of its own: JACK would rename a second "pedal-midi".
                self.midi_out = rtmidi.MidiOut(_api(self.settings.api), name=self._out_client)
            except (rtmidi.SystemError, RuntimeError) as error:
                raise MidiError(f"MIDI out ({self.settings.api}): {_first_line(error)}") from None
            self.out_port_name = self._open_port(self.midi_out, self.settings.out_port, "out")
            self.controller.add_listener(self._on_event)

    @property
    def _out_client(self) -> str:
        return f"{self.client_name}-out"

    def _open_port(self, port: Any, wanted: str | None, direction: str) -> str:
        if wanted == "virtual":
            port.open_virtual_port(direction)
            return f"{self.client_name if direction == 'in' else self._out_client}:{direction}"
        names = port.get_ports()
        if wanted is None:
            if not names:
                raise MidiError(f"no MIDI {direction}put port on {self.settings.api}")
            index = 0
        else:
            matches = [i for i, name in enumerate(names) if wanted.lower() in name.lower()]
            if not matches:
                raise MidiError(f"no MIDI {direction}put port matching {wanted!r} "
                                f"(ports: {', '.join(names) or 'none'})")
            index = matches[0]
        port.open_port(index)
        return names[index]

    def close(self) -> None:
        self.controller.remove_listener(self._on_event)
        for port in (self.midi_in, self.midi_out):
            if port is not None:
                try:
                    if port is self.midi_in:
                        port.cancel_callback()
                    port.close_port()
                    port.delete()
                except Exception:  # closing must not fail a shutdown
                    log.exception("closing MIDI port failed")
        self.midi_in = self.midi_out = None
        worker, self._worker = self._worker, None
        if worker is not None:
            self._inbox.put(None)  # after what is queued: those messages are still handled
            worker.join(timeout=5.0)

    # ------------------------------------------------------------ input
    def _on_message(self, event: tuple[list[int], float], data: Any = None) -> None:
        """rtmidi's callback: stamp the message and hand it over. On JACK this
        runs in the MIDI client's real-time process thread, where a preset
        switch's work would hold up JACK's whole cycle, so nothing else
        happens here."""
        message, delta_s = event
        self._time_s += delta_s
        try:
            self._inbox.put_nowait((message, self._time_s))
        except queue.Full:  # a flood (a sysex dump, a runaway controller): drop, never block
            self.dropped += 1

    def _work(self) -> None:
        promote_input_thread()
        while (item := self._inbox.get()) is not None:
            message, t = item
            with self._lock:
                try:
                    self.handle(message, t)
                except Exception:
                    log.exception("MIDI message %r failed", message)

    def handle(self, message: list[int], t: float) -> None:
        """One MIDI message received at time ``t`` (seconds)."""
        if not message:
            return
        status = message[0]
        if status == CLOCK:
            self._clock(t)
            return
        if status in (START, STOP, CONTINUE):
            self._last_clock = None
            self._clock_intervals.clear()
            return
        kind, channel = status & 0xF0, (status & 0x0F) + 1
        if self.settings.channel is not None and channel != self.settings.channel:
            return
        if kind == CONTROL_CHANGE and len(message) >= 3:
            self._control(channel, message[1], message[2])
        elif kind == PROGRAM_CHANGE and len(message) >= 2:
            self._program(message[1])

    def _control(self, channel: int, cc: int, value: int) -> None:
        if cc == 0:
            self._bank_msb, self._bank_selected = value, True
            return
        if cc == 32:
            self._bank_lsb, self._bank_selected = value, True
            return
        reply = self.controller.midi_control(channel, cc, value)
        if reply is not None and reply.get("type") == "error":
            log.info("MIDI CC %d: %s", cc, reply["message"])

    def _program(self, program: int) -> None:
        c = self.controller
        if self._bank_selected:
            banks = list(c.library.banks)
            bank = self._bank_msb * 128 + self._bank_lsb
            if bank >= len(banks):
                log.info("MIDI bank %d: there are %d banks", bank, len(banks))
                return
            if c.bank != banks[bank]:
                c.call("select_bank", "midi", bank=banks[bank])
        order = c.preset_order()
        if program >= len(order):
            log.info("MIDI program %d: the bank has %d presets", program, len(order))
            return
        if order[program] != c.preset_id:
            c.call("select_preset", "midi", preset=order[program])

    def _clock(self, t: float) -> None:
        if self._last_clock is not None:
            interval = t - self._last_clock
            if 0.0 < interval < 0.1:  # slower than 25 bpm is a gap, not a clock
                self._clock_intervals.append(interval)
            else:
                self._clock_intervals.clear()
        self._last_clock = t
        self._clock_count += 1
        if len(self._clock_intervals) < CLOCK_PPQN or self._clock_count % CLOCK_PPQN:
            return
        bpm = 60.0 / (CLOCK_PPQN * statistics.fmean(self._clock_intervals))
        if not 20.0 <= bpm <= 300.0:
            return
        if self._tempo_sent is None or abs(bpm - self._tempo_sent) > TEMPO_DEADBAND_BPM:
            self._tempo_sent = bpm
            self.controller.call("set_tempo", "midi", bpm=round(bpm, 2))

    @property
    def clock_bpm(self) -> float | None:
        if not self._clock_intervals:
            return None
        return 60.0 / (CLOCK_PPQN * statistics.fmean(self._clock_intervals))

    # ------------------------------------------------------------ output
    def _on_event(self, message: dict[str, Any]) -> None:
        if message.get("type") != "event" or message.get("event") != "preset_selected":
            return
        if self.midi_out is None or not self.settings.send_program_changes:
            return
        c = self.controller
        order = c.preset_order()
        if c.preset_id not in order or order.index(c.preset_id) > 127:
            return
        channel = (self.settings.channel or 1) - 1
        banks = list(c.library.banks)
        if c.bank in banks:
            bank = banks.index(c.bank)
            self.midi_out.send_message([CONTROL_CHANGE | channel, 0, bank // 128])
            self.midi_out.send_message([CONTROL_CHANGE | channel, 32, bank % 128])
        self.midi_out.send_message([PROGRAM_CHANGE | channel, order.index(c.preset_id)])


def _first_line(error: BaseException) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def start_midi(controller: Any, settings: Midi | None, *, echo: Echo = print,
               client_name: str = "pedal-midi") -> MidiLink | None:
    """Open MIDI as configured (ALSA and the first input port by default);
    prints a warning and returns None when there is no MIDI to open."""
    link = MidiLink(controller, settings, client_name=client_name)
    try:
        link.open()
    except MidiError as error:
        link.close()
        echo(f"warning: MIDI not available: {error}")
        return None
    echo(f"MIDI: in {link.in_port_name}" + (f", out {link.out_port_name}" if link.out_port_name else ""))
    return link
