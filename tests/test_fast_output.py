"""The fast writers give the very bytes of the slow ones they replace (issue 18).

JSON: `nsm_cli.render.fastjson.dumps` against `json.dumps(..., ensure_ascii=False, indent=2)`.
Text: `nsm_cli.render.plain.plain_text` against rich printing the same renderable.
Formulas: a shape compiled once and shared against the full compiler on the formula itself.
"""

from __future__ import annotations

import enum
import json
import math
import sys

import numpy as np
import pytest
from conftest import ROOT, TREES
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.text import Text

from nsm_cli.render.fastjson import dumps


def reference(value):
    return json.dumps(value, ensure_ascii=False, indent=2)


class Level(enum.IntEnum):
    LOW = 1


class Money(float):
    pass


SCALARS = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True)
           | st.text() | st.sampled_from([Level.LOW, Money(2.5), -0.0, 1e16, 1e-7, 10**30]))
KEYS = st.text() | st.integers() | st.floats() | st.booleans() | st.none()
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                      | st.lists(inner, max_size=3).map(tuple)
                      | st.dictionaries(KEYS, inner, max_size=4), max_leaves=30)


@settings(max_examples=400)
@given(VALUES)
def test_fast_json_is_the_standard_librarys_text(value):
    assert dumps(value) == reference(value)


def test_fast_json_writes_the_special_floats_and_escapes_as_json_does():
    value = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf, "名前": "a\"b\\c\n\u2028é",
             1.5: [], 2: {}, None: [[]], True: ({"x": ()},)}
    assert dumps(value) == reference(value)
    assert '"nan": NaN' in dumps(value)
    assert '"名前": "a\\"b\\\\c\\n\u2028é"' in dumps(value)


def test_fast_json_leaves_unknown_values_to_json_and_its_error():
    for value in ({"when": object()}, {("tuple", "key"): 1}):
        try:
            reference(value)
        except TypeError as expected:
            message = str(expected)
        try:
            dumps(value)
        except TypeError as got:
            assert str(got) == message
        else:
            raise AssertionError("no TypeError")


def test_fast_json_handles_nesting_deeper_than_recursion_allows_as_json_does():
    deep: list = []
    for _ in range(100_000):
        deep = [deep]
    try:
        reference(deep)
    except RecursionError:
        pass
    else:
        raise AssertionError("json.dumps managed it: the test no longer tests the fallback")
    try:
        dumps(deep)
    except RecursionError:
        pass
    else:
        raise AssertionError("dumps managed a nesting json.dumps cannot")


# --- text: the plain writer against rich itself ---------------------------------------------

COMMANDS = [
    ("eval", "mau.yaml"), ("eval", "arpu.yaml", "--scenario", "li_plan"),
    ("eval", "funnel.yaml", "--trend"), ("eval", "journey.yaml", "--compare", "2025-04"),
    ("eval", "arpu.yaml", "--set", "arpu=+10%"), ("eval", "journey.yaml"),
    ("rank-levers", "mau.yaml"), ("rank-levers", "arpu.yaml", "--points"),
    ("explain", "mau.yaml"), ("alerts", "journey.yaml"), ("check", "."),
    ("goal-seek", "mau.yaml"), ("diff", "mau.yaml", "arpu.yaml"),
]


@pytest.fixture
def both_outputs(monkeypatch):
    """Every text the plain writer makes, beside what rich prints for the same renderable."""
    from nsm_cli.render import plain

    pairs: list[tuple[str | None, str]] = []
    original = plain.plain_text

    def recorded(renderable, console):
        fast = original(renderable, console)
        with console.capture() as captured:
            console.print(renderable)
        pairs.append((fast, captured.get()))
        return fast

    monkeypatch.setattr(plain, "plain_text", recorded)
    return pairs


@pytest.mark.parametrize("columns", ["200", "120", "80", "60", "40"])
def test_plain_text_is_what_rich_prints_for_every_command(nsm, both_outputs, monkeypatch,
                                                          columns):
    monkeypatch.setenv("COLUMNS", columns)
    monkeypatch.chdir(TREES)
    for command in COMMANDS:
        run = nsm(*command)
        assert run.code in (0, 1, 3), (command, run.stderr)
    assert both_outputs, "no text went through the plain writer"
    for fast, slow in both_outputs:
        if fast is not None:
            assert fast == slow
    if columns in ("200", "120"):   # the eval tables at least take the plain path
        assert both_outputs[0][0] is not None


def test_plain_text_of_a_generated_tree_is_rich_s(nsm, both_outputs, tmp_path):
    sys.path.insert(0, str(ROOT / "bench"))
    import generate

    tree = generate.write_tree(300, 4, tmp_path, balanced=False)
    for args in ([], ["--trend"], ["--compare", "1900-02"]):
        assert nsm("eval", tree, *args).code == 0
    assert len(both_outputs) == 3
    for fast, slow in both_outputs:
        assert fast == slow


CELL = (st.text(alphabet=st.sampled_from(list("ab1,.-−%¥人口✓🔔▼ \n")), max_size=12)
        | st.text(alphabet=st.sampled_from(list("ab []:\n\t") + ["é", "\u0301"]), max_size=6))


@settings(max_examples=300)
@given(st.lists(st.tuples(st.sampled_from(["left", "right", "center"]),
                          st.sampled_from([True, True, False]), st.booleans()),
                min_size=1, max_size=5),
       st.data(), st.integers(min_value=10, max_value=120))
def test_plain_table_is_rich_s_for_any_cells(spec, data, width):
    from rich.console import Console, Group

    from nsm_cli.render import plain_table
    from nsm_cli.render.plain import plain_text

    table = plain_table()
    for justify, no_wrap, _keep_min in spec:
        table.add_column(data.draw(CELL), justify=justify, no_wrap=no_wrap)
    rows = data.draw(st.integers(min_value=0, max_value=4))
    for _ in range(rows):
        table.add_row(*[data.draw(CELL) if data.draw(st.booleans()) else Text(data.draw(CELL))
                        for _ in spec])
    for column, (_, _, keep_min) in zip(table.columns, spec, strict=True):
        if keep_min:
            column.min_width = data.draw(st.integers(min_value=0, max_value=8))
    console = Console(width=width, highlight=False, soft_wrap=False, color_system=None,
                      force_terminal=False)
    shown = Group(Text(data.draw(CELL)), table, "")
    fast = plain_text(shown, console)
    with console.capture() as captured:
        console.print(shown)
    if fast is not None:
        assert fast == captured.get()


@settings(max_examples=300)
@given(st.lists(CELL | CELL.map(Text), max_size=6))
def test_column_width_is_the_widest_cell(cells):
    from nsm_cli.render import cell_width, column_width

    assert column_width(cells) == max(map(cell_width, cells), default=0)


# --- formulas: one compiled shape shared by formulas over different ids ----------------------

IDS = st.sampled_from(["a", "b", "c_1", "n12", "x7", "_0", "_1", "min_x", "e5", "if_", "_"])
ATOMS = IDS | st.sampled_from(["1", "2.5", "1e5", "0x1F", "1_000", "3j", "True", "None",
                               "min", "'a'", "a.b", "2x", "é"])
FORMULAS = st.recursive(
    ATOMS,
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from([" + ", " - ", " * ", " / ", " ** ", " % ", " if ",
                                          " and ", " < "]), inner).map("".join),
        inner.map(lambda text: f"({text})"),
        st.tuples(st.sampled_from(["abs", "min", "max", "round", "clip", "log", "foo"]),
                  st.lists(inner, min_size=1, max_size=3)).map(
            lambda t: f"{t[0]}({', '.join(t[1])})"),
    ),
    max_leaves=8,
)


def outcome(compile_one, text, env):
    from nsm_cli.tree.formula import FormulaError

    try:
        formula = compile_one(text)
    except FormulaError as error:
        return ("refused", error.code, error.message, error.offset)
    with np.errstate(all="ignore"):
        try:
            value = formula.evaluate(env)
        except KeyError as missing:
            value = ("missing", str(missing))
    return ("compiled", formula.text, formula.names, formula.name_offsets,
            value if isinstance(value, tuple) else [repr(v) for v in value.ravel().tolist()])


@settings(max_examples=400)
@given(FORMULAS | st.text(alphabet="ab_19.e+-*/()%,'\"#\n mxni", max_size=30), st.data())
def test_a_shared_shape_compiles_as_the_formula_itself(text, data):
    from nsm_cli.tree.formula import _compile_text, compile_formula

    names = ["a", "b", "c_1", "n12", "x7", "_0", "_1", "min_x", "e5", "if_", "_"]
    env = {name: np.array([data.draw(st.floats(-5, 5)), 2.0]) for name in names}
    expected = outcome(_compile_text, text, env)
    assert outcome(compile_formula, text, env) == expected
    assert outcome(compile_formula, text, env) == expected   # from the cache this time
    # the same shape over other ids: the cached shape, read with these ids
    renamed = text.replace("n12", "zz9").replace("x7", "q")
    env.update(zz9=env["n12"], q=env["x7"])
    assert outcome(compile_formula, renamed, env) == outcome(_compile_text, renamed, env)


# --- the light CSV reader's column fast paths ------------------------------------------------

NUMBER_CELLS = st.lists(st.sampled_from(["1", "2.5", " 3 ", "-4e2", "1_000", "nan", "inf", "",
                                         "92%", "1,200", "-", "abc", "1e400", "０"]),
                        max_size=8)


@settings(max_examples=300)
@given(NUMBER_CELLS | st.lists(st.floats(allow_nan=False).map(repr), max_size=8))
def test_parse_cells_reads_a_column_as_cell_by_cell_does(cells):
    from nsm_cli.data.tables import cell_by_cell, parse_cells

    values, bad = parse_cells(cells)
    expected, expected_bad = cell_by_cell(cells)
    assert [repr(v) for v in values.tolist()] == [repr(v) for v in expected.tolist()]
    assert bad == expected_bad


@settings(max_examples=200)
@given(st.lists(st.lists(st.sampled_from(["1", "x", ""]), max_size=6), max_size=5),
       st.lists(st.integers(0, 6), max_size=4, unique=True))
def test_columns_cut_at_once_are_the_cells_of_each_row(rows, positions):
    from nsm_cli.data.tables import _cut_columns

    columns = {f"c{at}": at for at in positions}
    expected = {name: [row[at] if at < len(row) else "" for row in rows]
                for name, at in columns.items()}
    assert _cut_columns(rows, columns) == expected


@pytest.mark.parametrize("tree", ["mau", "arpu", "funnel", "journey"])
def test_results_stream_as_their_plain_data_would(tree):
    from nsm_cli import api
    from nsm_cli.analysis.results import to_json

    path = TREES / f"{tree}.yaml"
    results = [api.evaluate(path), api.rank_levers(path), api.explain(path),
               api.goal_seek(path), api.alerts(path)]
    for result in results:
        assert dumps(result) == reference(to_json(result))


PRINTABLE_TEXT = st.text(alphabet=st.sampled_from(list("ab 人\u3000") + ["\x1b", "\n", "\u202e"]),
                         max_size=5)


@settings(max_examples=300)
@given(st.recursive(PRINTABLE_TEXT | st.floats() | st.none() | st.integers(),
                    lambda inner: st.lists(inner, max_size=3)
                    | st.lists(inner, max_size=3).map(tuple)
                    | st.dictionaries(PRINTABLE_TEXT, inner, max_size=3), max_leaves=12))
def test_printable_skips_the_copy_only_when_nothing_needs_escaping(value):
    from nsm_cli.render import _escaped_copy, printable

    assert repr(printable(value)) == repr(_escaped_copy(value))


def test_printable_escapes_inside_typed_results():
    from nsm_cli.analysis.results import ChangeApplied
    from nsm_cli.render import printable

    clean = ChangeApplied(id="visits", change="+10%", kind="relative", amount=0.1)
    assert printable(clean) is clean
    dirty = ChangeApplied(id="vis\x1b[2Jits", change="+10%", kind="relative", amount=0.1)
    assert printable(dirty).id == "vis\\x1b[2Jits"


def test_build_makes_the_result_its_init_makes_and_refuses_what_init_refuses():
    from nsm_cli import api
    from nsm_cli.analysis.results import EvalNode, build

    node = api.evaluate(TREES / "mau.yaml").nodes[0]
    values = {name: getattr(node, name) for name in EvalNode.__dataclass_fields__}
    values = {k: v for k, v in values.items() if k not in ("base", "change", "alerts", "trend",
                                                            "compare")}
    built, made = build(EvalNode, values), EvalNode(**values)
    assert built == made and repr(built) == repr(made)
    assert built.to_json() == made.to_json()
    for wrong in ({**values, "typo": 1}, {k: v for k, v in values.items() if k != "value"}):
        with pytest.raises(TypeError):
            build(EvalNode, wrong)
