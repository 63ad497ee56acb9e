"""Benchmark the web control service and write docs/server-benchmark.md.

    .venv/bin/python benchmarks/bench_server.py               # 15 s per phase
    .venv/bin/python benchmarks/bench_server.py --seconds 60

A real pedal (``pedal run --audio virtual --no-server``) and the real web
service (uvicorn, its own process), on loopback. Phases, each ``--seconds``:

1. idle: no phone connected; the engine's xruns and DSP load (``status``).
2. sweep: 20 WebSocket clients connected; one of them sweeps a parameter at
   60 messages/s (a finger on a slider). Every client timestamps every
   ``param_changed`` event; the delay from the moment the sweeping client sent
   the value to the moment each client received its event is the figure
   (p50/p99/max over all clients and changes). The engine's xruns and DSP
   load over the same window show whether the phones cost the audio anything:
   they should not, because the server is another process.

The machine is shared (2 cores, other work running): the phone sweep runs in
``--rounds`` rounds, each with the load average at its start, and the target
is judged on the median round, so one burst of someone else's work shows as
an outlier row instead of deciding the result. The web service runs as
``pedal run`` starts it, so it also encodes the live stream meanwhile.

Then, in Chromium at a phone viewport: a footswitch press (the controller's
``press`` command over the local socket, as the hardware does) until the
page's stomp box changes (a MutationObserver's timestamp), 30 presses.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "server"))

import websockets  # noqa: E402
from server_support import PedalProcess, ServerProcess, launch_chromium  # noqa: E402

CLIENTS = 20
RATE_HZ = 60.0
SLOT, PARAM = "reverb", "room_size"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def engine_window(pedal: PedalProcess, seconds: float) -> dict[str, float]:
    """xruns per minute and the DSP load reported at the end of a window."""
    client = pedal.client()
    start = client.request("status")["result"]
    time.sleep(seconds)
    end = client.request("status")["result"]
    client.close()
    return {"xruns_per_min": (end["xruns"] - start["xruns"]) * 60.0 / seconds,
            "dsp_p50": end["dsp_load_p50"], "dsp_p99": end["dsp_load_p99"]}


async def sweep(server: ServerProcess, token: str, pedal: PedalProcess,
                seconds: float) -> tuple[list[float], dict[str, float], int, int]:
    url = f"{server.ws_url}?token={token}"
    sockets = [await websockets.connect(url, max_size=None) for _ in range(CLIENTS)]
    for ws in sockets:
        assert json.loads(await ws.recv())["type"] == "state"
    sent_at: dict[float, float] = {}
    latencies: list[float] = []
    received = [0]

    async def listen(ws: Any) -> None:
        async for text in ws:
            now = time.perf_counter()
            message = json.loads(text)
            if message.get("event") == "param_changed" and message["data"]["param"] == PARAM:
                started = sent_at.get(message["data"]["value"])
                if started is not None:
                    latencies.append((now - started) * 1000.0)
                    received[0] += 1

    listeners = [asyncio.create_task(listen(ws)) for ws in sockets]
    window = asyncio.create_task(asyncio.to_thread(engine_window, pedal, seconds))
    sender = sockets[0]
    count = int(seconds * RATE_HZ)
    begin = time.perf_counter()
    for i in range(count):
        value = round(0.05 + (i % 1000) * 0.0009, 6)
        target = begin + i / RATE_HZ
        await asyncio.sleep(max(0.0, target - time.perf_counter()))
        sent_at[value] = time.perf_counter()
        await sender.send(json.dumps({"v": 1, "id": f"s{i}", "cmd": "set_param",
                                      "args": {"slot": SLOT, "param": PARAM, "value": value}}))
    load = await window
    await asyncio.sleep(1.0)
    for task in listeners:
        task.cancel()
    for ws in sockets:
        await ws.close()
    return latencies, load, count, received[0]


def local_sweep(pedal: PedalProcess, seconds: float) -> dict[str, float]:
    """The same sweep straight into the controller's socket, no web service:
    what the parameter changes themselves cost the DSP (smoothing ramps)."""
    import threading

    stop = threading.Event()

    def sweeper() -> None:
        client = pedal.client()
        begin = time.perf_counter()
        i = 0
        while not stop.is_set():
            time.sleep(max(0.0, begin + i / RATE_HZ - time.perf_counter()))
            client.request("set_param", slot=SLOT, param=PARAM,
                           value=round(0.05 + (i % 1000) * 0.0009, 6))
            i += 1
        client.close()

    thread = threading.Thread(target=sweeper)
    thread.start()
    try:
        return engine_window(pedal, seconds)
    finally:
        stop.set()
        thread.join()


def footswitch_to_page(server: ServerProcess, pedal: PedalProcess, presses: int) -> list[float]:
    from playwright.sync_api import sync_playwright

    figures = []
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                      has_touch=True)
        page = context.new_page()
        page.goto(f"{server.base_url}/")
        page.fill("#pair-code", pedal.pair_code())
        page.click("#pairing button[type=submit]")
        page.wait_for_selector(f".stomp[data-slot={SLOT}]")
        page.wait_for_selector("#link:text('connected')")
        client = pedal.client()
        for _ in range(presses):
            page.evaluate("""(slot) => {
                window.__changedAt = null;
                const stomp = document.querySelector(`.stomp[data-slot=${slot}]`);
                const observer = new MutationObserver(() => {
                    window.__changedAt = performance.timeOrigin + performance.now();
                    observer.disconnect();
                });
                observer.observe(stomp, {attributes: true, attributeFilter: ['aria-pressed']});
            }""", SLOT)
            sent_ms = time.time() * 1000.0
            client.request("press", switch="fs1")
            page.wait_for_function("() => window.__changedAt !== null", timeout=10000)
            figures.append(page.evaluate("() => window.__changedAt") - sent_ms)
            time.sleep(0.1)
        client.close()
        browser.close()
    return figures


class Round:
    """One sweep window: its latencies, the engine's load, the machine's load."""

    def __init__(self, latencies: list[float], busy: dict[str, float], sent: int, received: int,
                 load_average: float) -> None:
        self.latencies = latencies
        self.busy = busy
        self.sent = sent
        self.received = received
        self.load_average = load_average

    @property
    def p99(self) -> float:
        return percentile(self.latencies, 99)

    def row(self, number: int) -> str:
        lat = self.latencies
        return (f"| {number} | {self.load_average:.1f} | {self.sent} | {self.sent * CLIENTS} | "
                f"{self.received} | {percentile(lat, 50):.2f} | {percentile(lat, 95):.2f} | "
                f"{self.p99:.2f} | {max(lat, default=float('nan')):.2f} |")


def median_round(rounds: list[Round]) -> Round:
    return sorted(rounds, key=lambda r: r.p99)[len(rounds) // 2]


def write_report(path: Path, seconds: float, idle: dict[str, float], local: dict[str, float],
                 rounds: list[Round], pages: list[float]) -> None:
    median = median_round(rounds)
    busy = median.busy
    lines = [
        "# Web control service benchmark",
        "",
        "Written by `benchmarks/bench_server.py` (do not edit by hand). A real pedal "
        "(`pedal run --audio virtual`) and the real web service (uvicorn, its own process) "
        f"on loopback; {seconds:g} s per phase. Machine: {platform.machine()}, "
        f"{platform.python_implementation()} {platform.python_version()}, "
        f"{platform.system()} {platform.release()}; 2 shared cores.",
        "",
        f"## {CLIENTS} phones, one sweeping a parameter at {RATE_HZ:g} messages/s",
        "",
        "Delay from the sweeping phone sending `set_param` to each phone receiving the "
        "`param_changed` event (all phones, every change), in rounds; the load average "
        "(1 min) at each round's start shows how busy the shared machine was.",
        "",
        "| round | load average | changes sent | events expected | events received | "
        "p50 ms | p95 ms | p99 ms | max ms |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        *(r.row(i + 1) for i, r in enumerate(rounds)),
        "",
        f"Target: p99 under 50 ms (median round: {median.p99:.2f} ms). "
        f"Result: **{'met' if median.p99 < 50 else 'NOT met'}**.",
        "",
        "## The engine while the phones are busy",
        "",
        "From the engine's `status` at the end of each window (the DSP load is the engine's "
        "processing time per block as a fraction of the block period).",
        "",
        "| phase | xruns per minute | DSP load p50 | DSP load p99 |",
        "|---|---:|---:|---:|",
        f"| idle, no phone | {idle['xruns_per_min']:.1f} | {idle['dsp_p50']:.3f} | {idle['dsp_p99']:.3f} |",
        f"| {RATE_HZ:g}/s sweep on the local socket, no phone | {local['xruns_per_min']:.1f} | "
        f"{local['dsp_p50']:.3f} | {local['dsp_p99']:.3f} |",
        f"| {CLIENTS} phones, {RATE_HZ:g}/s sweep (median round) | {busy['xruns_per_min']:.1f} | "
        f"{busy['dsp_p50']:.3f} | {busy['dsp_p99']:.3f} |",
        "",
        "A moving parameter costs DSP by itself: its smoothing ramp recomputes the "
        "effect's coefficients every 32 samples. The second row is that cost without any "
        "web traffic; the third adds 20 phones and the web service. When the second and "
        "third rows agree, the phones cost the audio nothing: the web service is another "
        "process and never holds the engine's GIL. Xruns on this VM come from scheduler "
        "noise (even C `jack_thru` shows a few per 30 s): compare rows, not with zero.",
        "",
        "## Footswitch to phone",
        "",
        "A footswitch press through the controller (`press fs1` on the local socket) until "
        "Chromium's page at 390x844 shows the stomp box change (MutationObserver time stamp; "
        f"{len(pages)} presses).",
        "",
        "| p50 ms | p95 ms | max ms |",
        "|---:|---:|---:|",
        f"| {percentile(pages, 50):.1f} | {percentile(pages, 95):.1f} | "
        f"{max(pages, default=float('nan')):.1f} |",
        "",
        f"Target: within 100 ms. Result: **{'met' if max(pages, default=1e9) < 100 else 'NOT met'}**.",
        "",
    ]
    path.write_text("\n".join(lines))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--presses", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3, help="phone sweep rounds")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "server-benchmark.md")
    args = parser.parse_args()
    pedal = PedalProcess()
    server = ServerProcess(pedal.data_dir)
    try:
        token = server.pair(pedal.pair_code())
        time.sleep(2.0)  # let the start-up settle before the idle window
        idle = engine_window(pedal, args.seconds)
        local = local_sweep(pedal, args.seconds)
        rounds = []
        for _ in range(max(1, args.rounds)):
            load_average = os.getloadavg()[0]
            latencies, busy, sent, received = asyncio.run(sweep(server, token, pedal, args.seconds))
            rounds.append(Round(latencies, busy, sent, received, load_average))
        pages = footswitch_to_page(server, pedal, args.presses)
    finally:
        server.stop()
        pedal.stop()
    write_report(args.out, args.seconds, idle, local, rounds, pages)
    print(args.out.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
