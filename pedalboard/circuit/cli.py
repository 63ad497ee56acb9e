"""``pedal circuit``: inspect, render and verify SPICE netlists.

    pedal circuit info fuzz_face_si
    pedal circuit render ts808 in.wav out.wav --set drive=0.8 --oversample 8
    pedal circuit render diode_clipper_si in.wav out.wav --raw     # volts in, volts out
    pedal circuit verify fuzz_face_si --input hot --oversample 16 --json
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from pedalboard.circuit.library import list_netlists, resolve_netlist
from pedalboard.errors import AudioFileError, ParameterError

app = typer.Typer(help="Inspect, render and verify SPICE netlists.", no_args_is_help=True,
                  add_completion=False, pretty_exceptions_enable=False)

NetlistArg = Annotated[str, typer.Argument(help="Library name (see 'list') or .cir path.")]
OversampleOpt = Annotated[int, typer.Option("--oversample", "-x",
                                            help="Internal rate: 1, 2, 4, 8 or 16 x.")]
SetOpt = Annotated[list[str], typer.Option("--set", help="Set a control: NAME=VALUE.")]


def parse_settings(items: list[str]) -> dict[str, float]:
    """``["drive=0.8", "tone=0.2"]`` -> ``{"drive": 0.8, "tone": 0.2}``."""
    result: dict[str, float] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ParameterError(f"--set {item!r}: expected NAME=VALUE")
        try:
            result[name.strip().lower()] = float(value)
        except ValueError:
            raise ParameterError(f"--set {item!r}: {value!r} is not a number") from None
    return result


@app.command("list")
def list_command() -> None:
    """The netlists in the circuit library."""
    for name in list_netlists():
        typer.echo(name)


@app.command()
def info(netlist: NetlistArg, oversample: OversampleOpt = 4) -> None:
    """Nodes, elements, controls, size of the nonlinear system, states and the
    DC operating point."""
    from pedalboard.circuit.model import CircuitModel

    started = time.perf_counter()
    model = CircuitModel.from_file(resolve_netlist(netlist), oversample=oversample)
    elapsed = time.perf_counter() - started
    net = model.netlist
    typer.echo(f"{net.title}  ({net.path})")
    typer.echo(f"nodes ({len(net.nodes)}): {', '.join(net.nodes)}")
    typer.echo(f"elements ({len(net.elements)}):")
    follows = net.dependent_elements()
    for element in net.elements:
        what = element.model.name if element.model else element.value
        extra = f"  <- {', '.join(sorted(follows[element.name]))}" if element.name in follows \
            else ""
        typer.echo(f"  {element.name:10s} {' '.join(element.nodes):24s} {what}{extra}")
    typer.echo("controls:" if model.controls else "controls: none")
    for c in model.controls:
        typer.echo(f"  {c.name:10s} {c.min:g}..{c.max:g} default {c.default:g} "
                   f"taper {c.taper}  {c.label!r}")
    typer.echo(f"nonlinear ports: {model.system.num_ports} "
               f"({len(model.system.devices)} semiconductors); states: {model.describe()['states']}")
    typer.echo(f"input {model.input_volts:g} V full scale; output node {model.output_node!r}, "
               f"{model.output_volts:g} V full scale; oversampling {model.oversample}x, "
               f"latency {model.latency} samples; compiled in {elapsed:.2f} s")
    typer.echo("DC operating point:")
    for node, volts in model.operating_point.items():
        typer.echo(f"  {node:10s} {volts:+.6f} V")


def _read(path: Path) -> tuple[np.ndarray, int]:
    import soundfile

    try:
        data, rate = soundfile.read(str(path), dtype="float64", always_2d=True)
    except (RuntimeError, OSError, soundfile.LibsndfileError) as exc:
        raise AudioFileError(f"{path}: cannot read audio: {exc}") from None
    return data.T, int(rate)


@app.command()
def render(netlist: NetlistArg,
           input_file: Annotated[Path, typer.Argument(help="Audio file in.")],
           output_file: Annotated[Path, typer.Argument(help="Audio file out (float32 WAV).")],
           oversample: OversampleOpt = 4, set_: SetOpt = [],  # noqa: B006
           raw: Annotated[bool, typer.Option("--raw", help="Samples are volts at Vin in and "
                                             "volts at the output node out (no scaling).")]
           = False) -> None:
    """Run an audio file through a circuit."""
    import soundfile

    controls = parse_settings(set_)
    audio, rate = _read(input_file)
    path = resolve_netlist(netlist)
    if raw:
        from pedalboard.circuit.model import CircuitModel

        model = CircuitModel.from_file(path, oversample=oversample, sample_rate=rate,
                                       controls=controls)
        out = np.empty_like(audio)
        for c in range(audio.shape[0]):
            model.reset()
            out[c] = model.process_volts(audio[c])
        failures = model.newton_failures
    else:
        from pedalboard.effects.circuit import Circuit

        effect = Circuit(str(path), oversample=str(oversample), **controls)
        out = effect.process(audio.astype(np.float32), rate)
        failures = effect.model.newton_failures
    try:
        soundfile.write(str(output_file), out.T.astype(np.float32), rate, subtype="FLOAT")
    except (RuntimeError, OSError, soundfile.LibsndfileError) as exc:
        raise AudioFileError(f"{output_file}: cannot write audio: {exc}") from None
    note = f", {failures} Newton failures" if failures else ""
    typer.echo(f"{output_file}: {audio.shape[1] / rate:.2f} s through {path.stem}{note}")


@app.command()
def verify(netlist: NetlistArg, oversample: OversampleOpt = 16, set_: SetOpt = [],  # noqa: B006
           input: Annotated[str, typer.Option("--input", help="guitar, hot, sweep or a "
                                              "WAV file.")] = "guitar",
           duration: Annotated[float, typer.Option("--duration", help="Seconds.")] = 0.25,
           as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Compare the compiled model with ngspice (error in dB, speed)."""
    from pedalboard.circuit.verify import verify_netlist

    if not duration > 0:
        raise ParameterError(f"--duration {duration}: must be positive")
    result = verify_netlist(resolve_netlist(netlist), oversample=oversample,
                            controls=parse_settings(set_), input=input, duration_s=duration)
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
        return
    typer.echo(f"{Path(result.netlist).stem}: error {result.error_db:.1f} dB against ngspice "
               f"at {result.oversample}x ({result.input}, {result.duration_s:g} s); "
               f"{result.speed_x_realtime:.1f}x real time; "
               f"{result.newton_failures} Newton failures")
