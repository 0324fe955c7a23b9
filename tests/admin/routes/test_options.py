"""relay.admin.routes.options: value stringification and the CompletionRatioMeta entry."""

from __future__ import annotations

import orjson
import pytest

from relay.admin.api import ApiError
from relay.admin.routes.options import completion_ratio_info, completion_ratio_meta, stringify
from relay.options import Options


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        (True, "true"),
        (False, "false"),
        (3, "3"),
        (3.0, "3"),
        (2.5, "2.5"),
        (1e-07, "0.0000001"),
        (1e21, "1000000000000000000000"),
        ("x", "x"),
        ({"a": 1}, '{"a":1}'),
    ],
)
def test_stringify_like_new_api(value: object, stored: str) -> None:
    assert stringify(value) == stored


@pytest.mark.parametrize("value", [None, float("nan"), float("inf")])
def test_stringify_refuses_missing_or_non_finite(value: object) -> None:
    with pytest.raises(ApiError):
        stringify(value)


def test_completion_ratio_info_locked_and_stored() -> None:
    book = Options.from_rows({"CompletionRatio": '{"gpt-4o-mini": 9, "o1": 9, "x/y": 7}'}).ratios
    assert completion_ratio_info(book, "gpt-4o-mini") == {"ratio": 9, "locked": False}
    assert completion_ratio_info(book, "o1") == {"ratio": 4, "locked": True}
    assert completion_ratio_info(book, "x/y") == {"ratio": 7, "locked": False}
    assert completion_ratio_info(book, "unknown") == {"ratio": 1, "locked": False}


def test_meta_covers_models_of_every_ratio_table() -> None:
    book = Options.from_rows({}).ratios
    values = {"ModelRatio": '{"gpt-4o": 1}', "ModelPrice": '{"dall-e-3": 0.04}', "CacheRatio": "x"}
    meta = orjson.loads(completion_ratio_meta(values, book))
    assert set(meta) == {"gpt-4o", "dall-e-3"}
    assert meta["gpt-4o"] == {"ratio": 4, "locked": False}
