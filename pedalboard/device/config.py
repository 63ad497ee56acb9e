"""The pedal's device configuration: footswitches, LEDs, actions and MIDI (TOML).

Example (``pedal run --config pedal.toml``)::

    gpio = "gpiod"            # or "gpiozero" (pins numbered by line), or "none"

    [[footswitch]]
    name = "fs1"
    chip = "/dev/gpiochip0"   # libgpiod character device
    line = 17                 # GPIO line offset on that chip
    active_low = true         # closed contact pulls the line to ground
    led_line = 27             # optional LED output line
    key = "1"                 # optional terminal key (when stdin is a terminal)

    [actions]
    fs1.press = "toggle:drive"
    fs2.press = "preset:next"
    fs2.long = "bank:next"
    fs3.press = "snapshot:1"
    fs4.press = "tap"
    fs4.long = "tuner"

    [midi]
    api = "alsa"              # or "jack"
    in_port = "USB MIDI"      # part of the port name; "virtual" opens a port of our own
    out_port = "USB MIDI"
    channel = 1               # 1-16; leave out for all channels

    [gestures]
    debounce_ms = 12
    long_ms = 600
    double_ms = 300

    [server]                  # the web service; the command line wins
    host = "0.0.0.0"          # open to phones on the LAN (default 127.0.0.1)
    port = 8000
    tls_cert = "pedal.pem"    # serve HTTPS (paths relative to this file)
    tls_key = "pedal.key"
    cors_origins = ["https://example.org"]   # closed by default
    listen_token = false      # listeners need a token too

Actions: ``toggle:SLOT``, ``preset:next|prev|ID``, ``bank:next|prev|ID``,
``snapshot:N`` (1-8), ``tap``, ``tuner``, ``tempo:BPM``. Gestures: ``press``,
``long``, ``double``, ``repeat`` (while held). Every mistake is reported
with the file and the key, e.g. ``pedal.toml: footswitch[2].line: 17 is
already used by fs1``.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pedalboard.errors import PedalError

GESTURES = ("press", "long", "double", "repeat")
_ID = r"[a-z0-9][a-z0-9_-]{0,31}"
_ACTION = re.compile(
    rf"^(toggle:{_ID}|preset:(next|prev|{_ID})|bank:(next|prev|{_ID})|snapshot:[1-8]"
    r"|tap|tuner|tempo:\d{2,3}(\.\d+)?)$"
)
ACTIONS_HELP = ("toggle:SLOT, preset:next|prev|ID, bank:next|prev|ID, snapshot:1-8, tap, tuner, "
                "tempo:BPM")


def action_problem(switch: str, gesture: str, action: str) -> str | None:
    """What is wrong with mapping ``action`` to ``switch``'s ``gesture`` (the
    grammar of ``[actions]``), naming the field; None when it is fine."""
    if gesture not in GESTURES:
        return f"gesture: unknown gesture {gesture!r} for {switch} (gestures: {', '.join(GESTURES)})"
    if not _ACTION.match(action):
        return f"action: unknown action {action!r} for {switch}.{gesture} (actions: {ACTIONS_HELP})"
    return None


class ConfigError(PedalError):
    """The device configuration file is missing or wrong."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Footswitch(_Model):
    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{0,31}$")]
    chip: str = "/dev/gpiochip0"
    line: Annotated[int, Field(ge=0, le=511)] | None = None
    active_low: bool = True
    bias: Literal["pull-up", "pull-down", "disabled", "as-is"] = "pull-up"
    led_chip: str | None = None
    led_line: Annotated[int, Field(ge=0, le=511)] | None = None
    key: Annotated[str, Field(min_length=1, max_length=1)] | None = None


class Midi(_Model):
    api: Literal["alsa", "jack"] = "alsa"
    in_port: str | None = None
    out_port: str | None = None
    channel: Annotated[int, Field(ge=1, le=16)] | None = None
    send_program_changes: bool = True


class Gestures(_Model):
    debounce_ms: Annotated[float, Field(ge=0, le=100)] = 12.0
    long_ms: Annotated[float, Field(ge=100, le=5000)] = 600.0
    double_ms: Annotated[float, Field(ge=50, le=2000)] = 300.0
    repeat_delay_ms: Annotated[float, Field(ge=50, le=5000)] = 600.0
    repeat_interval_ms: Annotated[float, Field(ge=20, le=5000)] = 150.0


class Server(_Model):
    """``[server]``: the web service as this pedal serves it (the command
    line's ``--host``, ``--port``, ``--tls-cert``... win over these)."""

    host: Annotated[str, Field(min_length=1, max_length=253)] | None = None
    port: Annotated[int, Field(ge=1, le=65535)] | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    cors_origins: list[Annotated[str, Field(pattern=r"^https?://[^/\s]+$")]] = Field(
        default_factory=list, max_length=16)
    listen_token: bool = False


class DeviceConfig(_Model):
    gpio: Literal["gpiod", "gpiozero", "none"] = "gpiod"
    footswitch: list[Footswitch] = Field(default_factory=list, max_length=32)
    actions: dict[str, dict[str, str]] = Field(default_factory=dict)
    midi: Midi | None = None
    gestures: Gestures = Field(default_factory=Gestures)
    server: Server = Field(default_factory=Server)

    @field_validator("actions")
    @classmethod
    def _actions(cls, actions: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        for switch, gestures in actions.items():
            for gesture, action in gestures.items():
                if gesture not in GESTURES:
                    raise ValueError(f"{switch}.{gesture}: unknown gesture (gestures: {', '.join(GESTURES)})")
                if action_problem(switch, gesture, action) is not None:
                    raise ValueError(f"{switch}.{gesture}: unknown action {action!r} "
                                     f"(actions: {ACTIONS_HELP})")
        return actions

    @model_validator(mode="after")
    def _lines_and_names(self) -> DeviceConfig:
        names: set[str] = set()
        used: dict[tuple[str, int], str] = {}
        keys: dict[str, str] = {}
        for i, fs in enumerate(self.footswitch):
            where = f"footswitch[{i + 1}]"
            if fs.name in names:
                raise ValueError(f"{where}.name: {fs.name!r} is used twice")
            names.add(fs.name)
            pins = (("line", fs.chip, fs.line), ("led_line", fs.led_chip or fs.chip, fs.led_line))
            for field, chip, line in pins:
                if line is None:
                    continue
                owner = used.get((chip, line))
                if owner is not None:
                    raise ValueError(f"{where}.{field}: line {line} of {chip} is already used by {owner}")
                used[(chip, line)] = f"{fs.name}.{field}"
            if fs.key is not None:
                if fs.key in keys:
                    raise ValueError(f"{where}.key: {fs.key!r} is already the key of {keys[fs.key]}")
                keys[fs.key] = fs.name
        for switch in self.actions:
            if self.footswitch and switch not in names:
                raise ValueError(f"actions.{switch}: no [[footswitch]] named {switch!r} "
                                 f"(footswitches: {', '.join(sorted(names))})")
        return self

    def action_map(self) -> dict[str, dict[str, str]]:
        """Actions by switch and gesture, every declared switch present."""
        actions = {fs.name: {} for fs in self.footswitch}
        for switch, gestures in self.actions.items():
            actions.setdefault(switch, {}).update(gestures)
        return actions

    def hardware_map(self) -> dict[str, dict[str, Any]]:
        """What each declared switch is wired to: its input ``line``, its
        ``led_line`` and its terminal ``key`` (None where it has none)."""
        return {fs.name: {"line": fs.line, "led_line": fs.led_line, "key": fs.key}
                for fs in self.footswitch}


#: Written to ``<data-dir>/pedal.toml`` on the first start, so a new pedal has
#: four switches to press (keys 1-4 in the terminal, ``pedal ctl press fs2``,
#: the phone's Setup page) and a file to edit when the GPIO lines are wired.
DEFAULT_CONFIG_TOML = """\
# The pedal's footswitches, LEDs, actions and MIDI (docs/engine.md).
# Written with defaults on the first start; edit it and restart the pedal.
# Give each switch its GPIO line (line = 17, active_low = true, led_line = 27)
# once it is wired; until then the switches are pressed with the keys 1-4 in
# the terminal, `pedal ctl press fs2 [--long]` or the phone's Setup page.
# [actions] is the starting mapping: switches assigned from the Setup page
# (or `pedal ctl assign`) keep those assignments in pedal.db, over this file.
gpio = "gpiod"

[[footswitch]]
name = "fs1"
key = "1"

[[footswitch]]
name = "fs2"
key = "2"

[[footswitch]]
name = "fs3"
key = "3"

[[footswitch]]
name = "fs4"
key = "4"

[actions]
fs1.press = "preset:prev"
fs1.long = "bank:prev"
fs2.press = "preset:next"
fs2.long = "bank:next"
fs3.press = "toggle:reverb"
fs3.long = "toggle:delay"
fs4.press = "tap"
fs4.long = "tuner"

# [server]
# host = "0.0.0.0"        # open the phone editor to the LAN (default 127.0.0.1)
# port = 8000
# tls_cert = "pedal.pem"  # serve HTTPS (paths relative to this file)
# tls_key = "pedal.key"

# [midi]
# api = "alsa"            # or "jack"
# in_port = "USB MIDI"    # part of the port name; "virtual" opens a port of our own
# channel = 1
"""


def load_or_write_default(path: Path) -> DeviceConfig:
    """Load ``path``, writing the default configuration there first if there is
    none (a read-only data dir just gets the defaults, unwritten)."""
    if not path.exists():
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(DEFAULT_CONFIG_TOML, encoding="utf-8")
        except OSError:
            return parse_config(tomllib.loads(DEFAULT_CONFIG_TOML), source="default config")
    return load_config(path)


def parse_config(data: dict[str, Any], source: str = "config") -> DeviceConfig:
    try:
        return DeviceConfig.model_validate(data)
    except ValidationError as error:
        raise ConfigError(f"{source}: {_describe(error)}") from None


def load_config(path: str | Path) -> DeviceConfig:
    """Read and validate a TOML device configuration."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read config file {path}: {error}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None
    config = parse_config(data, source=str(path))
    for field in ("tls_cert", "tls_key"):
        value = getattr(config.server, field)
        if value is not None and not value.is_absolute():
            setattr(config.server, field, path.parent / value)
    return config


def _describe(error: ValidationError) -> str:
    first = error.errors()[0]
    parts: list[str] = []
    for part in first["loc"]:
        if isinstance(part, int) and parts:
            parts[-1] += f"[{part + 1}]"
        else:
            parts.append(str(part))
    where = ".".join(parts)
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        message = "unknown key"
    if where == "actions" and first["type"] == "value_error":
        return f"actions.{message}"  # the validator's message starts with "SWITCH.GESTURE: "
    if where:
        return f"{where}: {message}"
    return message
