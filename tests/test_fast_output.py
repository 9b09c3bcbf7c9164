"""The fast writers give the very bytes of the slow ones they replace (issue 18).

JSON: `nsm_cli.render.fastjson.dumps` against `json.dumps(..., ensure_ascii=False, indent=2)`.
"""

from __future__ import annotations

import enum
import json
import math

from hypothesis import given, settings
from hypothesis import strategies as st

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
