"""Real-time priority for the threads that carry a player's input.

A footswitch edge (the gpiod thread), a gesture timer (long press, double
press, hold-repeat) and a MIDI message (the MIDI worker) each run the
controller's work on their own thread, up to handing the engine its command.
Under ordinary scheduling those threads queue behind whatever else the
machine runs (the web service encoding the stream, a phone's burst of
edits), and the press reaches the audio milliseconds late. Run as
``SCHED_FIFO`` at :data:`INPUT_PRIORITY`, below the audio thread (JACK's
clients run near 70, the virtual clock at 50) and above every normal task,
they wake at once. They sleep between events, so they cannot starve the
machine; where real-time scheduling is not permitted they keep the normal
policy and the pedal works as before.
"""

from __future__ import annotations

import os

#: Below the audio thread's priority, above all SCHED_OTHER work.
INPUT_PRIORITY = 20


def promote_input_thread(priority: int = INPUT_PRIORITY) -> bool:
    """Make the calling thread SCHED_FIFO; False where not permitted."""
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(priority))
    except (AttributeError, OSError):
        return False
    return True
