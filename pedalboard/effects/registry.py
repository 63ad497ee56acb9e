"""The effect registry: presets, the CLI and the API find effects by name.

Each effect class registers itself with ``@register``; adding an effect
touches only its own file. Modules load on demand: a quick look at the
sources (``name = "..."`` lines) says which module holds which effect, so
rendering a preset imports only the effects it uses (the circuit compiler
and its scipy imports cost half a second that a delay never needs).
Listing every effect imports them all.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Mapping
from pathlib import Path
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


_NAME_LINE = re.compile(r'^    name(?:: ClassVar\[str\])? = "([a-z0-9_]+)"', re.MULTILINE)
_INDEX: dict[str, str] | None = None


def _module_index() -> dict[str, str]:
    """Effect name -> module name, from the module sources (no imports)."""
    global _INDEX
    if _INDEX is None:
        import pedalboard.effects as package

        _INDEX = {}
        for info in pkgutil.iter_modules(package.__path__):
            if info.name in _NOT_EFFECT_MODULES or info.name.startswith("_"):
                continue
            try:
                text = Path(package.__path__[0], f"{info.name}.py").read_text(encoding="utf-8")
            except OSError:
                continue
            for name in _NAME_LINE.findall(text):
                _INDEX.setdefault(name, info.name)
    return _INDEX


def effect_names() -> list[str]:
    """Names of every registered effect, sorted."""
    _load_builtins()
    return sorted(_REGISTRY)


def effect_class(name: str) -> type[Effect]:
    if name not in _REGISTRY:
        module = _module_index().get(name)
        if module is not None:
            importlib.import_module(f"pedalboard.effects.{module}")
        if name not in _REGISTRY:
            _load_builtins()
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise UnknownEffectError(f"unknown effect {name!r} (known effects: {known})") from None


def create_effect(name: str, params: Mapping[str, Any] | None = None) -> Effect:
    """Build an effect by registry name from a parameter mapping."""
    return effect_class(name).from_params(params or {})
