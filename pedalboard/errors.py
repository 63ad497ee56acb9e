"""User-facing errors.

Everything a user can get wrong (a netlist, a preset, a parameter, a file, a
request) raises a :class:`PedalError` whose message names what and where. The
CLI prints it as one line and exits non-zero; the server turns it into a 4xx.
"""

from __future__ import annotations


class PedalError(Exception):
    """An error caused by user input; its message is shown as it is."""

    exit_code = 2


class ParameterError(PedalError, ValueError):
    """A parameter value outside its range, of the wrong type, or unknown."""


class UnknownEffectError(PedalError, KeyError):
    """An effect name that is not in the registry."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class PresetError(PedalError):
    """A preset that does not validate or cannot be found."""


class AudioFileError(PedalError):
    """An audio file that is missing, unreadable or cannot be written."""
