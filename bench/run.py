"""The benchmark runner: generate inputs, time each case against its baseline, write results.md.

Every measurement is a fresh process (what a user or a CI job pays), timed over repeated runs:
the table shows the median and the min–max spread; peak memory is the child process's
maximum resident set size (`os.wait4` → `ru_maxrss`). Plain Python, no network.

    .venv/bin/python bench/run.py                 # everything (make bench), ~5-10 minutes
    .venv/bin/python bench/run.py --quick         # small inputs, few repeats, < 1 minute
    .venv/bin/python bench/run.py --cases startup,detail

The pandas baseline of the detail case runs only where pandas imports: in the project's
virtualenv, or from a folder given in BENCH_PANDAS_PATH (e.g. `pip install --target
/tmp/pdbase pandas`); pandas is never a dependency of nsm. Otherwise the table says
"baseline not available".
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"
sys.path.insert(0, str(HERE))

import generate  # noqa: E402

PYTHON = sys.executable
NSM = str(Path(PYTHON).with_name("nsm"))
CASES = ("startup", "detail", "levers", "check", "growth", "goalseek", "alerts", "explain",
         "parquet", "forecast", "big", "segments")
DETAIL_COLUMNS = list(generate.DETAIL_NUMBERS)


@dataclass
class Timing:
    """Wall times of repeated runs of one command and the largest peak memory seen."""

    label: str
    times: list[float]
    peak_mb: float
    failed: str | None = None
    cpu: list[float] = field(default_factory=list)   # user + system seconds of each run

    @property
    def median(self) -> float:
        return statistics.median(self.times) if self.times else float("nan")

    def row(self, baseline: Timing | None = None) -> str:
        if self.failed:
            return f"| {self.label} | {self.failed} | | | |"
        spread = f"{min(self.times):.3f}–{max(self.times):.3f}"
        ratio = "—"
        if baseline is not None and baseline.times and not baseline.failed:
            ratio = f"{self.median / baseline.median:.2f}×"
        return (f"| {self.label} | {self.median:.3f} | {spread} (n={len(self.times)}) | "
                f"{self.peak_mb:.0f} | {ratio} |")


HEAD = "| command | median s | spread s | peak MB | ratio |\n|---|---|---|---|---|"
LAST_CPU = [0.0]


def run_once(argv: list[str], env: dict[str, str] | None = None,
             stdout: Path | None = None) -> tuple[float, float, int, str]:
    """Wall seconds, peak RSS in MB, exit code and stderr tail of one fresh process
    (stdout written to the file `stdout` when given, else discarded); its CPU seconds
    (user + system) go to LAST_CPU."""
    sink = open(stdout, "wb") if stdout is not None else subprocess.DEVNULL  # noqa: SIM115
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=sink, stderr=subprocess.PIPE, env=env, cwd=ROOT)
    _, status, usage = os.wait4(proc.pid, 0)
    if stdout is not None:
        sink.close()
    elapsed = time.perf_counter() - start
    LAST_CPU[0] = usage.ru_utime + usage.ru_stime
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    proc.returncode = os.waitstatus_to_exitcode(status)
    return elapsed, usage.ru_maxrss / 1024, proc.returncode, err[-300:]


def measure(label: str, argv: list[str], repeat: int, env: dict[str, str] | None = None,
            ok_codes: tuple[int, ...] = (0,), stdout: Path | None = None) -> Timing:
    times: list[float] = []
    cpu: list[float] = []
    peak = 0.0
    for _ in range(repeat):
        elapsed, mb, code, err = run_once(argv, env, stdout)
        if code not in ok_codes:
            return Timing(label, [], 0, f"failed (exit {code}): {err.strip().splitlines()[-1:]}")
        times.append(elapsed)
        cpu.append(LAST_CPU[0])
        peak = max(peak, mb)
    return Timing(label, times, peak, cpu=cpu)


def command_exists(name: str) -> bool:
    """True when `nsm NAME --help` works: the command has been built."""
    return run_once([NSM, name, "--help"])[2] == 0


def pandas_env() -> dict[str, str] | None:
    """An environment where `import pandas` works, or None."""
    env = dict(os.environ)
    extra = os.environ.get("BENCH_PANDAS_PATH")
    if extra:
        env["PYTHONPATH"] = extra + os.pathsep + env.get("PYTHONPATH", "")
    probe = subprocess.run([PYTHON, "-c", "import pandas"], env=env, capture_output=True)
    return env if probe.returncode == 0 else None


# --- cases ---------------------------------------------------------------------------------


def case_startup(quick: bool) -> str:
    repeat = 5 if quick else 21
    base = measure("`python -c \"import numpy, yaml, typer, rich.console\"`",
                   [PYTHON, "-c", "import numpy, yaml, typer, rich.console"], repeat)
    site = installed_copy()
    launch = f"import sys; sys.path.insert(0, {str(site)!r}); from nsm_cli.cli import run; run()"
    installed = measure("`nsm eval trees/mau.yaml --format json` (installed as users get it)",
                        [PYTHON, "-c", launch, "eval", "trees/mau.yaml", "--format", "json"],
                        repeat)
    nsm = measure("`.venv/bin/nsm eval trees/mau.yaml --format json` (editable dev install)",
                  [NSM, "eval", "trees/mau.yaml", "--format", "json"], repeat)
    return "\n".join([
        "## 1. Start-up (target ≤ 1.3×)", "",
        "A fresh `nsm eval` of the MAU example against a bare Python that imports only the "
        "libraries nsm cannot do without. Ratio against the first row. The target is judged on "
        "a regular (non-editable) install, which is what `pip install` gives users; the "
        "editable install of `make setup` adds setuptools' import hook on every import.",
        "", HEAD, base.row(), installed.row(base), nsm.row(base), "",
        cpu_line([base, installed, nsm]), ""])


def cpu_line(timings: list[Timing]) -> str:
    """The same runs in CPU seconds (user + system), which a busy machine disturbs less."""
    if any(t.failed or not t.cpu for t in timings):
        return ""
    first = statistics.median(timings[0].cpu)
    parts = [f"{statistics.median(t.cpu):.3f} s ({statistics.median(t.cpu) / first:.2f}×)"
             for t in timings]
    return "CPU (user + system) medians, same order: " + ", ".join(parts) + "."


def installed_copy() -> Path:
    """The project installed without its dependencies into bench/out/site (a regular install)."""
    site = OUT / "site"
    if site.exists():
        shutil.rmtree(site)
    subprocess.run([PYTHON, "-m", "pip", "install", "--quiet", "--no-deps", "--target",
                    str(site), str(ROOT)], check=True, capture_output=True)
    return site


PANDAS_SCRIPT = """
import sys
import pandas as pd
frame = pd.read_csv(sys.argv[1], thousands=",")
totals = frame.groupby("period")[{columns!r}].agg({aggs!r})
print(totals.tail(1).to_json())
"""


def case_detail(quick: bool) -> str:
    rows = 100_000 if quick else 1_000_000
    repeat = 3 if quick else 7
    csv_path, tree = generate.write_detail(rows, OUT)
    size = csv_path.stat().st_size / 1e6
    env = pandas_env()
    aggs = {name: "sum" for name in DETAIL_COLUMNS}
    aggs["staff_hours"] = "mean"
    if env is None:
        base = Timing("pandas `read_csv` + `groupby`", [], 0, "baseline not available "
                      "(pandas not importable; set BENCH_PANDAS_PATH)")
    else:
        script = PANDAS_SCRIPT.format(columns=DETAIL_COLUMNS, aggs=aggs)
        base = measure("pandas `read_csv(thousands=',')` + `groupby().agg()`",
                       [PYTHON, "-c", script, str(csv_path)], repeat, env=env)
    # nsm as users get it (a regular install, see case 1) and as `make setup` installs it
    site = installed_copy()
    launch = f"import sys; sys.path.insert(0, {str(site)!r}); from nsm_cli.cli import run; run()"
    args = ["eval", str(tree), "--format", "json"]
    rel = tree.relative_to(ROOT)

    rows_out = [base.row()]
    rows_out.append(measure(f"`nsm eval {rel} --format json` (installed as users get it)",
                            [PYTHON, "-c", launch, *args], repeat).row(base))
    rows_out.append(measure("same, editable dev install (`.venv/bin/nsm`)",
                            [NSM, *args], repeat).row(base))
    # check reads a big block's columns and first rows only (I301), not the million rows
    rows_out.append(measure(f"`nsm check {rel}` (columns and first 10,000 rows)",
                            [NSM, "check", str(tree)], repeat, ok_codes=(0, 1)).row(base))
    return "\n".join([
        "## 2. Detail CSV: read and aggregate per period (target: ≤ 0.7× pandas)", "",
        f"{rows:,} rows × 10 columns ({size:.0f} MB; a date, a Chinese store name, 8 numbers, "
        "every fifth revenue cell quoted like `\"18,825\"`), 100 periods; 8 columns aggregated "
        "(7 `sum`, 1 `mean`). Both sides are whole processes (imports included). Ratio against "
        "pandas. The nsm rows run the regular install of case 1 unless marked editable.", "",
        HEAD, *rows_out, ""])


DUCKDB_SCRIPT = """
import sys
import duckdb
rows = duckdb.connect().execute(
    "SELECT date_trunc('month', ordered_at) AS m, count(DISTINCT customer_id) "
    "FROM read_parquet(?) GROUP BY 1 ORDER BY 1", [sys.argv[1]]).fetchall()
print(rows[-1])
"""


def case_parquet(quick: bool) -> str:
    rows = 200_000 if quick else int(os.environ.get("BENCH_PARQUET_ROWS", 10_000_000))
    repeat = 3 if quick else 5
    path, tree = generate.write_orders_parquet(rows, OUT)
    base = measure("hand-written DuckDB: `count(DISTINCT customer_id)` per month",
                   [PYTHON, "-c", DUCKDB_SCRIPT, str(path)], repeat)
    nsm = measure(f"`nsm eval {tree.relative_to(ROOT)} --format json`",
                  [NSM, "eval", str(tree), "--format", "json"], repeat)
    return "\n".join([
        "## 9. Parquet raw rows: distinct customers per month (target ≤ 1.3× DuckDB by hand)",
        "", f"{rows:,} orders in one Parquet file ({path.stat().st_size / 1e6:.0f} MB: a "
        "timestamp over 2024, a customer id out of 200,000, an amount), rolled up to 12 months. "
        "Both sides are whole processes (imports included).", "",
        HEAD, base.row(), nsm.row(base), ""])


def case_levers(quick: bool) -> str:
    nodes, periods = (1000, 10) if quick else (10_000, 100)
    repeat = 2 if quick else 5
    tree = generate.write_tree(nodes, periods, OUT)
    rel = tree.relative_to(ROOT)
    ev = measure(f"`nsm eval {rel} --format json`", [NSM, "eval", str(tree), "--format", "json"],
                 repeat)
    lines = ["## 3. rank-levers against one eval (target ≤ 5×)", "",
             f"{nodes:,} nodes ({nodes // 2:,} leaves, 6 levels), {periods} periods. Ratio "
             "against eval.", "", HEAD, ev.row()]
    if command_exists("rank-levers"):
        rl = measure(f"`nsm rank-levers {rel} --format json`",
                     [NSM, "rank-levers", str(tree), "--format", "json"], repeat)
        lines.append(rl.row(ev))
        nsm_parse = measure(f"`nsm check {rel}` (parse, compile and read data only)",
                            [NSM, "check", str(tree)], repeat, ok_codes=(0, 1)) \
            if command_exists("check") else None
        if nsm_parse is not None:
            lines.append(nsm_parse.row(ev))
    else:
        lines.append("| `nsm rank-levers` | not run: command missing | | | |")
    return "\n".join([*lines, ""])


def case_check(quick: bool) -> str:
    count = 20 if quick else 200
    folder = generate.write_checks(count, OUT)
    lines = ["## 4. check: one process over many files against one process per file", "",
             f"{count} small tree files (15 nodes each, with CSVs). Ratio against the "
             "one-process run.", "", HEAD]
    if not command_exists("check"):
        return "\n".join([*lines, "| `nsm check` | not run: command missing | | | |", ""])
    rel = folder.relative_to(ROOT)
    one = measure(f"`nsm check {rel}` (one process)", [NSM, "check", str(folder)],
                  2 if quick else 3, ok_codes=(0, 1))
    files = sorted(folder.glob("*.yaml"))
    times: list[float] = []
    peak, failed = 0.0, None
    for _ in range(1):
        start = time.perf_counter()
        for path in files:
            _, mb, code, err = run_once([NSM, "check", str(path)])
            peak = max(peak, mb)
            if code not in (0, 1):
                failed = f"failed (exit {code}): {err.strip()[-120:]}"
        times.append(time.perf_counter() - start)
    many = Timing(f"{count} × `nsm check FILE` (one process each)", times, peak, failed)
    return "\n".join([*lines, one.row(), many.row(one), ""])


def case_growth(quick: bool) -> str:
    sizes = (100, 1000) if quick else (100, 1000, 10_000, 100_000)
    periods = (1, 100) if quick else (1, 100, 1000)
    repeat = 1 if quick else 3
    lines = ["## 5. Growth: eval time against nodes and periods", "",
             "`nsm eval TREE --format json` (a fresh process: start-up, YAML, compile, CSV, "
             "evaluate, JSON). 'per 1k nodes' subtracts the start-up median (case 1 baseline is "
             "not used: the 100-node run is) so the growth of the work itself shows.", "",
             "| nodes | periods | median s | spread s | peak MB | s per 1k nodes above 100 | "
             "vs previous size |", "|---|---|---|---|---|---|---|"]
    skipped: list[str] = []
    results: dict[tuple[int, int], Timing] = {}
    for p in periods:
        for n in sizes:
            if n == 100_000 and p == 1000:
                skipped.append("100,000 nodes × 1,000 periods: the wide CSV alone would be "
                               "50,000 columns × 1,000 rows (~400 MB, minutes to generate); "
                               "dropped to keep `make bench` near 10 minutes. The 10,000 × "
                               "1,000 and 100,000 × 100 runs bound it.")
                continue
            tree = generate.write_tree(n, p, OUT)
            t = measure("", [NSM, "eval", str(tree), "--format", "json"], repeat)
            results[(n, p)] = t
            for leftover in OUT.glob(f"tree_{n}_{p}.*"):
                if n >= 100_000:
                    leftover.unlink()
    for p in periods:
        previous: Timing | None = None
        small = results.get((100, p))
        for n in sizes:
            t = results.get((n, p))
            if t is None:
                continue
            if t.failed:
                lines.append(f"| {n:,} | {p:,} | {t.failed} | | | | |")
                continue
            per = "—"
            if small is not None and n > 100 and not small.failed:
                per = f"{(t.median - small.median) / ((n - 100) / 1000):.4f}"
            grow = "—"
            if previous is not None and not previous.failed:
                grow = f"{t.median / previous.median:.1f}× for 10× nodes"
            lines.append(f"| {n:,} | {p:,} | {t.median:.3f} | {min(t.times):.3f}–"
                         f"{max(t.times):.3f} | {t.peak_mb:.0f} | {per} | {grow} |")
            previous = t
    lines.append("")
    lines.extend(f"- Not run: {text}" for text in skipped)
    return "\n".join([*lines, ""])


def case_goalseek(quick: bool) -> str:
    nodes = 600 if quick else 2000
    repeat = 2 if quick else 3
    tree = generate.write_tree(nodes, 3, OUT)
    rel = tree.relative_to(ROOT)
    rl = measure(f"`nsm rank-levers {rel} --format json`",
                 [NSM, "rank-levers", str(tree), "--format", "json"], repeat)
    gs = measure(f"`nsm goal-seek {rel} --target 1e6 --format json`",
                 [NSM, "goal-seek", str(tree), "--target", "1e6", "--format", "json"], repeat)
    return "\n".join([
        "## 6. goal-seek against rank-levers (issue 17: no quadratic blow-up)", "",
        f"{nodes:,} nodes ({nodes // 2:,} leaves, every one a lever), 3 periods. Every lever's "
        "scan, Brent searches and refinements run in lockstep: one sparse batched evaluation "
        "per step for all levers. Ratio against rank-levers.", "", HEAD, rl.row(), gs.row(rl),
        ""])


def case_alerts(quick: bool) -> str:
    count = 2000 if quick else 18_000
    repeat = 2 if quick else 3
    tree = generate.write_guardrails(count, 3, OUT)
    rel = tree.relative_to(ROOT)
    as_json = measure(f"`nsm alerts {rel} --format json`",
                      [NSM, "alerts", str(tree), "--format", "json"], repeat, ok_codes=(3,))
    as_text = measure(f"`nsm alerts {rel}` (text, 100 columns)", [NSM, "alerts", str(tree)],
                      repeat, env={**os.environ, "COLUMNS": "100"}, ok_codes=(3,))
    return "\n".join([
        "## 7. alerts as text against JSON (issue 17: text was 8× slower)", "",
        f"{count:,} guardrails that all fire. Tables of more than 500 rows are laid out line "
        "by line instead of by rich's per-cell layout. Ratio against JSON.", "", HEAD,
        as_json.row(), as_text.row(as_json), ""])


def case_explain(quick: bool) -> str:
    shared = generate.write_shared(OUT)
    nodes = 2000 if quick else 10_000
    wide = generate.write_tree(nodes, 3, OUT)
    rows = [measure(f"`nsm explain {shared.relative_to(ROOT)} --format json` (exact, 16 shared "
                    "leaves under 1,000 products)",
                    [NSM, "explain", str(shared), "--format", "json"], 3),
            measure(f"`nsm explain {wide.relative_to(ROOT)} --format json` (sampled: "
                    f"{nodes // 2:,} leaves changed, W202 caps the pairs)",
                    [NSM, "explain", str(wide), "--format", "json"], 2)]
    return "\n".join([
        "## 8. explain memory (issue 17: ≤ 500 MB for any tree)", "",
        "Coalitions and permutations are evaluated in chunks that keep a node's variants only "
        "until its last parent used them.", "", HEAD, *(t.row() for t in rows), ""])


def case_forecast(quick: bool) -> str:
    """Issue 16: 500 nodes, 36 periods, 10,000 paths, horizon 6 in at most 2 s."""
    nodes, periods, samples = (100, 36, 2000) if quick else (500, 36, 10_000)
    repeat = 2 if quick else 5
    tree = generate.write_tree(nodes, periods, OUT)
    rel = tree.relative_to(ROOT)
    ev = measure(f"`nsm eval {rel} --format json`", [NSM, "eval", str(tree), "--format", "json"],
                 repeat)
    lines = ["## 10. forecast (issue 16: target ≤ 2 s)", "",
             f"{nodes:,} nodes ({nodes // 2:,} leaves, each fitted with a season: 36 months are "
             f"3 seasons), {periods} periods, {samples:,} paths, horizon 6. Ratio against eval.",
             "", HEAD, ev.row()]
    if command_exists("forecast"):
        fc = measure(f"`nsm forecast {rel} --horizon 6 --samples {samples} --seed 0 "
                     "--format json`",
                     [NSM, "forecast", str(tree), "--horizon", "6", "--samples", str(samples),
                      "--seed", "0", "--format", "json"], repeat)
        lines.append(fc.row(ev))
    else:
        lines.append("| `nsm forecast` | not run: command missing | | | |")


def _cpu_runs(argv: list[str], repeat: int) -> tuple[list[float], list[float], float]:
    """Wall and CPU (user + system) seconds of fresh processes, and the peak MB."""
    walls, cpus, peak = [], [], 0.0
    for _ in range(repeat):
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise RuntimeError(f"{' '.join(argv)} failed")
        walls.append(time.perf_counter() - start)
        cpus.append(usage.ru_utime + usage.ru_stime)
        peak = max(peak, usage.ru_maxrss / 1024)
    return walls, cpus, peak


def case_segments(quick: bool) -> str:
    """`--by` over many segments: eval (target ≤ 2 s) and rank-levers (≤ 3× eval)."""
    segments, nodes, periods = (100, 100, 6) if quick else (1000, 500, 24)
    repeat = 2 if quick else 3
    tree = generate.write_segments(segments, nodes, periods, OUT)
    rel = tree.relative_to(ROOT)
    runs = [(f"`nsm eval {rel}` (no --by: the total only)", ["eval", str(tree)]),
            (f"`nsm eval {rel} --by store` (text: top 6, the rest summarised)",
             ["eval", str(tree), "--by", "store"]),
            ("same, `--format json` (every segment's every node)",
             ["eval", str(tree), "--by", "store", "--format", "json"]),
            (f"`nsm rank-levers {rel} --by store --top 20`",
             ["rank-levers", str(tree), "--by", "store", "--top", "20"])]
    parquet = generate.segments_parquet(tree)
    runs += [(f"`nsm eval {parquet.relative_to(ROOT)} --by store` (the same rows as Parquet)",
              ["eval", str(parquet), "--by", "store"]),
             ("same, `rank-levers --by store --top 20`",
              ["rank-levers", str(parquet), "--by", "store", "--top", "20"])]
    lines = ["## 12. Segments: `--by` (targets: eval ≤ 2 s, rank-levers ≤ 3× eval)", "",
             f"{segments:,} stores × {nodes} nodes ({nodes // 2} leaves, every fifth a `mean`) × "
             f"{periods} periods: a wide CSV of {segments * periods:,} rows, one per (period, "
             "store), `segments: [store]`, read by the engine. CPU is user + system time of the "
             "process (the wall time also waits for other work on a shared machine). Ratio: "
             "CPU against `eval --by` (text).", "",
             "| command | median wall s | median CPU s | peak MB | ratio |",
             "|---|---|---|---|---|"]
    baseline = None
    for label, args in runs:
        walls, cpus, peak = _cpu_runs([NSM, *args], repeat)
        cpu = statistics.median(cpus)
        if "--by store`" in label:
            baseline = cpu   # each format's eval --by is the baseline of its rank-levers
        ratio = f"{cpu / baseline:.2f}×" if baseline and "rank-levers" in label else "—"
        lines.append(f"| {label} | {statistics.median(walls):.3f} | {cpu:.3f} | {peak:.0f} | "
                     f"{ratio} |")
    return "\n".join([*lines, ""])


def phases(tree: Path, output: str, env: dict[str, str] | None = None) -> list[str]:
    """bench/phases.py's CPU split of one eval, as Markdown lines."""
    run = subprocess.run([PYTHON, str(HERE / "phases.py"), str(tree.relative_to(ROOT)), output],
                         cwd=ROOT, capture_output=True, text=True,
                         env={**os.environ, **(env or {})})
    if run.returncode != 0:
        return [f"(phases.py failed: {run.stderr.strip().splitlines()[-1:]})"]
    return run.stdout.splitlines()


def big_row(t: Timing, target: str, seconds: float, mb: float | None = None) -> str:
    """A row of case 6 with CPU time and whether the target is met (wall-clock median)."""
    if t.failed:
        return f"| {t.label} | {t.failed} | | | | {target} |"
    met = t.median <= seconds and (mb is None or t.peak_mb < mb)
    return (f"| {t.label} | {t.median:.3f} | {min(t.times):.3f}–{max(t.times):.3f} "
            f"(n={len(t.times)}) | {statistics.median(t.cpu):.3f} | {t.peak_mb:.0f} | "
            f"{target}: {'met' if met else 'missed'} |")


def case_big(quick: bool) -> str:
    """Issue 18: the 5,461-node tree in under a second, 100,000 nodes in under 5 s and 1 GB."""
    repeat = 2 if quick else 5
    tree = generate.write_tree(5461, 100, OUT, balanced=True)
    rel = tree.relative_to(ROOT)
    sink = OUT / "big_output"
    json_run = measure(f"`nsm eval {rel} --format json > FILE`",
                       [NSM, "eval", str(tree), "--format", "json"], repeat, stdout=sink)
    text_run = measure(f"`nsm eval {rel} > FILE` (text)", [NSM, "eval", str(tree)], repeat,
                       stdout=sink)
    lines = ["## 11. The big tree (issue 18)", "",
             "A balanced tree, 4 children per node, 7 levels: 5,461 nodes, 4,096 leaves bound to "
             "a wide CSV of 4,096 columns × 100 periods (2.9 MB); output written to a file. Then "
             "the generated 100,000-node tree (50,000 leaves, 6 levels) with 100 periods. CPU s "
             "is the child's user + system time (`os.wait4`): on a busy shared machine it moves "
             "less than the wall time.", "",
             "| command | median s | spread s | CPU s (median) | peak MB | target |",
             "|---|---|---|---|---|---|", big_row(json_run, "≤ 1.0 s", 1.0),
             big_row(text_run, "≤ 1.0 s", 1.0)]
    if not quick:
        huge = generate.write_tree(100_000, 100, OUT)
        argv = [NSM, "eval", str(huge), "--format", "json"]
        label = f"`nsm eval {huge.relative_to(ROOT)} --format json > FILE`"
        lines.append(big_row(measure(label, argv, 3, stdout=sink), "≤ 5 s, < 1,024 MB", 5.0,
                             1024))
    lines += ["", "Where the time goes (`bench/phases.py`, CPU seconds in one process):", ""]
    lines += phases(tree, "json") + [""] + phases(tree, "text")
    if not quick:
        lines += [""] + phases(huge, "json")
        for leftover in OUT.glob("tree_100000_100.*"):
            leftover.unlink()
    sink.unlink(missing_ok=True)
    return "\n".join([*lines, ""])


RUNNERS = {"startup": case_startup, "detail": case_detail, "levers": case_levers,
           "check": case_check, "growth": case_growth, "goalseek": case_goalseek,
           "alerts": case_alerts, "explain": case_explain, "parquet": case_parquet,
           "forecast": case_forecast, "big": case_big,
           "segments": case_segments}


def machine() -> str:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{datetime.datetime.now().isoformat(timespec='minutes')} · {os.cpu_count()} CPUs "
            f"(`nproc`) · {cpu} · Python {platform.python_version()} · {platform.system()}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small inputs, few repeats")
    parser.add_argument("--cases", default=",".join(CASES),
                        help=f"comma-separated, from {', '.join(CASES)}")
    parser.add_argument("--output", default=str(HERE / "results.md"))
    args = parser.parse_args(argv)
    chosen = [name.strip() for name in args.cases.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in RUNNERS]
    if unknown:
        parser.error(f"unknown case {', '.join(unknown)}; choose from {', '.join(CASES)}")
    if not shutil.which(NSM) and not Path(NSM).exists():
        parser.error(f"{NSM} not found: run `make setup` first")
    OUT.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    sections = [f"# Benchmark results{' (quick run)' if args.quick else ''}", "",
                f"Machine: {machine()}", "",
                "Written by `bench/run.py`; medians of fresh processes, spread is min–max, "
                "peak MB is the child's max RSS (`os.wait4`).", ""]
    for name in chosen:
        began = time.perf_counter()
        print(f"[bench] {name} …", file=sys.stderr, flush=True)
        sections.append(RUNNERS[name](args.quick))
        print(f"[bench] {name} done in {time.perf_counter() - began:.0f} s", file=sys.stderr)
    sections.append(f"Total benchmark time: {time.perf_counter() - started:.0f} s.\n")
    Path(args.output).write_text("\n".join(sections), encoding="utf-8")
    print(f"[bench] wrote {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
