"""How numbers read for people, and how changes are written in scenarios and --set."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import TREES

from nsm_cli.diagnostics import RequestError
from nsm_cli.numbers import change_text, json_number, percent, plain, value_text
from nsm_cli.tree.changes import FACTOR, POINTS, RELATIVE, VALUE, parse_assignment, parse_change


@pytest.mark.parametrize("value, unit, shown", [
    (4200.0, "元", "4,200 元"),
    (2.5, "次", "2.50 次"),
    (0.8, "次", "0.80 次"),
    (480.0, "元", "480 元"),
    (499500.0, "元", "499,500 元"),
    (0.92, "%", "92%"),
    (0.720721, "%", "72.07%"),
    (0.055, "%", "5.5%"),
    (-1176.0, "元", "−1,176 元"),
    (float("nan"), "元", "—"),
    (None, "%", "—"),
    (123.45, None, "123.5"),
    (5980.0, "人", "5,980 人"),
])
def test_value_text(value, unit, shown):
    assert value_text(value, unit) == shown


@pytest.mark.parametrize("delta, unit, shown", [
    (-0.15, "%", "−15.0 pp"),
    (0.01, "%", "+1.0 pp"),
    (840.0, "元", "+840 元"),
    (-0.7, "次", "−0.70 次"),
    (0.0, "元", "0 元"),
])
def test_change_text(delta, unit, shown):
    assert change_text(delta, unit) == shown


@pytest.mark.parametrize("value, shown", [
    # what was read, not the binary float's tail (99,999,999,999,999,997,748,809,823,…)
    (float("99999999999999999999999999999999999999"),   # the float nearest is 1e38
     "100,000,000,000,000,000,000,000,000,000,000,000,000"),
    (2e38, "200,000,000,000,000,000,000,000,000,000,000,000,000"),
    (-1.5e20, "−150,000,000,000,000,000,000"),
    (1e15 + 1, "1,000,000,000,000,001"),
])
def test_huge_numbers_show_only_the_digits_a_float_holds(value, shown):
    assert plain(value) == shown


def test_rounding_never_shows_negative_zero():
    assert plain(-0.0001) == "0.00"
    assert percent(-0.00001) == "0%"


def test_json_numbers_drop_float_noise_and_nan():
    assert json_number(6500 * 0.93 - 6500 * 0.92) == 65.0
    assert json_number(math.nan) is None
    assert json_number(math.inf) is None
    assert json_number(None) is None


@pytest.mark.parametrize("written, kind, amount", [
    (0.8, VALUE, 0.8),
    ("0.8", VALUE, 0.8),
    ("50%", VALUE, 0.5),
    ("1,200", VALUE, 1200.0),
    ("+10%", RELATIVE, 0.10),
    ("-5%", RELATIVE, -0.05),
    ("+2pp", POINTS, 0.02),
    ("-1pp", POINTS, -0.01),
    ("x1.1", FACTOR, 1.1),
])
def test_parse_change(written, kind, amount):
    got_kind, got_amount = parse_change(written)
    assert got_kind == kind
    assert got_amount == pytest.approx(amount)


@pytest.mark.parametrize("written", ["lots", "", "+", "x", "10pp", True, None])
def test_unreadable_change(written):
    with pytest.raises(ValueError):
        parse_change(written)


@pytest.mark.parametrize("written", ["1e999", "+1e999%", "-1e999pp", "x1e999", "1e999%",
                                     float("inf")])
def test_an_infinite_change_is_refused(written):
    with pytest.raises(ValueError, match="^a change must be a finite number$"):
        parse_change(written)


def test_an_infinite_change_on_the_command_line_is_a_usage_error(nsm):
    run = nsm("eval", TREES / "mau.yaml", "--set", "retention_rate=1e999")
    assert (run.code, run.stdout) == (2, "")
    assert run.stderr == ("nsm: error: --set 'retention_rate=1e999': a change must be a finite "
                          "number\n")


def test_apply_each_kind():
    current = np.array([0.40, 0.50])
    assert parse_assignment("p=+10%").apply(current) == pytest.approx([0.44, 0.55])
    assert parse_assignment("p=+2pp").apply(current) == pytest.approx([0.42, 0.52])
    assert parse_assignment("p=x2").apply(current) == pytest.approx([0.80, 1.00])
    assert parse_assignment("p=0.3").apply(current) == pytest.approx([0.30, 0.30])


@pytest.mark.parametrize("text", ["p", "=1", "p=", "p=lots"])
def test_bad_assignment_is_a_usage_error(text):
    with pytest.raises(RequestError):
        parse_assignment(text)
