"""Streaming latency and cost, measured end to end with real parts.

* engine out -> page out for the WebSocket listener page (WebCodecs +
  AudioWorklet), for ``<audio>`` on ``/stream.ogg``, and for ``<audio>`` via
  Icecast (icecast2 on loopback), all in real Chromium;
* engine out -> receiver for RTP L24 (a UDP receiver parsing the packets);
* CPU per HTTP listener and the engine's xruns with 50 listeners connected.

The engine (virtual clock, 64-frame blocks) plays 5 ms bursts at irregular intervals;
a thread reading the engine's output ring notes when each burst left the
engine, and each receiver notes when it came out. Writes docs/streaming.md.

    .venv/bin/python benchmarks/bench_stream.py
"""

from __future__ import annotations

import argparse
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import uvicorn
from fastapi import FastAPI
from fastapi.responses import HTMLResponse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pedalboard.engine.engine import Engine  # noqa: E402
from pedalboard.presets import build_chain, parse_preset  # noqa: E402
from pedalboard.stream.icecast import IcecastSource, IcecastTarget, wait_until  # noqa: E402
from pedalboard.stream.latency import OnsetWatcher, burst_train, estimate_latency  # noqa: E402
from pedalboard.stream.rtp import from_l24  # noqa: E402
from pedalboard.stream.service import StreamOptions, StreamService  # noqa: E402
from tests.stream.test_listen_page import CHROMIUM_ARGS  # noqa: E402
from tests.stream.test_stream import free_port, icecast  # noqa: E402

SR = 48000
BITRATE = 128000

AUDIO_PAGE = """<!doctype html><meta charset="utf-8"><title>audio element</title>
<audio id="a" crossorigin="anonymous" autoplay></audio>
<script type="module">
const worklet = `class Onset extends AudioWorkletProcessor {
  constructor() { super(); this.armed = true; }
  process(inputs) {
    const x = inputs[0][0]; if (!x) return true;
    let peak = 0; for (let i = 0; i < x.length; i++) peak = Math.max(peak, Math.abs(x[i]));
    if (this.armed && peak > 0.3) { this.port.postMessage(currentFrame); this.armed = false; }
    else if (peak < 0.01) this.armed = true;
    return true; } }
registerProcessor("onset", Onset);`;
window.onsets = []; window.playing = false;
const ctx = new AudioContext({ latencyHint: "interactive" });
await ctx.audioWorklet.addModule(URL.createObjectURL(new Blob([worklet], { type: "text/javascript" })));
const audio = document.getElementById("a");
const node = new AudioWorkletNode(ctx, "onset");
ctx.createMediaElementSource(audio).connect(node);
node.connect(ctx.destination);
node.port.onmessage = (e) => {
  const stamp = ctx.getOutputTimestamp();
  const out = ((ctx.outputLatency || 0) + (ctx.baseLatency || 0)) * 1000;
  window.onsets.push(performance.timeOrigin + stamp.performanceTime
                     + (e.data / ctx.sampleRate - stamp.contextTime) * 1000 + out);
};
audio.onplaying = () => { window.playing = true; };
audio.src = new URLSearchParams(location.search).get("src");
audio.play();
</script>"""


class RtpReceiver(threading.Thread):
    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", port))
        self.sock.settimeout(0.2)
        self.onsets: list[float] = []
        self.stop_event = threading.Event()

    def run(self) -> None:
        armed = True
        while not self.stop_event.is_set():
            try:
                data = self.sock.recv(2048)
            except TimeoutError:
                continue
            now = time.time() * 1000.0
            samples = from_l24(data[12:], 1)[0]
            loud = np.flatnonzero(np.abs(samples) > 0.3)
            if armed and loud.size:
                self.onsets.append(now)
                armed = False
            elif not loud.size and np.max(np.abs(samples)) < 0.01:
                armed = True


def browser_latency(url: str, seconds: float, *, listener_page: bool) -> list[float]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(url)
        if listener_page:
            page.wait_for_function("window.listener && window.listener.playing === true", timeout=20000)
        else:
            page.wait_for_function("window.playing === true", timeout=30000)
        time.sleep(seconds)
        onsets = page.evaluate(
            "window.listener.onsets.map(o => o.wallMs)" if listener_page else "window.onsets"
        )
        browser.close()
    return onsets


def summary(sent: list[float], heard: list[float]) -> str:
    latency, pairs = estimate_latency(sent, heard)
    if not pairs:
        return f"no bursts paired ({len(heard)} heard)"
    return f"{latency:.0f} ms ({pairs} of {len(heard)} bursts paired)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="per measurement")
    parser.add_argument("--listeners", type=int, default=50)
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "streaming-benchmark.md")
    args = parser.parse_args()
    from rich.console import Console

    console = Console()
    engine = Engine("virtual", sample_rate=SR, block_size=64)
    engine.load_chain(build_chain(parse_preset({"name": "Dry", "chain": [{"effect": "gain"}]})))
    engine.backend.play(burst_train(), loop=True)
    engine.start()
    rtp_port = free_port() & ~1
    receiver = RtpReceiver(rtp_port)
    receiver.start()
    service = StreamService(
        StreamOptions(bitrate=BITRATE, frame_ms=10.0, rtp=f"127.0.0.1:{rtp_port}"), title=lambda: "Dry"
    )
    service.start(engine.output_ring.name)
    app = FastAPI()
    app.include_router(service.router(lambda _: True))
    app.get("/bench-audio", response_class=HTMLResponse)(lambda: AUDIO_PAGE)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    assert wait_until(lambda: server.started, 10)
    base = f"http://127.0.0.1:{port}"
    watcher = OnsetWatcher(engine.output_ring.name)
    watcher.start()
    rows = []
    try:
        with console.status("WebSocket listener page ..."):
            heard = browser_latency(f"{base}/listen/?autoplay", args.seconds, listener_page=True)
            rows.append(("WebSocket + WebCodecs + AudioWorklet (`/listen`)", summary(watcher.onsets, heard)))
        with console.status("<audio> on /stream.ogg ..."):
            heard = browser_latency(
                f"{base}/bench-audio?src={base}/stream.ogg", args.seconds, listener_page=False
            )
            rows.append(("`<audio>` on `/stream.ogg`", summary(watcher.onsets, heard)))
        with console.status("<audio> via Icecast ..."), tempfile.TemporaryDirectory() as folder:
            ice_port, password = free_port(), "bench"
            source = IcecastSource(
                IcecastTarget.parse(f"icecast://source:{password}@127.0.0.1:{ice_port}/pedal.ogg"),
                service.hub.headers(),
            )
            service.hub.page_sinks.append(source.send)
            source.start()
            with icecast(Path(folder), ice_port, password):
                wait_until(source.connected.is_set, 20)
                heard = browser_latency(
                    f"{base}/bench-audio?src=http://127.0.0.1:{ice_port}/pedal.ogg",
                    args.seconds,
                    listener_page=False,
                )
                rows.append(("`<audio>` via Icecast 2.4 (burst-size 0)", summary(watcher.onsets, heard)))
            service.hub.page_sinks.remove(source.send)
            source.stop()
        rows.append(
            ("RTP L24, 1 ms packets (engine out to UDP receiver)", summary(watcher.onsets, receiver.onsets))
        )
        with console.status(f"{args.listeners} HTTP listeners ..."):
            load = listener_load(engine, base, args.listeners, args.seconds)
    finally:
        watcher.stop()
        receiver.stop_event.set()
        server.should_exit = True
        service.stop()
        engine.stop()
    write_report(args.output, rows, load, args)
    for name, value in rows:
        console.print(f"{name}: {value}")
    console.print(load)
    console.print(f"wrote {args.output}")
    return 0


LISTENERS_SCRIPT = """
import sys, threading, time, urllib.request
base, count, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
received = [0] * count
def listen(i):
    with urllib.request.urlopen(base + "/stream.ogg", timeout=10) as response:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            received[i] += len(response.read1(4096))
threads = [threading.Thread(target=listen, args=(i,)) for i in range(count)]
[t.start() for t in threads]
[t.join() for t in threads]
print(sum(received))
"""


def listener_load(engine: Engine, base: str, count: int, seconds: float) -> dict[str, float]:
    """CPU of this process (engine + hub + HTTP server) and engine xruns, idle and
    with ``count`` listeners reading ``/stream.ogg`` from another process."""
    import subprocess

    def window(listeners: int) -> tuple[float, int, int]:
        clients = None
        if listeners:
            clients = subprocess.Popen(
                [sys.executable, "-c", LISTENERS_SCRIPT, base, str(listeners), str(seconds + 2.0)],
                stdout=subprocess.PIPE,
                text=True,
            )
        time.sleep(1.0)
        xruns, cpu, start = engine.status()["xruns"], time.process_time(), time.monotonic()
        time.sleep(seconds)
        cpu_used = (time.process_time() - cpu) / (time.monotonic() - start)
        xruns = engine.status()["xruns"] - xruns
        total = int(clients.communicate(timeout=30)[0]) if clients else 0
        return cpu_used, xruns, total

    idle_cpu, idle_xruns, _ = window(0)
    busy_cpu, busy_xruns, total = window(count)
    return {
        "listeners": count,
        "idle_cpu": idle_cpu,
        "busy_cpu": busy_cpu,
        "cpu_per_listener": (busy_cpu - idle_cpu) / count,
        "idle_xruns": idle_xruns,
        "busy_xruns": busy_xruns,
        "kbit_per_listener": total * 8 / 1000 / (seconds + 2.0) / count,
    }


def write_report(
    path: Path, rows: list[tuple[str, str]], load: dict[str, float], args: argparse.Namespace
) -> None:
    relay_mbit = BITRATE * 1.05 / 1e6  # Ogg framing adds ~5 %
    per_listener = load["cpu_per_listener"]
    lines = [
        "# Streaming: latency and cost",
        "",
        "Measured by `benchmarks/bench_stream.py` on loopback: the engine (virtual clock, 64-frame blocks)",
        "plays 5 ms bursts at irregular intervals (0.7-1.6 s); the time each burst leaves the engine (read",
        "from its output ring) is compared with the time it comes out of each receiver (Chromium's audio",
        "output clock mapped to wall-clock time; a UDP receiver for RTP). The delay that pairs the most",
        f"bursts is the latency. Opus at {BITRATE // 1000} kb/s, 10 ms frames. Headless Chromium on a",
        "2-core machine shared with the engine: a phone on Wi-Fi adds its network and output latency.",
        "",
        "| path | engine out -> receiver out (median) |",
        "|---|---|",
        *[f"| {name} | {value} |" for name, value in rows],
        "",
        f"## {int(load['listeners'])} HTTP listeners on `/stream.ogg`",
        "",
        "| | idle | with listeners |",
        "|---|---:|---:|",
        f"| CPU of the streaming process (cores) | {load['idle_cpu']:.3f} | {load['busy_cpu']:.3f} |",
        f"| engine xruns in {args.seconds:g} s | {load['idle_xruns']} | {load['busy_xruns']} |",
        "",
        f"CPU per listener: {per_listener * 1000:.2f} ms per second ({per_listener * 100:.2f} % of a core;",
        "the listeners run in another process, the engine, hub and HTTP server in this one);",
        f"data per listener {load['kbit_per_listener']:.0f} kb/s. The encoder runs once whatever the",
        "number of listeners.",
        "",
        "## How far one pedal reaches (on paper)",
        "",
        f"One stream at {BITRATE // 1000} kb/s plus Ogg framing is about {relay_mbit:.2f} Mb/s per listener.",
        "",
        "| tier | listeners | uplink needed |",
        "|---|---:|---:|",
        f"| the pedal itself (`/stream.ogg` + `/listen`), home Wi-Fi | ~20 | {20 * relay_mbit:.1f} Mb/s |",
        f"| one Icecast relay on a 100 Mb/s link (70 % usable) | {int(70 / relay_mbit)} | 70 Mb/s |",
        f"| one Icecast relay on a 1 Gb/s link (70 % usable) | {int(700 / relay_mbit)} | 700 Mb/s |",
        f"| a master feeding 10 relays of 1 Gb/s | {10 * int(700 / relay_mbit)} "
        f"| master: {10 * relay_mbit:.1f} Mb/s |",
        "",
        "The pedal sends one source stream to one Icecast master whatever the audience; Icecast relays",
        "(`<relay>` or `<master-server>` in icecast.xml) pull from the master and serve listeners, so the",
        "audience grows by adding relays, never by loading the pedal. Icecast adds its own buffering: with",
        "`burst-size 0` a new listener starts at once but the `<audio>` element still buffers about a second",
        "before it plays; the WebSocket page is the low-latency path on the local network.",
        "",
    ]
    path.write_text("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
