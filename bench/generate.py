"""Inputs for the benchmarks, generated (never committed): trees, wide CSVs, a detail CSV.

Every generator is deterministic (a fixed seed) and writes below the folder it is given,
normally `bench/out/`. Run as a script to write one input by hand:

    python bench/generate.py tree 10000 100 bench/out
    python bench/generate.py balanced 5461 100 bench/out
    python bench/generate.py detail 1000000 bench/out
    python bench/generate.py checks 200 bench/out
    python bench/generate.py segments 1000 500 24 bench/out
"""

from __future__ import annotations

import random
import sys
from datetime import date, timedelta
from pathlib import Path

DEPTH = 6  # levels of a generated tree, root included (issue 3: "about 6 levels")
DETAIL_NUMBERS = ("orders", "visitors", "revenue", "cost", "refunds", "returns", "staff_hours",
                  "ad_spend")


def months(count: int) -> list[str]:
    """`count` period labels that sort in time order: months from 1900-01 on."""
    return [f"{1900 + i // 12:04d}-{i % 12 + 1:02d}" for i in range(count)]


def tree_shape(nodes: int, leaves: int | None = None, depth: int = DEPTH) -> list[list[int]]:
    """children[i] for nodes 0..nodes-1: half of them leaves, `depth` levels at most.

    Interior nodes form a complete tree whose branching is the smallest that fits them in
    depth - 1 levels; every interior node without interior children gets a leaf, and the
    remaining leaves are dealt out to the deepest interior nodes first.
    """
    leaves = nodes // 2 if leaves is None else leaves
    interior = max(1, nodes - leaves)
    branching = 2
    while sum(branching**k for k in range(depth - 1)) < interior:
        branching += 1
    children: list[list[int]] = [[] for _ in range(interior)]
    for i in range(1, interior):
        children[(i - 1) // branching].append(i)
    bare = [i for i in range(interior) if not children[i]]
    leaf_ids = list(range(interior, max(nodes, interior + len(bare))))
    children.extend([] for _ in leaf_ids)
    order = bare + [i for i in reversed(range(interior)) if children[i]]
    for k, leaf in enumerate(leaf_ids):
        children[order[k % len(order)]].append(leaf)
    return children


def _formula(kids: list[str], rng: random.Random) -> str:
    """A realistic mix of products and sums, e.g. `a * b + c`, `(a + b) * c`, `a + b + c`."""
    if len(kids) == 1:
        return f"{kids[0]} * 1"
    style = rng.random()
    if style < 0.4:
        return " + ".join(kids)
    if style < 0.75 or len(kids) == 2:
        head = f"{kids[0]} * {kids[1]}"
        return " + ".join([head, *kids[2:]])
    return f"({' + '.join(kids[:-1])}) * {kids[-1]}"


def balanced_shape(branching: int, levels: int) -> list[list[int]]:
    """children[i] of a complete tree: every interior node has `branching` children."""
    nodes = sum(branching**k for k in range(levels))
    interior = nodes - branching ** (levels - 1)
    return [list(range(i * branching + 1, i * branching + branching + 1)) if i < interior else []
            for i in range(nodes)]


def write_tree(nodes: int, periods: int, out: Path, seed: int = 7,
               balanced: bool = False) -> Path:
    """A tree of `nodes` nodes over a wide CSV with one column per leaf and `periods` rows.

    `balanced`: the issue-18 shape instead, 4 children per interior node, 7 levels (5,461 nodes,
    4,096 leaves; `nodes` must be 5461).
    """
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    stem = f"{'balanced' if balanced else 'tree'}_{nodes}_{periods}"
    children = balanced_shape(4, 7) if balanced else tree_shape(nodes)
    if len(children) != nodes:
        raise ValueError(f"a balanced tree has {len(children)} nodes, not {nodes}")
    ids = [f"n{i}" if children[i] else f"x{i}" for i in range(len(children))]
    leaf_ids = [ids[i] for i in range(len(children)) if not children[i]]

    lines = ["version: 1", f"name: generated tree, {nodes} nodes, {periods} periods",
             f"data:\n  d: {stem}.csv", "root:"]

    def emit(i: int, indent: str, first: str) -> None:
        kids = children[i]
        lines.append(f"{indent}{first}id: {ids[i]}")
        pad = indent + " " * len(first)
        if kids:
            lines.append(f"{pad}formula: {_formula([ids[k] for k in kids], rng)}")
            lines.append(f"{pad}children:")
            for k in kids:
                emit(k, pad + "  ", "- ")
        else:
            lines.append(f"{pad}source: d.{ids[i]}")
            if i % 10 == 0:
                lines.append(f"{pad}benchmark: 1.5")
            if i % 7 == 0:
                lines.append(f"{pad}direction: down")

    emit(0, "  ", "")
    tree_path = out / f"{stem}.yaml"
    tree_path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    with open(out / f"{stem}.csv", "w", encoding="utf-8", newline="") as handle:
        handle.write("period," + ",".join(leaf_ids) + "\n")
        for label in months(periods):
            cells = [f"{rng.uniform(0.5, 2.0):.4f}" for _ in leaf_ids]
            handle.write(label + "," + ",".join(cells) + "\n")
    return tree_path


def write_segments(segments: int, nodes: int, periods: int, out: Path, seed: int = 13) -> Path:
    """A tree over one row per (period, store): `segments: [store]`, leaves `sum` (every fifth
    a `mean`), so `--by store` evaluates `segments` stores at once."""
    rng = random.Random(seed)
    base = write_tree(nodes, 1, out / "segments_scratch", seed)
    stem = f"segments_{segments}_{nodes}_{periods}"
    lines = base.read_text(encoding="utf-8").splitlines()
    leaf_ids: list[str] = []
    for i, line in enumerate(lines):
        if line.startswith("data:"):
            lines[i] = f"data:\n  d: {{path: {stem}.csv, segments: [store]}}"
        elif line.startswith("  d: "):
            lines[i] = ""
        elif "source: d." in line:
            leaf = line.split("source: d.", 1)[1]
            agg = "mean" if len(leaf_ids) % 5 == 4 else "sum"
            leaf_ids.append(leaf)
            lines[i] = line.split("source:")[0] + f"source: {{data: d, column: {leaf}, agg: {agg}}}"
    tree_path = out / f"{stem}.yaml"
    tree_path.write_text("\n".join(line for line in lines if line) + "\n", encoding="utf-8")
    with open(out / f"{stem}.csv", "w", encoding="utf-8", newline="") as handle:
        handle.write("period,store," + ",".join(leaf_ids) + "\n")
        for label in months(periods):
            for store in range(segments):
                cells = [f"{rng.uniform(0.5, 2.0):.4f}" for _ in leaf_ids]
                handle.write(f"{label},store{store:04d}," + ",".join(cells) + "\n")
    return tree_path


def segments_parquet(tree: Path) -> Path:
    """The same segments input as Parquet (typed columns: no cell to parse), beside the CSV."""
    import duckdb

    csv_path = tree.with_suffix(".csv")
    parquet = tree.with_name(tree.stem + "_parquet.yaml")
    con = duckdb.connect()
    con.execute(f"COPY (SELECT * FROM read_csv('{csv_path}', header=true)) TO "
                f"'{csv_path.with_suffix('.parquet')}' (FORMAT parquet)")
    con.close()
    text = tree.read_text(encoding="utf-8").replace(f"{csv_path.name},",
                                                   f"{csv_path.with_suffix('.parquet').name},")
    parquet.write_text(text, encoding="utf-8")
    return parquet


def write_detail(rows: int, out: Path, days: int = 100, seed: int = 11) -> tuple[Path, Path]:
    """A detail export: one row per store per day, 10 columns, some cells like `"1,200"`.

    Columns: period (a date), store (a Chinese store name), 8 numbers. Rows are grouped by day
    as exports usually are. Returns (csv, tree): the tree sums (and averages) the numbers per day.
    """
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    csv_path = out / f"detail_{rows}.csv"
    stores = max(1, rows // days)
    start = date(2025, 1, 1)
    with open(csv_path, "w", encoding="utf-8", newline="") as handle:
        handle.write("period,store," + ",".join(DETAIL_NUMBERS) + "\n")
        written = 0
        for day in range(days):
            label = (start + timedelta(days=day)).isoformat()
            chunk = []
            for store in range(stores if day < days - 1 else rows - written):
                orders = rng.randint(20, 400)
                revenue = orders * rng.randint(40, 90)
                revenue_cell = f'"{revenue:,}"' if revenue >= 1000 and store % 5 == 0 else str(
                    revenue)
                cells = (label, f"门店{store:05d}", str(orders), str(orders * rng.randint(3, 9)),
                         revenue_cell, f"{revenue * rng.uniform(0.5, 0.8):.2f}",
                         str(rng.randint(0, 9)), str(rng.randint(0, 5)),
                         f"{rng.uniform(8, 80):.1f}", f"{rng.uniform(0, 500):.2f}")
                chunk.append(",".join(cells))
            handle.write("\n".join(chunk) + "\n")
            written += len(chunk)
    tree_path = out / f"detail_{rows}.yaml"
    tree_path.write_text(f"""\
version: 1
name: daily store totals from a detail export ({rows} rows)
data:
  detail: {csv_path.name}
root:
  id: profit
  formula: revenue - cost - refunds_value - marketing
  children:
    - id: revenue
      formula: orders * basket
      children:
        - id: orders
          source: {{data: detail, column: orders, agg: sum}}
        - id: basket
          formula: revenue_sum / orders_sum
          children:
            - id: revenue_sum
              source: {{data: detail, column: revenue, agg: sum}}
            - id: orders_sum
              source: {{data: detail, column: orders, agg: sum}}
    - id: cost
      source: {{data: detail, column: cost, agg: sum}}
    - id: refunds_value
      formula: refunds * 60 + returns * 25
      children:
        - id: refunds
          source: {{data: detail, column: refunds, agg: sum}}
        - id: returns
          source: {{data: detail, column: returns, agg: sum}}
    - id: marketing
      formula: ad_spend + staff_hours * 30 + visitors * 0
      children:
        - id: ad_spend
          source: {{data: detail, column: ad_spend, agg: sum}}
        - id: staff_hours
          source: {{data: detail, column: staff_hours, agg: mean}}
        - id: visitors
          source: {{data: detail, column: visitors, agg: sum}}
""", encoding="utf-8")
    return csv_path, tree_path


def write_checks(count: int, out: Path, seed: int = 5) -> Path:
    """`count` small valid tree files (about 15 nodes each) in one folder, for `nsm check`."""
    rng = random.Random(seed)
    folder = out / f"checks_{count}"
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*"):
        old.unlink()
    for n in range(count):
        children = tree_shape(15, 8, depth=4)
        ids = [f"m{i}" if children[i] else f"l{i}" for i in range(len(children))]
        leaves = [ids[i] for i in range(len(children)) if not children[i]]
        lines = ["version: 1", f"name: small tree {n}", f"data:\n  d: tree_{n:03d}.csv", "root:"]

        _emit_small(0, "  ", "", lines, ids, children, rng)
        (folder / f"tree_{n:03d}.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
        rows = [",".join(["period", *leaves])]
        for label in months(6):
            rows.append(",".join([label, *(f"{rng.uniform(0.5, 2):.3f}" for _ in leaves)]))
        (folder / f"tree_{n:03d}.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return folder


def _emit_small(i: int, indent: str, first: str, lines: list[str], ids: list[str],
                children: list[list[int]], rng: random.Random) -> None:
    """One node of a small check tree, with a name, an owner, benchmarks and actions."""
    lines.append(f"{indent}{first}id: {ids[i]}")
    pad = indent + " " * len(first)
    lines.append(f"{pad}name: metric {ids[i]}")
    lines.append(f"{pad}owner: team {i % 3}")
    if children[i]:
        lines.append(f"{pad}formula: {_formula([ids[k] for k in children[i]], rng)}")
        lines.append(f"{pad}children:")
        for k in children[i]:
            _emit_small(k, pad + "  ", "- ", lines, ids, children, rng)
    else:
        lines.append(f"{pad}source: d.{ids[i]}")
        lines.append(f"{pad}benchmark: {rng.uniform(1, 3):.2f}")
        lines.append(f"{pad}actions:\n{pad}  - improve {ids[i]}")


def write_orders_parquet(rows: int, out: Path) -> tuple[Path, Path]:
    """Raw orders as Parquet (written by DuckDB): a timestamp over 2024, a customer id out of
    200,000, an amount. Returns (parquet, tree): the tree counts distinct customers per month."""
    import duckdb

    out.mkdir(parents=True, exist_ok=True)
    path = out / f"orders_{rows}.parquet"
    if not path.exists():
        duckdb.connect().execute(
            "COPY (SELECT TIMESTAMP '2024-01-01' + to_seconds(CAST(hash(i) % 31622400 AS BIGINT))"
            " AS ordered_at, CAST(hash(i * 7 + 1) % 200000 AS BIGINT) AS customer_id, "
            "CAST(hash(i * 13 + 5) % 10000 AS DOUBLE) / 100 AS amount "
            f"FROM range({int(rows)}) t(i)) TO '{path}' (FORMAT parquet)")
    tree = out / f"orders_{rows}.yaml"
    tree.write_text(f"""\
version: 1
name: distinct customers per month ({rows} orders)
data:
  orders: {{path: {path.name}, time: ordered_at, grain: month}}
root:
  id: buyers
  source: {{data: orders, column: customer_id, agg: count_distinct}}
""", encoding="utf-8")
    return path, tree


def write_guardrails(count: int, periods: int, out: Path, seed: int = 3) -> Path:
    """A small tree with `count` guardrails, each bound to a CSV column and each breaching its
    `max` in the last period: `nsm alerts` then lists `count` fired alerts."""
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    stem = f"guardrails_{count}_{periods}"
    columns = [f"g{i}" for i in range(count)]
    lines = ["version: 1", f"name: {count} guardrails", f"data:\n  d: {stem}.csv",
             "root:", "  id: total", "  formula: a + b", "  children:",
             "    - id: a", "      source: d.a", "    - id: b", "      source: d.b",
             "guardrails:"]
    for i, column in enumerate(columns):
        lines += [f"  - id: {column}", f"    name: 护栏指标 {i}", "    unit: \"%\"",
                  f"    source: d.{column}", "    max: 50%", "    owner: 风控组"]
    tree_path = out / f"{stem}.yaml"
    tree_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with open(out / f"{stem}.csv", "w", encoding="utf-8", newline="") as handle:
        handle.write("period,a,b," + ",".join(columns) + "\n")
        for label in months(periods):
            cells = [f"{rng.uniform(0.6, 0.9):.4f}" for _ in columns]
            handle.write(f"{label},{rng.uniform(1, 2):.3f},{rng.uniform(1, 2):.3f},"
                         + ",".join(cells) + "\n")
    return tree_path


def write_shared(out: Path, groups: int = 10, per: int = 100, players: int = 16) -> Path:
    """1,000 products m_i = p_(i mod 16) × c_i summed in 10 groups, 16 shared drivers p that
    change between two periods: every product depends on a changed leaf, the worst case for
    the memory of exact Shapley (before chunking: 2^16 variants of every product)."""
    out.mkdir(parents=True, exist_ok=True)
    lines = ["name: shared drivers", "data: {d: shared.csv}", "root:", "  id: total",
             "  formula: " + " + ".join(f"g{k}" for k in range(groups)), "  children:"]
    defined: set[str] = set()
    for k in range(groups):
        ids = [f"m{k * per + j}" for j in range(per)]
        lines += [f"    - id: g{k}", "      formula: " + " + ".join(ids), "      children:"]
        for node_id in ids:
            i = int(node_id[1:])
            p = f"p{i % players}"
            lines += [f"        - id: {node_id}", f"          formula: {p} * c{i}",
                      "          children:",
                      f"            - {{ref: {p}}}" if p in defined
                      else f"            - {{id: {p}, source: d.{p}}}",
                      f"            - {{id: c{i}, value: {i % 7 + 1}}}"]
            defined.add(p)
    (out / "shared.csv").write_text(
        "period," + ",".join(f"p{k}" for k in range(players)) + "\n"
        "2025-05," + ",".join(str(k + 1) for k in range(players)) + "\n"
        "2025-06," + ",".join(str(2 * (k + 1)) for k in range(players)) + "\n")
    path = out / "shared.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def main(argv: list[str]) -> int:
    kind, *rest = argv
    if kind in ("tree", "balanced"):
        print(write_tree(int(rest[0]), int(rest[1]), Path(rest[2]), balanced=kind == "balanced"))
    elif kind == "detail":
        print(write_detail(int(rest[0]), Path(rest[1]))[1])
    elif kind == "checks":
        print(write_checks(int(rest[0]), Path(rest[1])))
    elif kind == "segments":
        print(write_segments(int(rest[0]), int(rest[1]), int(rest[2]), Path(rest[3])))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
