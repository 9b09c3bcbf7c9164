"""When does nsm's database query go out? The process's CPU seconds at that moment.

    .venv/bin/python bench/query_start.py TREE [RUNS] [SITE]

TREE's connection URL comes from the environment as usual (e.g. NSM_BENCH_URL for the trees
bench/databases.py writes). SITE is a regular install to time (bench/out/site by default; pass
another, e.g. one of main, for a before/after). Each run is a fresh `nsm eval TREE --format
json` that prints `time.process_time()` when a query is sent ahead on its thread (`start`),
when a session runs a query (`rows`) and at the end; medians over RUNS. Whatever nsm imports
before `rows` delays the query; what it does after overlaps the database's work.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

PROBE = """
import json, sys, time
sys.path.insert(0, sys.argv[1])
from nsm_cli.data import connections
marks = {}
def wrap(cls, name):
    real = getattr(cls, name)
    def probe(self, *args):
        marks.setdefault(name, time.process_time())
        return real(self, *args)
    setattr(cls, name, probe)
wrap(connections.Session, "rows")
if hasattr(connections, "Sent"):
    wrap(connections.Sent, "start")
from nsm_cli.cli.main import main
code = main(sys.argv[2:])
marks["end"] = time.process_time()
print(json.dumps(marks), file=sys.stderr)
"""


def main(argv: list[str]) -> int:
    tree = argv[0]
    runs = int(argv[1]) if len(argv) > 1 else 5
    site = argv[2] if len(argv) > 2 else str(HERE / "out" / "site")
    found: dict[str, list[float]] = {}
    for _ in range(runs):
        run = subprocess.run([sys.executable, "-c", PROBE, site, "eval", tree, "--format",
                              "json"], capture_output=True, text=True, env=os.environ)
        if run.returncode != 0:
            raise SystemExit(run.stderr[-500:])
        for name, value in json.loads(run.stderr.splitlines()[-1]).items():
            found.setdefault(name, []).append(value)
    print(" ".join(f"{name} {statistics.median(values):.3f}" for name, values in found.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
