"""Rolling-origin backtest of `nsm forecast` on the real series in tests/data (README numbers).

For every origin in the last YEARS years of a one-leaf tree, the history up to the origin
is forecast H periods ahead (the p50 of `nsm forecast`'s simulation, 1,000 paths, seed 0)
and compared with what happened (also: is it inside the p10–p90 band?), beside two naive
forecasts: the last value (what
`--backtest` reports) and the same month a year before (seasonal naive).

    .venv/bin/python bench/backtest.py tests/data/airline.yaml tests/data/elec_equip.yaml
    .venv/bin/python bench/backtest.py tests/data/elec_equip.yaml --origins 2008-01:2009-12
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from nsm_cli.analysis.evaluate import evaluate
from nsm_cli.analysis.forecast import quantiles, simulate_tree
from nsm_cli.data.load import load_tree

HORIZONS = (1, 3, 6, 12)
YEARS = 5


def backtest(path: str, origins: str | None = None) -> list[str]:
    loaded = load_tree(path)
    ev = evaluate(loaded)
    tree, periods = ev.tree, ev.periods
    [leaf] = list(ev.inputs)
    y = np.asarray(ev.inputs[leaf], dtype=float)
    first, stop = len(y) - 12 * YEARS, len(y)
    if origins:
        begin, end = origins.split(":")
        first, stop = periods.index(begin), periods.index(end) + 1
    rows = []
    for h in HORIZONS:
        errors: dict[str, list[float]] = {"nsm": [], "last": [], "seasonal": []}
        inside = []
        for origin in range(first, min(stop, len(y) - h + 1)):
            history = {leaf: y[:origin]}
            _, values = simulate_tree(tree, history, periods[:origin], h, 1000, 0)
            p10, p50, p90 = quantiles(values[tree.root], h)[:, -1]
            actual = y[origin + h - 1]
            inside.append(p10 <= actual <= p90)
            errors["nsm"].append(abs(p50 - actual) / abs(actual))
            errors["last"].append(abs(y[origin - 1] - actual) / abs(actual))
            errors["seasonal"].append(abs(y[origin + h - 1 - 12] - actual) / abs(actual))
        nsm, last, seasonal = (np.array(errors[k]) for k in ("nsm", "last", "seasonal"))
        rows.append(f"| {tree.file.name} | {h} | {nsm.size} | {nsm.mean():.1%} | "
                    f"{last.mean():.1%} | {seasonal.mean():.1%} | {(last < nsm).mean():.0%} | "
                    f"{(seasonal < nsm).mean():.0%} | {np.mean(inside):.0%} |")
    return rows


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trees", nargs="+")
    parser.add_argument("--origins", help="FIRST:LAST period labels of the origins "
                        f"(default: the last {YEARS} years)")
    args = parser.parse_args(argv)
    print("| series | h | origins | nsm MAPE | last value MAPE | seasonal naive MAPE | "
          "last value better | seasonal naive better | in p10–p90 |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for path in args.trees:
        for row in backtest(path, args.origins):
            print(row)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
