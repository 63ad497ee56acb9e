"""Runs inside .bench-venv (Spotify's pedalboard), started by bench_offline.py.

Reads a job as JSON on stdin, prints timings as JSON on stdout. Kept free of
our package: both are imported as ``pedalboard``.
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np
import soundfile as sf

import pedalboard as spotify


def build(case: dict) -> spotify.Pedalboard:
    plugins = []
    for name, params in case["plugins"]:
        plugins.append(getattr(spotify, name)(**params))
    return spotify.Pedalboard(plugins)


def main() -> None:
    job = json.load(sys.stdin)
    audio, rate = sf.read(job["input"], dtype="float32")
    results = {}
    for case in job["cases"]:
        board = build(case)
        board(audio[:rate], rate)  # warm-up
        best = float("inf")
        for _ in range(job["repeats"]):
            start = time.perf_counter()
            board(audio, rate)
            best = min(best, time.perf_counter() - start)
        results[case["name"]] = {"seconds": best}
    if job.get("block_case"):
        board = build(job["block_case"])
        block = job["block_size"]
        piece = audio[: rate * job["block_seconds"]]
        times = []
        board(piece[:block], rate, reset=True)
        for start in range(0, len(piece) - block + 1, block):
            t0 = time.perf_counter()
            board(piece[start : start + block], rate, reset=False)
            times.append(time.perf_counter() - t0)
        results["blocks"] = {
            "p50_us": float(np.percentile(times, 50) * 1e6),
            "p99_us": float(np.percentile(times, 99) * 1e6),
        }
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
