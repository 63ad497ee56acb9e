"""Run every benchmark in this folder; each writes its table into docs/.

make bench              # installs .bench-venv (Spotify's pedalboard) first
.venv/bin/python benchmarks/run_all.py --quick
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs (1-minute files, 20 s engine runs)")
    args = parser.parse_args()
    failed = []
    for script in sorted(HERE.glob("bench_*.py")):
        command = [sys.executable, str(script)]
        if args.quick and script.name == "bench_offline.py":
            command += ["--minutes", "1"]
        print(f"== {script.name}", flush=True)
        if subprocess.run(command).returncode != 0:
            failed.append(script.name)
    if failed:
        print("failed: " + ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
