"""relay.catalog: a channel row as the router sees it (multi-key channels' usable keys)."""

from __future__ import annotations

from typing import Any

from relay.catalog import channel_from_row
from relay.crypto import Keyring

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
