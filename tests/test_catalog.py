"""relay.catalog: a channel row as the router sees it (multi-key channels' usable keys)."""

from __future__ import annotations

from typing import Any

import pytest

from relay.catalog import channel_from_row
from relay.crypto import Keyring
from relay.routing import ChannelSetting

KEYRING = Keyring("catalog-test-secret")


def row(key: str, channel_info: str = "", **extra: Any) -> dict[str, Any]:
    base = {
        "id": 7, "type": 1, "name": "c", "key": KEYRING.seal(key), "status": 1, "base_url": "",
        "openai_organization": None, "priority": 0, "weight": 0, "models": "m", "group": "g",
        "model_mapping": "", "status_code_mapping": "", "setting": "", "param_override": "",
        "header_override": "", "other": "", "channel_info": channel_info,
    }  # fmt: skip
    return {**base, **extra}


def test_multi_key_channels_leave_out_disabled_keys() -> None:
    info = '{"is_multi_key": true, "multi_key_status_list": {"1": 3, "2": 2}}'
    channel = channel_from_row(row("k0\nk1\nk2\n\nk4", info), KEYRING)
    assert channel.keys == ("k0", "k4")
    everything_off = '{"is_multi_key": true, "multi_key_status_list": {"0": 2, "1": 3}}'
    assert channel_from_row(row("k0\nk1", everything_off), KEYRING).keys == ()
    odd = '{"is_multi_key": true, "multi_key_status_list": [3]}'
    assert channel_from_row(row("k0\nk1", odd), KEYRING).keys == ("k0", "k1")


def test_single_key_channels_keep_the_whole_key() -> None:
    assert channel_from_row(row("line1\nline2"), KEYRING).keys == ("line1\nline2",)


def test_the_setting_column_becomes_typed_fields() -> None:
    setting = (
        '{"system_prompt": "Be kind.", "system_prompt_override": true, "proxy": " socks5://h:1 ",'
        ' "pass_through_body_enabled": true, "thinking_to_content": true, "force_format": "yes"}'
    )
    channel = channel_from_row(row("k", setting=setting), KEYRING)
    assert channel.setting == ChannelSetting(
        system_prompt="Be kind.",
        system_prompt_override=True,
        pass_through_body=True,
        thinking_to_content=True,
        force_format=False,  # not a JSON boolean
        proxy="socks5://h:1",
    )
    assert channel_from_row(row("k", setting="[1]"), KEYRING).setting == ChannelSetting()


def test_param_override_keeps_its_flat_keys_only() -> None:
    override = '{"temperature": 0.2, "operations": [{"mode": "delete", "path": "top_p"}]}'
    channel = channel_from_row(row("k", param_override=override), KEYRING)
    assert channel.param_override == {"temperature": 0.2}


def test_an_unusable_proxy_is_kept_and_reported(caplog: pytest.LogCaptureFixture) -> None:
    setting = '{"proxy": "ftp://user:secret@h:21"}'
    channel = channel_from_row(row("k", setting=setting), KEYRING)
    assert channel.setting.proxy == "ftp://user:secret@h:21"  # its requests fail, never go direct
    assert "setting.proxy is unusable" in caplog.text and "secret" not in caplog.text
