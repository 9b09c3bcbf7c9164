"""Interleaved timing: one run of each command in turn, repeated, so a busy machine's load
swings hit both sides alike. Prints wall and CPU (user + system of the child) medians.

    BENCH_PANDAS_PATH=/tmp/pdbase .venv/bin/python bench/pairs.py detail 9
    .venv/bin/python bench/pairs.py parquet 7

`detail` times pandas `read_csv` + `groupby`, a hand-written DuckDB floor (typed columns, no
cell grammar) and `nsm eval` on case 2's 1,000,000-row CSV; `parquet` the hand-written DuckDB
query and `nsm eval` on case 9's Parquet file. Run `bench/run.py --cases detail,parquet`
first: it writes the inputs to bench/out/.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
PYTHON = sys.executable
NSM = str(Path(PYTHON).with_name("nsm"))
sys.path.insert(0, str(HERE))

from run import DETAIL_COLUMNS, DUCKDB_SCRIPT, PANDAS_SCRIPT  # noqa: E402

FLOOR_SCRIPT = """
import sys, duckdb
cols = {f"c{i + 1}": "VARCHAR" for i in range(10)}
cols.update({c: "DOUBLE" for c in ("c3", "c4", "c6", "c7", "c8", "c9", "c10")})
print(duckdb.connect().execute(
    "SELECT c1, sum(c3), sum(c4), sum(c6), sum(c7), sum(c8), sum(c10), avg(c9), "
    "sum(TRY_CAST(replace(c5, ',', '') AS DOUBLE)) FROM read_csv(?, header=true, "
    "auto_detect=false, columns=?, quote='\\"', escape='\\"') GROUP BY 1",
    [sys.argv[1], cols]).fetchall()[-1])
"""


def commands(case: str) -> dict[str, list[str]]:
    if case == "detail":
        aggs = {name: "sum" for name in DETAIL_COLUMNS}
        aggs["staff_hours"] = "mean"
        csv_path = str(OUT / "detail_1000000.csv")
        return {
            "pandas read_csv + groupby": [
                PYTHON, "-c", PANDAS_SCRIPT.format(columns=DETAIL_COLUMNS, aggs=aggs), csv_path],
            "DuckDB by hand, typed (floor)": [PYTHON, "-c", FLOOR_SCRIPT, csv_path],
            "nsm eval --format json": [NSM, "eval", str(OUT / "detail_1000000.yaml"),
                                       "--format", "json"],
        }
    return {
        "DuckDB by hand": [PYTHON, "-c", DUCKDB_SCRIPT, str(OUT / "orders_10000000.parquet")],
        "nsm eval --format json": [NSM, "eval", str(OUT / "orders_10000000.yaml"),
                                   "--format", "json"],
    }


def main() -> int:
    case, rounds = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 7
    runs = commands(case)
    env = dict(os.environ)
    if os.environ.get("BENCH_PANDAS_PATH"):
        env["PYTHONPATH"] = os.environ["BENCH_PANDAS_PATH"]
    wall: dict[str, list[float]] = {name: [] for name in runs}
    cpu: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, argv in runs.items():
            start = time.perf_counter()
            child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     env=env)
            _, _, usage = os.wait4(child.pid, 0)
            wall[name].append(time.perf_counter() - start)
            cpu[name].append(usage.ru_utime + usage.ru_stime)
    first = next(iter(runs))
    base_wall, base_cpu = statistics.median(wall[first]), statistics.median(cpu[first])
    for name in runs:
        w, c = statistics.median(wall[name]), statistics.median(cpu[name])
        print(f"- {name}: wall {w:.3f} s ({w / base_wall:.2f}×), CPU {c:.3f} s "
              f"({c / base_cpu:.2f}×), n={rounds}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
