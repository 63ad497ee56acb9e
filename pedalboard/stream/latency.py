"""Measuring stream latency end to end: bursts out of the engine, onsets at a receiver.

The engine plays short bursts at irregular intervals; the time each burst
leaves the engine is noted by :class:`OnsetWatcher` (reading the engine's
output ring), and a receiver notes when each comes out. Because the spacing
is irregular, only the true delay lines every heard burst up with a sent one:
:func:`estimate_latency` takes the delay that matches the most pairs, so a
receiver that buffers more than one spacing is still measured right.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np

SAMPLE_RATE = 48000
#: Gaps between bursts (seconds): irregular, and longer than any click's ring.
BURST_GAPS_S = (0.7, 1.1, 0.9, 1.6, 0.8, 1.3)
ONSET_LEVEL = 0.3


def burst_train(sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """5 ms bursts of 1 kHz at 0.8 separated by :data:`BURST_GAPS_S` (one loop)."""
    n = int(0.005 * sample_rate)
    burst = 0.8 * np.sin(2 * np.pi * 1000 * np.arange(n) / sample_rate) * np.hanning(n)
    signal = np.zeros(int(sum(BURST_GAPS_S) * sample_rate), dtype=np.float32)
    position = 0.0
    for gap in BURST_GAPS_S:
        start = int(position * sample_rate)
        signal[start : start + n] = burst
        position += gap
    return signal


def estimate_latency(
    sent_ms: list[float], heard_ms: list[float], *, tolerance_ms: float = 15.0, max_ms: float = 5000.0
) -> tuple[float, int]:
    """The delay (ms) that pairs the most heard onsets with sent ones, and how many it pairs.
    Returns (nan, 0) when nothing pairs."""
    differences = np.array([h - s for h in heard_ms for s in sent_ms if 0.0 <= h - s <= max_ms])
    if differences.size == 0:
        return float("nan"), 0
    best, count = float("nan"), 0
    for candidate in differences:
        matched = np.abs(differences - candidate) <= tolerance_ms
        if matched.sum() > count:
            count = int(matched.sum())
            best = float(np.median(differences[matched]))
    return best, count


class OnsetWatcher(threading.Thread):
    """Reads the engine's output ring and notes the wall-clock time (ms) of each burst."""

    def __init__(self, ring_name: str) -> None:
        from pedalboard.engine.tap import OutputRingReader

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
            loud = np.flatnonzero(np.abs(chunk) > ONSET_LEVEL)
            if armed and loud.size:
                self.onsets.append(now - (chunk.size - loud[0]) / SAMPLE_RATE * 1000.0)
                armed = False
            elif not loud.size and np.max(np.abs(chunk)) < 0.01:
                armed = True

    def stop(self) -> None:
        self.stop_event.set()
        self.join(2)


#: A page that plays ``?src=`` in an ``<audio>`` element and notes, on ``window``:
#: ``onsets`` (wall-clock ms at which each burst reaches the output: the
#: element's audio taken through an AudioWorklet, its frame mapped with
#: ``getOutputTimestamp`` plus the output latency), ``startMs`` (src set to
#: ``playing``), ``waits`` (times it stalled after starting) and ``trace``
#: (every 100 ms: wall-clock ms, ``currentTime``, the end of ``buffered``).
AUDIO_ELEMENT_PAGE = """<!doctype html><meta charset="utf-8"><title>audio element</title>
<audio id="a" crossorigin="anonymous"></audio>
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
window.onsets = []; window.playing = false; window.waits = 0; window.trace = [];
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
audio.onplaying = () => {
  if (!window.playing) window.startMs = performance.now() - window.srcSetAt;
  window.playing = true;
};
audio.onwaiting = () => { if (window.playing) window.waits += 1; };
setInterval(() => {
  const b = audio.buffered;
  window.trace.push([Date.now(), audio.currentTime, b.length ? b.end(b.length - 1) : 0]);
}, 100);
window.srcSetAt = performance.now();
audio.src = new URLSearchParams(location.search).get("src");
audio.play();
</script>"""


def audio_element_report(page: Any) -> dict[str, Any]:
    """What :data:`AUDIO_ELEMENT_PAGE` noted (``page`` is a Playwright page)."""
    return page.evaluate(
        "({onsets: window.onsets, startMs: window.startMs, waits: window.waits, trace: window.trace})"
    )
