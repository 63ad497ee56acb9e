"""The netlist library: ``circuits/*.cir`` at the repository root.

A bare name (``fuzz_face_si``) means ``circuits/fuzz_face_si.cir``; anything
that looks like a path is used as it is. ``PEDAL_CIRCUITS_DIR`` points the
library elsewhere (an installed pedal keeps its circuits outside the code).
"""

from __future__ import annotations

import os
from pathlib import Path

from pedalboard.circuit.netlist import NetlistError

ENV_VAR = "PEDAL_CIRCUITS_DIR"


def circuits_dir() -> Path:
    """The folder holding the library's netlists."""
    override = os.environ.get(ENV_VAR)
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[2] / "circuits"


def list_netlists() -> list[str]:
    """Names of the library's netlists (without ``.cir``), sorted."""
    folder = circuits_dir()
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob("*.cir"))


def resolve_netlist(name_or_path: str | Path) -> Path:
    """A library name or a path -> an existing netlist file."""
    text = str(name_or_path).strip()
    if not text:
        raise NetlistError("no netlist given")
    looks_like_path = isinstance(name_or_path, Path) or "/" in text or text.endswith(".cir") \
        or os.sep in text
    if looks_like_path:
        path = Path(text).expanduser()
        if path.is_file():
            return path
        raise NetlistError(f"netlist file {text} not found")
    candidate = circuits_dir() / f"{text}.cir"
    if candidate.is_file():
        return candidate
    known = ", ".join(list_netlists()) or f"none in {circuits_dir()}"
    raise NetlistError(f"unknown netlist {text!r} (available: {known})")
