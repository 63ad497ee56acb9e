"""The real-time engine: audio backends, the callback, switching, meters, taps.

``Engine`` runs a :class:`pedalboard.chain.Chain` on live audio (JACK, ALSA
or a virtual clock) in 64-frame blocks; everything else talks to it through
commands applied at block boundaries. See docs/engine.md.
"""

from __future__ import annotations

from pedalboard.engine.backends import BackendError
from pedalboard.engine.engine import Engine
from pedalboard.engine.tap import OutputRing, OutputRingReader

__all__ = ["BackendError", "Engine", "OutputRing", "OutputRingReader"]
