"""Benchmark the live engine on a JACK dummy server and write docs/engine-benchmark.md.

    .venv/bin/python benchmarks/bench_engine.py                  # the published run: 5 + 5 minutes
    .venv/bin/python benchmarks/bench_engine.py --minutes 1 --seconds 10   # a quick look

One jackd (``-d dummy -r 48000 -p 64``) of its own; ``jack_simple_client``
(C) plays a sine into whatever is measured.

**The issue's measurement** (``--minutes``, 5 by default): 64-frame blocks at
48 kHz with the six-effect chain that includes two circuit models at 4x
oversampling, against a plain ``jack_thru`` (C) client on the same server in
the same run. The two alternate in chunks of ``--chunk-seconds`` (so both
meet the same load from whatever else the machine is doing) until each has
run ``--minutes``. Targets: the engine's DSP load p99 under 50 % of the
block, and an xrun rate no worse than ``jack_thru``'s (an exact test: see
:func:`xrun_excess`). A third party takes
its turn in every round for scale: ``jack_thru`` beside ``jack_cpu`` (C),
which burns the engine's share of each period: the xruns any client doing
that much work per cycle meets on this machine.

**Comparisons** (``--seconds`` each; ``--no-comparisons`` skips them):

1. the engine with an empty chain (its own overhead) and with six builtin effects;
2. the same on sounddevice/PortAudio's JACK host API (the backend comparison);
3. the engine with a busy Python thread in its process (the controller at
   work), with Python's default 5 ms switch interval and with the engine's
   0.5 ms: the GIL effect.

Measured: xruns (a monitor client's JACK xrun callback: JACK tells every
client), JACK's own DSP load (``cpu_load``: all clients' time per cycle as a
percentage of the period), the engine's processing time per block as a
fraction of the period (p50/p99 over every block of the phase), and for the
JACK-Client backend how late the callback started after its cycle began
(``frames_since_cycle_start``: the wait for the GIL shows up here).
"""

from __future__ import annotations

import argparse
import math
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

    def merge(self, other: Phase) -> Phase:
        """This phase and ``other`` (another chunk of the same thing) as one."""
        return Phase(self.name, self.seconds + other.seconds, self.xruns + other.xruns,
                     self.jack_load + other.jack_load,
                     np.concatenate([self.block_loads, other.block_loads]),
                     np.concatenate([self.lateness_frames, other.lateness_frames]), self.note)

    @property
    def xruns_per_minute(self) -> float:
        return self.xruns / (self.seconds / 60.0)

    def block_load(self, percentile: float) -> float:
        return float(np.percentile(self.block_loads, percentile)) if self.block_loads.size else float("nan")

    def row(self) -> str:
        per_min = self.xruns_per_minute
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


def run_thru(server: Server, monitor: Monitor, seconds: float,
             label: str = "jack_thru (C), baseline", cpu_percent: int = 0) -> Phase:
    """``jack_thru`` alone, or with ``jack_cpu`` (C) burning ``cpu_percent`` of
    every period beside it: a C client doing the engine's share of work."""
    thru = server.client("jack_thru")
    burner = (server.client("jack_cpu", "-n", "burner", "-c", str(cpu_percent))
              if cpu_percent > 0 else None)
    try:
        wait_for_ports(monitor, "jack_thru:input_1")
        monitor.connect("simple:output1", "jack_thru:input_1")
        time.sleep(1.0)
        before = monitor.xruns
        monitor.start_sampling()
        time.sleep(seconds)
        loads = monitor.stop_sampling()
        return Phase(label, seconds, monitor.xruns - before, loads)
    finally:
        for client in (thru, burner):
            if client is not None:
                client.terminate()
                client.wait(timeout=10)


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


def run_headline(server: Server, monitor: Monitor, minutes: float, chunk_s: float,
                 preset: dict) -> tuple[Phase, Phase, Phase]:
    """``jack_thru``, the engine with ``preset`` and ``jack_thru`` beside a
    ``jack_cpu`` burning the engine's share of JACK's DSP load (the
    difference of the two, from the first chunks), alternating in chunks of
    ``chunk_s`` until each ran ``minutes``: (thru, engine, C at equal load)."""
    thru: Phase | None = None
    engine: Phase | None = None
    loaded: Phase | None = None
    percent = 0
    remaining = minutes * 60.0
    while remaining > 1e-6:
        length = min(chunk_s, remaining)
        part = run_thru(server, monitor, length, "jack_thru (C)")
        thru = part if thru is None else thru.merge(part)
        part = run_engine(server, monitor, length, "jack", "engine, six with circuits at 4x", preset)
        engine = part if engine is None else engine.merge(part)
        if loaded is None:
            share = float(np.mean(engine.jack_load)) - float(np.mean(thru.jack_load))
            percent = int(min(99, max(1, round(share))))
        part = run_thru(server, monitor, length,
                        f"jack_thru + jack_cpu -c {percent} (C, the engine's share)", percent)
        loaded = part if loaded is None else loaded.merge(part)
        remaining -= length
        print(f"  {minutes * 60.0 - remaining:.0f} s each: thru {thru.xruns} xruns, engine {engine.xruns} "
              f"xruns, C at {percent} % {loaded.xruns} xruns, engine p99 "
              f"{engine.block_load(99):.3f}", flush=True)
    assert thru is not None and engine is not None and loaded is not None
    return thru, engine, loaded


#: An excess of xruns over the baseline counts when chance explains it less often than this.
SIGNIFICANCE = 0.05


def xrun_excess(engine: Phase, thru: Phase) -> tuple[float, float]:
    """How likely chance alone gives the engine at least its xruns, and the 95 %
    upper bound of its xrun rate as a multiple of ``thru``'s.

    Xruns on a shared VM are rare events (a few a minute) that hit whichever
    client is running: counted over minutes they are Poisson-like, and 16
    against 14 says nothing about which client is worse. Given both phases'
    total, the engine's count is binomial with the engine's share of the time
    under "equal rates": the exact one-sided test of "the engine's rate is
    higher". Bursts (one stall, several xruns) make the true spread wider
    than Poisson's, which makes this test quicker, not slower, to call the
    engine worse."""
    from scipy.stats import binomtest

    total = engine.xruns + thru.xruns
    if total == 0:
        return 1.0, float("nan")
    share = engine.seconds / (engine.seconds + thru.seconds)
    p_value = binomtest(engine.xruns, total, share, alternative="greater").pvalue
    high = binomtest(engine.xruns, total, share, alternative="less").proportion_ci(0.95).high
    # the engine's share of the xruns, as a rate ratio: share/(1-share) * t_thru/t_engine
    ratio = high / (1.0 - high) * thru.seconds / engine.seconds if high < 1.0 else float("inf")
    return float(p_value), float(ratio)


def verdict(thru: Phase, engine: Phase, loaded: Phase) -> list[str]:
    p99 = engine.block_load(99)
    load_ok = p99 < 0.5
    p_value, ratio_high = xrun_excess(engine, thru)
    fewer = engine.xruns_per_minute <= thru.xruns_per_minute
    xrun_ok = fewer or p_value >= SIGNIFICANCE
    if fewer:
        how = "met"
    elif xrun_ok:
        how = (f"met: the excess is within chance (one-sided exact test p = {p_value:.2f}; "
               f"{SIGNIFICANCE:g} would be needed to call the engine worse)")
    else:
        how = f"missed (one-sided exact test p = {p_value:.3f})"
    if math.isfinite(ratio_high):
        bound = (f"The 95 % upper bound of the engine's rate: {ratio_high:.2f}x `jack_thru`'s "
                 "(longer runs narrow it).")
    else:
        bound = "`jack_thru` had none: no bound on the ratio."
    return [
        f"- DSP load p99: **{100 * p99:.1f} %** of the block (target under 50 %): "
        f"**{'met' if load_ok else 'missed'}**.",
        f"- xrun rate: engine **{engine.xruns_per_minute:.2f}/min** ({engine.xruns}) against "
        f"`jack_thru` **{thru.xruns_per_minute:.2f}/min** ({thru.xruns}) in the same run "
        f"(target: no worse): **{how}**. {bound}",
        f"- for scale: `jack_thru` beside a C client burning the engine's share of the "
        f"period met **{loaded.xruns_per_minute:.2f}/min** in the same run "
        f"(the engine {'no more' if engine.xruns <= loaded.xruns else 'more'}).",
    ]


# ------------------------------------------------------------------ report
def describe(preset: dict) -> str:
    return " -> ".join(n["effect"] + (f" ({n['params']['netlist']}, {n['params'].get('oversample', '4')}x)"
                                      if n["effect"] == "circuit" else "") for n in preset["chain"])


TABLE_HEAD = [
    "| phase | s | xruns | xruns/min | JACK DSP load % mean / p99 | "
    "engine block load p50 | p99 | max | callback start late, us p50 / p99 |",
    "|---|---|---|---|---|---|---|---|---|",
]


def report(headline: tuple[Phase, Phase, Phase] | None, phases: list[Phase],
           args: argparse.Namespace) -> str:
    cpu = platform.processor() or platform.machine()
    command = (f"benchmarks/bench_engine.py --minutes {args.minutes:g} "
               f"--chunk-seconds {args.chunk_seconds:g} --seconds {args.seconds:g}"
               + (" --no-comparisons" if args.no_comparisons else ""))
    lines = [
        "# Engine benchmark",
        "",
        f"Written by `{command}` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
        "",
        f"Machine: {platform.node()}, {os.cpu_count()} cores ({cpu}), Linux {platform.release()}, "
        f"Python {platform.python_version()}; a VM shared with other work (load average "
        f"{args.load_start:.1f} at the start, {os.getloadavg()[0]:.1f} at the end; its scheduler noise "
        "gives even a C client xruns: compare with the baseline, not with zero).",
        "",
        f"JACK dummy driver, {SAMPLE_RATE} Hz, {PERIOD}-frame periods "
        f"({PERIOD / SAMPLE_RATE * 1e3:.2f} ms). Input: `jack_simple_client`'s sine. Mono.",
        "",
    ]
    if headline is not None:
        thru, engine, loaded = headline
        lines += [
            "## The issue's measurement",
            "",
            f"The six-effect chain: {describe(six_effect_preset(circuits=True))}; "
            f"{thru.seconds / 60:g} minutes each for the engine, for `jack_thru`, and for "
            "`jack_thru` beside `jack_cpu` (C, from JACK's example clients) burning the "
            "engine's share of every period (the difference of their JACK DSP loads in the "
            f"first chunks), alternating in {args.chunk_seconds:g} s chunks on the same server.",
            "",
            *verdict(thru, engine, loaded),
            "",
            *TABLE_HEAD,
            thru.row(),
            engine.row(),
            loaded.row(),
            "",
        ]
    if phases:
        lines += [
            "## Comparisons",
            "",
            f"- *six builtin*: {describe(six_effect_preset(circuits=False))}",
            "",
            *TABLE_HEAD,
            *[phase.row() for phase in phases],
            "",
        ]
    lines += [
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
    parser.add_argument("--minutes", type=float, default=5.0,
                        help="the issue's measurement: minutes each for the engine and jack_thru")
    parser.add_argument("--chunk-seconds", type=float, default=30.0,
                        help="the engine and jack_thru alternate in chunks this long")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each comparison phase")
    parser.add_argument("--no-comparisons", action="store_true", help="only the issue's measurement")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "engine-benchmark.md")
    args = parser.parse_args()
    args.load_start = os.getloadavg()[0]
    seconds = args.seconds
    builtin = six_effect_preset(circuits=False)
    circuits = six_effect_preset(circuits=True)
    default_interval = sys.getswitchinterval()
    plan: list[tuple[str, float, str, dict | None, float | None, object]] = [
        ("engine, empty chain (overhead)", seconds, "jack", {"name": "Empty", "chain": []}, None, None),
        ("engine, six builtin", seconds, "jack", builtin, None, None),
        ("engine, six builtin, sounddevice on JACK", seconds, "jack-portaudio", builtin, None, None),
        ("six builtin + CPU-bound thread, switch 5 ms", seconds, "jack", builtin,
         default_interval, _cpu_bound),
        ("six builtin + CPU-bound thread, switch 0.5 ms", seconds, "jack", builtin, 0.0005, _cpu_bound),
        ("six builtin + controller-like thread, switch 5 ms", seconds, "jack", builtin,
         default_interval, _controller_like),
        ("six builtin + controller-like thread, switch 0.5 ms", seconds, "jack", builtin,
         0.0005, _controller_like),
    ]
    server = Server()
    monitor = Monitor(server)
    feeder = server.client("jack_simple_client", "simple", server.name)
    headline: tuple[Phase, Phase, Phase] | None = None
    phases: list[Phase] = []
    try:
        wait_for_ports(monitor, "simple:output1")
        for port in monitor.client.get_all_connections("simple:output1"):
            monitor.client.disconnect("simple:output1", port)
        if args.minutes > 0:
            headline = run_headline(server, monitor, args.minutes, args.chunk_seconds, circuits)
            print(*TABLE_HEAD, *(phase.row() for phase in headline), *verdict(*headline),
                  sep="\n", flush=True)
            write(args.out, report(headline, phases, args))  # kept should a later phase hang
        if not args.no_comparisons:
            phases.append(run_thru(server, monitor, seconds))
            print(phases[-1].row(), flush=True)
            for label, length, backend, preset, interval, work in plan:
                phases.append(run_engine(server, monitor, length, backend, label, preset, interval, work))
                print(phases[-1].row(), flush=True)
                write(args.out, report(headline, phases, args))
    finally:
        if "sounddevice" in sys.modules:  # PortAudio must let go of JACK before the server stops
            sys.modules["sounddevice"]._terminate()
        feeder.terminate()
        feeder.wait(timeout=10)
        monitor.close()
        server.stop()
    write(args.out, report(headline, phases, args))
    print(f"wrote {args.out}")


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
