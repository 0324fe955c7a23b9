"""relay.admin.channel_form: validation of channel input, and the views that never show keys."""

from __future__ import annotations

from typing import Any

import pytest

from relay.admin.api import ApiError
from relay.admin.channel_form import (
    audit_view,
    channel_fields,
    channel_view,
    create_status,
    key_lines,
    key_statuses,
    multi_key_info,
    multi_key_mode,
    supported_types,
    type_name,
)


def refused(body: dict[str, Any], creating: bool = True) -> str:
    with pytest.raises(ApiError) as err:
        channel_fields(body, creating=creating)
    return err.value.message


def test_creating_needs_a_supported_type_and_models() -> None:
    fields = channel_fields({"models": "a, b,a", "name": " n "}, creating=True)
    assert fields == {"type": 1, "name": "n", "models": "a,b", "group": "default"}
    assert "not supported" in refused({"type": 999, "models": "a"})
    assert "1 (OpenAI)" in supported_types() and type_name(43) == "DeepSeek"
    assert type_name(999) == "type 999"
    assert refused({"models": " , "}) == "models must not be empty"
    assert refused({"type": "x", "models": "a"}) == "type must be an integer"
    assert refused({"type": True, "models": "a"}) == "type must be an integer"
    assert (
        channel_fields({"models": ["a", "b"], "group": ["g1", "g2"]}, creating=True)["group"]
        == "g1,g2"
    )
    assert "too long" in refused({"models": "a", "group": "g" * 65})


def test_json_fields_must_be_objects() -> None:
    ok = channel_fields(
        {
            "model_mapping": '{"a": "b"}',
            "status_code_mapping": {"429": 500},
            "param_override": "",
            "header_override": '{"X-Key": "{api_key}"}',
            "setting": '{"proxy": ""}',
        },
        creating=False,
    )
    assert ok["model_mapping"] == '{"a": "b"}' and ok["param_override"] == ""
    assert ok["status_code_mapping"] == '{"429":500}'
    assert refused({"model_mapping": "{bad"}, False) == "model_mapping is not valid JSON"
    assert refused({"model_mapping": "[1]"}, False) == "model_mapping must be a JSON object"
    assert "must be a string" in refused({"model_mapping": '{"a": 1}'}, False)
    assert "loops" in refused({"model_mapping": '{"a": "b", "b": "c", "c": "a"}'}, False)
    assert channel_fields({"model_mapping": '{"a": "a"}'}, creating=False)
    assert "not a status code" in refused({"status_code_mapping": '{"429": "x"}'}, False)
    assert "not a status code" in refused({"status_code_mapping": '{"429": 700}'}, False)
    assert "not a status code" in refused({"status_code_mapping": '{"429": true}'}, False)
    assert refused({"param_override": "{"}, False) == "param_override is not valid JSON"
    assert "must be a string" in refused({"header_override": '{"X": 1}'}, False)
    assert refused({"setting": "1"}, False) == "channel setting must be a JSON object"


def test_scalar_fields() -> None:
    fields = channel_fields(
        {"priority": "5", "weight": 0, "auto_ban": False, "tag": " ", "test_model": "m"},
        creating=False,
    )
    assert fields == {"priority": 5, "weight": 0, "auto_ban": 0, "tag": None, "test_model": "m"}
    assert refused({"weight": -1}, False) == "weight must not be negative"
    assert refused({"auto_ban": 2}, False) == "auto_ban must be 0 or 1"
    assert "http" in refused({"base_url": "example.com"}, False)
    assert "too long" in refused({"name": "n" * 256}, False)
    assert create_status({}) == 1 and create_status({"status": 2}) == 2
    with pytest.raises(ApiError):
        create_status({"status": 3})


def test_keys_and_views() -> None:
    assert key_lines(" a \n\nb\na\n") == ["a", "b"]
    assert multi_key_mode(None) == "random" and multi_key_mode("polling") == "polling"
    with pytest.raises(ApiError):
        multi_key_mode("roundrobin")
    info = multi_key_info(["a", "b"], "polling")
    assert info["multi_key_size"] == 2 and info["multi_key_status_list"] == {}
    assert key_statuses({"multi_key_status_list": {"1": 3, "2": "x"}}, 3) == [1, 3, 1]
    row = {
        "id": 1,
        "key": "enc:v1:secret",
        "name": "n",
        "channel_info": '{"is_multi_key": true, "multi_key_disabled_reason": {"0": "r"}}',
    }
    view = channel_view(row)
    assert "key" not in view and view["channel_info"]["is_multi_key"] is True
    assert "multi_key_disabled_reason" not in view["channel_info"]
    assert "key" not in audit_view(row) and audit_view(row)["name"] == "n"
