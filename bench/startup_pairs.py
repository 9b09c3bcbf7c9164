"""Start-up against the bare imports, interleaved run by run so both see the same load.

    .venv/bin/python bench/startup_pairs.py [RUNS]

On a shared machine the load changes within seconds; case 1 of bench/run.py times each
command in a block, so the two blocks can see different loads. Here every pair runs back to
back; prints the medians of wall and CPU (user + system) seconds and their ratios. Uses the
regular install of case 1 (bench/out/site; run bench/run.py --cases startup once first).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(argv: list[str]) -> tuple[float, float]:
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    _, _, usage = os.wait4(proc.pid, 0)
    return time.perf_counter() - start, usage.ru_utime + usage.ru_stime


def main(runs: int) -> int:
    site = ROOT / "bench" / "out" / "site"
    launch = f"import sys; sys.path.insert(0, {str(site)!r}); from nsm_cli.cli import run; run()"
    commands = {
        "bare imports": [sys.executable, "-c", "import numpy, yaml, typer, rich.console"],
        "nsm eval --format json": [sys.executable, "-c", launch, "eval", "trees/mau.yaml",
                                   "--format", "json"],
        "nsm eval (text)": [sys.executable, "-c", launch, "eval", "trees/mau.yaml"],
    }
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, argv in commands.items():
            times[name].append(run(argv))
    wall0 = statistics.median(w for w, _ in times["bare imports"])
    cpu0 = statistics.median(c for _, c in times["bare imports"])
    for name, pairs in times.items():
        wall = statistics.median(w for w, _ in pairs)
        cpu = statistics.median(c for _, c in pairs)
        print(f"- {name}: wall {wall:.3f} s ({wall / wall0:.2f}×), "
              f"CPU {cpu:.3f} s ({cpu / cpu0:.2f}×), n={runs}")
    return 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 21))
