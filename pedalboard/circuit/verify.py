"""Prove a compiled circuit against ngspice: the error figure and the speed.

The model (:class:`pedalboard.circuit.model.CircuitModel`) and the
verification-grade ngspice reference (:func:`simulate_reference`) both start
from the DC operating point and see the same input volts at ``Vin``. The error
is the contract's (CIRCUITS.md)::

    error_db = 20*log10( rms(model - reference) / rms(reference - mean(reference)) )

over the whole clip, with no time-shift search: a model that is late by one
sample, or settles to another bias point, is wrong and shows it.

Two figures are reported, because the error has two sources:

- ``error_db``: the model as it ships, with its own anti-aliasing filters.
- ``solver_error_db``: the same circuit solver run at the oversampled rate
  (``oversample=1`` at ``oversample * sample_rate``) between the reference's
  own resamplers (``resample_poly``, default Kaiser). It measures the circuit
  model alone. Two different good anti-aliasing filters disagree by about
  -56 dB on a linear circuit and by -39 to -43 dB on a hard clipper (their
  transition bands differ where a clipper's harmonics are strong), so without
  this figure a correct solver is indistinguishable from a slightly wrong one.

Inputs (volts at ``Vin``):

- ``"guitar"``: a clean guitar-like clip (Karplus-Strong riff) at 0.3 V peak,
  about what a humbucker gives when picked firmly;
- ``"hot"``: the same clip at 1 V peak (a hot pickup or a boost in front);
- ``"sweep"``: an exponential sine sweep 20 Hz - 12 kHz at 0.3 V peak;
- a path to a WAV file (first channel, taken as 0.3 V peak).

The riff's plucks start with a white-noise burst, which no pickup delivers: a
real pickup and its cable roll off above a few kHz. The clip is therefore run
through a 2nd-order 6 kHz Butterworth low-pass (the pickup's resonance, roughly)
and faded in over 2 ms, so it starts at 0 V, as the operating point assumes.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from scipy.signal import butter, resample_poly, sosfilt

from pedalboard.circuit.ngspice import simulate_reference
from pedalboard.errors import PedalError
from pedalboard.signals import guitar_riff, log_sweep

#: Peak volts of the named inputs.
INPUT_PEAK_VOLTS = {"guitar": 0.3, "hot": 1.0, "sweep": 0.3}
#: The pickup-like low-pass applied to the synthetic riff.
PICKUP_CUTOFF_HZ = 6000.0
FADE_IN_S = 0.002


@dataclass
class VerifyResult:
    """One comparison of a compiled model with ngspice."""

    netlist: str
    error_db: float
    solver_error_db: float
    speed_x_realtime: float
    oversample: int
    controls: dict[str, float]
    input: str
    duration_s: float
    newton_failures: int
    reference: np.ndarray = field(repr=False)
    model: np.ndarray = field(repr=False)

    def to_dict(self) -> dict[str, object]:
        """Everything but the two signals (JSON-ready)."""
        data = asdict(self)
        del data["reference"], data["model"]
        return data


def error_db(model: np.ndarray, reference: np.ndarray) -> float:
    """The contract's error figure (dB, lower is better)."""
    residual = np.sqrt(np.mean((np.asarray(model) - reference) ** 2))
    scale = np.sqrt(np.mean((reference - np.mean(reference)) ** 2))
    if scale == 0.0:
        return 0.0 if residual == 0.0 else float("inf")
    if residual == 0.0:
        return float("-inf")
    return float(20.0 * np.log10(residual / scale))


def _fade_in(x: np.ndarray, sample_rate: float) -> np.ndarray:
    n = min(x.size, round(FADE_IN_S * sample_rate))
    x = x.copy()
    x[:n] *= 0.5 - 0.5 * np.cos(np.pi * np.arange(n) / n)
    return x


def guitar_clip(duration_s: float, sample_rate: float, peak_volts: float) -> np.ndarray:
    """The guitar-like test clip: riff, pickup low-pass, fade-in, ``peak_volts`` peak."""
    x = guitar_riff(duration_s, sample_rate)
    x = sosfilt(butter(2, PICKUP_CUTOFF_HZ, fs=sample_rate, output="sos"), x)
    x = _fade_in(x, sample_rate)
    return peak_volts * x / np.max(np.abs(x))


def input_volts(kind: str, duration_s: float, sample_rate: float) -> np.ndarray:
    """Volts at ``Vin`` for a named input (``guitar``, ``hot``, ``sweep``) or a WAV path."""
    if kind in ("guitar", "hot"):
        return guitar_clip(duration_s, sample_rate, INPUT_PEAK_VOLTS[kind])
    if kind == "sweep":
        x = _fade_in(log_sweep(20.0, 12000.0, duration_s, sample_rate), sample_rate)
        return INPUT_PEAK_VOLTS["sweep"] * x
    return _wav_volts(Path(kind), duration_s, sample_rate)


def _wav_volts(path: Path, duration_s: float, sample_rate: float) -> np.ndarray:
    import soundfile

    try:
        data, rate = soundfile.read(str(path), dtype="float64", always_2d=True)
    except (OSError, RuntimeError) as exc:
        raise PedalError(f"{path}: cannot read the input (use guitar, hot, sweep or a WAV "
                         f"file): {exc}") from None
    x = data[:, 0]
    if rate != sample_rate:
        x = resample_poly(x, int(sample_rate), int(rate))
    x = x[: round(duration_s * sample_rate)]
    peak = np.max(np.abs(x)) if x.size else 0.0
    if peak == 0.0:
        raise PedalError(f"{path}: the input is silent")
    return _fade_in(INPUT_PEAK_VOLTS["guitar"] * x / peak, sample_rate)


def run_model(netlist: str | Path, volts: np.ndarray, *, oversample: int, sample_rate: float,
              controls: dict[str, float] | None) -> tuple[np.ndarray, float, int]:
    """The compiled model's output, its speed (times real time on one core:
    seconds of audio per second of this thread's CPU time) and Newton failures."""
    from pedalboard.circuit.model import CircuitModel

    model = CircuitModel.from_file(netlist, oversample=oversample, sample_rate=sample_rate,
                                   controls=controls)
    model.process_volts(volts[: min(volts.size, 2048)])  # warm-up: kernel compile/load
    model.reset()
    start = time.thread_time()  # CPU time: on a busy machine wall-clock counts others' work
    out = model.process_volts(volts)
    elapsed = time.thread_time() - start
    speed = (volts.size / sample_rate) / elapsed if elapsed > 0 else float("inf")
    return out, speed, model.newton_failures


def run_solver(netlist: str | Path, volts: np.ndarray, *, oversample: int, sample_rate: float,
               controls: dict[str, float] | None) -> np.ndarray:
    """The circuit solver at ``oversample * sample_rate`` between ``resample_poly``
    filters: the reference's resampling, so only the circuit model differs."""
    from pedalboard.circuit.model import CircuitModel

    model = CircuitModel.from_file(netlist, oversample=1, sample_rate=sample_rate * oversample,
                                   controls=controls)
    fine = model.process_volts(resample_poly(volts, oversample, 1))
    return resample_poly(fine, 1, oversample)[: volts.size]


def verify_netlist(
    netlist: str | Path,
    *,
    oversample: int = 16,
    controls: dict[str, float] | None = None,
    input: str = "guitar",
    duration_s: float = 0.25,
    sample_rate: float = 48000.0,
    reference: np.ndarray | None = None,
) -> VerifyResult:
    """Compare the compiled model of ``netlist`` with ngspice.

    ``reference`` may pass an ngspice output computed earlier for the same
    netlist, input and controls (it is the expensive part).
    """
    volts = input_volts(input, duration_s, sample_rate)
    if reference is None:
        reference = simulate_reference(netlist, volts, sample_rate, controls=controls)
    out, speed, failures = run_model(netlist, volts, oversample=oversample,
                                     sample_rate=sample_rate, controls=controls)
    solver = run_solver(netlist, volts, oversample=oversample, sample_rate=sample_rate,
                        controls=controls)
    return VerifyResult(
        netlist=str(netlist),
        error_db=error_db(out, reference),
        solver_error_db=error_db(solver, reference),
        speed_x_realtime=speed,
        oversample=oversample,
        controls=dict(controls or {}),
        input=input,
        duration_s=duration_s,
        newton_failures=failures,
        reference=reference,
        model=out,
    )
