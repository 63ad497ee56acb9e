"""The web control service: REST + WebSocket for phones, and the web UI.

Runs as its own process (``python -m pedalboard.server --data-dir D``), a
client of the engine's controller over ``<data-dir>/control.sock``. See
``docs/server.md``.
"""

from __future__ import annotations

__all__ = ["Settings", "create_app", "print_pairing"]


def __getattr__(name: str):  # lazy: `pedal run` imports print_pairing only
    if name in ("Settings", "create_app"):
        from pedalboard.server import app

        return getattr(app, name)
    if name == "print_pairing":
        from pedalboard.server.auth import print_pairing

        return print_pairing
    raise AttributeError(name)
