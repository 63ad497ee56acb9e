"""A networked guitar-effects pedal.

SPICE netlists compile into real-time effects (``pedalboard.circuit``), effects
form chains (``pedalboard.chain``), chains run live on the pedal
(``pedalboard.engine``), are edited from a phone (``pedalboard.server``),
streamed to listeners (``pedalboard.stream``) and render files offline
(``pedalboard.render``).

The Python API follows Spotify's pedalboard where the two overlap::

    from pedalboard import Chain, load_preset
    from pedalboard.effects import Compressor, Delay

    chain = Chain([Compressor(threshold_db=-20, ratio=4), Delay(delay_seconds=0.3)])
    wet = chain.process(audio, sample_rate=48000)
"""

from __future__ import annotations

import os as _os

from platformdirs import user_cache_dir as _user_cache_dir

# numba reads its cache directory when it is first imported: set it before any
# kernel module loads, so compiled kernels survive between runs (a cold compile
# costs seconds, a cached load milliseconds).
_os.environ.setdefault("NUMBA_CACHE_DIR", _os.path.join(_user_cache_dir("netpedal"), "numba"))

__version__ = "0.1.0"

__all__ = ["Chain", "Effect", "Parallel", "__version__", "load_preset"]


def __getattr__(name: str):  # lazy: `pedal ctl` must not pay for numba
    if name in ("Chain", "Parallel"):
        from pedalboard import chain

        return getattr(chain, name)
    if name == "Effect":
        from pedalboard.effects.base import Effect

        return Effect
    if name == "load_preset":
        from pedalboard.presets import load_preset

        return load_preset
    raise AttributeError(name)
