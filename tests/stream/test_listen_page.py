"""The listener page in real Chromium: it plays, and a burst sent through the
engine reaches the page's output; the measured latency goes to the log."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import uvicorn
from fastapi import FastAPI
from playwright.sync_api import sync_playwright

from pedalboard.engine.engine import Engine
from pedalboard.engine.tap import OutputRingReader
from pedalboard.presets import build_chain, parse_preset
from pedalboard.stream.hub import StreamHub
from pedalboard.stream.icecast import wait_until
from pedalboard.stream.routes import RingSource, listener_router

from .test_stream import free_port

SR = 48000
BURST_EVERY_S = 1.0
DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"
log = logging.getLogger(__name__)
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--autoplay-policy=no-user-gesture-required",
                 "--disable-background-networking", "--disable-component-update", "--no-first-run",
                 "--disable-sync"]


def burst_train() -> np.ndarray:
    """5 ms bursts of 1 kHz at 0.8 every half second, silence between."""
    signal = np.zeros(int(BURST_EVERY_S * SR), dtype=np.float32)
    n = int(0.005 * SR)
    signal[:n] = 0.8 * np.sin(2 * np.pi * 1000 * np.arange(n) / SR) * np.hanning(n)
    return signal


class OnsetWatcher(threading.Thread):
    """Reads the engine's output ring and notes the wall-clock time of each burst."""

    def __init__(self, ring_name: str) -> None:
        super().__init__(daemon=True)
        self.reader = OutputRingReader(ring_name)
        self.onsets: list[float] = []
        self.stop_event = threading.Event()

    def run(self) -> None:
        armed = True
        while not self.stop_event.is_set():
            chunk = self.reader.read()[:, 0]
            now = time.time() * 1000.0
            if chunk.size == 0:
                time.sleep(0.001)
                continue
            loud = np.flatnonzero(np.abs(chunk) > 0.3)
            if armed and loud.size:
                self.onsets.append(now - (chunk.size - loud[0]) / SR * 1000.0)
                armed = False
            elif not loud.size and np.max(np.abs(chunk)) < 0.01:
                armed = True


@pytest.fixture(scope="module")
def pedal() -> Iterator[tuple[Engine, str]]:
    engine = Engine("virtual", sample_rate=SR, block_size=64)
    engine.load_chain(build_chain(parse_preset({"name": "Dry", "chain": [{"effect": "gain"}]})))
    engine.backend.play(burst_train(), loop=True)
    engine.start()
    hub = StreamHub(RingSource(engine.output_ring.name), title=lambda: "Dry", frame_ms=10.0)
    hub.start()
    app = FastAPI()
    app.include_router(listener_router(lambda: hub))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    assert wait_until(lambda: server.started, 10)
    yield engine, f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(5)
    hub.stop()
    engine.stop()


def test_listen_page_plays_and_measures_latency(pedal: tuple[Engine, str]) -> None:
    engine, url = pedal
    watcher = OnsetWatcher(engine.output_ring.name)
    watcher.start()
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 390, "height": 844})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        page.goto(f"{url}/listen/?autoplay")
        page.wait_for_function("window.listener && window.listener.playing === true", timeout=15000)
        time.sleep(5.0)
        onsets = page.evaluate("window.listener.onsets.map(o => o.wallMs)")
        shown = page.evaluate("window.listener.latencyMs")
        assert page.locator("#title").inner_text() == "Dry"
        DOCS_IMG.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(DOCS_IMG / "listen-phone.png"))
        browser.close()
    watcher.stop_event.set()
    watcher.join(2)
    assert not errors, errors
    latencies = []
    for heard in onsets:
        sent = [t for t in watcher.onsets if t <= heard]
        if sent:
            latencies.append(heard - sent[-1])
    assert len(latencies) >= 3, f"bursts heard at the page: {len(latencies)}"
    median = float(np.median(latencies))
    log.warning("listener page latency, engine out to page out: median %.0f ms (%s); page shows %.0f ms",
                median, ", ".join(f"{x:.0f}" for x in latencies), shown)
    assert 0.0 < median < BURST_EVERY_S * 1000, f"latency {median:.0f} ms"
