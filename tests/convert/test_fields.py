"""FieldReader: typed reads of JSON values that raise the format's own error, naming the field."""

from __future__ import annotations

import pytest

from relay.convert.fields import FieldReader


class FormatError(ValueError):
    pass


READ = FieldReader(FormatError)


def test_values_of_the_right_type_come_back_as_they_are() -> None:
    assert READ.obj({"a": 1}, "x") == {"a": 1}
    assert READ.opt_obj({"a": 1}, "x") == {"a": 1}
    assert READ.opt_list([1], "x") == [1]
    assert READ.opt_str("s", "x") == "s"


def test_absent_optional_values_read_as_empty() -> None:
    assert READ.opt_obj(None, "x") == {}
    assert READ.opt_list(None, "x") == []
    assert READ.opt_str(None, "x") == ""


@pytest.mark.parametrize(
    ("read", "value", "text"),
    [
        (READ.obj, None, "messages[0] must be an object"),
        (READ.opt_obj, [], "messages[0] must be an object"),
        (READ.opt_list, {}, "messages[0] must be an array"),
        (READ.opt_str, 3, "messages[0] must be a string"),
    ],
)
def test_a_wrong_type_raises_the_formats_error_naming_the_field(
    read: object, value: object, text: str
) -> None:
    with pytest.raises(FormatError, match=text.replace("[", r"\[").replace("]", r"\]")):
        read(value, "messages[0]")  # type: ignore[operator]
