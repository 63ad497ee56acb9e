"""Effects: the base class, the registry and the builtin effects.

Classes are importable from here by their class name (``Compressor``,
``Delay``, ...) and creatable by registry name (``create_effect("delay")``).
"""

from __future__ import annotations

from typing import Any

from pedalboard.effects.base import MAX_BLOCK, Effect, Param
from pedalboard.effects.registry import create_effect, effect_class, effect_names, register

__all__ = ["MAX_BLOCK", "Effect", "Param", "create_effect", "effect_class", "effect_names", "register"]


def __getattr__(name: str) -> Any:
    # `from pedalboard.effects import Compressor`: look the class up among the
    # registered ones, so builtin modules load only when somebody asks.
    from pedalboard.effects import registry

    registry._load_builtins()
    for cls in registry._REGISTRY.values():
        if cls.__name__ == name:
            return cls
    raise AttributeError(name)
