"""Benchmark the live engine on a JACK dummy server and write docs/engine-benchmark.md.

    .venv/bin/python benchmarks/bench_engine.py                 # 20 s per phase
    .venv/bin/python benchmarks/bench_engine.py --seconds 300   # the published table

One jackd (``-d dummy -r 48000 -p 64``) of its own; ``jack_simple_client``
(C) plays a sine into whatever is measured. Phases, each ``--seconds`` long:

1. ``jack_thru`` (C) alone: the baseline xrun rate of this machine.
2. the engine, JACK-Client process callback, a six-effect chain.
3. the same on sounddevice/PortAudio's JACK host API (the backend comparison).
4. and 5. the engine with a busy Python thread in its process (the
   controller at work), with Python's default 5 ms switch interval and with
   the engine's 0.5 ms: the GIL effect.

Measured: xruns (a monitor client's JACK xrun callback: JACK tells every
client), JACK's own DSP load (``cpu_load``: all clients' time per cycle as a
percentage of the period), the engine's processing time per block as a
fraction of the period (p50/p99 over every block of the phase), and for the
JACK-Client backend how late the callback started after its cycle began
(``frames_since_cycle_start``: the wait for the GIL shows up here).
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pedalboard.effects import effect_names  # noqa: E402
from pedalboard.engine import Engine  # noqa: E402
from pedalboard.engine.meters import LOAD_HISTORY  # noqa: E402
from pedalboard.presets import build_chain, parse_preset  # noqa: E402

SAMPLE_RATE = 48000
PERIOD = 64


def six_effect_preset(circuits: bool = True) -> dict:
    """Compressor, two drives at 4x oversampling (circuit models when the
    ``circuit`` effect exists and ``circuits``), amp tone stack, delay, reverb."""
    if circuits and "circuit" in effect_names():
        drives = [{"id": "ts808", "effect": "circuit", "params": {"netlist": "ts808"}},
                  {"id": "fuzz", "effect": "circuit", "params": {"netlist": "fuzz_face_si"}}]
        try:
            parse_preset({"name": "probe", "chain": drives})
        except Exception:
            drives = []
    else:
        drives = []
    if not drives:
        drives = [{"id": "drive", "effect": "overdrive", "params": {"drive_db": 20.0, "oversample": "4"}},
                  {"id": "dist", "effect": "distortion", "params": {"drive_db": 20.0, "oversample": "4"}}]
    return {"name": "Bench six", "chain": [
        {"id": "comp", "effect": "compressor", "params": {"threshold_db": -24.0}},
        *drives,
        {"id": "amp", "effect": "tone_stack", "params": {"model": "marshall"}},
        {"id": "echo", "effect": "delay", "params": {"delay_seconds": 0.35, "feedback": 0.4}},
        {"id": "room", "effect": "reverb", "params": {"room_size": 0.5}},
    ]}


# ------------------------------------------------------------------ JACK side
class Server:
    def __init__(self) -> None:
        self.name = f"pedal-bench-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.env = {**os.environ, "JACK_DEFAULT_SERVER": self.name, "JACK_NO_START_SERVER": "1"}
        self.log = open(f"/tmp/{self.name}.log", "wb")  # noqa: SIM115
        self.process = subprocess.Popen(
            ["jackd", "-n", self.name, "-d", "dummy", "-r", str(SAMPLE_RATE), "-p", str(PERIOD)],
            stdout=self.log, stderr=subprocess.STDOUT)
        subprocess.run(["jack_wait", "-w", "-t", "10"], env=self.env, check=True, stdout=subprocess.DEVNULL)

    def client(self, *argv: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen(list(argv), env=self.env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
        self.log.close()


class Monitor:
    """Counts xruns and samples JACK's DSP load from a client of its own."""

    def __init__(self, server: Server) -> None:
        import jack

        self.client = jack.Client("bench-monitor", servername=server.name, no_start_server=True)
        self.xruns = 0
        self.client.set_xrun_callback(self._xrun)
        self.client.activate()
        self.loads: list[float] = []
        self._sampling = False
        self._thread: threading.Thread | None = None

    def _xrun(self, delay_usecs: float) -> None:
        self.xruns += 1

    def start_sampling(self) -> None:
        self.loads = []
        self._sampling = True
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def stop_sampling(self) -> list[float]:
        self._sampling = False
        if self._thread is not None:
            self._thread.join()
        return self.loads

    def _sample(self) -> None:
        while self._sampling:
            self.loads.append(float(self.client.cpu_load()))
            time.sleep(0.1)

    def ports(self, pattern: str = "") -> list[str]:
        return [p.name for p in self.client.get_ports(pattern)]

    def connect(self, source: str, destination: str) -> None:
        self.client.connect(source, destination)

    def close(self) -> None:
        self.client.deactivate()
        self.client.close()


def wait_for_ports(monitor: Monitor, pattern: str, timeout_s: float = 10.0) -> list[str]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        ports = monitor.ports(pattern)
        if ports:
            return ports
        time.sleep(0.05)
    raise RuntimeError(f"no JACK ports matching {pattern!r}")


# ------------------------------------------------------------------ phases
@dataclass
class Phase:
    name: str
    seconds: float
    xruns: int
    jack_load: list[float]
    block_loads: np.ndarray = field(default_factory=lambda: np.zeros(0))
    lateness_frames: np.ndarray = field(default_factory=lambda: np.zeros(0))
    note: str = ""

    def row(self) -> str:
        per_min = self.xruns / (self.seconds / 60.0)
        jack = np.array(self.jack_load) if self.jack_load else np.zeros(1)
        if self.block_loads.size:
            p50, p99 = np.percentile(self.block_loads, [50, 99])
            worst = float(np.max(self.block_loads))
            loads = f"{p50:.3f} | {p99:.3f} | {worst:.2f}"
        else:
            loads = "- | - | -"
        if self.lateness_frames.size:
            late = np.percentile(self.lateness_frames, [50, 99]) / SAMPLE_RATE * 1e6
            lateness = f"{late[0]:.0f} / {late[1]:.0f}"
        else:
            lateness = "-"
        return (f"| {self.name} | {self.seconds:.0f} | {self.xruns} | {per_min:.2f} | "
                f"{np.mean(jack):.1f} / {np.percentile(jack, 99):.1f} | {loads} | {lateness} |")


def run_thru(server: Server, monitor: Monitor, seconds: float) -> Phase:
    thru = server.client("jack_thru")
    try:
        wait_for_ports(monitor, "jack_thru:input_1")
        monitor.connect("simple:output1", "jack_thru:input_1")
        time.sleep(1.0)
        before = monitor.xruns
        monitor.start_sampling()
        time.sleep(seconds)
        loads = monitor.stop_sampling()
        return Phase("jack_thru (C), baseline", seconds, monitor.xruns - before, loads)
    finally:
        thru.terminate()
        thru.wait(timeout=10)


class _Lateness:
    """Wraps the engine's block function to note how many frames of the
    cycle had passed when the callback got to run (JACK backend only)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.inner = engine._process
        self.frames = np.zeros(1 << 22, dtype=np.int32)
        self.count = 0

    def __call__(self, frames: int) -> None:
        client = self.engine.backend.client
        if client is not None and self.count < self.frames.shape[0]:
            self.frames[self.count] = client.frames_since_cycle_start
            self.count += 1
        self.inner(frames)


_STATE = {"chain": [{"id": f"slot{i}", "params": {"x": i * 0.1, "y": "text"}} for i in range(12)]}


def _cpu_bound(stop: threading.Event) -> None:
    """A Python thread that never waits: JSON round trips without pause."""
    import json

    while not stop.is_set():
        json.loads(json.dumps(_STATE))


def _controller_like(stop: threading.Event) -> None:
    """What the controller does: 50 small jobs a second (commands, meters at
    10/s, tuner at 20/s), each a JSON round trip, sleeping in between."""
    import json

    while not stop.wait(0.02):
        for _ in range(5):
            json.loads(json.dumps(_STATE))


def run_engine(server: Server, monitor: Monitor, seconds: float, backend: str, label: str,
               preset: dict | None, switch_interval_s: float | None = None,
               helper_work: object = None) -> Phase:
    engine = Engine(backend, jack_server=server.name)
    lateness = _Lateness(engine) if backend == "jack" else None
    if lateness is not None:
        engine._process = lateness  # the backend captures it at open
    engine.start()
    stop = threading.Event()
    helper = threading.Thread(target=helper_work, args=(stop,), daemon=True)
    busy = helper_work is not None
    try:
        if switch_interval_s is not None:
            sys.setswitchinterval(switch_interval_s)
        if preset is not None:
            engine.load_chain(build_chain(parse_preset(preset)), crossfade_ms=0.0)
        # JACK-Client registers pedal:in_1; PortAudio names its ports PortAudio:in_0.
        target = "pedal:in_1" if backend == "jack" else "PortAudio:in_0"
        wait_for_ports(monitor, target)
        monitor.connect("simple:output1", target)
        if busy:
            helper.start()
        time.sleep(2.0)
        before = monitor.xruns
        counter_start = int(engine.meters.counters[0])
        if lateness is not None:
            lateness.count = 0
        monitor.start_sampling()
        collected: list[np.ndarray] = []
        seen = counter_start
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            time.sleep(min(1.0, max(0.0, end - time.monotonic())))
            now = int(engine.meters.counters[0])
            fresh = min(now - seen, LOAD_HISTORY)
            indices = np.arange(now - fresh, now) % LOAD_HISTORY
            collected.append(engine.meters.loads[indices].copy())
            seen = now
        loads = monitor.stop_sampling()
        phase = Phase(label, seconds, monitor.xruns - before, loads,
                      block_loads=np.concatenate(collected) if collected else np.zeros(0))
        if lateness is not None:
            phase.lateness_frames = lateness.frames[: lateness.count].copy()
        return phase
    finally:
        stop.set()
        if busy:
            helper.join()
        engine.stop()


# ------------------------------------------------------------------ report
def report(phases: list[Phase], seconds: float, gil_seconds: float) -> str:
    def describe(preset: dict) -> str:
        return " -> ".join(n["effect"] + (f" ({n['params']['netlist']})" if n["effect"] == "circuit" else "")
                           for n in preset["chain"])

    cpu = platform.processor() or platform.machine()
    with_circuits = six_effect_preset(circuits=True)
    lines = [
        "# Engine benchmark",
        "",
        f"Written by `benchmarks/bench_engine.py --seconds {seconds:.0f} --gil-seconds {gil_seconds:.0f}` "
        f"on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: Python {platform.python_version()}, "
        f"{os.cpu_count()} cores ({cpu}), a VM shared with other work.",
        "",
        f"JACK dummy driver, {SAMPLE_RATE} Hz, {PERIOD}-frame periods "
        f"({PERIOD / SAMPLE_RATE * 1e3:.2f} ms). Input: `jack_simple_client`'s sine. Mono.",
        "",
        f"- *six builtin*: {describe(six_effect_preset(circuits=False))}",
    ]
    if with_circuits != six_effect_preset(circuits=False):
        lines.append(f"- *six with circuits*: {describe(with_circuits)}")
    lines += [
        "",
        "| phase | s | xruns | xruns/min | JACK DSP load % mean / p99 | "
        "engine block load p50 | p99 | max | callback start late, us p50 / p99 |",
        "|---|---|---|---|---|---|---|---|---|",
        *[phase.row() for phase in phases],
        "",
        "- *engine block load*: the engine's own processing time per block as a fraction of",
        "  the period (what `status()` reports as `dsp_load_p50`/`p99`), over every block.",
        "- *JACK DSP load*: JACK's `cpu_load()` sampled every 100 ms: the time all clients",
        "  took per cycle, including the backend's own overhead around our callback.",
        "- *callback start late*: frames of the cycle already gone when our Python callback",
        "  began (JACK-Client backend only); waiting for the GIL shows up here.",
        "- xruns are counted for the whole server (JACK tells every client); compare each",
        "  row with the `jack_thru` baseline measured in the same run.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each main phase")
    parser.add_argument("--gil-seconds", type=float, default=None,
                        help="length of each busy-thread phase (default: min(seconds, 30))")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "engine-benchmark.md")
    args = parser.parse_args()
    seconds = args.seconds
    gil_seconds = args.gil_seconds if args.gil_seconds is not None else min(seconds, 30.0)
    builtin = six_effect_preset(circuits=False)
    circuits = six_effect_preset(circuits=True)
    default_interval = sys.getswitchinterval()
    plan: list[tuple[str, float, str, dict | None, float | None, object]] = [
        ("engine, empty chain (overhead)", seconds, "jack", {"name": "Empty", "chain": []}, None, None),
        ("engine, six builtin", seconds, "jack", builtin, None, None),
    ]
    if circuits != builtin:
        plan.append(("engine, six with circuits", seconds, "jack", circuits, None, None))
    plan += [
        ("engine, six builtin, sounddevice on JACK", seconds, "jack-portaudio", builtin, None, None),
        ("six builtin + CPU-bound thread, switch 5 ms", gil_seconds, "jack", builtin,
         default_interval, _cpu_bound),
        ("six builtin + CPU-bound thread, switch 0.5 ms", gil_seconds, "jack", builtin, 0.0005, _cpu_bound),
        ("six builtin + controller-like thread, switch 5 ms", gil_seconds, "jack", builtin,
         default_interval, _controller_like),
        ("six builtin + controller-like thread, switch 0.5 ms", gil_seconds, "jack", builtin,
         0.0005, _controller_like),
    ]
    server = Server()
    monitor = Monitor(server)
    feeder = server.client("jack_simple_client", "simple", server.name)
    phases: list[Phase] = []
    try:
        wait_for_ports(monitor, "simple:output1")
        for port in monitor.client.get_all_connections("simple:output1"):
            monitor.client.disconnect("simple:output1", port)
        phases.append(run_thru(server, monitor, seconds))
        print(phases[-1].row(), flush=True)
        for label, length, backend, preset, interval, work in plan:
            phases.append(run_engine(server, monitor, length, backend, label, preset, interval, work))
            print(phases[-1].row(), flush=True)
    finally:
        if "sounddevice" in sys.modules:  # PortAudio must let go of JACK before the server stops
            sys.modules["sounddevice"]._terminate()
        feeder.terminate()
        feeder.wait(timeout=10)
        monitor.close()
        server.stop()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report(phases, seconds, gil_seconds), encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
