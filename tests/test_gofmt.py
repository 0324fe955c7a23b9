"""relay.gofmt: Go's %v and json.Marshal of JSON values decoded into `any`."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from relay.gofmt import go_float, go_json, go_value

# Expected strings are what Go prints: fmt.Sprintf("%v", x) with x from json.Unmarshal into any.


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, "0"),
        (0.0, "0"),
        (-0.0, "-0"),
        (5, "5"),
        (-5, "-5"),
        (1.5, "1.5"),
        (100000, "100000"),
        (999999, "999999"),
        (1000000, "1e+06"),
        (1e6, "1e+06"),
        (1234567, "1.234567e+06"),
        (123456789, "1.23456789e+08"),
        (0.0001, "0.0001"),
        (0.00001, "1e-05"),
        (0.000123, "0.000123"),
        (1.5e-07, "1.5e-07"),
        (1e21, "1e+21"),
        (1e100, "1e+100"),
        (-2.5e-10, "-2.5e-10"),
        (0.1, "0.1"),
        (3.14159, "3.14159"),
        (2**53 + 1, "9.007199254740992e+15"),  # float64 rounds the integer
    ],
)
def test_go_float(value: float, expected: str) -> None:
    assert go_float(float(value)) == expected
    assert go_value(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "<nil>"),
        (True, "true"),
        (False, "false"),
        ("a b", "a b"),
        ({}, "map[]"),
        ([], "[]"),
        (["a", 1, None, True], "[a 1 <nil> true]"),
        ({"b": 1, "a": "x y"}, "map[a:x y b:1]"),
        (
            {
                "type": "object",
                "properties": {"city": {"type": "string", "description": "The city"}},
                "required": ["city"],
            },
            "map[properties:map[city:map[description:The city type:string]] "
            "required:[city] type:object]",
        ),
        ({"n": [{"z": 2.5, "a": []}], "B": 1e6}, "map[B:1e+06 n:[map[a:[] z:2.5]]]"),
    ],
)
def test_go_value(value: Any, expected: str) -> None:
    assert go_value(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "null"),
        (1, "1"),
        (1.0, "1"),
        (1e6, "1000000"),
        (1e20, "100000000000000000000"),
        (1e21, "1e+21"),
        (1e-6, "0.000001"),
        (1e-7, "1e-7"),
        (1.5e-10, "1.5e-10"),
        (-0.5, "-0.5"),
        ('a"b\\c', '"a\\"b\\\\c"'),
        ("\n\r\t\b\f\x01\x1f", '"\\n\\r\\t\\b\\f\\u0001\\u001f"'),
        ("<a&b>", '"\\u003ca\\u0026b\\u003e"'),
        ("\u2028\u2029 é 你好 \x7f", '"\\u2028\\u2029 é 你好 \x7f"'),
        ({"b": [1, "x"], "a": {"d": True, "c": None}}, '{"a":{"c":null,"d":true},"b":[1,"x"]}'),
        ([], "[]"),
        ({}, "{}"),
    ],
)
def test_go_json(value: Any, expected: str) -> None:
    assert go_json(value) == expected


def test_non_json_values_are_refused() -> None:
    with pytest.raises(TypeError):
        go_value(object())
    with pytest.raises(TypeError):
        go_json({"a": (1, 2)})


finite = st.floats(allow_nan=False, allow_infinity=False)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**60), 2**60) | finite | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


def _as_go_decodes(value: Any) -> Any:
    """The value as Go holds it after decoding: every number a float64."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, list):
        return [_as_go_decodes(v) for v in value]
    return {k: _as_go_decodes(v) for k, v in value.items()}


@given(finite)
def test_go_float_round_trips_with_the_fewest_digits(value: float) -> None:
    text = go_float(value)
    assert float(text) == value or (value == 0 and text == "0")
    mantissa = text.split("e")[0].lstrip("-").replace(".", "").strip("0")
    assert len(mantissa) <= len(repr(abs(value)).split("e")[0].replace(".", "").strip("0"))
    exponent = math.floor(math.log10(abs(value))) if value else 0
    assert ("e" in text) == (value != 0 and (exponent < -4 or exponent >= 6))


@given(json_values)
def test_go_json_is_json_with_sorted_keys(value: Any) -> None:
    text = go_json(value)
    decoded = json.loads(text, parse_int=float)
    assert decoded == _as_go_decodes(value)
    assert text == go_json(decoded)
    assert not any(c in text for c in "<>&\u2028\u2029")


@given(st.dictionaries(st.text(alphabet="abcxyz", min_size=1), st.integers(0, 9), min_size=1))
def test_go_value_prints_maps_in_key_order(value: dict[str, int]) -> None:
    expected = " ".join(f"{k}:{value[k]}" for k in sorted(value))
    assert go_value(value) == f"map[{expected}]"
