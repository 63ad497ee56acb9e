"""Runs inside .bench-venv (Spotify's pedalboard), started by bench_offline.py.

A small server: the first stdin line names the input file; then each line is
a JSON job ({"plugins": [[ClassName, params], ...], "mode": "whole"|"blocks"})
and each answer is one JSON line. Kept free of our package: both are
imported as ``pedalboard``. Staying alive lets the benchmark alternate ours
and theirs run by run, so machine load hits both alike.
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np
import soundfile as sf

import pedalboard as spotify


def build(plugins: list) -> spotify.Pedalboard:
    return spotify.Pedalboard([getattr(spotify, name)(**params) for name, params in plugins])


def run(job: dict, audio: np.ndarray, rate: int) -> dict:
    board = build(job["plugins"])
    if job.get("mode") == "blocks":
        block = job["block_size"]
        piece = audio[: rate * job["block_seconds"]]
        board(piece[:block], rate, reset=True)
        times = []
        for start in range(0, len(piece) - block + 1, block):
            t0 = time.perf_counter()
            board(piece[start : start + block], rate, reset=False)
            times.append(time.perf_counter() - t0)
        return {"p50_us": float(np.percentile(times, 50) * 1e6),
                "p99_us": float(np.percentile(times, 99) * 1e6)}
    board(audio[:rate], rate)  # warm-up
    start = time.perf_counter()
    board(audio, rate)
    return {"seconds": time.perf_counter() - start}


def main() -> None:
    audio, rate = sf.read(sys.stdin.readline().strip(), dtype="float32")
    for line in sys.stdin:
        print(json.dumps(run(json.loads(line), audio, rate)), flush=True)


if __name__ == "__main__":
    main()
