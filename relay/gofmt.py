"""Go's text forms of a JSON value decoded into `any`: fmt's `%v` and encoding/json's Marshal.

new-api builds its prompt text with both (relaykit/dto/openai_request.go:195 `%v` of tool
parameters, relaykit/dto/claude.go:310 Marshal of tool_use input), so relay reproduces them to
count the same text. Go decodes every JSON number into float64, hence numbers go through float.
"""

from __future__ import annotations

import math
from typing import Any

# encode.go appendString with escapeHTML; \b and \f short since Go 1.22 (new-api: go 1.25).
_JSON_ESCAPES = {i: f"\\u{i:04x}" for i in range(0x20)} | {
    ord('"'): '\\"',
    ord("\\"): "\\\\",
    ord("\b"): "\\b",
    ord("\f"): "\\f",
    ord("\n"): "\\n",
    ord("\r"): "\\r",
    ord("\t"): "\\t",
    ord("<"): "\\u003c",
    ord(">"): "\\u003e",
    ord("&"): "\\u0026",
    0x2028: "\\u2028",
    0x2029: "\\u2029",
}


def _digits(value: float) -> tuple[str, int]:
    """The shortest round-trip decimal digits of |value| and the decimal point's position
    (value = 0.DIGITS × 10^point), as strconv computes them."""
    mantissa, _, exponent = repr(abs(value)).partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = whole + fraction
    point = len(whole) + (int(exponent) if exponent else 0)
    significant = digits.lstrip("0")
    point -= len(digits) - len(significant)
    return significant.rstrip("0"), point


def _exponent_form(digits: str, point: int) -> str:
    mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    exp = point - 1
    return f"{mantissa}e{'-' if exp < 0 else '+'}{abs(exp):02d}"


def _plain_form(digits: str, point: int) -> str:
    if point <= 0:
        return "0." + "0" * -point + digits
    if point >= len(digits):
        return digits + "0" * (point - len(digits))
    return digits[:point] + "." + digits[point:]


def go_float(value: float) -> str:
    """`%v` of a float64: strconv's shortest 'g', with an exponent from 1e+06 on or below 1e-04."""
    sign = "-" if math.copysign(1.0, value) < 0 else ""
    digits, point = _digits(value)
    if not digits:
        return sign + "0"
    exp = point - 1
    if exp < -4 or exp >= 6:  # strconv/ftoa.go: %e when exp < -4 || exp >= eprec (6 if shortest)
        return sign + _exponent_form(digits, point)
    return sign + _plain_form(digits, point)


def go_value(value: Any) -> str:
    """fmt.Sprintf("%v", value): `map[k:v ...]` with sorted keys, `[a b]`, `<nil>`, raw strings."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return go_float(float(value))
    if isinstance(value, dict):
        items = " ".join(f"{k}:{go_value(value[k])}" for k in sorted(value))
        return f"map[{items}]"
    if isinstance(value, list):
        return "[" + " ".join(go_value(v) for v in value) + "]"
    raise TypeError(f"not a JSON value: {type(value).__name__}")


def _json_float(value: float) -> str:
    """encoding/json's float64: 'f' form, or 'e' below 1e-6 / from 1e21 (e-07 written e-7)."""
    sign = "-" if math.copysign(1.0, value) < 0 else ""
    digits, point = _digits(value)
    if not digits:
        return sign + "0"
    if 1e-6 <= abs(value) < 1e21:
        return sign + _plain_form(digits, point)
    text = _exponent_form(digits, point)
    if text[-4:-1] == "e-0":  # encode.go floatEncoder: clean up e-09 to e-9
        text = text[:-2] + text[-1]
    return sign + text


def go_json(value: Any) -> str:
    """json.Marshal(value): compact, sorted map keys, HTML-safe string escapes."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.translate(_JSON_ESCAPES) + '"'
    if isinstance(value, (int, float)):
        return _json_float(float(value))
    if isinstance(value, dict):
        return "{" + ",".join(f"{go_json(k)}:{go_json(value[k])}" for k in sorted(value)) + "}"
    if isinstance(value, list):
        return "[" + ",".join(go_json(v) for v in value) + "]"
    raise TypeError(f"not a JSON value: {type(value).__name__}")
