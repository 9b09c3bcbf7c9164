"""The tree-quality rules (W4xx): one small module each, registered in RULES, like yamllint.

A rule module declares CODE, NAME, SEVERITY, SUMMARY, NEEDS_VALUES (whether it needs the
tree's data and values), a docstring that is its help text, BAD and GOOD example tree
files (with FILES for the data they read) and BAD_SNIPPET / GOOD_SNIPPET for the README
table, and `check(ctx) -> Iterator[Finding]`.
"""

from __future__ import annotations

from types import ModuleType

from nsm_cli.check.rules import (
    w401_mece,
    w402_mixed_units,
    w403_too_deep,
    w404_too_shallow,
    w405_too_many_children,
    w406_not_actionable,
    w407_no_benchmark,
    w408_unused_column,
    w409_money_root,
    w410_out_of_domain,
    w411_percent_as_number,
    w412_mean_of_ratios,
)
from nsm_cli.check.rules.base import Finding, RuleContext

RULES: dict[str, ModuleType] = {
    module.CODE: module
    for module in (
        w401_mece, w402_mixed_units, w403_too_deep, w404_too_shallow, w405_too_many_children,
        w406_not_actionable, w407_no_benchmark, w408_unused_column, w409_money_root,
        w410_out_of_domain, w411_percent_as_number, w412_mean_of_ratios,
    )
}

__all__ = ["RULES", "Finding", "RuleContext"]
