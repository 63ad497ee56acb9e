"""``pedal ctl``: control a running pedal from a terminal or a script.

Every command connects to ``<data-dir>/control.sock`` (``--data-dir``, else
``$PEDAL_DATA_DIR``, else the user's data dir), sends one protocol v1
command and prints the reply::

    pedal ctl status --json
    pedal ctl preset next          # or prev, or a preset id or name
    pedal ctl set drive.drive_db 18
    pedal ctl toggle delay
    pedal ctl snapshot 2           # snapshots count from 1 here
    pedal ctl press fs2 --long
    pedal ctl assign fs1 press preset:next   # "none": nothing; footswitches lists them

Errors print one line and exit 1. This module imports only the standard
library and typer, so a command returns in a blink.
"""

from __future__ import annotations

import itertools
import json
import socket
from pathlib import Path
from typing import Annotated, Any

import typer

from pedalboard.control import DATA_DIR_ENV, resolve_data_dir

app = typer.Typer(help="Control a running pedal (`pedal run`) over its local socket.",
                  no_args_is_help=True, add_completion=False)

DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", envvar=DATA_DIR_ENV, help="The pedal's data directory.",
                 show_default=False),
]
TIMEOUT_S = 10.0
_ids = itertools.count(1)
#: ``pedal ctl --data-dir X COMMAND``: the group's option, used by every
#: command that was not given its own ``--data-dir``.
_group_data_dir: Path | None = None


@app.callback()
def _group(data_dir: DataDir = None) -> None:
    global _group_data_dir
    _group_data_dir = data_dir


class CtlError(Exception):
    """Printed as one line; exit status 1."""


class Connection:
    """A protocol v1 client over the Unix socket (blocking, one request at a time)."""

    def __init__(self, data_dir: Path | None, timeout_s: float = TIMEOUT_S) -> None:
        self.data_dir = resolve_data_dir(data_dir)
        path = self.data_dir / "control.sock"
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout_s)
        try:
            self.sock.connect(str(path))
        except OSError:
            self.sock.close()
            raise CtlError(f"no pedal running with data dir {self.data_dir} "
                           f"(start it with: pedal run --data-dir {self.data_dir})") from None
        self.file = self.sock.makefile("rwb")
        self.state = self._read()  # the state every client gets on connect

    def _read(self) -> dict[str, Any]:
        try:
            line = self.file.readline()
        except OSError as error:
            raise CtlError(f"the pedal did not answer: {error}") from None
        if not line:
            raise CtlError(f"the pedal with data dir {self.data_dir} closed the connection")
        return json.loads(line)

    def request(self, cmd: str, args: dict[str, Any] | None = None) -> dict[str, Any]:
        """Send a command; returns the ack's result (or a state message's state)."""
        request_id = f"ctl-{next(_ids)}"
        line = json.dumps({"v": 1, "id": request_id, "cmd": cmd, "args": args or {},
                           "source": "ctl"}) + "\n"
        self.file.write(line.encode())
        self.file.flush()
        while True:
            reply = self._read()
            if reply.get("id") != request_id:
                continue  # an event for everybody
            if reply["type"] == "error":
                raise CtlError(reply["message"])
            if reply["type"] == "state":
                return reply["state"]
            return reply["result"]

    def close(self) -> None:
        self.file.close()
        self.sock.close()


def _call(data_dir: Path | None, cmd: str, args: dict[str, Any] | None = None) -> dict[str, Any]:
    try:
        connection = Connection(data_dir if data_dir is not None else _group_data_dir)
        try:
            return connection.request(cmd, args)
        finally:
            connection.close()
    except CtlError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None


@app.command()
def status(json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
           data_dir: DataDir = None) -> None:
    """Audio, DSP load, preset and revision."""
    result = _call(data_dir, "status")
    if json_output:
        typer.echo(json.dumps(result, indent=2))
        return
    audio = "running" if result.get("audio_ok", True) else f"LOST ({result.get('message') or 'no audio'})"
    realtime = ", SCHED_FIFO" if result.get("realtime") else ""
    typer.echo(
        f"preset {result['preset']}  revision {result['revision']}  backend {result['backend']}: "
        f"audio {audio}{realtime}\n"
        f"{result['sample_rate']} Hz, {result['block_size']} frames, "
        f"latency {result['latency_samples']} samples\n"
        f"DSP load p50 {100 * result['dsp_load_p50']:.1f} %  p99 {100 * result['dsp_load_p99']:.1f} %  "
        f"xruns {result['xruns']}\n"
        f"input {result['input_peak_db']:.1f} dBFS  output {result['output_peak_db']:.1f} dBFS  "
        f"up {result['uptime_s']:.0f} s")


@app.command()
def state(data_dir: DataDir = None) -> None:
    """The whole live state as JSON."""
    typer.echo(json.dumps(_call(data_dir, "get_state"), indent=2))


@app.command()
def preset(which: Annotated[str, typer.Argument(help="next, prev, or a preset id or name")],
           data_dir: DataDir = None) -> None:
    """Select a preset."""
    if which in ("next", "prev"):
        result = _call(data_dir, f"{which}_preset")
    else:
        presets = _call(data_dir, "list_presets")["presets"]
        matches = [p["id"] for p in presets if which in (p["id"], p["name"])] or \
                  [p["id"] for p in presets if p["name"].lower() == which.lower()]
        result = _call(data_dir, "select_preset", {"preset": matches[0] if matches else which})
    typer.echo(f"preset: {result['preset']}")


@app.command("set")
def set_param(target: Annotated[str, typer.Argument(metavar="SLOT_ID.PARAM")],
              value: Annotated[str, typer.Argument(help="a number, true/false, or text")],
              data_dir: DataDir = None) -> None:
    """Set a parameter: ``pedal ctl set drive.drive_db 18``."""
    slot, _, param = target.partition(".")
    if not slot or not param:
        typer.echo(f"error: {target!r}: expected SLOT_ID.PARAM, e.g. drive.drive_db", err=True)
        raise typer.Exit(1)
    result = _call(data_dir, "set_param", {"slot": slot, "param": param, "value": _value(value)})
    typer.echo(f"{slot}.{param} = {result['value']}")


def _value(text: str) -> float | bool | str:
    if text.lower() in ("true", "on", "yes"):
        return True
    if text.lower() in ("false", "off", "no"):
        return False
    try:
        return float(text)
    except ValueError:
        return text


@app.command()
def toggle(slot: str, data_dir: DataDir = None) -> None:
    """Bypass an effect, or bring it back."""
    result = _call(data_dir, "toggle", {"slot": slot})
    typer.echo(f"{slot}: {'bypassed' if result['value'] else 'on'}")


@app.command()
def snapshot(number: Annotated[int, typer.Argument(help="1 for the first snapshot")],
             data_dir: DataDir = None) -> None:
    """Select a snapshot of the current preset (counting from 1)."""
    if not 1 <= number <= 8:
        typer.echo(f"error: snapshot {number}: snapshots are numbered 1-8", err=True)
        raise typer.Exit(1)
    _call(data_dir, "select_snapshot", {"index": number - 1})
    typer.echo(f"snapshot: {number}")


@app.command()
def tap(data_dir: DataDir = None) -> None:
    """Tap the tempo (twice or more)."""
    bpm = _call(data_dir, "tap").get("bpm")
    typer.echo("tap" if bpm is None else f"tempo: {bpm:g} bpm")


@app.command()
def tempo(bpm: float, data_dir: DataDir = None) -> None:
    """Set the tempo in beats per minute (20-300)."""
    result = _call(data_dir, "set_tempo", {"bpm": bpm})
    typer.echo(f"tempo: {result['bpm']:g} bpm")


@app.command()
def press(switch: str, long: Annotated[bool, typer.Option("--long", help="A long press.")] = False,
          data_dir: DataDir = None) -> None:
    """Press a footswitch (runs its configured action)."""
    result = _call(data_dir, "press", {"switch": switch, "long": long})
    typer.echo(f"{switch}: {result.get('action') or 'no action'}")


@app.command()
def footswitches(data_dir: DataDir = None) -> None:
    """Each footswitch's live actions, one switch a line."""
    for row in _call(data_dir, "list_footswitches")["footswitches"]:
        mapped = [f"{g}={row[g]}" for g in ("press", "long", "double", "repeat") if row.get(g)]
        typer.echo(f"{row['name']}: {' '.join(mapped) or 'nothing'}")


@app.command()
def assign(switch: str,
           gesture: Annotated[str, typer.Argument(metavar="press|long|double|repeat")],
           action: Annotated[str, typer.Argument(help="e.g. preset:next, toggle:reverb; none: nothing")],
           data_dir: DataDir = None) -> None:
    """Map an action to a footswitch gesture (kept across restarts)."""
    args = {"switch": switch, "gesture": gesture, "action": None if action == "none" else action}
    result = _call(data_dir, "set_footswitch_action", args)
    typer.echo(f"{switch}.{gesture}: {result['action'] or 'nothing'}")


@app.command()
def tuner(on_off: Annotated[str, typer.Argument(metavar="on|off")], data_dir: DataDir = None) -> None:
    """Turn the tuner on (mutes the output) or off."""
    if on_off not in ("on", "off"):
        typer.echo(f"error: tuner {on_off!r}: expected on or off", err=True)
        raise typer.Exit(1)
    result = _call(data_dir, "tuner", {"on": on_off == "on"})
    typer.echo(f"tuner: {'on' if result['on'] else 'off'}")


@app.command("pair-code")
def pair_code(data_dir: DataDir = None) -> None:
    """The code a phone needs to pair with this pedal's web service."""
    typer.echo(_call(data_dir, "get_pair_code")["code"])


if __name__ == "__main__":
    app()
