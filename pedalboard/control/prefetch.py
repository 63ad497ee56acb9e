"""Chains built ahead: a preset switch only has to swap, not to build.

Building a chain for a preset (creating its effects, allocating delay lines
and reverb tanks, preparing cabinet filters, loading kernels) takes 0.3-1.5
ms here, longer than the time left before the next 1.33 ms block. A guitarist
stomping "next preset" or a MIDI controller sending a program change expects
the new sound at once, so the controller keeps the chains of the presets one
of those can reach next -- the neighbours of the current preset in the
current bank or setlist -- built and prepared in a background thread.

A ready chain is keyed by the preset's exact data: a preset edited or
replaced since is built afresh at the switch (correct, just not faster). A
chain handed to the engine leaves the cache (the engine owns it then), and
the next :meth:`ChainCache.want` builds a fresh one when it is wanted again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from pedalboard.presets import Preset

log = logging.getLogger(__name__)
#: At most this many chains are kept ready (memory: a few MB each with
#: delay lines and reverbs; a bank holds up to 8 presets, a footswitch reaches 2).
LIMIT = 8


def fingerprint(preset: Preset) -> str:
    """The preset's data as JSON: equal fingerprints build equal chains."""
    return preset.model_dump_json(exclude_none=True)


class ChainCache:
    """Ready chains by preset id; see the module docstring.

    ``build(preset)`` returns a chain prepared for the engine (the controller
    passes ``build_chain`` followed by ``engine.prepare_chain``)."""

    def __init__(self, build: Callable[[Preset], Any], limit: int = LIMIT) -> None:
        self.build = build
        self.limit = limit
        self._lock = threading.Lock()
        self._ready: dict[str, tuple[str, Any]] = {}  # preset id -> (fingerprint, chain)
        self._wanted: dict[str, tuple[str, Preset]] = {}  # preset id -> (fingerprint, preset)
        self._worker: threading.Thread | None = None
        self.hits = 0
        self.misses = 0

    def want(self, presets: list[tuple[str, Preset]]) -> None:
        """Keep chains ready for these presets (nearest first); drop the rest.
        Returns at once: the building happens in a background thread."""
        wanted = {preset_id: (fingerprint(preset), preset) for preset_id, preset in presets[: self.limit]}
        with self._lock:
            self._wanted = wanted
            for preset_id in [p for p in self._ready if p not in wanted]:
                del self._ready[preset_id]
            if self._worker is None:
                self._worker = threading.Thread(target=self._work, name="chain-prefetch", daemon=True)
                self._worker.start()

    def take(self, preset_id: str, preset: Preset) -> Any | None:
        """The ready chain for exactly this preset data, or None."""
        with self._lock:
            entry = self._ready.pop(preset_id, None)
        if entry is not None and entry[0] == fingerprint(preset):
            self.hits += 1
            return entry[1]
        self.misses += 1
        return None

    def ready(self) -> list[str]:
        with self._lock:
            return list(self._ready)

    def idle(self) -> bool:
        with self._lock:
            return self._worker is None

    def _next(self) -> tuple[str, str, Preset] | None:
        with self._lock:
            for preset_id, (key, preset) in self._wanted.items():
                if self._ready.get(preset_id, ("",))[0] != key:
                    return preset_id, key, preset
            self._worker = None
            return None

    def _work(self) -> None:
        while (todo := self._next()) is not None:
            preset_id, key, preset = todo
            try:
                chain = self.build(preset)
            except Exception:  # a preset that does not build fails (and says why) at the switch
                log.exception("building preset %r ahead failed", preset_id)
                with self._lock:
                    self._wanted.pop(preset_id, None)
                continue
            with self._lock:
                if self._wanted.get(preset_id, ("",))[0] == key:
                    self._ready[preset_id] = (key, chain)
