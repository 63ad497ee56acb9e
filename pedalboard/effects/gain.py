"""Gain: a level change in decibels, ramped inside each block so it never zippers."""

from __future__ import annotations

import numpy as np

from pedalboard.effects.base import Effect, Param
from pedalboard.effects.dsp import apply_gain, db_to_gain
from pedalboard.effects.registry import register


@register
class Gain(Effect):
    """Multiply the signal by ``gain_db`` decibels (Spotify's ``Gain``)."""

    name = "gain"
    label = "Gain"
    category = "utility"
    PARAMS = (Param("gain_db", 0.0, -60.0, 24.0, unit="dB", smoothing_ms=20.0, label="Gain"),)

    def _allocate(self) -> None:
        self._linear = db_to_gain(float(self._values["gain_db"]))

    def _reset(self) -> None:
        self._linear = db_to_gain(self.value("gain_db"))

    def _configure(self) -> None:
        self._target_linear = db_to_gain(self.value("gain_db"))

    def _process(self, block: np.ndarray) -> None:
        # Ramp from the last gain to this chunk's glide position.
        apply_gain(block, self._linear, self._target_linear)
        self._linear = self._target_linear
