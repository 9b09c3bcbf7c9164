"""The formula language, as a specification: what compiles, what it computes, what is refused.

Formulas come from strangers' pull requests, so besides the arithmetic these tests
pin down that every construct outside the grammar is a FormulaError with a stable
code and a useful offset, and that no input makes the compiler crash or hang.
"""

from __future__ import annotations

import builtins
import dataclasses
import math
import re
import warnings

import numpy as np
import pytest
from conftest import ROOT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nsm_cli.tree.formula import Formula, FormulaError, compile_formula


def value_of(text: str, **env: object) -> np.ndarray:
    return compile_formula(text).evaluate(env)


# ---------------------------------------------------------------- values

C = (0.05, 0.08, 0.07, 0.05)

VALUES = [
    # formula, inputs, expected (computed with plain Python floats)
    ("visits * per_visit", {"visits": 2.5, "per_visit": 1680}, 2.5 * 1680),
    ("first + repeat", {"first": 2.0, "repeat": 0.5}, 2.5),
    ("(1 - c1) * (1 - c2) * (1 - c3) * (1 - c4)",
     dict(zip(("c1", "c2", "c3", "c4"), C, strict=True)),
     (1 - C[0]) * (1 - C[1]) * (1 - C[2]) * (1 - C[3])),
    ("revenue / users", {"revenue": 1.0, "users": 4}, 0.25),
    ("a - b - c", {"a": 10, "b": 3, "c": 2}, 5.0),  # left to right
    ("a - (b - c)", {"a": 10, "b": 3, "c": 2}, 9.0),
    ("a / b / c", {"a": 24, "b": 4, "c": 2}, 3.0),
    ("a + b * c", {"a": 1, "b": 2, "c": 3}, 7.0),
    ("(a + b) * c", {"a": 1, "b": 2, "c": 3}, 9.0),
    ("-a ** 2", {"a": 3}, -9.0),  # ** binds tighter than unary minus
    ("2 ** 3 ** 2", {}, 512.0),  # ** is right-associative
    ("(2 ** 3) ** 2", {}, 64.0),
    ("a ** -1", {"a": 2}, 0.5),  # integer inputs are floats, so negative powers work
    ("a ** 0.5", {"a": 16}, 4.0),
    ("+a", {"a": 1.5}, 1.5),
    ("--a", {"a": 1.5}, 1.5),
    ("1_000 * a + 1.5e3", {"a": 2}, 3500.0),
    ("7", {}, 7.0),
    ("min(a, b)", {"a": 3, "b": -1}, -1.0),
    ("min(a, b, c, 2)", {"a": 3, "b": 5, "c": 4}, 2.0),
    ("max(a, b, c)", {"a": 3, "b": 5, "c": 4}, 5.0),
    ("abs(a)", {"a": -2.5}, 2.5),
    ("sqrt(a)", {"a": 2.25}, 1.5),
    ("log(a)", {"a": math.e}, 1.0),
    ("log(a)", {"a": 100.0}, 4.605170185988092),  # ln 100 = 2 ln 10
    ("exp(a)", {"a": 1.0}, math.exp(1.0)),
    ("round(a)", {"a": 2.5}, 2.0),  # halves go to the even number, like Python's round
    ("round(a)", {"a": 3.5}, 4.0),
    ("round(a, 2)", {"a": 3.14159}, 3.14),
    ("clip(a, 0, 1)", {"a": 1.7}, 1.0),
    ("clip(a, 0, 1)", {"a": -0.3}, 0.0),
    ("clip(a, 0, 1)", {"a": 0.4}, 0.4),
    ("sqrt(abs(a_1)) * exp(log(B2))", {"a_1": -4, "B2": 3}, 2.0 * math.exp(math.log(3))),
    ("  visits *\n  per_visit\n", {"visits": 2, "per_visit": 3}, 6.0),  # a YAML block scalar
]


@pytest.mark.parametrize(("text", "env", "expected"), VALUES, ids=[v[0] for v in VALUES])
def test_value(text, env, expected):
    result = compile_formula(text).evaluate(env)
    assert isinstance(result, np.ndarray)
    assert result.dtype == np.float64
    assert result.shape == ()
    assert result == pytest.approx(expected, rel=1e-12)


PERIODS = np.array([1.0, 2.0, 4.0])
BATCH = np.array([[1.0, 2.0, 4.0], [0.5, 3.0, 9.0]])


def _each(function, values):
    """Apply a math-module function element by element: an oracle independent of numpy."""
    return np.array([[function(x) for x in row] for row in values])


VECTORISED = [
    # formula, inputs, expected (by hand): broadcasting over periods and over a batch × periods
    ("visits * per_visit", {"visits": PERIODS, "per_visit": 10}, [10.0, 20.0, 40.0]),
    ("visits * per_visit", {"visits": BATCH, "per_visit": PERIODS},
     [[1.0, 4.0, 16.0], [0.5, 6.0, 36.0]]),
    ("min(a, b)", {"a": PERIODS, "b": 2.0}, [1.0, 2.0, 2.0]),
    ("max(a, b, 3)", {"a": BATCH, "b": PERIODS}, [[3.0, 3.0, 4.0], [3.0, 3.0, 9.0]]),
    ("clip(a, 1, 3)", {"a": BATCH}, [[1.0, 2.0, 3.0], [1.0, 3.0, 3.0]]),
    ("round(a / 3, 1)", {"a": PERIODS}, [0.3, 0.7, 1.3]),
    ("sqrt(a) + log(a) - exp(-a)", {"a": BATCH},
     _each(lambda x: math.sqrt(x) + math.log(x) - math.exp(-x), BATCH)),
    ("a ** 2 / b", {"a": BATCH, "b": 2}, [[0.5, 2.0, 8.0], [0.125, 4.5, 40.5]]),
    ("a", {"a": [1, 2, 3]}, [1.0, 2.0, 3.0]),  # lists and ints become float arrays
]


@pytest.mark.parametrize(("text", "env", "expected"), VECTORISED, ids=[v[0] for v in VECTORISED])
def test_vectorised(text, env, expected):
    result = compile_formula(text).evaluate(env)
    assert result.dtype == np.float64
    assert result.shape == np.shape(expected)
    np.testing.assert_allclose(result, expected, rtol=1e-12)


def test_every_function_the_readme_lists_is_computed_above():
    """The README's list of functions is the language: each has a hand-computed value."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    listed = set(re.search(r"numbers, and `min\s+max abs sqrt log exp round clip`", readme)
                 .group(0).split("`")[1].split())
    tested = {text.split("(")[0] for text, _, _ in VALUES if "(" in text.split()[0]}
    assert listed == {"min", "max", "abs", "sqrt", "log", "exp", "round", "clip"}
    assert listed <= tested
    with pytest.raises(FormulaError, match="the functions are min max abs sqrt log exp round clip"):
        compile_formula("floor(a)")


# ---------------------------------------------------------------- missing values

NAN = math.nan
INF = math.inf

MISSING = [
    # division by zero and logs of non-positive numbers are missing values, not infinities
    ("a / b", {"a": 1, "b": 0}, NAN),
    ("a / b", {"a": 0, "b": 0}, NAN),
    ("a / b", {"a": -1, "b": -0.0}, NAN),
    ("a / b", {"a": 6, "b": np.array([3.0, 0.0, -2.0])}, np.array([2.0, NAN, -3.0])),
    ("log(a)", {"a": 0}, NAN),
    ("log(a)", {"a": -1}, NAN),
    ("sqrt(a)", {"a": -4}, NAN),
    ("a ** 0.5", {"a": -1}, NAN),
    # a missing input stays missing, also through min, max and clip
    ("a + 1", {"a": NAN}, NAN),
    ("min(a, b)", {"a": NAN, "b": 1}, NAN),
    ("max(a, b)", {"a": 1, "b": NAN}, NAN),
    ("min(a, b)", {"a": np.array([NAN, 1.0]), "b": 2}, np.array([NAN, 1.0])),
    ("clip(a, 0, 1)", {"a": NAN}, NAN),
    ("round(a, 2)", {"a": NAN}, NAN),
    # overflow is an infinity, which the caller reports
    ("exp(a)", {"a": 1000}, INF),
    ("a * b", {"a": 1e308, "b": -10}, -INF),
    ("9 ** 9 ** 9 ** 9", {}, INF),  # no integer arithmetic: finishes at once
    ("1e999", {}, INF),
    ("1" + "0" * 400, {}, INF),  # an integer literal beyond float range
]


@pytest.mark.filterwarnings("error")  # no numpy RuntimeWarning may escape
@pytest.mark.parametrize(("text", "env", "expected"), MISSING, ids=[v[0][:20] for v in MISSING])
def test_missing_and_infinite(text, env, expected):
    result = compile_formula(text).evaluate(env)
    np.testing.assert_array_equal(result, expected)  # NaN equals NaN here


# ---------------------------------------------------------------- names

NAMES = [
    # formula, names in order of first appearance, offset of each name's first appearance
    ("b * a + b", ("b", "a"), {"b": 0, "a": 4}),
    ("min(x, y) + max(y, z)", ("x", "y", "z"), {"x": 4, "y": 7, "z": 19}),
    ("  revenue /\n  users\n", ("revenue", "users"), {"revenue": 2, "users": 14}),
    ("round(ratio, 2)", ("ratio",), {"ratio": 6}),
    ("sqrt(abs(a_1)) * exp(log(B2))", ("a_1", "B2"), {"a_1": 9, "B2": 25}),
    ("2 * 3", (), {}),
]


@pytest.mark.parametrize(("text", "names", "offsets"), NAMES, ids=[n[0] for n in NAMES])
def test_names(text, names, offsets):
    formula = compile_formula(text)
    assert formula.names == names
    assert formula.name_offsets == offsets
    for name, offset in offsets.items():
        assert text[offset : offset + len(name)] == name


# ---------------------------------------------------------------- refused

ALLOWED = "use only child ids, numbers, + - * / ** and min max abs sqrt log exp round clip"

REFUSED = [
    # formula, code, 0-based offset of the problem, words the message must contain
    ("__import__('os').system('ls')", "E202", 0, "'__import__' is not a function"),
    ("().__class__.__bases__[0]", "E202", 0, "tuple"),
    ("eval('1')", "E202", 0, "'eval' is not a function"),
    ("foo(a)", "E202", 0, "the functions are min max abs sqrt log exp round clip"),
    ("a.b", "E202", 1, "attribute access (.name) is not allowed in a formula: " + ALLOWED),
    ("a.b()", "E202", 1, "attribute"),
    ("a[0]", "E202", 1, "indexing"),
    ("a[1:2]", "E202", 1, "indexing"),
    ("lambda: 1", "E202", 0, "lambda"),
    ("[x for x in y]", "E202", 0, "comprehension"),
    ("(x for x in y)", "E202", 0, "generator"),
    ("[a, b]", "E202", 0, "lists"),
    ("{a}", "E202", 0, "sets"),
    ("{a: b}", "E202", 0, "dicts"),
    ("a, b", "E202", 0, "tuple"),
    ('"abc"', "E202", 0, "text (a quoted string)"),
    ("b'x'", "E202", 0, "text"),
    ("f'{a}'", "E202", 0, "f-strings"),
    ("True", "E202", 0, "True, False and None"),
    ("None", "E202", 0, "True, False and None"),
    ("...", "E202", 0, "not allowed"),
    ("1j", "E202", 0, "complex"),
    ("a if b else c", "E202", 2, "conditional"),
    ("x ** 2 if x else 0", "E202", 7, "conditional"),
    ("a < b", "E202", 2, "comparisons"),
    ("a == b", "E202", 2, "comparisons"),
    ("a and b", "E202", 2, "'and'"),
    ("a or b", "E202", 2, "'or'"),
    ("not a", "E202", 0, "'not'"),
    ("a // b", "E202", 2, "'//' (floor division)"),
    ("a % b", "E202", 2, "'%'"),
    ("a @ b", "E202", 2, "'@'"),
    ("a & b", "E202", 2, "'&'"),
    ("a | b", "E202", 2, "'|'"),
    ("a ^ 2", "E202", 2, "for a power write **"),
    ("a << 2", "E202", 2, "'<<'"),
    ("a >> 2", "E202", 2, "'>>'"),
    ("~a", "E202", 0, "'~'"),
    ("(a := 1)", "E202", 1, "':='"),
    ("min(*a, b)", "E202", 4, "unpacking"),
    ("round(a, ndigits=2)", "E202", 9, "keyword arguments"),
    ("min(a, **k)", "E202", 7, "keyword arguments"),
    ("await a", "E202", 0, "'await'"),
    ("(yield)", "E202", 1, "'yield'"),
    ("(a + b)(c)", "E202", 7, "only the functions"),
    ("min()", "E202", 0, "min needs at least 2 values, e.g. min(a, b)"),
    ("min(a)", "E202", 0, "min needs at least 2 values"),
    ("max(a)", "E202", 0, "max needs at least 2 values"),
    ("abs(a, b)", "E202", 0, "abs takes exactly 1 value"),
    ("sqrt()", "E202", 0, "sqrt takes exactly 1 value"),
    ("log(a, 10)", "E202", 0, "log takes exactly 1 value"),
    ("exp(a, b)", "E202", 0, "exp takes exactly 1 value"),
    ("clip(a, b)", "E202", 0, "clip takes exactly 3 values"),
    ("round()", "E202", 0, "round takes a value"),
    ("round(a, 13)", "E202", 9, "from 0 to 12"),
    ("round(a, -1)", "E202", 9, "from 0 to 12"),
    ("round(a, 2.0)", "E202", 9, "from 0 to 12"),
    ("round(a, b)", "E202", 9, "from 0 to 12"),
    ("round(a, True)", "E202", 9, "from 0 to 12"),
    ("min + 1", "E202", 0, "'min' is a function: call it with its values, e.g. min(a, b)"),
    ("2 * sqrt", "E202", 4, "'sqrt' is a function"),
    ("a + b  # total", "E202", 7, "comments (#)"),
    ("a + # c\n b", "E202", 4, "comments (#)"),
    ("ａ + b", "E202", 0, "ASCII"),  # fullwidth letters are not ids (Python would fold them)
    ("ｍin(a, b)", "E202", 0, "is not a function"),
    # syntax errors
    ("", "E201", 0, "formula is empty"),
    ("  \n  ", "E201", 0, "formula is empty"),
    ("a +", "E201", 3, "formula syntax error: unexpected end of formula"),
    ("min(a, ", "E201", 3, "'(' was never closed"),
    ("(a", "E201", 0, "'(' was never closed"),
    ("a)", "E201", 1, "unmatched ')'"),
    ("a b", "E201", 2, "formula syntax error: invalid syntax"),
    ("a + $", "E201", 4, "invalid syntax"),
    ("visits *\n  $", "E201", 11, "invalid syntax"),  # offsets count the newline
    ("é + $", "E201", 4, "invalid syntax"),  # offsets count characters, not bytes
    ("a = b", "E201", 2, "'=' is not allowed"),
    ("（a + b）", "E201", 0, "invalid character"),
    ("a\0b", "E201", 1, "NUL"),
    ("08", "E201", 0, "leading zeros"),
    ("'abc", "E201", 0, "unterminated string"),
]


@pytest.mark.parametrize(("text", "code", "offset", "words"), REFUSED, ids=[r[0] for r in REFUSED])
def test_refused(text, code, offset, words):
    with pytest.raises(FormulaError) as caught:
        compile_formula(text)
    error = caught.value
    assert (error.code, error.offset) == (code, offset)
    assert words in error.message
    assert 0 <= error.offset <= len(text)


# ---------------------------------------------------------------- limits

LIMITS = [
    # formula, code: too long or too deep is E207, never RecursionError or MemoryError
    ("x" * 10_000_000, "E207"),
    ("a + " * 600 + "a", "E207"),  # 2401 characters
    ("(" * 300 + "a" + ")" * 300, "E207"),
    ("(" * 300, "E207"),
    ("min(" * 300 + "a", "E207"),
    ("[" * 1000, "E207"),
    ("-" * 1999 + "a", "E207"),
    ("not " * 400 + "a", "E207"),
    ("a**" * 300 + "a", "E207"),
    ("a+" * 999 + "a", "E207"),  # 1,999 parts
    ("lambda:" * 280 + "1", "E202"),
]


@pytest.mark.parametrize(("text", "code"), LIMITS, ids=[t[:12] + "…" for t, _ in LIMITS])
def test_limits(text, code):
    with pytest.raises(FormulaError) as caught:
        compile_formula(text)
    assert caught.value.code == code
    assert 0 <= caught.value.offset <= len(text)


def test_limits_leave_room_for_real_formulas():
    brackets = compile_formula("(" * 100 + "a" + ")" * 100)
    assert brackets.evaluate({"a": 2.0}) == 2.0
    terms = [f"store_{i}" for i in range(150)]  # a long flat sum is not "deep"
    total = compile_formula(" + ".join(terms))
    assert total.evaluate(dict.fromkeys(terms, np.ones(3))).tolist() == [150.0] * 3


TOO_LARGE = "formula is too large (more than 500 parts): split it into intermediate nodes"


def test_a_formula_of_500_parts_compiles_and_one_of_501_is_refused():
    # "--a + a + ... + a" with 250 a's: 250 names, 249 additions and 2 negations = 501 parts
    at_limit = "-a" + " + a" * 249  # 250 names + 249 additions + 1 negation = 500 parts
    assert compile_formula(at_limit).evaluate({"a": 2.0}) == 2.0 * 248
    with pytest.raises(FormulaError) as caught:
        compile_formula("-" + at_limit)
    assert (caught.value.code, caught.value.message) == ("E207", TOO_LARGE)


def test_a_too_large_formula_in_a_tree_is_e207_at_its_place(nsm, write):
    write("t.yaml", f"""\
        name: t
        root:
          id: r
          formula: {"-a" + " + a" * 250}
          children:
            - {{id: a, value: 1}}
        """)
    run = nsm("eval", "t.yaml")
    assert (run.code, run.stdout) == (1, "")
    [line] = run.stderr.splitlines()
    pattern = rf"t\.yaml:4:\d+: formula of 'r': {re.escape(TOO_LARGE)} \[E207\]"
    assert re.fullmatch(pattern, line), line


def test_long_formula_error_points_at_the_limit():
    with pytest.raises(FormulaError) as caught:
        compile_formula("a" * 2001)
    assert (caught.value.code, caught.value.offset) == ("E207", 2000)
    assert caught.value.message == ("formula is too long (2001 characters, at most 2000): "
                                    "split it into intermediate nodes")
    assert compile_formula("a" * 2000).names == ("a" * 2000,)


# ---------------------------------------------------------------- the interface


def test_interface():
    formula = compile_formula("a * b")
    assert isinstance(formula, Formula)
    assert formula.text == "a * b"
    assert formula({"a": 2, "b": 3}) == 6.0  # calling is evaluating
    with pytest.raises(dataclasses.FrozenInstanceError):
        formula.text = "a"  # type: ignore[misc]


def test_missing_input_is_key_error():
    with pytest.raises(KeyError):
        compile_formula("a + b").evaluate({"a": 1.0})


def test_result_never_aliases_an_input():
    values = np.array([1.0, 2.0])
    result = compile_formula("a").evaluate({"a": values})
    result[0] = 99.0
    assert values[0] == 1.0


def test_never_uses_eval_or_exec(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("eval/exec called")

    monkeypatch.setattr(builtins, "eval", refuse)
    monkeypatch.setattr(builtins, "exec", refuse)
    assert compile_formula("max(a, 2) ** 2").evaluate({"a": 3}) == 9.0


# ---------------------------------------------------------------- properties

VARIABLES = ("a", "b", "c_1")
SHAPES = ((), (4,), (2, 4))

LEAVES = st.one_of(
    st.sampled_from(VARIABLES),
    st.integers(0, 10**6).map(str),
    st.floats(0, 1e6, allow_nan=False, allow_infinity=False).map(repr),
)


def _grow(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(inner, st.sampled_from(["+", "-", "*", "/", "**"]), inner).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(st.sampled_from(["-", "+"]), inner).map(lambda t: f"({t[0]}{t[1]})"),
        st.tuples(st.sampled_from(["abs", "sqrt", "log", "exp", "round"]), inner).map(
            lambda t: f"{t[0]}({t[1]})"),
        st.tuples(st.sampled_from(["min", "max"]), st.lists(inner, min_size=2, max_size=4)).map(
            lambda t: f"{t[0]}({', '.join(t[1])})"),
        st.tuples(inner, st.integers(0, 12)).map(lambda t: f"round({t[0]}, {t[1]})"),
        st.tuples(inner, inner, inner).map(lambda t: f"clip({t[0]}, {t[1]}, {t[2]})"),
    )


EXPRESSIONS = st.recursive(LEAVES, _grow, max_leaves=20).filter(
    lambda text: _bracket_depth(text) < 90)


def _bracket_depth(text: str) -> int:
    depth = deepest = 0
    for char in text:
        depth += char == "("
        depth -= char == ")"
        deepest = max(deepest, depth)
    return deepest


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(EXPRESSIONS, st.sampled_from(SHAPES), st.integers(0, 2**32 - 1))
def test_grammar_always_compiles_and_broadcasts(text, shape, seed):
    formula = compile_formula(text)
    assert set(formula.names) <= set(VARIABLES)
    rng = np.random.default_rng(seed)
    env = {name: rng.normal(0, 3, size=shape) for name in VARIABLES}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = formula.evaluate(env)
    assert result.dtype == np.float64
    assert result.shape == (shape if formula.names else ())
    if shape:  # vectorised evaluation equals evaluating each element on its own
        first = formula.evaluate({name: values.flat[0] for name, values in env.items()})
        np.testing.assert_array_equal(np.broadcast_to(result, shape).flat[0], first)


FORMULA_LIKE = st.text(alphabet="ab_19.e+-*/()%,^<>=[]'\"#:\n mixnlogqrtcpsé", max_size=60)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), FORMULA_LIKE))
def test_any_text_compiles_or_is_refused(text):
    try:
        formula = compile_formula(text)
    except FormulaError as error:
        assert error.code in {"E201", "E202", "E207"}
        assert 0 <= error.offset <= len(text)
        assert error.message
        return
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = formula.evaluate(dict.fromkeys(formula.names, np.arange(3.0)))
    assert result.dtype == np.float64
