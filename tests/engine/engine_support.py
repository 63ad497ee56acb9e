"""Helpers of the engine tests: a real jackd (dummy driver) and a JACK
client that feeds the engine a known signal and records what comes back."""

from __future__ import annotations

import os
import subprocess
import threading
import time
import uuid
from pathlib import Path

import numpy as np

SAMPLE_RATE = 48000
PERIOD = 64


class JackServer:
    """A jackd with the dummy driver under a name of its own; restartable.

    It runs synchronously (``-S``): the dummy driver has no hardware deadline,
    so when the machine stalls a client past the end of a period, the server
    waits for the graph and reports an xrun instead of dropping the period.
    The recordings the tests compare are then exact on a loaded machine too
    (measured: 8 of 8 three-second takes equal to the offline render with two
    CPU hogs and no real-time scheduling, against 1 of 8 asynchronously).
    How often a deadline is missed is a benchmark question, answered with an
    asynchronous server in benchmarks/bench_engine.py."""

    def __init__(self, name: str, log_dir: Path, period: int = PERIOD) -> None:
        self.name = name
        self.period = period
        self.log = log_dir / f"jackd-{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                ["jackd", "-S", "-n", self.name,
                 "-d", "dummy", "-r", str(SAMPLE_RATE), "-p", str(self.period)],
                stdout=log, stderr=subprocess.STDOUT)
        env = {**os.environ, "JACK_DEFAULT_SERVER": self.name}
        waited = subprocess.run(["jack_wait", "-w", "-t", "10"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if waited.returncode != 0:
            told = self.log.read_text(errors="replace")
            hint = ("\n(JACK's shared-memory registry is full of servers that were killed; "
                    "with no jackd running: rm -rf /dev/shm/jack*)"
                    if "Too many servers" in told else "")
            raise RuntimeError(f"jackd {self.name} did not start:\n{told[-2000:]}{hint}")

    def kill(self) -> None:
        process, self.process = self.process, None
        if process is not None:
            process.kill()
            process.wait(timeout=10)

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def unique_server_name(tag: str) -> str:
    return f"pedal-{tag}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


class JackProbe:
    """A JACK client with an output ``feed`` and an input ``record``.

    In one process cycle it writes the next period of the signal and records
    the period that arrived, so recording frame n is what the engine sent back
    n frames after feed frame 0 went out."""

    def __init__(self, server: str, name: str = "probe") -> None:
        import jack

        self.client = jack.Client(name, servername=server, no_start_server=True)
        self.feed = self.client.outports.register("feed")
        self.record = self.client.inports.register("record")
        self.signal = np.zeros(0, dtype=np.float32)
        self.recording = np.zeros(0, dtype=np.float32)
        self.position = 0
        self.done = threading.Event()
        self.running = False
        self.client.set_process_callback(self._process)
        self.client.activate()

    def connect(self, engine_client: str = "pedal", out_port: str = "out_1") -> None:
        self.client.connect(self.feed, f"{engine_client}:in_1")
        self.client.connect(f"{engine_client}:{out_port}", self.record)

    def _process(self, frames: int) -> None:
        out = self.feed.get_array()
        if not self.running:
            out.fill(0.0)
            return
        start = self.position
        stop = min(start + frames, self.signal.shape[0])
        count = max(0, stop - start)
        out[:count] = self.signal[start:stop]
        out[count:] = 0.0
        room = self.recording.shape[0] - start
        if room > 0:
            take = min(room, frames)
            self.recording[start : start + take] = self.record.get_array()[:take]
        self.position = start + frames
        if self.position >= self.recording.shape[0]:
            self.running = False
            self.done.set()

    def play_and_record(self, signal: np.ndarray, extra_frames: int = 4096,
                        timeout_s: float = 120.0) -> np.ndarray:
        self.signal = np.ascontiguousarray(signal, dtype=np.float32)
        self.recording = np.zeros(self.signal.shape[0] + extra_frames, dtype=np.float32)
        self.position = 0
        self.done.clear()
        self.running = True
        if not self.done.wait(timeout_s):
            raise TimeoutError("the JACK probe did not finish recording")
        return self.recording.copy()

    def close(self) -> None:
        self.client.deactivate()
        self.client.close()


def wait_until(predicate, timeout_s: float = 20.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)
