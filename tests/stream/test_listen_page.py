"""The listener page and a plain ``<audio>`` element in real Chromium: they
play, and bursts sent through the engine reach the page's output; the
measured latency goes to the log (figures belong in the benchmark)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from playwright.sync_api import sync_playwright

from pedalboard.engine.engine import Engine
from pedalboard.presets import build_chain, parse_preset
from pedalboard.stream.hub import StreamHub
from pedalboard.stream.icecast import wait_until
from pedalboard.stream.latency import (
    AUDIO_ELEMENT_PAGE,
    OnsetWatcher,
    audio_element_report,
    burst_train,
    estimate_latency,
)
from pedalboard.stream.routes import RingSource, listener_router

from .test_stream import free_port

SR = 48000
DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"
log = logging.getLogger(__name__)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--autoplay-policy=no-user-gesture-required",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def pedal() -> Iterator[tuple[Engine, str, StreamHub]]:
    engine = Engine("virtual", sample_rate=SR, block_size=64)
    engine.load_chain(build_chain(parse_preset({"name": "Dry", "chain": [{"effect": "gain"}]})))
    engine.backend.play(burst_train(), loop=True)
    engine.start()
    hub = StreamHub(RingSource(engine.output_ring.name), title=lambda: "Dry", frame_ms=10.0)
    hub.start()
    app = FastAPI()
    app.include_router(listener_router(lambda: hub))
    app.get("/audio-element", response_class=HTMLResponse)(lambda: AUDIO_ELEMENT_PAGE)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    assert wait_until(lambda: server.started, 10)
    yield engine, f"http://127.0.0.1:{port}", hub
    server.should_exit = True
    thread.join(5)
    hub.stop()
    engine.stop()


def test_listen_page_plays_and_measures_latency(pedal: tuple[Engine, str, StreamHub]) -> None:
    engine, url, _ = pedal
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
        # Bursts go out about once a second; on a loaded machine a few are
        # lost to the jitter buffer's underruns, so listen until three pair up.
        deadline = time.monotonic() + 30.0
        while True:
            time.sleep(2.0)
            onsets = page.evaluate("window.listener.onsets.map(o => o.wallMs)")
            if estimate_latency(watcher.onsets, onsets)[1] >= 3 or time.monotonic() > deadline:
                break
        shown = page.evaluate("window.listener.latencyMs")
        assert page.locator("#title").inner_text() == "Dry"
        # The page counts its audience (this page's own socket) and passes the link on.
        page.wait_for_function("document.querySelector('#listeners').textContent === '1'",
                               timeout=10000)
        page.click(".share summary")
        page.wait_for_function("document.querySelector('#share-qr').naturalWidth > 100", timeout=10000)
        assert page.locator("#share-url").inner_text() == f"{url}/listen/"
        DOCS_IMG.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(DOCS_IMG / "listen-phone.png"), full_page=True)
        browser.close()
    watcher.stop()
    assert not errors, errors
    latency, pairs = estimate_latency(watcher.onsets, onsets)
    assert pairs >= 3, f"bursts heard at the page: {len(onsets)}, paired with the engine's: {pairs}"
    log.warning(
        "listener page latency, engine out to page out: %.0f ms over %d bursts; page shows %.0f ms",
        latency,
        pairs,
        shown,
    )
    assert 0.0 < latency < 500.0, f"latency {latency:.0f} ms"


def test_audio_element_plays_the_padded_stream(pedal: tuple[Engine, str, StreamHub]) -> None:
    """Chromium's ``<audio>`` on /stream.ogg: the browser gets padded pages, plays
    them, and the engine's bursts come out of the element."""
    engine, url, hub = pedal
    watcher = OnsetWatcher(engine.output_ring.name)
    watcher.start()
    errors: list[str] = []
    kinds: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{url}/audio-element?src={url}/stream.ogg")
        page.wait_for_function("window.playing === true", timeout=30000)
        kinds = [listener.kind for listener in list(hub._listeners)]
        deadline = time.monotonic() + 30.0
        while True:
            time.sleep(2.0)
            report = audio_element_report(page)
            if estimate_latency(watcher.onsets, report["onsets"])[1] >= 3 or time.monotonic() > deadline:
                break
        browser.close()
    watcher.stop()
    assert not errors, errors
    assert kinds == ["ogg-padded"]
    latency, pairs = estimate_latency(watcher.onsets, report["onsets"])
    assert pairs >= 3, f"bursts heard at the element: {len(report['onsets'])}, paired: {pairs}"
    log.warning(
        "<audio> on padded /stream.ogg: %.0f ms engine out to page out over %d bursts; started in "
        "%.0f ms; stalled %d times",
        latency,
        pairs,
        report["startMs"],
        report["waits"],
    )
