"""Database blocks: nsm's pushed-down query against the same query run by hand.

    .venv/bin/python bench/databases.py            # PostgreSQL 1,000,000 rows, DuckDB 10,000,000
    .venv/bin/python bench/databases.py --quick    # 100,000 and 1,000,000 rows, fewer repeats
    .venv/bin/python bench/databases.py --compare /work/main   # before/after, interleaved

1. PostgreSQL (a throwaway server, tests/pgserver.py) with 1,000,000 order rows: `nsm eval
   --format json` on a tree whose leaves sum, count and average the rows per month and per
   region, against `psql -c` running the very query nsm sends. Also counts the rows the
   server returns (target: periods × segments, plus one total row per period).
2. A DuckDB file with 10,000,000 rows: the same, against a fresh Python process that opens
   the file read-only and runs the same query (DuckDB's own CLI is not installed here).

Each runs two trees: three cheap aggregates (count, mean, sum), where the ratio is mostly
nsm's fixed start-up (Python, typer, numpy, the driver; the query goes out as soon as the tree
is read, and nsm loads the rest while the database works), and the same with
two more leaves a North Star tree often has (distinct buyers, the median order), where the
database does more of the work. The second runs half as many times (it is slow).

Every timing is a fresh process, the median of several runs, with the CPU seconds (user +
system) of the process beside it. nsm runs twice per round: as users get it (a regular
install into bench/out/site, bytecode compiled, as case 1 of bench/run.py; the target is
judged on this row) and as `make setup` installs it (editable, which on this machine also
compiles nsm's modules on every run: PYTHONDONTWRITEBYTECODE is set). The section
"Databases" of bench/results.md is replaced by this script's table.
"""

from __future__ import annotations

import argparse
import datetime
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

import bigrows  # noqa: E402
import pgserver  # noqa: E402

PYTHON = sys.executable
NSM = str(Path(PYTHON).with_name("nsm"))

TREE = """name: shop
connections:
  wh: {url: "${NSM_BENCH_URL}"}
data:
  orders: {connection: wh, table: shop.orders, time: ts, grain: month, segments: [region]}
root:
  id: revenue
  formula: orders * spend
  source: {data: orders, column: amount, agg: sum}
  children:
    - {id: orders, source: {data: orders, column: amount, agg: count}}
    - {id: spend, source: {data: orders, column: amount, agg: mean}}
"""

# The same block with two more leaves a North Star tree often has: distinct buyers and the
# median order (guardrails, so the formula stays the same).
RICH = TREE + """guardrails:
  - {id: buyers, source: {data: orders, column: customer, agg: count_distinct}}
  - {id: typical, source: {data: orders, column: amount, agg: median}}
"""
TREES = {"count, mean, sum": TREE, "+ count_distinct, median": RICH}


@dataclass
class Runs:
    """Wall and CPU (user + system) seconds of the runs of one command."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)


def timed(argv: list[str], env: dict[str, str], runs: Runs) -> None:
    start = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=err, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
        runs.wall.append(time.perf_counter() - start)
        runs.cpu.append(usage.ru_utime + usage.ru_stime)
        if status != 0:
            err.seek(0)
            raise SystemExit(f"{argv[0]} failed: {err.read().decode()[-500:]}")


def interleaved(hand: list[str], ours: list[list[str]], env: dict[str, str], repeat: int,
                ) -> list[Runs]:
    """Alternate the commands, so that a busy spell of the machine hits them all."""
    commands = [hand, *ours]
    for argv in commands:
        timed(argv, env, Runs())  # warm the caches
    found = [Runs() for _ in commands]
    for _ in range(repeat):
        for argv, runs in zip(commands, found, strict=True):
            timed(argv, env, runs)
    return found


COMPARE: list[str] = []  # --compare: another checkout, installed beside (before/after)


def nsm_commands(tree: Path) -> list[list[str]]:
    """nsm as users get it (regular install: the target's row), then as `make setup` has it,
    then the --compare checkout's regular install."""
    args = ["eval", str(tree), "--format", "json"]
    commands = [launcher("site", args), [NSM, *args]]
    return commands + [launcher("site-compare", args) for _ in COMPARE]


def launcher(folder: str, args: list[str]) -> list[str]:
    site = HERE / "out" / folder
    launch = f"import sys; sys.path.insert(0, {str(site)!r}); from nsm_cli.cli import run; run()"
    return [PYTHON, "-c", launch, *args]


def installed_copy(source: Path = ROOT, folder: str = "site") -> None:
    """A checkout installed without its dependencies into bench/out/FOLDER (as bench/run.py)."""
    site = HERE / "out" / folder
    shutil.rmtree(site, ignore_errors=True)
    subprocess.run([PYTHON, "-m", "pip", "install", "--quiet", "--no-deps", "--target",
                    str(site), str(source)], check=True, capture_output=True)


def nsm_rows(label: str, runs: list[Runs], hand: Runs, target: str) -> list[str]:
    """The installed row (judged), the editable one and the --compare checkout's."""
    ours, editable, *other = runs
    lines = [row(f"{label}: `nsm eval --format json` (installed)", ours, hand, target),
             row("same, editable dev install (`.venv/bin/nsm`)", editable, hand, "")]
    return lines + [row(f"same, {COMPARE[0]} installed (--compare)", runs, hand, "")
                    for runs in other]


def nsm_query(tree: Path, url: str) -> str:
    """The query nsm sends for the tree's block, rendered in the URL's dialect."""
    from nsm_cli.data import sqlbuild, warehouse
    from nsm_cli.data.connections import SCHEMES
    from nsm_cli.data.load import source_refs
    from nsm_cli.data.tables import ColumnUse
    from nsm_cli.tree.parser import parse_tree

    parsed, _ = parse_tree(str(tree))
    spec = parsed.data["orders"]
    dialect = SCHEMES[url.split(":", 1)[0]].dialect
    uses = [ColumnUse(r.column, r.agg, r.span) for r in source_refs(parsed)]
    plan = warehouse.plan(spec, uses, list(bigrows.COLUMNS))
    query = sqlbuild.build_query(warehouse.relation(spec, dialect), plan.periods,
                                 plan.measures, segments=plan.segments)
    return sqlbuild.render(query, dialect)


def row(label: str, runs: Runs, base: Runs | None, target: str) -> str:
    med = statistics.median(runs.wall)
    spread = f"{min(runs.wall):.3f}–{max(runs.wall):.3f}"
    ratio = "—"
    if base:
        ratio = (f"{med / statistics.median(base.wall):.2f}× (fastest runs: "
                 f"{min(runs.wall) / min(base.wall):.2f}×)")
    return (f"| {label} | {med:.3f} | {spread} (n={len(runs.wall)}) | "
            f"{statistics.median(runs.cpu):.3f} | {ratio} | {target} |")


def bench_postgres(rows: int, repeat: int, folder: Path) -> list[str]:
    server = pgserver.start_server()
    try:
        csv_path = folder / "orders.csv"
        bigrows.write_csv(bigrows.make_rows(rows), str(csv_path))
        bigrows.load_postgres(server.admin(), str(csv_path))
        env = dict(os.environ, NSM_BENCH_URL=server.url(password=pgserver.READER_PASSWORD),
                   PGPASSWORD=pgserver.READER_PASSWORD, NO_COLOR="1")
        lines: list[str] = []
        for name, text in TREES.items():
            tree = folder / "pg.yaml"
            tree.write_text(text, encoding="utf-8")
            sql = nsm_query(tree, env["NSM_BENCH_URL"])
            psql = [os.path.join(server.bindir, "psql"), "-X", "-q", "-A", "-t", "-h",
                    "127.0.0.1", "-p", str(server.port), "-U", pgserver.READER, "-d",
                    pgserver.DATABASE, "-c", sql]
            returned = subprocess.run(psql, env=env, capture_output=True, text=True,
                                      check=True).stdout.strip().splitlines()
            hand, *ours = interleaved(psql, nsm_commands(tree), env,
                                      repeat if text is TREE else max(3, repeat // 2))
            periods = len({line.split("|")[0] for line in returned})
            regions = len({line.split("|")[1] for line in returned} - {""})
            lines += [
                row(f"PostgreSQL {rows:,} rows, {name}: `psql -c` with nsm's query", hand,
                    None, ""),
                *nsm_rows(f"PostgreSQL, {name}", ours, hand, "≤ 1.5×"),
                f"| rows returned by the server | {len(returned)} | {periods} months × "
                f"({regions} regions + 1 total) = {periods * (regions + 1)} | | | "
                "periods × segments |",
            ]
        return lines
    finally:
        server.stop()


def bench_duckdb(rows: int, repeat: int, folder: Path) -> list[str]:
    import duckdb

    path = folder / "orders.duckdb"
    conn = duckdb.connect(str(path))
    conn.execute("CREATE SCHEMA shop")
    conn.execute(
        "CREATE TABLE shop.orders AS SELECT TIMESTAMP '2024-01-01' + to_seconds(i * 4) AS ts,"
        " ['north', 'south', 'east', 'west', 'centre'][1 + (hash(i) % 5)::BIGINT] AS region,"
        " CASE WHEN hash(i * 7) % 100 = 0 THEN NULL ELSE (hash(i * 3) % 1000)::DOUBLE END"
        " AS amount, 1 + hash(i * 5) % 20 AS qty, 'c' || (hash(i * 11) % 50000) AS customer"
        f" FROM range({rows}) t(i)")
    conn.close()
    env = dict(os.environ, NSM_BENCH_URL=f"duckdb:///{path}", NO_COLOR="1")
    lines: list[str] = []
    for name, text in TREES.items():
        tree = folder / "duck.yaml"
        tree.write_text(text, encoding="utf-8")
        sql = nsm_query(tree, env["NSM_BENCH_URL"])
        by_hand = [PYTHON, "-c", "import duckdb, sys; c = duckdb.connect(sys.argv[1], "
                   "read_only=True); print(len(c.execute(sys.argv[2]).fetchall()))", str(path),
                   sql]
        hand, *ours = interleaved(by_hand, nsm_commands(tree), env,
                                  repeat if text is TREE else max(3, repeat // 2))
        lines += [
            row(f"DuckDB file {rows:,} rows, {name}: a Python process running nsm's query",
                hand, None, ""),
            *nsm_rows(f"DuckDB file, {name}", ours, hand, "≤ 1.3×"),
        ]
    return lines


def write_results(lines: list[str], command: str) -> None:
    results = HERE / "results.md"
    text = results.read_text(encoding="utf-8") if results.exists() else ""
    stamp = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    section = (f"## Databases\n\n`{command}` ({stamp}; fresh processes, medians):\n\n"
               "| command | median s | spread s | CPU s | ratio | target |\n"
               "|---|---|---|---|---|---|\n"
               + "\n".join(lines) + "\n")
    if "## Databases\n" in text:
        text = re.sub(r"## Databases\n.*?(?=\n## |\Z)", lambda _: section.rstrip("\n"), text,
                      flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    results.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--pg-rows", type=int)
    parser.add_argument("--duckdb-rows", type=int)
    parser.add_argument("--repeat", type=int)
    parser.add_argument("--compare", metavar="CHECKOUT",
                        help="also time this checkout (e.g. /work/main), installed the same way")
    args = parser.parse_args(argv)
    pg_rows = args.pg_rows or (100_000 if args.quick else 1_000_000)
    duck_rows = args.duckdb_rows or (1_000_000 if args.quick else 10_000_000)
    repeat = args.repeat or (3 if args.quick else 7)
    installed_copy()
    if args.compare:
        installed_copy(Path(args.compare), "site-compare")
        COMPARE.append(args.compare)
    with tempfile.TemporaryDirectory(prefix="nsm-bench-db-") as tmp:
        lines = bench_postgres(pg_rows, repeat, Path(tmp))
        lines += bench_duckdb(duck_rows, repeat, Path(tmp))
    print("\n".join(lines))
    command = "bench/databases.py " + " ".join(argv if argv is not None else sys.argv[1:])
    write_results(lines, command.strip())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
