"""Damped-trend exponential smoothing with additive seasonality, for many series at once.

The model (Gardner & McKenzie's damped trend, Holt-Winters' additive season), in the
error-correction form that equals statsmodels' `ExponentialSmoothing(trend="add",
damped_trend=True, seasonal="add")` step for step:

    ŷ_t = l + φ·b + s_(t−m)        e_t = y_t − ŷ_t
    l ← l + φ·b + α·e              b ← φ·b + α·β·e              s_t = s_(t−m) + γ·e

States are arrays (series × candidate parameter sets), so fitting hundreds of leaves is one
loop over the periods instead of one optimiser run per leaf. Parameters minimise the
one-step sum of squared errors: a coarse grid, then a pattern search that halves its step;
the initial states are then solved by least squares for those parameters (the errors are
affine in them) and the search resumes, twice.
A non-seasonal series is the same model with m = 1, a zero season and γ = 0. A missing
value (NaN) after the first one updates nothing but the projection (its error counts as 0).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PHI_RANGE = (0.8, 0.98)          # Hyndman & Athanasopoulos' advice, also statsmodels ETS'
SMOOTHING_RANGE = (1e-4, 0.9999)
# the coarse grid, in the unit cube the parameters are mapped from (see `params`)
GRID_ALPHA = np.linspace(0.05, 0.95, 10)
GRID_BETA = np.array([0.02, 0.1, 0.25, 0.5])
GRID_PHI = np.array([0.0, 0.5, 1.0])
GRID_GAMMA = np.array([0.05, 0.3, 0.6])
SEARCH_STEPS = 24                # pattern-search rounds after the grid
ROUNDS = 4                       # least-squares initial states, then the search again
REFINE_STEPS = 12                # pattern-search rounds after each of those


@dataclass(frozen=True)
class States:
    """Level and trend (series,), the season as a ring (series, m) indexed by period % m."""

    level: np.ndarray
    trend: np.ndarray
    season: np.ndarray


@dataclass(frozen=True)
class Fit:
    """Fitted parameters (series, 4: α β φ γ), final states, one-step residuals (series, T)."""

    params: np.ndarray
    states: States
    residuals: np.ndarray
    sse: np.ndarray
    season_length: int        # m; 1 means no season
    periods: int              # T: the next period's ring slot is T % m
    initial: States | None = None   # the states before the first period


def initial_states(y: np.ndarray, start: np.ndarray, m: int) -> States:
    """A first guess of the states before each series' first period (Hyndman &
    Athanasopoulos' simple initialisation, fpp §7.6, with the trend taken out).

    Trend b = y₁ − y₀ (with a season: the mean of (y_(m+j) − y_j)/m); level = y₀ − b (with a
    season: the first season's mean, moved back (m+1)/2 periods along the trend); season_j =
    y_j minus the trend line, placed so ring slot (start + j) % m holds it. `fit` then
    replaces the guess by the least-squares initial states for the chosen parameters.
    """
    rows = y.shape[0]
    level, trend, season = np.zeros(rows), np.zeros(rows), np.zeros((rows, m))
    for row in range(rows):
        x = y[row, start[row]:]
        if m == 1:
            present = np.flatnonzero(np.isfinite(x))
            if present.size > 1:
                trend[row] = (x[present[1]] - x[present[0]]) / (present[1] - present[0])
            level[row] = x[present[0]] - (present[0] + 1) * trend[row]
            continue
        first, second = x[:m], x[m:2 * m]
        steps = (second - first) / m
        trend[row] = np.nanmean(steps) if np.isfinite(steps).any() else 0.0
        middle = np.nanmean(first)
        level[row] = middle - (m + 1) / 2 * trend[row]
        line = middle + (np.arange(m) - (m - 1) / 2) * trend[row]
        slots = (start[row] + np.arange(m)) % m
        season[row, slots] = np.nan_to_num(first - line)
    return States(level, trend, season)


def least_squares_states(y: np.ndarray, start: np.ndarray, m: int, alpha: np.ndarray,
                         beta: np.ndarray, phi: np.ndarray, gamma: np.ndarray) -> States:
    """The initial states of least one-step SSE for given parameters (series,).

    With the parameters fixed the one-step errors are affine in the initial states, so one
    run from zero states and one from each unit state give the errors' matrix, and a
    least-squares solve gives the states (as statsmodels' "estimated" does by search). The
    level and an equal shift of every season slot are the same thing: the season is
    centred on 0 and its mean moved into the level.
    """
    rows, size = y.shape[0], 2 + (m if m > 1 else 0)
    basis = np.concatenate([np.zeros((size, 1)), np.eye(size)], axis=1)   # (size, 1 + size)
    season = np.zeros((rows, m, size + 1))
    if m > 1:
        season[:] = basis[2:][None]
    init = States(np.repeat(basis[0][None], rows, 0), np.repeat(basis[1][None], rows, 0),
                  season)
    wide = [np.repeat(p[:, None], size + 1, axis=1) for p in (alpha, beta, phi, gamma)]
    residuals = smooth(y, start, init, *wide, keep=True)[2]        # (S, T, 1 + size)
    level, trend, ring = np.zeros(rows), np.zeros(rows), np.zeros((rows, m))
    for row in range(rows):
        known = np.isfinite(residuals[row, :, 0])
        base = residuals[row, known, 0]
        matrix = base[:, None] - residuals[row, known, 1:]           # errors = base − A·x0
        x0 = np.linalg.lstsq(matrix, base, rcond=None)[0]
        level[row], trend[row] = x0[0], x0[1]
        if m > 1:
            ring[row] = x0[2:] - x0[2:].mean()
            level[row] += x0[2:].mean()
    return States(level, trend, ring)


def params(u: np.ndarray, m: int) -> tuple[np.ndarray, ...]:
    """Unit-cube coordinates (..., 4) → α, β, φ, γ within their bounds (γ below 1 − α)."""
    low, high = SMOOTHING_RANGE
    alpha = low + (high - low) * u[..., 0]
    beta = low + (high - low) * u[..., 1]
    phi = PHI_RANGE[0] + (PHI_RANGE[1] - PHI_RANGE[0]) * u[..., 2]
    gamma = u[..., 3] * (1 - alpha) * (high if m > 1 else 0.0)
    return alpha, beta, phi, gamma


def smooth(y: np.ndarray, start: np.ndarray, init: States, alpha: np.ndarray,
           beta: np.ndarray, phi: np.ndarray, gamma: np.ndarray, keep: bool = False
           ) -> tuple[np.ndarray, States, np.ndarray | None]:
    """Run the recursion over the periods for every series × candidate (parameters (S, G)).

    The initial states are per series ((S,), (S, m)) or per candidate too ((S, G),
    (S, m, G)). Returns the SSE (S, G), the final states (S, G) / (S, m, G), and with `keep`
    the one-step residuals (S, T, G), NaN where a value is missing or before a series starts.
    """
    rows, periods = y.shape
    m, width = init.season.shape[1], alpha.shape[1]
    level = np.broadcast_to(init.level.reshape(rows, -1), (rows, width)).copy()
    trend = np.broadcast_to(init.trend.reshape(rows, -1), (rows, width)).copy()
    season = np.broadcast_to(init.season.reshape(rows, m, -1), (rows, m, width)).copy()
    sse = np.zeros_like(level)
    residuals = np.full((rows, periods, width), np.nan) if keep else None
    boost = alpha * beta
    for t in range(periods):
        slot = season[:, t % m, :]
        damped = phi * trend
        base = level + damped
        error = y[:, t, None] - (base + slot)
        on = (t >= start)[:, None]
        known = on & np.isfinite(error)
        error = np.where(known, error, 0.0)
        sse += error * error
        level = np.where(on, base + alpha * error, level)
        trend = np.where(on, damped + boost * error, trend)
        season[:, t % m, :] = slot + gamma * error
        if residuals is not None:
            residuals[:, t, :] = np.where(known, error, np.nan)
    return sse, States(level, trend, season), residuals


def _grid(m: int) -> np.ndarray:
    gammas = GRID_GAMMA if m > 1 else np.zeros(1)
    mesh = np.meshgrid(GRID_ALPHA, GRID_BETA, GRID_PHI, gammas, indexing="ij")
    return np.stack([axis.ravel() for axis in mesh], axis=1)


def _search(y: np.ndarray, start: np.ndarray, init: States, m: int,
            best: np.ndarray | None = None, rounds: int = SEARCH_STEPS,
            first_step: float = 0.05) -> np.ndarray:
    """The unit-cube point of least SSE per series: the grid's best (or `best`, when
    given), then a pattern search that halves its step where no move helps."""
    if best is None:
        grid = _grid(m)
        sse = smooth(y, start, init, *params(grid[None, :, :], m))[0]
        best = grid[np.argmin(sse, axis=1)]
        best_sse = sse.min(axis=1)
    else:
        best_sse = smooth(y, start, init, *params(best[:, None, :], m))[0][:, 0]
    dims = 4 if m > 1 else 3
    moves = np.concatenate([np.eye(4)[:dims], -np.eye(4)[:dims]])
    step = np.full(y.shape[0], first_step)
    for _ in range(rounds):
        trial = np.clip(best[:, None, :] + moves[None, :, :] * step[:, None, None], 0.0, 1.0)
        sse = smooth(y, start, init, *params(trial, m))[0]
        pick = np.argmin(sse, axis=1)
        found = sse[np.arange(y.shape[0]), pick]
        better = found < best_sse
        best = np.where(better[:, None], trial[np.arange(y.shape[0]), pick], best)
        best_sse = np.where(better, found, best_sse)
        step = np.where(better, step, step / 2)
    return best


def fit(y: np.ndarray, start: np.ndarray, m: int) -> Fit:
    """Fit every row of y (series, T) from its `start`; m = 1 fits no season."""
    init = initial_states(y, start, m)
    best = _search(y, start, init, m)
    for _ in range(ROUNDS):
        init = least_squares_states(y, start, m, *params(best, m))
        best = _search(y, start, init, m, best, REFINE_STEPS, 0.02)
    alpha, beta, phi, gamma = params(best[:, None, :], m)
    sse, states, residuals = smooth(y, start, init, alpha, beta, phi, gamma, keep=True)
    final = States(states.level[:, 0], states.trend[:, 0], states.season[:, :, 0])
    chosen = np.stack([alpha[:, 0], beta[:, 0], phi[:, 0], gamma[:, 0]], axis=1)
    return Fit(chosen, final, np.asarray(residuals)[:, :, 0], sse[:, 0], m, y.shape[1], init)


def simulate(model: Fit, errors: np.ndarray) -> np.ndarray:
    """Future paths (series, H, K) driven by errors (series, H, K); zero errors give ŷ.

    The paths overwrite `errors`, and level and trend live in two buffers updated in place:
    no array of the paths' size is allocated per step. A season slot is updated only when
    the horizon comes back to it (H > m).
    """
    alpha, beta, phi, gamma = (model.params[:, i, None] for i in range(4))
    boost = alpha * beta
    paths = errors.shape[2]
    level = np.repeat(model.states.level[:, None], paths, axis=1)
    trend = np.repeat(model.states.trend[:, None], paths, axis=1)
    scratch = np.empty_like(level)
    m, horizon = model.season_length, errors.shape[1]
    updated: dict[int, np.ndarray] = {}
    for step in range(horizon):
        slot_index = (model.periods + step) % m
        slot = updated.get(slot_index, model.states.season[:, slot_index, None])
        row = errors[:, step, :]            # the error now, the path's value below
        if m > 1 and step + m < horizon:
            updated[slot_index] = slot + gamma * row
        trend *= phi                        # φ·b
        level += trend                      # l + φ·b
        if step + 1 < horizon:
            np.multiply(row, boost, out=scratch)
            trend += scratch                # b ← φ·b + α·β·e
        np.multiply(row, alpha, out=scratch)
        row += level                        # ŷ without the season, plus e
        row += slot
        level += scratch                    # l ← l + φ·b + α·e
    return errors


def point_forecast(model: Fit, horizon: int) -> np.ndarray:
    """The mean forecast (series, H): l + (φ + … + φ^h)·b + s."""
    return simulate(model, np.zeros((model.params.shape[0], horizon, 1)))[:, :, 0]
