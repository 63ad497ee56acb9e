"""The verification-grade reference: a netlist simulated by ngspice itself.

A compiled circuit model is only as trustworthy as the thing it is compared
with, so the reference is computed with care (see CIRCUITS.md, "What correct
means"):

1. The audio is upsampled ``oversample`` times with ``scipy.signal.resample_poly``
   (its default Kaiser filter is flat to well below the -56 dB floor that two
   different good anti-aliasing filters would disagree by).
2. It drives the circuit through an XSPICE ``filesource`` (``A_vin`` replaces
   the ``Vin`` card). A ``PWL`` source would do the same, but ngspice parses
   PWL in time quadratic in its length.
3. ngspice integrates with tight tolerances (``reltol=1e-6 vntol=1e-9
   abstol=1e-14``) and writes a *binary* rawfile (``wrdata`` prints only eight
   significant digits, too few for -80 dB work), parsed by :func:`read_rawfile`.
4. A cubic spline through ngspice's own (irregular) time points is sampled at
   128x and decimated back to the audio rate with ``resample_poly``. Sampling
   ngspice's output straight on the oversampled grid would alias the clipping
   harmonics, and the reference would stop converging as ``oversample`` grows.

Both ngspice and the compiled model start from the DC operating point.

ngspice runs as ``ngspice -b`` in a subprocess in a temporary directory, never
in-process through libngspice (PySpice's shared mode): the shared library is one
global instance per process, is not thread-safe and has segfault pitfalls, and
a crashed simulation must not take the caller down with it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.interpolate import CubicSpline
from scipy.signal import resample_poly

from pedalboard.errors import PedalError

#: Tolerances of the verification-grade transient (CIRCUITS.md). ``itl4`` lets
#: a hard clipper iterate more at one time point before the step is cut.
REFERENCE_OPTIONS = "reltol=1e-6 vntol=1e-9 itl1=500 itl4=100"
#: Current tolerances tried in turn. 1e-14 A is the contract's; a few circuits
#: whose op-amps swing hard into diodes (a clamped op-amp driving a diode pair)
#: stop with "timestep too small" there, and converge with a looser current
#: tolerance that is still far below any signal current (microamps).
ABSTOL_LADDER_A = (1e-14, 1e-12, 1e-10)
#: The spline through ngspice's time points is sampled at this many times the
#: audio rate before the final decimation.
SPLINE_OVERSAMPLE = 128
#: Seconds a single ngspice run may take before it is abandoned.
TIMEOUT_S = 1800.0

NetlistSource = str | Path


class NgspiceError(PedalError):
    """ngspice is missing, or it could not simulate a netlist."""


@dataclass(frozen=True)
class Rawfile:
    """One plot of an ngspice rawfile: variable names and their values."""

    title: str
    plotname: str
    variables: tuple[str, ...]
    values: np.ndarray  # shape (points, variables), float64

    def __getitem__(self, name: str) -> np.ndarray:
        try:
            return self.values[:, self.variables.index(name.lower())]
        except ValueError:
            raise KeyError(f"rawfile has no variable {name!r}; it has {self.variables}") from None


def read_rawfile(path: str | Path) -> Rawfile:
    """Parse the first plot of a binary (real-valued) ngspice rawfile.

    The format is an ASCII header (``Title:``, ``Plotname:``, ``Flags:``,
    ``No. Variables:``, ``No. Points:``, ``Variables:`` with one indented line
    per variable) followed by ``Binary:`` and the points as little-endian
    float64, one row of all variables per point.
    """
    data = Path(path).read_bytes()
    marker = data.find(b"Binary:\n")
    if marker < 0:
        raise NgspiceError(f"{path}: not a binary ngspice rawfile (no 'Binary:' section)")
    header = data[:marker].decode("latin-1").splitlines()
    fields: dict[str, str] = {}
    names: list[str] = []
    in_variables = False
    for line in header:
        if in_variables and line[:1] in ("\t", " "):
            parts = line.split()
            names.append(parts[1].lower())
            continue
        in_variables = False
        key, _, value = line.partition(":")
        fields[key.strip().lower()] = value.strip()
        if key.strip().lower() == "variables":
            in_variables = True
    if "complex" in fields.get("flags", ""):
        raise NgspiceError(f"{path}: complex rawfiles (AC analysis) are not supported")
    count = int(fields["no. variables"])
    points = int(fields["no. points"])
    raw = np.frombuffer(data, dtype="<f8", count=count * points, offset=marker + len(b"Binary:\n"))
    return Rawfile(
        title=fields.get("title", ""),
        plotname=fields.get("plotname", ""),
        variables=tuple(names[:count]),
        values=raw.reshape(points, count).copy(),
    )


# -- netlist text ---------------------------------------------------------------------

_DOT_BLOCK = re.compile(r"^\s*\.control\b.*?^\s*\.endc\b[^\n]*\n?", re.I | re.M | re.S)
_ANALYSES = re.compile(r"^\s*\.(tran|op|ac|dc|options?|end|save|print|plot|probe)\b.*$", re.I)


def _read(netlist: NetlistSource) -> tuple[str, Path | None]:
    """Netlist text and the directory its ``.include`` paths are relative to."""
    if isinstance(netlist, Path) or ("\n" not in netlist and netlist.endswith((".cir", ".sp"))):
        path = Path(netlist)
        try:
            return path.read_text(), path.resolve().parent
        except OSError as exc:
            raise NgspiceError(f"{path}: cannot read the netlist ({exc.strerror})") from None
    return str(netlist), None


def _logical_lines(text: str) -> list[str]:
    """Physical lines with ``+`` continuations joined (title line kept as is)."""
    lines: list[str] = []
    for line in text.splitlines():
        if lines and line.lstrip().startswith("+"):
            lines[-1] += " " + line.lstrip()[1:]
        else:
            lines.append(line)
    return lines


def output_node(text: str) -> str:
    """The node whose voltage is the output: ``out`` unless ``*@output NODE``."""
    for line in text.splitlines():
        match = re.match(r"^\*@output\s+(\S+)", line.strip(), re.I)
        if match:
            return match.group(1).lower()
    return "out"


def _is_vin(line: str) -> bool:
    parts = line.split()
    return bool(parts) and parts[0].lower() == "vin"


def input_nodes(text: str) -> tuple[str, str]:
    """The (positive, negative) nodes of the ``Vin`` source."""
    for line in _logical_lines(text)[1:]:
        if _is_vin(line):
            parts = line.split()
            return parts[1].lower(), parts[2].lower()
    raise NgspiceError("the netlist has no input source: add 'Vin in 0 dc 0'")


def _format_value(value: float) -> str:
    return f"{float(value):.17g}"


def override_params(text: str, controls: dict[str, float] | None) -> str:
    """Rewrite ``.param NAME=VALUE`` so each control in ``controls`` takes its value.

    Raises :class:`NgspiceError` naming a control that no ``.param`` defines.
    """
    if not controls:
        return text
    pending = {name.lower(): value for name, value in controls.items()}
    out: list[str] = []
    for line in _logical_lines(text):
        if re.match(r"^\s*\.param\b", line, re.I):
            def replace(match: re.Match[str]) -> str:
                name = match.group(1).lower()
                if name in pending:
                    value = pending.pop(name)
                    return f"{match.group(1)}={_format_value(value)}"
                return match.group(0)

            line = re.sub(r"([A-Za-z_][\w]*)\s*=\s*(\{[^}]*\}|'[^']*'|[^\s=]+)", replace, line)
        out.append(line)
    if pending:
        raise NgspiceError(f"unknown control(s) {sorted(pending)}: no .param defines them")
    return "\n".join(out) + "\n"


def _absolute_includes(lines: list[str], base: Path | None) -> list[str]:
    if base is None:
        return lines
    fixed = []
    for line in lines:
        match = re.match(r"^(\s*\.include\s+)(['\"]?)([^'\"\s]+)\2(.*)$", line, re.I)
        if match and not Path(match.group(3)).is_absolute():
            line = f"{match.group(1)}\"{(base / match.group(3)).resolve()}\"{match.group(4)}"
        fixed.append(line)
    return fixed


def circuit_body(text: str, base: Path | None = None) -> list[str]:
    """The netlist's circuit cards: no ``.control`` block, analyses, options or ``.end``."""
    text = _DOT_BLOCK.sub("", text if text.endswith("\n") else text + "\n")
    lines = _logical_lines(text)
    body = [lines[0]] + [line for line in lines[1:] if not _ANALYSES.match(line)]
    return _absolute_includes(body, base)


# -- running ngspice ---------------------------------------------------------------------


def _ngspice() -> str:
    exe = shutil.which("ngspice")
    if exe is None:
        raise NgspiceError("ngspice is not installed (apt-get install ngspice); it is needed for "
                           "the circuit reference")
    return exe


def _last_lines(text: str, count: int = 8) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return " | ".join(lines[-count:])


def run_batch(deck: str, workdir: Path, rawfile: Path, what: str) -> Rawfile:
    """Run ``ngspice -b`` on ``deck`` in ``workdir`` and read the rawfile it writes."""
    deck_path = workdir / "deck.cir"
    deck_path.write_text(deck)
    try:
        proc = subprocess.run(
            [_ngspice(), "-b", str(deck_path)],
            cwd=workdir, capture_output=True, text=True, timeout=TIMEOUT_S, check=False,
        )
    except subprocess.TimeoutExpired:
        raise NgspiceError(f"ngspice did not finish {what} within {TIMEOUT_S:.0f} s") from None
    output = proc.stdout + "\n" + proc.stderr
    # ngspice may exit 0 after an aborted analysis and still write a partial
    # rawfile: the log decides.
    aborted = re.search(r"timestep too small|simulation\(s\) aborted", output, re.I)
    if proc.returncode != 0 or not rawfile.exists() or aborted:
        raise NgspiceError(f"ngspice failed {what}: {_last_lines(output)}")
    return read_rawfile(rawfile)


def _write_source(path: Path, times: np.ndarray, values: np.ndarray) -> None:
    np.savetxt(path, np.column_stack([times, values]), fmt="%.17g")


def transient_deck(body: list[str], nodes: tuple[str, str], source: Path, out_node: str,
                   step_s: float, stop_s: float, rawfile: Path, abstol_a: float = 1e-14) -> str:
    """A deck that drives ``nodes`` from ``source`` and writes ``v(out_node)`` to ``rawfile``."""
    positive, negative = nodes
    port = f"%v([{positive}])" if negative == "0" else f"%vd([{positive} {negative}])"
    cards = [line for line in body if not _is_vin(line)]
    cards += [
        f"A_vin {port} vinsrc",
        f'.model vinsrc filesource (file="{source}" amploffset=[0] amplscale=[1] '
        "timeoffset=0 timescale=1 timerelative=false amplstep=false)",
        f".options {REFERENCE_OPTIONS} abstol={abstol_a:g}",
        ".control",
        "set filetype=binary",
        f"save v({out_node})",
        f"tran {_format_value(step_s)} {_format_value(stop_s)} 0 {_format_value(step_s)}",
        f"write {rawfile} v({out_node})",
        "quit",
        ".endc",
        ".end",
    ]
    return "\n".join(cards) + "\n"


def simulate_reference(
    netlist: NetlistSource,
    input_volts: np.ndarray,
    sample_rate: float,
    *,
    controls: dict[str, float] | None = None,
    oversample: int = 32,
) -> np.ndarray:
    """ngspice's output voltage for ``input_volts`` (volts at ``Vin``, one per sample).

    ``netlist`` is a path to a ``.cir`` file or the netlist text; ``controls``
    override the ``.param`` defaults. Returns float64 volts at the output node,
    one per input sample. Raises :class:`NgspiceError` with ngspice's own last
    lines when the simulation fails.
    """
    text, base = _read(netlist)
    where = f"{netlist}: " if base is not None else ""
    try:
        return _simulate(text, base, input_volts, sample_rate, controls, oversample)
    except NgspiceError as exc:
        raise NgspiceError(f"{where}{exc}") from None


def _simulate(text: str, base: Path | None, input_volts: np.ndarray, sample_rate: float,
              controls: dict[str, float] | None, oversample: int) -> np.ndarray:
    text = override_params(text, controls)
    volts = np.ascontiguousarray(input_volts, dtype=np.float64)
    if volts.ndim != 1 or volts.size < 2:
        raise NgspiceError("the reference input must be a 1-D array of at least two samples")
    frames = volts.size
    fine_rate = sample_rate * oversample
    fine = resample_poly(volts, oversample, 1)
    times = np.arange(fine.size) / fine_rate
    stop_s = times[-1]
    out_node = output_node(text)
    with tempfile.TemporaryDirectory(prefix="pedal-ngspice-") as tmp:
        workdir = Path(tmp)
        source = workdir / "input.txt"
        rawfile = workdir / "out.raw"
        _write_source(source, times, fine)
        body, nodes = circuit_body(text, base), input_nodes(text)
        for attempt, abstol_a in enumerate(ABSTOL_LADDER_A):
            deck = transient_deck(body, nodes, source, out_node, 1.0 / fine_rate, stop_s,
                                  rawfile, abstol_a)
            try:
                raw = run_batch(deck, workdir, rawfile, "the transient reference")
                break
            except NgspiceError as exc:
                rawfile.unlink(missing_ok=True)
                last = attempt == len(ABSTOL_LADDER_A) - 1
                if last or "timestep too small" not in str(exc).lower():
                    raise
    t = raw["time"]
    v = raw[f"v({out_node})"]
    return resample_spline(t, v, sample_rate, frames)


def resample_spline(times_s: np.ndarray, values: np.ndarray, sample_rate: float,
                    frames: int) -> np.ndarray:
    """A cubic spline through (times_s, values) sampled at 128x, decimated to ``sample_rate``."""
    t = np.abs(times_s)  # ngspice marks some points with a negative sign in old formats
    keep = np.concatenate([[True], np.diff(t) > 0])  # drop repeated breakpoint times
    spline = CubicSpline(t[keep], values[keep])
    dense_t = np.arange(frames * SPLINE_OVERSAMPLE) / (sample_rate * SPLINE_OVERSAMPLE)
    dense_t = np.minimum(dense_t, t[keep][-1])
    dense = spline(dense_t)
    return resample_poly(dense, 1, SPLINE_OVERSAMPLE)[:frames]


def operating_point(netlist: NetlistSource,
                    controls: dict[str, float] | None = None) -> dict[str, float]:
    """ngspice's DC operating point: node name -> volts, ``i(source)`` -> amps.

    ``Vin`` is at 0 V (its ``dc`` value), as at the start of a transient.
    """
    text, base = _read(netlist)
    try:
        text = override_params(text, controls)
    except NgspiceError as exc:
        raise NgspiceError(f"{netlist}: {exc}" if base is not None else str(exc)) from None
    with tempfile.TemporaryDirectory(prefix="pedal-ngspice-") as tmp:
        workdir = Path(tmp)
        rawfile = workdir / "op.raw"
        cards = [
            *circuit_body(text, base),
            ".control", "set filetype=binary", "op", f"write {rawfile} all", "quit", ".endc",
            ".end",
        ]
        raw = run_batch("\n".join(cards) + "\n", workdir, rawfile, "the operating point")
    result: dict[str, float] = {}
    for index, name in enumerate(raw.variables):
        value = float(raw.values[0, index])
        voltage = re.fullmatch(r"v\((.+)\)", name)
        branch = re.fullmatch(r"(.+)#branch", name)
        if voltage:
            result[voltage.group(1)] = value
        elif branch:
            result[f"i({branch.group(1)})"] = value
        else:
            result[name] = value
    return result
