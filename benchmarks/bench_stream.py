"""Streaming latency and cost, measured end to end with real parts.

* engine out -> page out for the WebSocket listener page (WebCodecs +
  AudioWorklet), for ``<audio>`` on ``/stream.ogg`` (padded, as browsers get
  it, and plain), for ``<audio>`` at other padded byte rates, and for
  ``<audio>`` via Icecast (icecast2 on loopback), all in real Chromium, with
  each element's start-up time and stalls;
* engine out -> receiver for RTP L24 (a UDP receiver parsing the packets);
* CPU per HTTP listener and the engine's xruns with 50 plain and 20 padded
  listeners connected.

The engine (virtual clock, 64-frame blocks) plays 5 ms bursts at irregular intervals;
a thread reading the engine's output ring notes when each burst left the
engine, and each receiver notes when it came out. Writes
docs/streaming-benchmark.md.

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
from pedalboard.stream.latency import (  # noqa: E402
    AUDIO_ELEMENT_PAGE,
    OnsetWatcher,
    audio_element_report,
    burst_train,
    estimate_latency,
)
from pedalboard.stream.rtp import from_l24  # noqa: E402
from pedalboard.stream.service import StreamOptions, StreamService  # noqa: E402
from tests.stream.test_listen_page import CHROMIUM_ARGS  # noqa: E402
from tests.stream.test_stream import free_port, icecast  # noqa: E402

SR = 48000
BITRATE = 128000

#: Byte rates the padded stream is measured at (b/s), besides the hub's default.
PAD_SWEEP = (512_000, 1_000_000, 4_000_000)


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


def listen_page_latency(url: str, seconds: float) -> list[float]:
    """Onsets (wall-clock ms) at the WebSocket listener page's output."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(url)
        page.wait_for_function("window.listener && window.listener.playing === true", timeout=20000)
        time.sleep(seconds)
        onsets = page.evaluate("window.listener.onsets.map(o => o.wallMs)")
        browser.close()
    return onsets


def audio_element(base: str, src: str, seconds: float) -> dict:
    """What an ``<audio>`` element playing ``src`` noted (see AUDIO_ELEMENT_PAGE)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(f"{base}/bench-audio?src={src}")
        page.wait_for_function("window.playing === true", timeout=30000)
        time.sleep(seconds)
        report = audio_element_report(page)
        browser.close()
    return report


def summary(sent: list[float], heard: list[float]) -> str:
    latency, pairs = estimate_latency(sent, heard)
    if not pairs:
        return f"no bursts paired ({len(heard)} heard)"
    return f"{latency:.0f} ms ({pairs} of {len(heard)} bursts paired)"


def element_row(name: str, kbps: float, sent: list[float], report: dict) -> tuple[str, ...]:
    return (
        name,
        f"{kbps:.0f} kb/s",
        f"{report['startMs']:.0f} ms",
        summary(sent, report["onsets"]),
        str(report["waits"]),
    )


class ByteRate:
    """Counts the plain Ogg pages' bytes (a page sink) to give the stream's byte rate."""

    def __init__(self) -> None:
        self.bytes = 0
        self.start = time.monotonic()

    def __call__(self, page: bytes) -> None:
        self.bytes += len(page)

    def kbps(self) -> float:
        return self.bytes * 8 / 1000 / (time.monotonic() - self.start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=12.0, help="per measurement")
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
    hub = service.hub
    assert hub is not None
    plain_rate = ByteRate()
    hub.page_sinks.append(plain_rate)
    default_pad = hub.pad_bytes_per_s
    app = FastAPI()
    app.include_router(service.router(lambda _: True))
    app.get("/bench-audio", response_class=HTMLResponse)(lambda: AUDIO_ELEMENT_PAGE)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    assert wait_until(lambda: server.started, 10)
    base = f"http://127.0.0.1:{port}"
    watcher = OnsetWatcher(engine.output_ring.name)
    watcher.start()
    sent = watcher.onsets  # grows as the engine plays
    rows: list[tuple[str, str]] = []
    elements: list[tuple[str, ...]] = []
    sweep: list[tuple[str, ...]] = []
    try:
        with console.status("WebSocket listener page ..."):
            heard = listen_page_latency(f"{base}/listen/?autoplay", args.seconds)
            rows.append(("WebSocket + WebCodecs + AudioWorklet (`/listen`)", summary(watcher.onsets, heard)))
        with console.status("<audio> on /stream.ogg ..."):
            report = audio_element(base, f"{base}/stream.ogg", args.seconds)
            elements.append(element_row("`<audio>` on `/stream.ogg` (a browser: padded)",
                                        default_pad * 8 / 1000, watcher.onsets, report))
            rows.append(("`<audio>` on `/stream.ogg` (padded for browsers)", summary(sent, report["onsets"])))
        with console.status("<audio> on /stream.ogg?pad=0 ..."):
            report = audio_element(base, f"{base}/stream.ogg?pad=0", args.seconds)
            elements.append(element_row("`<audio>` on `/stream.ogg?pad=0` (plain)", plain_rate.kbps(),
                                        watcher.onsets, report))
            rows.append(("`<audio>` on `/stream.ogg?pad=0` (plain)", summary(sent, report["onsets"])))
        for rate in PAD_SWEEP:
            with console.status(f"<audio>, padded to {rate} b/s ..."):
                hub.pad_bytes_per_s = rate // 8
                report = audio_element(base, f"{base}/stream.ogg?pad=1", args.seconds)
                sweep.append(element_row(f"padded to {rate / 1e6:g} Mb/s", rate / 1000, sent, report))
        hub.pad_bytes_per_s = default_pad
        with console.status("<audio> via Icecast ..."), tempfile.TemporaryDirectory() as folder:
            ice_port, password = free_port(), "bench"
            source = IcecastSource(
                IcecastTarget.parse(f"icecast://source:{password}@127.0.0.1:{ice_port}/pedal.ogg"),
                hub.headers,
            )
            hub.page_sinks.append(source.send)
            source.start()
            with icecast(Path(folder), ice_port, password):
                wait_until(source.connected.is_set, 20)
                report = audio_element(base, f"http://127.0.0.1:{ice_port}/pedal.ogg", args.seconds)
                elements.append(element_row("`<audio>` via Icecast 2.4 (burst-size 0, plain)",
                                            plain_rate.kbps(), watcher.onsets, report))
                rows.append(("`<audio>` via Icecast 2.4 (burst-size 0)", summary(sent, report["onsets"])))
            hub.page_sinks.remove(source.send)
            source.stop()
        rows.append(
            ("RTP L24, 1 ms packets (engine out to UDP receiver)", summary(watcher.onsets, receiver.onsets))
        )
        with console.status(f"{args.listeners} HTTP listeners ..."):
            load = listener_load(engine, base, args.listeners, args.seconds)
        with console.status("20 padded HTTP listeners ..."):
            padded_load = listener_load(engine, base, 20, args.seconds, query="?pad=1")
    finally:
        watcher.stop()
        receiver.stop_event.set()
        server.should_exit = True
        service.stop()
        engine.stop()
    write_report(args.output, rows, elements, sweep, load, padded_load, plain_rate.kbps(), args)
    for name, value in rows:
        console.print(f"{name}: {value}")
    for row in elements + sweep:
        console.print(" | ".join(row))
    console.print(load)
    console.print(padded_load)
    console.print(f"wrote {args.output}")
    return 0


LISTENERS_SCRIPT = """
import sys, threading, time, urllib.request
base, count, seconds, query = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
received = [0] * count
def listen(i):
    with urllib.request.urlopen(base + "/stream.ogg" + query, timeout=10) as response:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            received[i] += len(response.read1(4096))
threads = [threading.Thread(target=listen, args=(i,)) for i in range(count)]
[t.start() for t in threads]
[t.join() for t in threads]
print(sum(received))
"""


def listener_load(engine: Engine, base: str, count: int, seconds: float, query: str = "") -> dict[str, float]:
    """CPU of this process (engine + hub + HTTP server) and engine xruns, idle and
    with ``count`` listeners reading ``/stream.ogg`` + ``query`` from another process."""
    import subprocess

    def window(listeners: int) -> tuple[float, int, int]:
        clients = None
        if listeners:
            clients = subprocess.Popen(
                [sys.executable, "-c", LISTENERS_SCRIPT, base, str(listeners), str(seconds + 2.0), query],
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
    path: Path,
    rows: list[tuple[str, str]],
    elements: list[tuple[str, ...]],
    sweep: list[tuple[str, ...]],
    load: dict[str, float],
    padded_load: dict[str, float],
    plain_kbps: float,
    args: argparse.Namespace,
) -> None:
    relay_mbit = BITRATE * 1.05 / 1e6  # Ogg framing adds ~5 %
    per_listener = load["cpu_per_listener"]
    padded_per_listener = padded_load["cpu_per_listener"]
    try:
        import os

        loadavg = "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    except OSError:
        loadavg = "load average unknown"
    element_header = [
        "| path | bytes on the wire | start (src to playing) | engine out -> element out (median) | stalls |",
        "|---|---:|---:|---|---:|",
    ]
    lines = [
        "# Streaming: latency and cost",
        "",
        "Measured by `benchmarks/bench_stream.py` on loopback: the engine (virtual clock, 64-frame blocks)",
        "plays 5 ms bursts at irregular intervals (0.7-1.6 s); the time each burst leaves the engine (read",
        "from its output ring) is compared with the time it comes out of each receiver (Chromium's audio",
        "output clock mapped to wall-clock time; a UDP receiver for RTP). The delay that pairs the most",
        f"bursts is the latency. Opus at {BITRATE // 1000} kb/s VBR, 10 ms frames. Headless Chromium on",
        "a 2-core machine shared with other work: a phone on Wi-Fi adds its network and output latency.",
        f"The machine's {loadavg} at the end of the run. A stall (the element running dry",
        "and waiting) adds its length to the delay from then on, so a run with stalls pairs fewer bursts.",
        "",
        "| path | engine out -> receiver out (median) |",
        "|---|---|",
        *[f"| {name} | {value} |" for name, value in rows],
        "",
        "## `<audio>` in Chromium",
        "",
        *element_header,
        *[f"| {' | '.join(row)} |" for row in elements],
        "",
        "Chromium's media element reads an HTTP resource through a cache that hands data to its demuxer",
        "in whole 32 KiB blocks. It starts playing once the first block is in, from the first byte it",
        "received, and never skips ahead: the time the first 32 KiB took to arrive becomes the lag for",
        "good, and every later block arrives one block's time after its first byte was sent. So the",
        "delay is set by the byte rate, not by page sizes, granule positions, flushing or HTTP headers:",
        "about one block's time (32 KiB / bytes per second) plus 0.2-0.3 s of the element's own",
        "buffering, decoding and output; a stall adds to it.",
        f"The plain stream here ran at {plain_kbps:.0f} kb/s (the bursts are mostly silence, and VBR",
        f"Opus spends little on silence; a guitar at {BITRATE // 1000} kb/s fills a block in about 2 s). A",
        "browser (a `Mozilla/` user agent) therefore gets the same Opus packets with Opus padding",
        "(RFC 6716 3.2.5; the decoder skips it, the audio is bit for bit the same) up to 2 Mb/s;",
        "`?pad=0` asks for the plain stream, `?pad=1` for the padded one. Icecast forwards the plain",
        "stream (its relays' bandwidth matters more), so `<audio>` through Icecast lags by the plain",
        "stream's block time; the listener page (`/listen`) is the low-latency path there.",
        "",
        "The same element with other padded byte rates:",
        "",
        *element_header,
        *[f"| {' | '.join(row)} |" for row in sweep],
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
        f"data per listener {load['kbit_per_listener']:.0f} kb/s (plain: not a browser). The encoder runs",
        "once whatever the number of listeners.",
        "",
        f"{int(padded_load['listeners'])} padded listeners (browsers): CPU per listener "
        f"{padded_per_listener * 1000:.2f} ms per second ({padded_per_listener * 100:.2f} % of a core),",
        f"data per listener {padded_load['kbit_per_listener']:.0f} kb/s, engine xruns in {args.seconds:g} s: "
        f"{padded_load['idle_xruns']} idle, {padded_load['busy_xruns']} with them.",
        "",
        "## How far one pedal reaches (on paper)",
        "",
        f"One stream at {BITRATE // 1000} kb/s plus Ogg framing is about {relay_mbit:.2f} Mb/s per listener;",
        "a browser on `/stream.ogg` takes 2 Mb/s (padded), a listener page (`/listen`) the plain rate.",
        "",
        "| tier | listeners | uplink needed |",
        "|---|---:|---:|",
        f"| the pedal itself, `/listen` pages on home Wi-Fi | ~20 | {20 * relay_mbit:.1f} Mb/s |",
        "| the pedal itself, browsers on `/stream.ogg`, home Wi-Fi | ~20 | 40 Mb/s |",
        f"| one Icecast relay on a 100 Mb/s link (70 % usable) | {int(70 / relay_mbit)} | 70 Mb/s |",
        f"| one Icecast relay on a 1 Gb/s link (70 % usable) | {int(700 / relay_mbit)} | 700 Mb/s |",
        f"| a master feeding 10 relays of 1 Gb/s | {10 * int(700 / relay_mbit)} "
        f"| master: {10 * relay_mbit:.1f} Mb/s |",
        "",
        "The pedal sends one source stream to one Icecast master whatever the audience; Icecast relays",
        "(`<relay>` or `<master-server>` in icecast.xml) pull from the master and serve listeners, so the",
        "audience grows by adding relays, never by loading the pedal.",
        "",
    ]
    path.write_text("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
