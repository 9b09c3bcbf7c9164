"""Calendar periods: every spelling the contract lists, canonical forms, time order."""

from __future__ import annotations

import pytest

from nsm_cli.data.periods import canonical, order_labels, parse_period

SPELLINGS = [
    # (label, grain, canonical)
    ("2025-06", "month", "2025-06"),
    ("2025-6", "month", "2025-06"),
    ("2025/06", "month", "2025-06"),
    ("2025/6", "month", "2025-06"),
    ("202506", "month", "2025-06"),
    ("2025年6月", "month", "2025-06"),
    ("2025 年 6 月", "month", "2025-06"),
    ("Jun 2025", "month", "2025-06"),
    ("June 2025", "month", "2025-06"),
    ("jun-2025", "month", "2025-06"),
    ("Sept 2025", "month", "2025-09"),
    ("2025-Q2", "quarter", "2025-Q2"),
    ("2025Q2", "quarter", "2025-Q2"),
    ("2025 Q2", "quarter", "2025-Q2"),
    ("2025-q2", "quarter", "2025-Q2"),
    ("Q2 2025", "quarter", "2025-Q2"),
    ("2025年第二季度", "quarter", "2025-Q2"),
    ("2025-W05", "week", "2025-W05"),
    ("2025W5", "week", "2025-W05"),
    ("2020-W53", "week", "2020-W53"),
    ("2025-06-03", "day", "2025-06-03"),
    ("2025/6/3", "day", "2025-06-03"),
    ("20250603", "day", "2025-06-03"),
    ("2025年6月3日", "day", "2025-06-03"),
    ("2025", "year", "2025"),
    ("2025年", "year", "2025"),
    (" 2025-06 ", "month", "2025-06"),
]


@pytest.mark.parametrize(("label", "grain", "shown"), SPELLINGS)
def test_every_spelling_reads_as_its_calendar_period(label, grain, shown):
    found = parse_period(label)
    assert found is not None
    assert (found.grain, found.label) == (grain, shown)
    assert canonical(label) == shown


@pytest.mark.parametrize("label", [
    "pilot", "all", "2025-13", "2025-00", "2025-02-30", "2025-W54", "2025-Q5", "Foo 2025",
    "202513", "99", "2025-06-03-01", "12345", "", "Q2",
])
def test_labels_that_are_no_calendar_period_stay_labels(label):
    assert parse_period(label) is None
    assert canonical(label) == label.strip()


def test_months_sort_by_time_not_as_text():
    ordered = order_labels(["1997-1", "1997-2", "1997-10", "1997-9"])
    assert ordered.periods == ["1997-01", "1997-02", "1997-09", "1997-10"]
    assert ordered.index == {"1997-1": 0, "1997-2": 1, "1997-10": 3, "1997-9": 2}


def test_month_names_sort_by_time():
    labels = ["Jan 1997", "Feb 1997", "Mar 1997", "Oct 1997", "Dec 1997", "Nov 1997"]
    assert order_labels(labels).periods == ["1997-01", "1997-02", "1997-03", "1997-10",
                                            "1997-11", "1997-12"]


def test_weeks_across_a_year_end_sort_by_their_monday():
    # 2020 has 53 ISO weeks; 2021-W01 starts on 2021-01-04
    assert order_labels(["2021-W01", "2020-W53", "2020-W52"]).periods == [
        "2020-W52", "2020-W53", "2021-W01"]


def test_two_grains_are_reported_not_merged():
    ordered = order_labels(["2025-06", "2025-06-03"])
    assert ordered.mixed == ("2025-06", "2025-06-03")
    assert ordered.periods == []


def test_one_label_that_is_not_a_date_keeps_every_label_in_file_order():
    ordered = order_labels(["2025-06", "total", "2025-05"])
    assert ordered.grain is None
    assert ordered.periods == ["2025-06", "total", "2025-05"]
