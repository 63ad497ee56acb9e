"""The effect registry: presets, the CLI and the API find effects by name.

Every module in ``pedalboard.effects`` is imported on first use, and each
effect class registers itself with ``@register``; adding an effect touches
only its own file.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Mapping
from typing import Any, TypeVar

from pedalboard.effects.base import Effect
from pedalboard.errors import UnknownEffectError

_REGISTRY: dict[str, type[Effect]] = {}
_LOADED = False
_NOT_EFFECT_MODULES = {"base", "registry", "dsp"}

E = TypeVar("E", bound=type[Effect])


def register(cls: E) -> E:
    """Class decorator: make an effect findable by its ``name``."""
    if not cls.name:
        raise TypeError(f"{cls.__name__} has no name")
    _REGISTRY[cls.name] = cls
    return cls


def _load_builtins() -> None:
    global _LOADED
    if _LOADED:
        return
    import pedalboard.effects as package

    for info in pkgutil.iter_modules(package.__path__):
        if info.name not in _NOT_EFFECT_MODULES and not info.name.startswith("_"):
            importlib.import_module(f"pedalboard.effects.{info.name}")
    _LOADED = True


def effect_names() -> list[str]:
    """Names of every registered effect, sorted."""
    _load_builtins()
    return sorted(_REGISTRY)


def effect_class(name: str) -> type[Effect]:
    _load_builtins()
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise UnknownEffectError(f"unknown effect {name!r} (known effects: {known})") from None


def create_effect(name: str, params: Mapping[str, Any] | None = None) -> Effect:
    """Build an effect by registry name from a parameter mapping."""
    return effect_class(name).from_params(params or {})
