"""Offline speed, side by side with Spotify's pedalboard, in one run.

Each equivalent effect and the chain [noise_gate, compressor, distortion,
chorus, delay, reverb] process the same mono 48 kHz guitar-like file (10
minutes by default); the figure is times real time (best of N runs). The
whole-process row times ``pedal render`` against a script that does the same
with Spotify's library (read, process, write: start-up included; both run
from bytecode, as after a pip install). The block
rows feed the 6-effect chain 64 frames at a time, as the live engine does.

    make bench                     # or: .venv/bin/python benchmarks/bench_offline.py --minutes 10

Writes docs/benchmark.md. Spotify's package lives in .bench-venv (same import
name as ours: scripts/install-bench.sh makes it).
"""

from __future__ import annotations

import argparse
import compileall
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
PEER_PYTHON = ROOT / ".bench-venv" / "bin" / "python"
SR = 48000
IR_PATH = ROOT / "pedalboard" / "data" / "cab_4x12_closed.wav"

CHAIN_OURS = [
    ("noise_gate", {"threshold_db": -60}),
    ("compressor", {"threshold_db": -20, "ratio": 4}),
    ("distortion", {"drive_db": 25, "oversample": "1"}),
    ("chorus", {}),
    ("delay", {"delay_seconds": 0.3, "feedback": 0.3, "mix": 0.3}),
    ("reverb", {}),
]
CHAIN_PEER = [
    ("NoiseGate", {"threshold_db": -60}),
    ("Compressor", {"threshold_db": -20, "ratio": 4}),
    ("Distortion", {"drive_db": 25}),
    ("Chorus", {}),
    ("Delay", {"delay_seconds": 0.3, "feedback": 0.3, "mix": 0.3}),
    ("Reverb", {}),
]

# name: (our chain, Spotify's chain, note)
CASES: dict[str, tuple[list, list, str]] = {
    "gain": ([("gain", {"gain_db": -6})], [("Gain", {"gain_db": -6})], ""),
    "highpass_filter": (
        [("highpass_filter", {"cutoff_frequency_hz": 100})],
        [("HighpassFilter", {"cutoff_frequency_hz": 100})],
        "ours: biquad 12 dB/oct; Spotify's: 6 dB/oct",
    ),
    "lowpass_filter": (
        [("lowpass_filter", {"cutoff_frequency_hz": 5000})],
        [("LowpassFilter", {"cutoff_frequency_hz": 5000})],
        "ours: biquad 12 dB/oct; Spotify's: 6 dB/oct",
    ),
    "peak_filter": (
        [("peak_filter", {"cutoff_frequency_hz": 1000, "gain_db": 6, "q": 1})],
        [("PeakFilter", {"cutoff_frequency_hz": 1000, "gain_db": 6, "q": 1})],
        "",
    ),
    "noise_gate": ([("noise_gate", {"threshold_db": -40})], [("NoiseGate", {"threshold_db": -40})], ""),
    "compressor": (
        [("compressor", {"threshold_db": -20, "ratio": 4})],
        [("Compressor", {"threshold_db": -20, "ratio": 4})],
        "",
    ),
    "limiter": ([("limiter", {"threshold_db": -6})], [("Limiter", {"threshold_db": -6})], ""),
    "distortion": (
        [("distortion", {"drive_db": 25, "oversample": "1"})],
        [("Distortion", {"drive_db": 25})],
        "both without oversampling",
    ),
    "distortion (ours 4x oversampled)": (
        [("distortion", {"drive_db": 25, "oversample": "4"})],
        [("Distortion", {"drive_db": 25})],
        "Spotify's aliases; ours does not",
    ),
    "delay": (
        [("delay", {"delay_seconds": 0.3, "feedback": 0.3, "mix": 0.3})],
        [("Delay", {"delay_seconds": 0.3, "feedback": 0.3, "mix": 0.3})],
        "",
    ),
    "chorus": ([("chorus", {})], [("Chorus", {})], ""),
    "phaser": ([("phaser", {})], [("Phaser", {})], ""),
    "reverb": ([("reverb", {})], [("Reverb", {})], ""),
    "cabinet / Convolution": (
        [("cabinet", {"impulse_response_filename": str(IR_PATH)})],
        [("Convolution", {"impulse_response_filename": str(IR_PATH)})],
        "same IR",
    ),
    "chain of 6": (CHAIN_OURS, CHAIN_PEER, "noise_gate, compressor, distortion, chorus, delay, reverb"),
}


def make_input(path: Path, minutes: float) -> None:
    from pedalboard.signals import guitar_riff

    phrase = 0.5 * guitar_riff(8.0, SR)
    repeats = int(np.ceil(minutes * 60 / 8.0))
    audio = np.tile(phrase, repeats)[: int(minutes * 60 * SR)]
    sf.write(str(path), audio.astype(np.float32), SR, subtype="FLOAT")


def our_chain(spec: list):
    from pedalboard.chain import Chain
    from pedalboard.effects import create_effect

    return Chain([create_effect(name, params) for name, params in spec])


def time_blocks_ours(spec: list, audio: np.ndarray, block: int, seconds: int) -> dict:
    chain = our_chain(spec)
    chain.prepare(SR, 1, block)
    piece = np.ascontiguousarray(audio[: SR * seconds])[np.newaxis, :].copy()
    times = []
    for start in range(0, piece.shape[1] - block + 1, block):
        view = piece[:, start : start + block]
        t0 = time.perf_counter()
        chain.process_inplace(view)
        times.append(time.perf_counter() - t0)
    return {"p50_us": float(np.percentile(times, 50) * 1e6), "p99_us": float(np.percentile(times, 99) * 1e6)}


class Peer:
    """Spotify's pedalboard in its own venv, answering one job at a time."""

    def __init__(self, input_path: Path) -> None:
        self.process = subprocess.Popen(
            [str(PEER_PYTHON), "-I", str(ROOT / "benchmarks" / "peer_spotify.py")],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.process.stdin.write(f"{input_path}\n")

    def run(self, job: dict) -> dict:
        self.process.stdin.write(json.dumps(job) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("Spotify's pedalboard process stopped (is .bench-venv installed?)")
        return json.loads(line)

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(10)


def time_ours_once(chain, audio: np.ndarray) -> float:
    start = time.perf_counter()
    chain.process(audio, SR)
    return time.perf_counter() - start


def time_command(command: list[str], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, cwd=tempfile.gettempdir())
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "benchmark.md")
    args = parser.parse_args()
    from rich.console import Console

    console = Console()
    with tempfile.TemporaryDirectory() as folder:
        input_path = Path(folder) / "guitar.wav"
        make_input(input_path, args.minutes)
        audio, _ = sf.read(str(input_path), dtype="float32")
        duration = len(audio) / SR
        console.print(
            f"input: {duration:.0f} s mono 48 kHz; Spotify's pedalboard in {PEER_PYTHON.parent.parent.name}"
        )
        peer = Peer(input_path)
        rows = []
        for name, (ours_spec, peer_spec, note) in CASES.items():
            with console.status(f"{name} ..."):
                chain = our_chain(ours_spec)
                chain.process(audio[:SR], SR)  # warm-up (numba cache load, allocation)
                ours_best, theirs_best = float("inf"), float("inf")
                for _ in range(args.repeats):  # alternate, so load hits both alike
                    ours_best = min(ours_best, time_ours_once(chain, audio))
                    theirs_best = min(theirs_best, peer.run({"plugins": peer_spec})["seconds"])
            ours, theirs = duration / ours_best, duration / theirs_best
            rows.append((name, ours, theirs, note))
            console.print(f"{name:36s} ours {ours:9.0f}x  Spotify {theirs:9.0f}x  ratio {ours / theirs:5.2f}")
        peer_blocks = peer.run({"plugins": CHAIN_PEER, "mode": "blocks", "block_size": 64,
                                "block_seconds": 30})
        peer.close()
        with console.status("whole-process render ..."):
            # Bytecode for our package, as a pip install writes it (the peer's was
            # written when it was installed; an editable install under
            # PYTHONDONTWRITEBYTECODE would compile our modules on every start).
            compileall.compile_dir(str(ROOT / "pedalboard"), quiet=1)
            folder_path = Path(folder)
            ours_command = [str(ROOT / ".venv" / "bin" / "pedal"), "render", str(input_path), "-o",
                            str(folder_path / "ours.wav"), "-p", str(chain_preset(folder_path)), "-q",
                            "--tail", "none"]
            peer_command = [str(PEER_PYTHON), "-I", str(ROOT / "benchmarks" / "peer_render.py"),
                            str(input_path), str(folder_path / "peer.wav")]
            ours_render, peer_render = float("inf"), float("inf")
            for _ in range(3):  # alternate, so load hits both alike
                ours_render = min(ours_render, time_command(ours_command, 1))
                peer_render = min(peer_render, time_command(peer_command, 1))
        rows.append(
            (
                "`pedal render`, whole process (chain of 6)",
                duration / ours_render,
                duration / peer_render,
                "read + process + write, start-up included; ours writes on a second thread",
            )
        )
        blocks = time_blocks_ours(CHAIN_OURS, audio, 64, 30)
    write_table(args.output, rows, blocks, peer_blocks, duration)
    console.print(f"wrote {args.output}")


def chain_preset(folder: Path) -> Path:
    path = folder / "chain6.json"
    path.write_text(
        json.dumps(
            {
                "name": "Chain of six",
                "chain": [{"effect": name, "params": params} for name, params in CHAIN_OURS],
            }
        )
    )
    return path


def write_table(path: Path, rows: list, blocks: dict, peer_blocks: dict, duration: float) -> None:
    lines = [
        "# Offline speed against Spotify's pedalboard",
        "",
        f"Measured side by side in one run by `benchmarks/bench_offline.py` on {platform.machine()} "
        f"({platform.python_implementation()} {platform.python_version()}), one core, "
        f"{duration / 60:.0f} minutes of mono 48 kHz guitar-like audio, best of several runs. "
        "Figures are times real time (higher is faster); ratio = ours / Spotify's (goal: >= 1.0).",
        "",
        "| effect | ours (x real time) | Spotify's (x real time) | ratio | note |",
        "|---|---:|---:|---:|---|",
    ]
    for name, ours, theirs, note in rows:
        lines.append(f"| {name} | {ours:,.0f} | {theirs:,.0f} | {ours / theirs:.2f} | {note} |")
    lines += [
        "",
        "## The chain in 64-frame blocks (the live engine's way)",
        "",
        "The real-time budget of a 64-frame block at 48 kHz is 1333 us.",
        "",
        "| | p50 per block | p99 per block |",
        "|---|---:|---:|",
        f"| ours | {blocks['p50_us']:.0f} us | {blocks['p99_us']:.0f} us |",
        f"| Spotify's | {peer_blocks['p50_us']:.0f} us | {peer_blocks['p99_us']:.0f} us |",
        "",
    ]
    path.write_text("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
