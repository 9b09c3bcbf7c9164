"""`nsm forecast`: the smoothing by hand and against statsmodels, the tree simulation, the
variance shares, the backtest, the alert rule, and the command's output."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT
from rich.cells import cell_len

from nsm_cli.analysis import ets
from nsm_cli.analysis.forecast import ForecastOptions, forecast, next_periods, season_length
from nsm_cli.data.load import inspect_tree, load_tree

AIRLINE = ROOT / "tests" / "data" / "airline.yaml"


def forecast_of(path, **options):
    return forecast(load_tree(str(path)), ForecastOptions(**options))


def months(count: int, first_year: int = 2023) -> list[str]:
    return [f"{first_year + i // 12}-{i % 12 + 1:02d}" for i in range(count)]


def write_csv(write, columns: dict[str, list[float]], count: int) -> None:
    lines = ["period," + ",".join(columns)]
    for i, label in enumerate(months(count)):
        lines.append(label + "," + ",".join(repr(float(v[i])) for v in columns.values()))
    write("d.csv", "\n".join(lines) + "\n")


# -- the smoothing, by hand -------------------------------------------------------------------

def test_one_step_of_the_damped_trend_by_hand():
    # y = 10, 12; l0 = 10, b0 = 2; α = β = 0.5, φ = 0.9:
    # t0: ŷ = 10 + 0.9·2 = 11.8, e = −1.8, l = 11.8 − 0.9 = 10.9, b = 1.8 − 0.25·1.8 = 1.35
    # t1: ŷ = 10.9 + 1.215 = 12.115, e = −0.115, l = 12.0575, b = 1.215 − 0.02875 = 1.18625
    y = np.array([[10.0, 12.0]])
    init = ets.States(np.array([10.0]), np.array([2.0]), np.zeros((1, 1)))
    half, phi, zero = np.full((1, 1), 0.5), np.full((1, 1), 0.9), np.zeros((1, 1))
    sse, states, residuals = ets.smooth(y, np.array([0]), init, half, half, phi, zero, keep=True)
    assert residuals[0, :, 0] == pytest.approx([-1.8, -0.115])
    assert sse[0, 0] == pytest.approx(1.8 ** 2 + 0.115 ** 2)
    assert states.level[0, 0] == pytest.approx(12.0575)
    assert states.trend[0, 0] == pytest.approx(1.18625)
    model = ets.Fit(np.array([[0.5, 0.5, 0.9, 0.0]]),
                    ets.States(np.array([12.0575]), np.array([1.18625]), np.zeros((1, 1))),
                    residuals[:, :, 0], sse[:, 0], 1, 2)
    # l + φb = 12.0575 + 1.067625; + φ²b = 0.9608625 more
    assert ets.point_forecast(model, 2)[0] == pytest.approx([13.125125, 14.0859875])


def test_a_missing_value_projects_the_states_and_counts_no_error():
    # l0 = 10, b0 = 1, α = β = 0.5, φ = 0.8; the series starts one period late (start = 1)
    # t1: ŷ = 10.8, e = −0.8, l = 10.4, b = 0.8 − 0.2 = 0.6
    # t2 missing: l = 10.4 + 0.48 = 10.88, b = 0.48
    # t3: ŷ = 10.88 + 0.384 = 11.264, e = 0.736, l = 11.632, b = 0.384 + 0.184 = 0.568
    y = np.array([[np.nan, 10.0, np.nan, 12.0]])
    init = ets.States(np.array([10.0]), np.array([1.0]), np.zeros((1, 1)))
    half, phi, zero = np.full((1, 1), 0.5), np.full((1, 1), 0.8), np.zeros((1, 1))
    sse, states, residuals = ets.smooth(y, np.array([1]), init, half, half, phi, zero, keep=True)
    assert np.isnan(residuals[0, [0, 2], 0]).all()
    assert residuals[0, [1, 3], 0] == pytest.approx([-0.8, 0.736])
    assert sse[0, 0] == pytest.approx(0.64 + 0.736 ** 2)
    assert (states.level[0, 0], states.trend[0, 0]) == (pytest.approx(11.632),
                                                        pytest.approx(0.568))


def test_quantiles_leave_out_paths_without_a_value():
    from nsm_cli.analysis.forecast import quantiles

    paths = np.array([[1.0, 2.0, np.nan, 3.0, 4.0, 5.0]])
    # of 1..5: p10 = 1 + 0.4 = 1.4, p50 = 3, p90 = 4.6 (linear interpolation)
    assert quantiles(paths, 1)[:, 0] == pytest.approx([1.4, 3.0, 4.6])
    assert quantiles(np.array(7.0), 2).tolist() == [[7.0, 7.0]] * 3


def test_quantiles_are_numpys_linear_ones():
    rng = np.random.default_rng(5)
    paths = rng.normal(size=(4, 1001))
    expected = np.quantile(paths, (0.1, 0.5, 0.9), axis=1)
    from nsm_cli.analysis.forecast import quantiles

    assert np.array_equal(quantiles(paths, 4), expected)
    paths[1, :7] = np.nan
    paths[3, :] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = np.nanquantile(paths, (0.1, 0.5, 0.9), axis=1)
    found = quantiles(paths.copy(), 4, scratch=True)
    assert np.allclose(found[:, :3], expected[:, :3], rtol=0, atol=1e-12)
    assert np.isnan(found[:, 3]).all()


def test_a_straight_line_fits_without_error_and_its_forecast_slows_by_phi():
    y = np.array([[3.0, 5.0, 7.0, 9.0, 11.0, 13.0, 15.0, 17.0]])
    model = ets.fit(y, np.array([0]), 1)
    alpha, beta, phi, _ = model.params[0]
    assert 0.8 <= phi <= 0.98 and 0 < alpha < 1 and 0 < beta < 1
    ahead = ets.point_forecast(model, 3)[0]
    level, trend = model.states.level[0], model.states.trend[0]
    assert ahead == pytest.approx([level + phi * trend, level + (phi + phi ** 2) * trend,
                                   level + (phi + phi ** 2 + phi ** 3) * trend])
    assert 17 < ahead[0] < 19.5 and ahead[2] - ahead[1] < ahead[1] - ahead[0]


def test_first_guess_of_a_season_by_hand():
    # m = 4: trend = mean((2-1, 4-3, 6-5, 8-7)/4) = 0.25; the first season's mean 4 stands at
    # t = 1.5, so the level before t = 0 is 4 − 2.5·0.25 = 3.375; the trend line over the
    # first season is 3.625, 3.875, 4.125, 4.375 and the season what is left of 1, 3, 5, 7
    y = np.array([[1.0, 3.0, 5.0, 7.0, 2.0, 4.0, 6.0, 8.0]])
    init = ets.initial_states(y, np.array([0]), 4)
    assert (init.level[0], init.trend[0]) == (3.375, 0.25)
    assert init.season[0].tolist() == [-2.625, -0.875, 0.875, 2.625]


def test_least_squares_recovers_the_states_that_made_a_series():
    # l0 = 10, b0 = 2, φ = 0.9 and no errors: ŷ = y every period, b shrinks by φ each step:
    # y = 11.8, 13.42, 14.878, 16.1902, 17.37118, 18.434062
    y = np.array([[11.8, 13.42, 14.878, 16.1902, 17.37118, 18.434062]])
    one = np.array([0.5])
    states = ets.least_squares_states(y, np.array([0]), 1, one, one, np.array([0.9]),
                                      np.array([0.0]))
    assert (states.level[0], states.trend[0]) == (pytest.approx(10.0), pytest.approx(2.0))


# -- the smoothing, against statsmodels -------------------------------------------------------

def airline() -> np.ndarray:
    lines = (ROOT / "tests" / "data" / "airline.csv").read_text().splitlines()[1:]
    return np.array([float(line.split(",")[1]) for line in lines])


def drifting_walk() -> np.ndarray:
    steps = np.random.default_rng(1).normal(1.0, 3.0, 30)
    return 50.0 + np.cumsum(steps)


SERIES = [("airline, seasonal", airline, 12),
          ("airline 1949-51, three seasons", lambda: airline()[:36], 12),
          ("airline 1949-52, no season", lambda: airline()[:40], 1),
          ("a drifting walk", drifting_walk, 1)]


def statsmodels_model(y: np.ndarray, m: int, init: ets.States | None = None):
    """statsmodels' damped Holt(-Winters), from nsm's initial states or estimating its own."""
    holtwinters = pytest.importorskip("statsmodels.tsa.holtwinters")
    options: dict = dict(trend="add", damped_trend=True,
                         bounds={"damping_trend": ets.PHI_RANGE})
    if init is None:
        options["initialization_method"] = "estimated"
    else:
        options.update(initialization_method="known", initial_level=init.level[0],
                       initial_trend=init.trend[0])
        if m > 1:
            options["initial_seasonal"] = init.season[0]   # the ring; slot j is period j
    if m > 1:
        options.update(seasonal="add", seasonal_periods=m)
    return holtwinters.ExponentialSmoothing(y, **options)


@pytest.mark.parametrize("label, series, m", SERIES)
def test_same_level_and_forecast_as_statsmodels_with_the_same_parameters(label, series, m):
    y = series()
    mine = ets.fit(y[None, :], np.array([0]), m)
    alpha, beta, phi, gamma = mine.params[0]
    theirs = statsmodels_model(y, m, mine.initial).fit(
        smoothing_level=alpha, smoothing_trend=beta, damping_trend=phi,
        smoothing_seasonal=gamma if m > 1 else None, optimized=False)
    assert mine.sse[0] == pytest.approx(theirs.sse, rel=1e-9)
    assert mine.states.level[0] == pytest.approx(theirs.level[-1], rel=1e-9)
    assert ets.point_forecast(mine, 6)[0] == pytest.approx(theirs.forecast(6), rel=1e-9)


@pytest.mark.parametrize("label, series, m", SERIES)
def test_fit_does_as_well_as_statsmodels_estimating_parameters_and_states(label, series, m):
    y = series()
    mine = ets.fit(y[None, :], np.array([0]), m)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = statsmodels_model(y, m).fit()
    assert mine.sse[0] <= theirs.sse * 1.001
    assert ets.point_forecast(mine, 6)[0] == pytest.approx(theirs.forecast(6), rel=0.01)


# -- periods ----------------------------------------------------------------------------------

@pytest.mark.parametrize("periods, ahead, m", [
    (["2024-11", "2024-12"], ["2025-01", "2025-02"], 12),
    (["2024-Q3", "2024-Q4"], ["2025-Q1", "2025-Q2"], 4),
    (["2020-W52", "2020-W53"], ["2021-W01", "2021-W02"], 52),
    (["2024-02-28"], ["2024-02-29", "2024-03-01"], 7),
    (["2023", "2024"], ["2025", "2026"], 1),
    (["spring", "summer"], ["+1", "+2"], 1),
])
def test_future_labels_and_season_length_follow_the_grain(periods, ahead, m):
    assert next_periods(periods, 2) == ahead
    assert season_length(periods) == m


# -- through the tree -------------------------------------------------------------------------

TREE = """\
name: shop
data:
  d: d.csv
root:
  id: revenue
  unit: 元
  formula: visits * conversion * price
  target: TARGET
  direction: DIRECTION
  children:
    - id: visits
      source: d.visits
    - id: conversion
      unit: "%"
      source: d.conversion
    - id: price
      source: d.price
"""


def shop(write, count: int = 24, target: float = 3000.0, direction: str = "up",
         conversion=None) -> str:
    t = np.arange(count)
    wobble = np.tile([3.0, -2.0, 1.0, -4.0, 2.0, 0.0], count)[:count]
    write_csv(write, {
        "visits": 1000 + 20 * t + 10 * wobble,
        "conversion": conversion if conversion is not None else 0.1 + 0.002 * wobble,
        "price": np.full(count, 30.0),
    }, count)
    write("t.yaml", TREE.replace("TARGET", str(target)).replace("DIRECTION", direction))
    return "t.yaml"


def test_a_constant_leaf_stays_put_and_is_listed(write):
    result = forecast_of(shop(write), horizon=2, samples=500, seed=3).to_json()
    nodes = {n["id"]: n for n in result["nodes"]}
    assert [(f["p10"], f["p50"], f["p90"]) for f in nodes["price"]["forecast"]] == [
        (30.0, 30.0, 30.0)] * 2
    leaves = {leaf["id"]: leaf for leaf in result["leaves"]}
    assert leaves["price"]["method"] == "last_value"
    assert leaves["price"]["reason"] == "constant in its history"
    assert leaves["visits"]["method"] == "damped_trend_seasonal"
    assert result["constant_leaves"] == ["price"]
    assert result["periods"] == ["2025-01", "2025-02"]
    assert result["season_length"] == 12


def test_a_short_history_stays_at_its_last_value(write):
    result = forecast_of(shop(write, count=5), horizon=1, samples=100, seed=0)
    assert {leaf.id: leaf.reason for leaf in result.leaves} == {
        "visits": "5 periods of history (fewer than 6)",
        "conversion": "5 periods of history (fewer than 6)",
        "price": "5 periods of history (fewer than 6)"}
    # 1,080 + 10·2 = 1,100 visits × 0.104 × 30 = 3,432 (t = 4, wobble 2)
    root = result.node("revenue")
    assert root.p10 == root.p50 == root.p90 == (3432.0,)
    # 3,432 ≥ 3,000, but a band of no width for lack of history is no certainty of 100%
    assert root.p_target == (None,)
    assert result.no_forecast == ("no leaf could be forecast (a forecast needs 6 periods of "
                                  "history; the data has 5): every leaf is held at its last "
                                  "value")
    assert result.variance == ()


def test_too_little_history_says_so_and_gives_no_chance(nsm, write):
    shop(write, count=5, target=8400)
    run = nsm("forecast", "t.yaml", "--seed", "0", "--horizon", "2", "--format", "json")
    assert (run.code, run.stderr) == (0, "")
    result = json.loads(run.stdout)
    assert result["p_target"] == [{"period": "2023-06", "probability": None},
                                  {"period": "2023-07", "probability": None}]
    assert result["nodes"][0]["p_target"] == result["p_target"]
    assert result["no_forecast"].startswith("no leaf could be forecast (a forecast needs 6 ")
    run = nsm("forecast", "t.yaml", "--seed", "0", "--horizon", "2")
    assert (run.code, run.stderr) == (0, "")
    assert ("No leaf could be forecast (a forecast needs 6 periods of history; the data has "
            "5): every leaf is held at its last value. The bands have no width (p10 = p50 = "
            "p90) and the chance of meeting a target is not available (n/a).") in " ".join(
                run.stdout.split())
    chance = next(line for line in run.stdout.splitlines() if line.startswith("  P(≥"))
    assert chance.split() == ["P(≥", "8,400", "元)", "n/a", "n/a"]
    assert "0%" not in run.stdout
    run = nsm("forecast", "t.yaml", "--seed", "0", "--horizon", "2", "--format", "markdown")
    assert (run.code, run.stderr) == (0, "")
    assert "| **P(≥ 8,400 元)** | n/a | n/a |" in run.stdout
    assert "p90).\n\nNo leaf could be forecast (a forecast needs 6 periods" in run.stdout


def test_one_forecast_leaf_gives_a_chance_and_no_note(write):
    # price never moves (held), visits and conversion are forecast: the chance is real
    result = forecast_of(shop(write), horizon=1, samples=500, seed=3)
    assert result.no_forecast is None
    assert all(p is not None for p in result.node("revenue").p_target)


def test_constants_alone_are_a_known_future_not_a_missing_forecast(nsm, write):
    write("t.yaml", "version: 1\nname: t\nroot:\n  id: r\n  formula: a * b\n  target: 10\n"
          "  children:\n    - {id: a, value: 2}\n    - {id: b, value: 3}\n")
    run = nsm("forecast", "t.yaml", "--seed", "0", "--horizon", "1", "--format", "json")
    assert (run.code, run.stderr) == (0, "")
    result = json.loads(run.stdout)
    # 2 × 3 = 6 < 10 every time: 0% is exact here
    assert result["p_target"][0]["probability"] == 0.0 and result["no_forecast"] is None


def test_a_leaf_without_data_has_no_forecast(nsm, write):
    count = 12
    write_csv(write, {"visits": np.arange(count) + 100.0, "conversion": np.full(count, 0.1),
                      "price": np.full(count, 30.0)}, count)
    lines = Path("d.csv").read_text(encoding="utf-8").splitlines()
    header, rows = lines[0], [line.rsplit(",", 1)[0] + "," for line in lines[1:]]
    write("d.csv", "\n".join([header, *rows]) + "\n")
    write("t.yaml", TREE.replace("TARGET", "3000").replace("DIRECTION", "up"))
    run = nsm("forecast", "t.yaml", "--seed", "0", "--format", "json")
    assert run.code == 0
    result = json.loads(run.stdout)
    leaves = {leaf["id"]: leaf for leaf in result["leaves"]}
    assert (leaves["price"]["method"], leaves["price"]["reason"]) == ("last_value", "no data")
    assert result["nodes"][0]["forecast"][0]["p50"] is None
    assert result["p_target"][0]["probability"] == 0.0
    assert run.stderr == ""
    run = nsm("forecast", "t.yaml", "--seed", "0")
    assert run.code == 0 and "price: no data" in run.stdout and "—" in run.stdout


def test_a_leaf_that_was_negative_may_stay_negative(write):
    count = 24
    t = np.arange(count)
    write_csv(write, {"visits": 40.0 - 5 * t, "conversion": np.full(count, 0.1),
                      "price": np.full(count, 30.0)}, count)
    write("t.yaml", TREE.replace("TARGET", "3000").replace("DIRECTION", "up"))
    visits = forecast_of("t.yaml", horizon=2, samples=500, seed=0).node("visits")
    # the history ends at 40 − 5·23 = −75; the domain ≥ 0 is widened to the history's −75
    assert visits.history[-1] == -75.0
    assert min(visits.p10) >= -75.0 and max(visits.p90) < 0


def test_rates_stay_within_0_and_100_percent(write):
    rising = np.linspace(0.5, 0.99, 24)
    result = forecast_of(shop(write, conversion=rising), horizon=6, samples=2000,
                      seed=1)
    conversion = result.node("conversion")
    assert max(conversion.p90) == 1.0
    assert all(0 <= v <= 1 for v in (*conversion.p10, *conversion.p50))


def test_the_same_seed_gives_the_same_output_and_another_seed_does_not(nsm, write):
    path = shop(write)
    first = nsm("forecast", path, "--seed", "7", "--format", "json")
    again = nsm("forecast", path, "--seed", "7", "--format", "json")
    other = nsm("forecast", path, "--seed", "8", "--format", "json")
    assert first.code == 0 and first.stderr == ""
    assert first.stdout == again.stdout != other.stdout


@pytest.mark.parametrize("direction", ["up", "down"])
def test_the_chance_of_the_target_follows_the_direction(write, direction):
    from nsm_cli.analysis.evaluate import evaluate
    from nsm_cli.analysis.forecast import simulate_tree

    # the paths do not depend on the target: put it at the third period's median
    shop(write)
    tree = load_tree("t.yaml")
    _, values = simulate_tree(tree.tree, evaluate(tree).inputs, months(24), 3, 4000, 2)
    paths = values["revenue"]
    target = round(float(np.median(paths[2])))
    shop(write, target=target, direction=direction)
    root = forecast_of("t.yaml", horizon=3, samples=4000, seed=2).node("revenue")
    # the fraction of paths at or above the target (up), at or below it (down), counted here
    counted = [float(np.mean(paths[h] >= target if direction == "up" else paths[h] <= target))
               for h in range(3)]
    assert list(root.p_target) == pytest.approx(counted, abs=1e-6)
    assert 0.3 < root.p_target[2] < 0.7


def test_a_leaf_that_alone_moves_holds_all_the_variance(write):
    count = 24
    t = np.arange(count)
    write_csv(write, {"visits": 1000 + 20 * t + 30 * np.sin(t), "conversion": np.full(count, 0.1),
                      "price": np.full(count, 30.0)}, count)
    write("t.yaml", TREE.replace("TARGET", "3000").replace("DIRECTION", "up"))
    [share] = forecast_of("t.yaml", horizon=3, samples=1000, seed=0).variance
    assert (share.id, share.share, share.first_order) == ("visits", 1.0, pytest.approx(1.0))


def test_shares_of_two_moving_leaves_add_up_to_one(write):
    result = forecast_of(shop(write), horizon=3, samples=2000, seed=0)
    shares = {v.id: v.share for v in result.variance}
    assert set(shares) == {"visits", "conversion"}
    assert sum(shares.values()) == pytest.approx(1.0)


def test_backtest_errors_of_a_straight_line_by_hand(write):
    count = 24
    t = np.arange(count)
    write_csv(write, {"visits": 100 + 10 * t, "conversion": np.full(count, 0.1),
                      "price": np.full(count, 30.0)}, count)
    write("t.yaml", TREE.replace("TARGET", "3000").replace("DIRECTION", "up"))
    result = forecast_of("t.yaml", samples=500, seed=0, backtest=3)
    assert result.periods == ("2024-10", "2024-11", "2024-12")
    rows = {row.id: row for row in result.backtest}
    visits = rows["visits"]
    # hidden: 310, 320, 330; the last value shown is 300
    assert visits.actual == (310.0, 320.0, 330.0) and visits.naive == 300.0
    assert visits.naive_mae == pytest.approx(20.0)
    assert visits.naive_mape == pytest.approx((10 / 310 + 20 / 320 + 30 / 330) / 3)
    assert visits.mae < 5.0
    # revenue = visits × 0.1 × 30 = 3·visits: the naive error triples
    assert rows["revenue"].naive_mae == pytest.approx(60.0)


# -- the command ------------------------------------------------------------------------------

def test_json_holds_the_contract_fields_and_nothing_else_is_printed(nsm):
    run = nsm("forecast", AIRLINE, "--horizon", "2", "--seed", "1", "--samples", "500",
              "--format", "json")
    assert run.code == 0 and run.stderr == ""
    result = json.loads(run.stdout)
    assert result["root"] == "passengers" and result["periods"] == ["1961-01", "1961-02"]
    assert result["method"].startswith("damped-trend exponential smoothing")
    [node] = result["nodes"]
    assert [f["period"] for f in node["forecast"]] == ["1961-01", "1961-02"]
    assert all(f["p10"] <= f["p50"] <= f["p90"] for f in node["forecast"])
    assert [p["period"] for p in result["p_target"]] == ["1961-01", "1961-02"]
    assert all(0 <= p["probability"] <= 1 for p in result["p_target"])


def test_text_is_a_fan_chart_within_80_columns(nsm):
    run = nsm("forecast", AIRLINE, "--horizon", "12", "--seed", "1", "--samples", "500")
    assert run.code == 0 and run.stderr == ""
    lines = run.stdout.splitlines()
    assert max(cell_len(line) for line in lines) <= 80
    assert "\x1b" not in run.stdout
    assert any(line.lstrip().startswith("p90") and "│" in line for line in lines)
    assert sum(line.lstrip().startswith("P(≥ 450 thousand)") for line in lines) == 3


def test_chinese_names_keep_the_columns_within_80(nsm):
    run = nsm("forecast", ROOT / "trees" / "journey.yaml", "--horizon", "12", "--seed", "0")
    assert run.code == 0 and run.stderr == ""
    assert max(cell_len(line) for line in run.stdout.splitlines()) <= 80
    assert "12个月留存率 · target 80%" in run.stdout


def test_markdown_is_one_table_of_p50_and_band(nsm):
    run = nsm("forecast", AIRLINE, "--horizon", "2", "--seed", "1", "--format", "markdown")
    assert run.code == 0
    [row] = [line for line in run.stdout.splitlines() if line.startswith("| Passengers")]
    cells = row.split(" | ")
    assert len(cells) == 3
    p50, band = cells[1].split(" (")
    low, high = band.rstrip(")").split("–")
    assert float(low) < float(p50) < float(high)


def test_backtest_text_and_markdown_name_the_better_forecast(nsm):
    run = nsm("forecast", AIRLINE, "--backtest", "12", "--seed", "1", "--samples", "500")
    assert run.code == 0
    assert "Backtest: the last 12 periods hidden" in run.stdout
    row = run.stdout.splitlines()[-1]
    assert row.startswith("Passengers ") and row.endswith("forecast")
    run = nsm("forecast", AIRLINE, "--backtest", "12", "--seed", "1", "--format", "markdown")
    assert run.code == 0 and "| backtest | forecast MAE (MAPE) |" in run.stdout


@pytest.mark.parametrize("args, words", [
    (["--horizon", "0"], "--horizon 0: give 1 to 120 periods"),
    (["--samples", "5"], "--samples 5: give 100 to 1,000,000 paths"),
    (["--backtest", "144"], "--backtest 144: the data has 144 periods, so hide 1 to 143"),
    (["--format", "html"], "--format"),
])
def test_usage_errors_exit_2(nsm, args, words):
    run = nsm("forecast", AIRLINE, *args)
    assert run.code == 2 and run.stdout == ""
    assert words in run.stderr


def test_paths_that_would_not_fit_in_memory_are_refused_before_any_work(nsm):
    # 10 tree nodes and 2 guardrails × 120 periods × 1,000,000 paths × 8 bytes = 11.5 GB;
    # 150,000,000 values // (12 × 120) = 104,166 paths
    run = nsm("forecast", ROOT / "trees" / "mau.yaml", "--samples", "1000000", "--horizon",
              "120")
    words = ("--samples 1,000,000: 1,000,000 paths × 120 periods × 12 nodes is 11.5 GB; this "
             "tree takes at most 104,166 paths at this horizon")
    assert run.code == 2 and run.stdout == ""
    assert words in run.stderr


def test_the_bundled_tree_forecasts_flat_and_says_why(nsm):
    run = nsm("forecast", ROOT / "trees" / "mau.yaml", "--seed", "0")
    assert run.code == 0
    assert "retention_rate: 3 periods of history (fewer than 6)" in run.stdout
    assert "P(≥ 8,400 人)" in run.stdout


# -- the alert rule ---------------------------------------------------------------------------

ALERT_TREE = """\
name: air
data:
  air: airline.csv
root:
  id: passengers
  name: Passengers
  source: air.passengers
  TARGET
  alert:
    forecast_below_target: RULE
"""


def airline_tree(write, rule: str, target: str = "target: 450") -> str:
    write("airline.csv", (ROOT / "tests" / "data" / "airline.csv").read_text())
    write("a.yaml", ALERT_TREE.replace("RULE", rule).replace("TARGET", target))
    return "a.yaml"


@pytest.mark.parametrize("rule, target, code, column, words", [
    ("50%", "owner: x", "E114", 28, "'forecast_below_target' on 'passengers' needs the node's"),
    ("150%", "target: 450", "E114", 28, "must be above 0% and at most 100%, not 150%"),
    ("lots", "target: 450", "E103", 28, "must be a probability like 50% or 0.5, not text"),
    ("{probability: 50%, horizon: 0}", "target: 450", "E114", 56,
     "'horizon' of forecast_below_target must be a whole number of periods from 1 to 120"),
    ("{horizon: 2}", "target: 450", "E114", 28, "needs a 'probability'"),
    ("{probability: 50%, when: 2}", "target: 450", "E104", 47, "unknown key 'when'"),
    ("[50%]", "target: 450", "E103", 28, "not a list"),
])
def test_a_bad_forecast_rule_is_an_error_at_its_place(nsm, write, rule, target, code, column,
                                                      words):
    path = airline_tree(write, rule, target)
    _, diagnostics = inspect_tree(path)
    [found] = [d for d in diagnostics if d.is_error]
    assert (found.code, found.span.line, found.span.column) == (code, 10, column)
    assert words in found.message
    run = nsm("alerts", path)
    assert run.code == 1 and run.stdout == "" and f"a.yaml:10:{column}: " in run.stderr


def test_forecast_rule_fires_when_the_chance_is_below_the_probability(nsm, write):
    path = airline_tree(write, "{probability: 50%, horizon: 2}")
    run = nsm("alerts", path, "--format", "json")
    assert run.code == 3
    [alert] = json.loads(run.stdout)["fired"]
    assert alert["rule"] == "forecast_below_target" and alert["periods"] == ["1961-02"]
    assert alert["probability"] < 0.5
    assert alert["message"].startswith("Passengers reaches at least its target 450 in 1961-02")


def test_forecast_rule_stays_quiet_above_the_probability(nsm, write):
    # 1961-03: the season lifts traffic well above 450 (p10 ≈ 452 in the forecast)
    path = airline_tree(write, "{probability: 50%, horizon: 3}")
    run = nsm("alerts", path)
    assert run.code == 0 and "no alert fired" in run.stdout


def test_forecast_rule_judges_the_selected_period(nsm, write):
    # from 1960-05 the next period is 1960-06, far above 450 in every path
    path = airline_tree(write, "90%")
    assert nsm("alerts", path, "--period", "1960-05").code == 0
    run = nsm("alerts", path, "--period", "1960-10", "--format", "json")
    assert run.code == 3 and json.loads(run.stdout)["fired"][0]["periods"] == ["1960-11"]


@pytest.mark.parametrize("rule, valid", [
    ("50%", True),
    ("0.5", True),
    ("{probability: 50%, horizon: 3}", True),
    ("{probability: 0.5}", True),
    ("{horizon: 3}", False),
    ("{probability: 50%, when: 2}", False),
    ("{probability: 50%, horizon: 0}", False),
    ("[50%]", False),
])
def test_the_schema_knows_the_forecast_rule(write, rule, valid):
    import jsonschema
    import yaml

    from nsm_cli.tree.schema import tree_schema

    path = airline_tree(write, rule)
    document = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    errors = list(jsonschema.Draft202012Validator(tree_schema()).iter_errors(document))
    assert (not errors) == valid
    assert (not [d for d in inspect_tree(path)[1] if d.is_error]) == valid


# -- the HTML report ---------------------------------------------------------------------------

def test_the_report_shows_the_forecast_of_a_series_with_history(nsm, tmp_path):
    out = tmp_path / "air.html"
    run = nsm("report", AIRLINE, "-o", out)
    assert run.code == 0
    page = out.read_text(encoding="utf-8")
    assert "Forecast: the next 3 periods, p50 (p10–p90), 2,000 simulated paths" in page
    assert '<svg width="460" height="130" role="img" aria-label="forecast of Passengers">' in page
    assert "P(≥ target 450 thousand)" in page
    # the same seeded forecast as `nsm forecast --horizon 3 --seed 0`
    run = nsm("forecast", AIRLINE, "--horizon", "3", "--seed", "0", "--format", "json")
    [chance] = json.loads(run.stdout)["p_target"][:1]
    assert f"<b>{round(chance['probability'] * 100)}%</b>" in page


def test_the_report_says_when_no_leaf_can_be_forecast(nsm, tmp_path):
    out = tmp_path / "mau.html"
    assert nsm("report", ROOT / "trees" / "mau.yaml", "-o", out).code == 0
    assert ("No leaf has the 6 periods of history a forecast needs (the data has 3)"
            in out.read_text(encoding="utf-8"))


# -- text for people: long names, hostile names ------------------------------------------------

LONG_TREE = """\
name: Subscription revenue tree with a rather long title that needs two lines at 80 columns
data:
  d: d.csv
root:
  id: revenue
  name: Monthly recurring revenue from all paying subscription customers
  unit: $
  formula: visits * conversion * price
  target: 4500
  children:
    - id: visits
      name: Visits of prospective customers to the pricing page during the month
      unit: visits
      source: d.visits
    - id: conversion
      name: Share of pricing-page visitors who start a paying subscription
      unit: "%"
      source: d.conversion
    - id: price
      name: Average revenue per new paying account per month
      unit: $
      source: d.price
"""


def test_long_names_wrap_or_shorten_and_every_number_stays_whole(nsm, write):
    shop(write, count=30)
    write("t.yaml", LONG_TREE)
    run = nsm("forecast", "t.yaml", "--seed", "4", "--horizon", "9", "--backtest", "6")
    assert run.code == 0 and run.stderr == ""
    lines = run.stdout.splitlines()
    assert max(cell_len(line) for line in lines) <= 80
    assert lines[0] == ("Subscription revenue tree with a rather long title that needs two "
                        "lines at 80")
    data = json.loads(nsm("forecast", "t.yaml", "--seed", "4", "--backtest", "6",
                          "--format", "json").stdout)
    # every p50 of the root, as Python writes it (no decimals at 1,000 and above)
    for cell in data["nodes"][0]["forecast"]:
        assert f"{cell['p50']:,.0f}" in run.stdout
    assert "Which leaf matters" in run.stdout and "Visits of prospective" in run.stdout


def test_a_hostile_name_is_shown_as_text(nsm, write):
    shop(write)
    write("t.yaml", TREE.replace("TARGET", "3000").replace("DIRECTION", "up").replace(
        "    - id: visits\n", '    - id: visits\n      name: "[bold]访客[/]\\u001b[2J\\n"\n'))
    run = nsm("forecast", "t.yaml", "--seed", "0")
    assert run.code == 0
    assert "[bold]访客[/]\\x1b[2J\\n" in run.stdout and "\x1b" not in run.stdout
