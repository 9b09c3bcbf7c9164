"""The benchmark's generators still make trees nsm evaluates (small sizes; no timing here)."""

from __future__ import annotations

import json
import sys

from conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))

import generate  # noqa: E402


def test_tree_shape_has_the_asked_nodes_half_leaves_and_six_levels():
    children = generate.tree_shape(10_000)
    assert len(children) == 10_000
    assert sum(1 for kids in children if not kids) == 5_000
    depth = {0: 1}
    for parent, kids in enumerate(children):
        for kid in kids:
            depth[kid] = depth[parent] + 1
    assert max(depth.values()) == 6


def test_generated_tree_evaluates_with_one_value_per_period(nsm, tmp_path):
    tree = generate.write_tree(100, 3, tmp_path)
    run = nsm("eval", tree, "--format", "json")
    assert run.code == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["periods"] == ["1900-01", "1900-02", "1900-03"]
    assert len(result["nodes"]) == 100
    assert all(node["value"] is not None for node in result["nodes"])


def test_detail_tree_sums_rows_per_day(nsm, tmp_path):
    csv_path, tree = generate.write_detail(500, tmp_path, days=5)
    run = nsm("eval", tree, "--format", "json", "--period", "2025-01-01")
    assert run.code == 0, run.stderr
    orders = next(n for n in json.loads(run.stdout)["nodes"] if n["id"] == "orders")
    lines = csv_path.read_text(encoding="utf-8").splitlines()[1:]
    expected = sum(int(line.split(",")[2]) for line in lines if line.startswith("2025-01-01"))
    assert orders["value"] == expected


def test_check_trees_are_valid(nsm, tmp_path):
    folder = generate.write_checks(3, tmp_path)
    for path in sorted(folder.glob("*.yaml")):
        run = nsm("eval", path, "--format", "json")
        assert run.code == 0, run.stderr
