"""Convolution: Spotify's ``Convolution(impulse_response_filename, mix)`` name.

The same zero-latency partitioned convolution as :class:`Cabinet`, under the
name Spotify's pedalboard uses, for presets and scripts written against it.
Without a file it convolves with the bundled 4x12 cabinet.
"""

from __future__ import annotations

from pedalboard.effects.cabinet import Cabinet
from pedalboard.effects.registry import register


@register
class Convolution(Cabinet):
    """Convolve with an impulse response file (Spotify's ``Convolution``)."""

    name = "convolution"
    label = "Convolution"
    category = "space"
