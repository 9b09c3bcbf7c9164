"""`nsm forecast`: project every leaf, carry the uncertainty through the formulas, judge targets.

Each sourced leaf with six or more periods of history gets a damped-trend exponential
smoothing (with an additive season once it has two full seasons; `ets.py`). Its future is
simulated K times by feeding its own one-step residuals back through the model, and the
residuals of all leaves are drawn *from the same past periods* in each path (a bootstrap of
whole periods), so leaves that moved together in the past move together in the paths. The
K × H leaf values go through the formulas in one `compute` pass; every node's p10/p50/p90
and the probability that a node meets its target are read off the paths.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from nsm_cli.analysis import ets
from nsm_cli.analysis.evaluate import compute, evaluate
from nsm_cli.data.load import LoadedTree
from nsm_cli.data.periods import (
    day_period,
    month_period,
    parse_period,
    quarter_period,
    week_period,
)
from nsm_cli.diagnostics import RequestError
from nsm_cli.numbers import json_number
from nsm_cli.tree.compile import CompiledTree

MIN_HISTORY = 6
MIN_POOL = 4                 # one-step errors a leaf keeps at least for its bootstrap
DEFAULT_HORIZON, DEFAULT_SAMPLES = 3, 2000
MAX_HORIZON, MAX_SAMPLES = 120, 1_000_000
MAX_VALUES = 150_000_000     # nodes × horizon × paths held at once (1.2 GB of floats)
VARIANCE_SAMPLES = 1000      # paths per leaf in the variance decomposition
VARIANCE_BATCH = 32          # leaves varied per evaluation pass there
QUANTILES = (0.1, 0.5, 0.9)
METHOD = ("damped-trend exponential smoothing (additive season with 2+ full seasons), "
          "residual bootstrap of whole periods")

# -- periods ------------------------------------------------------------------------------

SEASONS = {"month": 12, "quarter": 4, "week": 52, "day": 7, "year": 1}


def grain(periods: Sequence[str]) -> str | None:
    """The calendar grain every label shares (`month`, `quarter`, …), else None."""
    found = {getattr(parse_period(label), "grain", None) for label in periods}
    return found.pop() if len(found) == 1 else None


def season_length(periods: Sequence[str]) -> int:
    """Periods per season for the labels' grain (12 months, 4 quarters, 52 weeks, 7 days); 1:
    no season (years, or labels that are not calendar periods)."""
    return SEASONS.get(grain(periods) or "", 1)


def next_periods(periods: Sequence[str], count: int) -> list[str]:
    """The labels of the `count` periods after the last one; `+1`, `+2`… for other labels."""
    kind = grain(periods)
    last = parse_period(periods[-1]) if kind else None
    if last is None:
        return [f"+{k}" for k in range(1, count + 1)]
    ahead = range(last.ordinal + 1, last.ordinal + count + 1)
    if kind == "month":
        return [month_period(n // 12, n % 12 + 1).label for n in ahead]
    if kind == "quarter":
        return [quarter_period(n // 4, n % 4 + 1).label for n in ahead]
    if kind == "week":
        return [week_period(datetime.date.fromordinal(last.ordinal + 7 * k)).label
                for k in range(1, count + 1)]
    if kind == "day":
        return [day_period(datetime.date.fromordinal(n)).label for n in ahead]
    return [f"{n:04d}" for n in ahead]


# -- leaves -------------------------------------------------------------------------------


@dataclass(frozen=True)
class LeafModel:
    """How one leaf is projected: the model and its parameters, or why it stays put."""

    id: str
    method: str                  # damped_trend, damped_trend_seasonal, last_value, constant
    reason: str | None           # why a leaf stays at its last value
    history: int                 # periods with a value
    last: float | None
    alpha: float | None = None
    beta: float | None = None
    phi: float | None = None
    gamma: float | None = None
    rmse: float | None = None

    def to_json(self) -> dict[str, object]:
        return {"id": self.id, "method": self.method, "reason": self.reason,
                "history": self.history, "last": json_number(self.last),
                "alpha": json_number(self.alpha, 6), "beta": json_number(self.beta, 6),
                "phi": json_number(self.phi, 6), "gamma": json_number(self.gamma, 6),
                "rmse": json_number(self.rmse, 6)}


def _classify(tree: CompiledTree, leaf: str, x: np.ndarray) -> tuple[str, str | None]:
    present = x[np.isfinite(x)]
    if tree.nodes[leaf].source is None:
        return "constant", "a constant (value:)"
    if present.size == 0:
        return "last_value", "no data"
    if present.size < MIN_HISTORY:
        return "last_value", (f"{present.size} period{'s' if present.size != 1 else ''} of "
                              f"history (fewer than {MIN_HISTORY})")
    if np.ptp(present) == 0:
        return "last_value", "constant in its history"
    return "model", None


def _last(x: np.ndarray) -> float | None:
    present = x[np.isfinite(x)]
    return float(present[-1]) if present.size else None


@dataclass(frozen=True)
class LeafPaths:
    """Every leaf's model and its simulated paths (H, K), or (H, 1) for one that stays put."""

    models: dict[str, LeafModel]
    paths: dict[str, np.ndarray]


def _fit_group(y: np.ndarray, m: int) -> ets.Fit:
    """Fit the series; their first m periods (2 without a season) leave the bootstrap pool.

    Those errors measure the initial guess of the states more than the series, so they are
    dropped as long as MIN_POOL errors remain."""
    start = np.argmax(np.isfinite(y), axis=1)
    model = ets.fit(y, start, m)
    pool = model.residuals.copy()
    burn = m if m > 1 else 2
    for row in range(y.shape[0]):
        early = pool[row, start[row]:start[row] + burn]
        if np.isfinite(pool[row]).sum() - np.isfinite(early).sum() >= MIN_POOL:
            early[:] = np.nan
    return replace(model, residuals=pool)


def _draws(residuals: Sequence[np.ndarray], horizon: int, samples: int,
           rng: np.random.Generator) -> np.ndarray:
    """Which past period each path takes its errors from, (H, K): the same for every leaf."""
    usable = np.flatnonzero(np.any([np.isfinite(r).any(axis=0) for r in residuals], axis=0))
    return rng.choice(usable, size=(horizon, samples))


def _errors_of(residuals: np.ndarray, picks: np.ndarray,
               rng: np.random.Generator) -> np.ndarray:
    """Errors (series, H, K): each series' residuals in the drawn periods; a series without
    a residual in a drawn period takes one of its own at random."""
    errors = residuals[:, picks]
    for row in np.flatnonzero(np.isnan(residuals[:, np.unique(picks)]).any(axis=1)):
        own = residuals[row][np.isfinite(residuals[row])]
        holes = np.isnan(errors[row])
        errors[row][holes] = own[rng.integers(own.size, size=int(holes.sum()))]
    return errors


def leaf_paths(tree: CompiledTree, history: Mapping[str, np.ndarray], periods: Sequence[str],
               horizon: int, samples: int, rng: np.random.Generator) -> LeafPaths:
    """Fit every leaf that has enough history and simulate the leaves jointly."""
    m = season_length(periods)
    models: dict[str, LeafModel] = {}
    paths: dict[str, np.ndarray] = {}
    fitted: dict[int, list[str]] = {}
    for leaf, x in history.items():
        method, reason = _classify(tree, leaf, x)
        count = int(np.isfinite(x).sum())
        if method != "model":
            last = _last(x)
            models[leaf] = LeafModel(leaf, method, reason, count, last)
            paths[leaf] = np.full((horizon, 1), np.nan if last is None else last)
            continue
        first = int(np.argmax(np.isfinite(x)))
        seasonal = m > 1 and len(x) - first >= 2 * m
        fitted.setdefault(m if seasonal else 1, []).append(leaf)
    fits = {group_m: _fit_group(np.stack([history[leaf] for leaf in leaves]), group_m)
            for group_m, leaves in fitted.items()}
    if fits:
        picks = _draws([f.residuals for f in fits.values()], horizon, samples, rng)
        for group_m, model in fits.items():
            simulated = ets.simulate(model, _errors_of(model.residuals, picks, rng))
            for row, leaf in enumerate(fitted[group_m]):
                low, high = _domain(tree, leaf, history[leaf])
                paths[leaf] = _within(simulated[row], low, high)
                models[leaf] = _model(leaf, model, row, history[leaf])
    return LeafPaths(models, paths)


def _domain(tree: CompiledTree, leaf: str, x: np.ndarray) -> tuple[float, float]:
    """The leaf's domain (rates 0–100%, others ≥ 0, or its `domain`), widened to what its
    history shows: a leaf that was negative (a margin, a net flow) may stay negative."""
    low, high = tree.nodes[leaf].value_domain()
    present = x[np.isfinite(x)]
    return min(low, float(present.min())), max(high, float(present.max()))


def _within(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """The paths clipped to the leaf's domain, in place (a read first: most never leave it)."""
    if low > -np.inf and values.min() < low:
        np.maximum(values, low, out=values)
    if high < np.inf and values.max() > high:
        np.minimum(values, high, out=values)
    return values


def _model(leaf: str, model: ets.Fit, row: int, x: np.ndarray) -> LeafModel:
    alpha, beta, phi, gamma = (float(v) for v in model.params[row])
    resid = model.residuals[row][np.isfinite(model.residuals[row])]
    seasonal = model.season_length > 1
    return LeafModel(leaf, "damped_trend_seasonal" if seasonal else "damped_trend", None,
                     int(np.isfinite(x).sum()), _last(x), alpha, beta, phi,
                     gamma if seasonal else None, float(np.sqrt(np.mean(resid * resid))))


# -- through the tree ---------------------------------------------------------------------


def meets(values: np.ndarray, target: float, direction: str) -> np.ndarray:
    """Which samples meet the target, by the node's direction (NaN never does)."""
    return values <= target if direction == "down" else values >= target


def quantiles(values: np.ndarray, horizon: int, scratch: bool = False) -> np.ndarray:
    """p10/p50/p90 per future period (3, H) of paths (H, K) or of a broadcastable shape.

    numpy's "linear" quantiles (Hyndman & Fan's type 7), read off the sorted paths: sorting
    (vectorised) is several times faster than numpy's quantile (a selection per quantile).
    Paths without a value (a formula divided by 0) are left out. With `scratch` the paths
    are sorted in place (no copy of them)."""
    values = np.asarray(values, dtype=float)
    shape = (horizon, values.shape[-1] if values.ndim else 1)
    if values.shape != shape:
        values = np.broadcast_to(values, shape)
    if values.shape[1] == 1:
        return np.repeat(values[None, :, 0], len(QUANTILES), axis=0)
    if scratch and values.flags.writeable:
        values.sort(axis=1)
        ordered = values
    else:
        ordered = np.sort(values, axis=1)
    counts = np.full(horizon, shape[1])
    if np.isnan(ordered[:, -1]).any():       # NaN sorts last
        counts = (~np.isnan(ordered)).sum(axis=1)
    out = np.full((len(QUANTILES), horizon), np.nan)
    rows = np.flatnonzero(counts > 0)
    for i, q in enumerate(QUANTILES):
        position = (counts[rows] - 1) * q
        low = np.floor(position).astype(np.int64)
        high = np.minimum(low + 1, counts[rows] - 1)
        below, above = ordered[rows, low], ordered[rows, high]
        out[i, rows] = below + (position - low) * (above - below)
    return out


def target_probability(values: np.ndarray, target: float, direction: str,
                       horizon: int) -> np.ndarray:
    """P(node meets target) per future period, (H,)."""
    values = np.asarray(values, dtype=float)
    if values.ndim == 0:
        values = values.reshape(1, 1)
    values = np.broadcast_to(values, (horizon, values.shape[-1]))
    return meets(values, target, direction).mean(axis=1)


def simulate_tree(tree: CompiledTree, history: Mapping[str, np.ndarray],
                  periods: Sequence[str], horizon: int, samples: int,
                  seed: int | None) -> tuple[LeafPaths, dict[str, np.ndarray]]:
    """The leaves' paths and every node's values (H, K) in one evaluation pass."""
    rng = np.random.default_rng(seed)
    leaves = leaf_paths(tree, history, periods, horizon, samples, rng)
    with np.errstate(all="ignore"):
        values = compute(tree, leaves.paths)
    return leaves, values


def target_probabilities(tree: CompiledTree, history: Mapping[str, np.ndarray],
                         periods: Sequence[str], nodes: Sequence[str], horizon: int,
                         samples: int = DEFAULT_SAMPLES, seed: int | None = 0
                         ) -> dict[str, np.ndarray]:
    """P(meets target) per future period for the given nodes (each must have a target)."""
    _, values = simulate_tree(tree, history, periods, horizon, samples, seed)
    found = {}
    for node_id in nodes:
        node = tree.nodes[node_id]
        if node.target is not None:
            found[node_id] = target_probability(values[node_id], node.target,
                                                node.direction, horizon)
    return found


@dataclass(frozen=True)
class ForecastOptions:
    """What to forecast: checked once, when made (before any tree is loaded).

    `backtest` K hides the last K periods and forecasts them (the horizon is then K)."""

    horizon: int = DEFAULT_HORIZON
    samples: int = DEFAULT_SAMPLES
    seed: int | None = None
    backtest: int | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.horizon <= MAX_HORIZON:
            raise RequestError("horizon", self.horizon, f"give 1 to {MAX_HORIZON} periods")
        if not 100 <= self.samples <= MAX_SAMPLES:
            raise RequestError("samples", self.samples, f"give 100 to {MAX_SAMPLES:,} paths")
        if self.backtest is not None and self.backtest < 1:
            raise RequestError("backtest", self.backtest, "hide at least 1 period")

    def check(self, periods: int, nodes: int) -> None:
        """What only the tree can tell: enough periods to hide, paths that fit in memory."""
        if self.backtest is not None and self.backtest >= periods:
            raise RequestError("backtest", self.backtest,
                               f"the data has {periods} period"
                               f"{'s' if periods != 1 else ''}, so hide 1 to {periods - 1}"
                               if periods > 1 else "the data has only one period")
        horizon = self.backtest or self.horizon
        if nodes * horizon * self.samples > MAX_VALUES:
            fits = max(100, MAX_VALUES // (nodes * horizon))
            raise RequestError("samples", f"{self.samples:,}",
                               f"{self.samples:,} paths × {horizon} periods × {nodes:,} nodes "
                               f"is {nodes * horizon * self.samples * 8 / 1e9:.1f} GB; this "
                               f"tree takes at most {fits:,} paths at this horizon")


# -- which leaf's uncertainty matters -----------------------------------------------------


@dataclass(frozen=True)
class VarianceShare:
    """A leaf's part of the root's forecast variance at the last forecast period.

    `first_order` is Var(root | only this leaf varies, every other leaf at its median) /
    Var(root); `share` is the same normalised so the leaves' shares add up to 1.
    """

    id: str
    share: float | None
    first_order: float | None

    def to_json(self) -> dict[str, object]:
        return {"id": self.id, "share": json_number(self.share, 6),
                "first_order": json_number(self.first_order, 6)}


def _variance(values: np.ndarray) -> float:
    present = values[np.isfinite(values)]
    return float(present.var()) if present.size > 1 else float("nan")


def _median(values: np.ndarray) -> float:
    present = values[np.isfinite(values)]
    return float(np.median(present)) if present.size else float("nan")


def variance_shares(tree: CompiledTree, leaves: LeafPaths, root_paths: np.ndarray
                    ) -> list[VarianceShare]:
    """One-at-a-time first-order decomposition of the root's variance at the last period.

    Each varying leaf takes its own first VARIANCE_SAMPLES paths (the root's variance is
    measured on the same paths) while every other leaf
    sits at its median; leaves are varied VARIANCE_BATCH at a time along a leading axis, so
    the tree is evaluated once per batch.
    """
    moving = [leaf for leaf in tree.leaves
              if leaves.paths[leaf].shape[1] > 1 and _variance(leaves.paths[leaf][-1]) > 0]
    total = _variance(np.asarray(root_paths, dtype=float)[..., -1, :VARIANCE_SAMPLES])
    if not moving or not np.isfinite(total) or total == 0:
        return []
    medians = {leaf: np.full((1, 1), _median(path[-1])) for leaf, path in
               leaves.paths.items()}
    alone: dict[str, float] = {}
    for begin in range(0, len(moving), VARIANCE_BATCH):
        batch = moving[begin:begin + VARIANCE_BATCH]
        inputs = dict(medians)
        for row, leaf in enumerate(batch):
            last = leaves.paths[leaf][-1, :VARIANCE_SAMPLES]
            varied = np.repeat(medians[leaf], len(batch), axis=0) * np.ones(last.size)
            varied[row] = last
            inputs[leaf] = varied
        with np.errstate(all="ignore"):
            root = np.asarray(compute(tree, inputs)[tree.root], dtype=float)
        root = np.broadcast_to(root, (len(batch), root.shape[-1]))
        for row, leaf in enumerate(batch):
            alone[leaf] = _variance(root[row])
    summed = sum(alone.values())
    shares = [VarianceShare(leaf, value / summed if summed else None, value / total)
              for leaf, value in alone.items()]
    return sorted(shares, key=lambda s: -(s.share or 0.0))


# -- the result ---------------------------------------------------------------------------


@dataclass(frozen=True)
class NodeForecast:
    """One node's recent history and its forecast band per future period."""

    id: str
    name: str
    unit: str | None
    direction: str
    depth: int
    parent: str | None
    target: float | None
    history: tuple[float | None, ...]
    p10: tuple[float | None, ...]
    p50: tuple[float | None, ...]
    p90: tuple[float | None, ...]
    p_target: tuple[float | None, ...] | None   # None in a period: not available
    guardrail: bool = False

    def to_json(self, periods: Sequence[str]) -> dict[str, object]:
        return {
            "id": self.id, "name": self.name, "unit": self.unit, "parent": self.parent,
            "depth": self.depth, "target": json_number(self.target),
            "direction": self.direction, "guardrail": self.guardrail,
            "history": list(self.history),
            "forecast": [{"period": p, "p10": a, "p50": b, "p90": c} for p, a, b, c in
                         zip(periods, self.p10, self.p50, self.p90, strict=True)],
            "p_target": None if self.p_target is None else [
                {"period": p, "probability": q} for p, q in
                zip(periods, self.p_target, strict=True)],
        }


@dataclass(frozen=True)
class BacktestRow:
    """A node's hidden actual values against the forecast's p50 and the last value."""

    id: str
    actual: tuple[float | None, ...]
    forecast: tuple[float | None, ...]
    naive: float | None
    mae: float | None
    mape: float | None
    naive_mae: float | None
    naive_mape: float | None

    def to_json(self) -> dict[str, object]:
        return {"id": self.id, "actual": list(self.actual), "forecast": list(self.forecast),
                "naive": json_number(self.naive), "mae": json_number(self.mae, 6),
                "mape": json_number(self.mape, 6), "naive_mae": json_number(self.naive_mae, 6),
                "naive_mape": json_number(self.naive_mape, 6)}


@dataclass(frozen=True)
class ForecastResult:
    """What `nsm forecast` found; `to_json()` is the contract's JSON plus extra fields."""

    tree: str
    file: str
    root: str
    history_periods: tuple[str, ...]
    periods: tuple[str, ...]
    samples: int
    seed: int | None
    season_length: int
    nodes: tuple[NodeForecast, ...]
    leaves: tuple[LeafModel, ...]
    variance: tuple[VarianceShare, ...]
    backtest: tuple[BacktestRow, ...] | None = None
    method: str = METHOD
    no_forecast: str | None = None   # why no leaf could be forecast; None when one was

    def node(self, node_id: str) -> NodeForecast:
        return next(n for n in self.nodes if n.id == node_id)

    def to_json(self) -> dict[str, object]:
        root = self.node(self.root)
        probabilities = root.p_target or (None,) * len(self.periods)
        return {
            "tree": self.tree, "file": self.file, "root": self.root, "method": self.method,
            "periods": list(self.periods),
            "history": {"from": self.history_periods[0], "to": self.history_periods[-1],
                        "periods": len(self.history_periods)},
            "horizon": len(self.periods), "samples": self.samples, "seed": self.seed,
            "season_length": self.season_length, "target": json_number(root.target),
            "nodes": [n.to_json(self.periods) for n in self.nodes],
            "p_target": [{"period": p, "probability": q} for p, q in
                         zip(self.periods, probabilities, strict=True)],
            "leaves": [leaf.to_json() for leaf in self.leaves],
            "constant_leaves": [leaf.id for leaf in self.leaves if leaf.method in
                                ("constant", "last_value")],
            "variance": {"period": self.periods[-1], "method": "first-order, one leaf at a "
                         "time with the others at their median",
                         "leaves": [v.to_json() for v in self.variance]},
            "backtest": None if self.backtest is None else [b.to_json() for b in self.backtest],
            "no_forecast": self.no_forecast,
        }


# -- the command's core -------------------------------------------------------------------

HISTORY_SHOWN = 12   # past periods kept per node for the chart


def _tuple(values: np.ndarray) -> tuple[float | None, ...]:
    return tuple(json_number(float(v)) for v in values)


def no_forecast(leaves: Iterable[LeafModel], history: int) -> str | None:
    """Why no leaf could be forecast, or None when one was (or every leaf is a constant, whose
    future is known). Held leaves make bands of no width: that is not certainty."""
    methods = {leaf.method for leaf in leaves}
    if methods - {"constant", "last_value"} or "last_value" not in methods:
        return None
    if history < MIN_HISTORY:
        return (f"no leaf could be forecast (a forecast needs {MIN_HISTORY} periods of history; "
                f"the data has {history}): every leaf is held at its last value")
    return ("no leaf could be forecast (each lacks data, never moved, or is a constant): "
            "every leaf is held at its last value")


def _node_forecast(tree: CompiledTree, node_id: str, past: np.ndarray, paths: np.ndarray,
                   horizon: int, chances: bool = True) -> NodeForecast:
    """A node's band and, when `chances`, its probability of meeting its target."""
    node = tree.nodes[node_id]
    chance = None
    if node.target is not None and not chances:
        chance = (None,) * horizon
    elif node.target is not None:
        chance = tuple(round(float(p), 6) for p in
                       target_probability(paths, node.target, node.direction, horizon))
    band = quantiles(paths, horizon, scratch=True)   # the last use of the paths
    return NodeForecast(
        node_id, node.name, node.unit, node.direction, tree.depth.get(node_id, 0),
        tree.parent.get(node_id), node.target, _tuple(past[-HISTORY_SHOWN:]),
        _tuple(band[0]), _tuple(band[1]), _tuple(band[2]), chance, node.is_guardrail)


def _errors(actual: np.ndarray, guess: np.ndarray) -> tuple[float | None, float | None]:
    """MAE and MAPE over the periods with an actual value (MAPE skips actual zeros)."""
    known = np.isfinite(actual) & np.isfinite(guess)
    if not known.any():
        return None, None
    gap = np.abs(actual[known] - guess[known])
    scale = np.abs(actual[known])
    relative = gap[scale > 0] / scale[scale > 0]
    return float(gap.mean()), (float(relative.mean()) if relative.size else None)


def _backtest_row(node_id: str, values: np.ndarray, end: int, p50: tuple) -> BacktestRow:
    actual = np.asarray(values, dtype=float)[end:]
    guess = np.array([np.nan if v is None else v for v in p50])
    naive_value = float(np.asarray(values, dtype=float)[end - 1])
    naive = np.full(actual.shape, naive_value)
    mae, mape = _errors(actual, guess)
    naive_mae, naive_mape = _errors(actual, naive)
    return BacktestRow(node_id, _tuple(actual), tuple(p50), json_number(naive_value),
                       mae, mape, naive_mae, naive_mape)


def forecast(loaded: LoadedTree, options: ForecastOptions) -> ForecastResult:
    """Forecast every node; with `backtest` K, hide the last K periods and forecast those."""
    evaluation = evaluate(loaded)
    tree, periods = evaluation.tree, evaluation.periods
    options.check(len(periods), len(tree.topo))
    backtest, samples, seed = options.backtest, options.samples, options.seed
    end = len(periods) - backtest if backtest else len(periods)
    horizon = backtest or options.horizon
    future = periods[end:] if backtest else next_periods(periods, horizon)
    history = {leaf: np.asarray(x, dtype=float)[:end] for leaf, x in evaluation.inputs.items()}
    leaves, values = simulate_tree(tree, history, periods[:end], horizon, samples, seed)
    shares = tuple(variance_shares(tree, leaves, values[tree.root]))
    unknown = no_forecast(leaves.models.values(), end)
    nodes = tuple(
        _node_forecast(tree, node_id, np.asarray(evaluation.values[node_id], dtype=float)[:end],
                       values[node_id], horizon, chances=unknown is None)
        for node_id in [*tree.order, *tree.guardrails])
    rows = None
    if backtest:
        rows = tuple(_backtest_row(n.id, evaluation.values[n.id], end, n.p50) for n in nodes)
    return ForecastResult(
        tree=tree.file.name, file=tree.path, root=tree.root,
        history_periods=tuple(periods[:end]), periods=tuple(future), samples=samples,
        seed=seed, season_length=season_length(periods[:end]), nodes=nodes,
        leaves=tuple(leaves.models[leaf] for leaf in history),
        variance=shares, backtest=rows, no_forecast=unknown)
