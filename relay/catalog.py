"""The worker's in-memory snapshot of channels, abilities and options, reloaded on change."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncEngine

from relay.crypto import Keyring
from relay.http.proxy import parse_proxy
from relay.options import Options
from relay.providers.base import Provider
from relay.providers.registry import PROVIDERS, build_providers
from relay.routing import Channel, ChannelSetting, RoutingTable
from relay.settings import Settings
from relay.store.channels import all_channels, enabled_abilities, split_keys, split_list
from relay.store.options import all_options

log = logging.getLogger("relay.catalog")


def _json_object(raw: str | None, what: str, channel_id: int) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        log.warning("channel #%d has invalid %s JSON; ignoring it", channel_id, what)
        return {}
    return value if isinstance(value, dict) else {}


def _status_code_mapping(raw: str | None, channel_id: int) -> dict[int, int]:
    out: dict[int, int] = {}
    for src, dst in _json_object(raw, "status_code_mapping", channel_id).items():
        try:
            out[int(src)] = int(dst)
        except (TypeError, ValueError):
            log.warning("channel #%d status_code_mapping %r→%r ignored", channel_id, src, dst)
    return out


def _setting(raw: str | None, channel_id: int) -> ChannelSetting:
    """The keys of new-api's ChannelSettings that relay applies; values of a wrong type
    count as unset, as Go's decoder would refuse them."""
    data = _json_object(raw, "setting", channel_id)

    def text(key: str) -> str:
        value = data.get(key)
        return value if isinstance(value, str) else ""

    def flag(key: str) -> bool:
        return data.get(key) is True

    proxy = text("proxy").strip()
    if proxy:
        try:
            parse_proxy(proxy)
        except ValueError as exc:  # kept: its requests fail rather than go out directly
            log.warning("channel #%d setting.proxy is unusable: %s", channel_id, exc)
    return ChannelSetting(
        system_prompt=text("system_prompt"),
        system_prompt_override=flag("system_prompt_override"),
        pass_through_body=flag("pass_through_body_enabled"),
        thinking_to_content=flag("thinking_to_content"),
        force_format=flag("force_format"),
        proxy=proxy,
    )


def _param_override(raw: str | None, channel_id: int) -> dict[str, Any]:
    """The flat (legacy) form of param_override: top-level keys merged into the body.
    new-api's `{"operations": [...]}` rule language is not applied (only its flat keys)."""
    override = _json_object(raw, "param_override", channel_id)
    flat = {k: v for k, v in override.items() if k.strip().lower() != "operations"}
    if len(flat) != len(override):
        log.warning("channel #%d param_override operations are not supported; ignored", channel_id)
    return flat


def channel_from_row(row: RowMapping, keyring: Keyring) -> Channel:
    """Build the routing view of a channel row, decrypting its key(s)."""
    cid = int(row["id"])
    try:
        key_text = keyring.open(row["key"])
    except ValueError:
        log.error("channel #%d key cannot be decrypted with CRYPTO_SECRET; disabled", cid)
        key_text, status = "", 0
    else:
        status = int(row["status"])
    info = _json_object(row["channel_info"], "channel_info", cid)
    multi = bool(info.get("is_multi_key"))
    if multi:  # keys a health check or an admin disabled are left out
        disabled = info.get("multi_key_status_list")
        disabled = disabled if isinstance(disabled, dict) else {}
        keys = tuple(
            k for i, k in enumerate(split_keys(key_text)) if k and disabled.get(str(i), 1) == 1
        )
    else:
        keys = (key_text,)
    mapping = {
        str(k): str(v)
        for k, v in _json_object(row["model_mapping"], "model_mapping", cid).items()
        if isinstance(v, str)
    }
    return Channel(
        id=cid,
        type=int(row["type"]),
        name=row["name"],
        keys=keys,
        base_url=(row["base_url"] or "").rstrip("/"),
        organization=row["openai_organization"] or "",
        status=status,
        priority=int(row["priority"] or 0),
        weight=int(row["weight"] or 0),
        models=tuple(split_list(row["models"])),
        groups=tuple(split_list(row["group"])),
        model_mapping=mapping,
        status_code_mapping=_status_code_mapping(row["status_code_mapping"], cid),
        setting=_setting(row["setting"], cid),
        param_override=_param_override(row["param_override"], cid),
        header_override={
            str(k): str(v)
            for k, v in _json_object(row["header_override"], "header_override", cid).items()
        },
        other=row["other"] or "",
        other_settings=_json_object(row.get("settings"), "settings", cid),
        created_time=int(row.get("created_time") or 0),
        multi_key_random=info.get("multi_key_mode", "random") != "polling",
    )


@dataclass(frozen=True)
class Catalog:
    """Everything a worker needs per request that comes from SQL, as one immutable value."""

    routing: RoutingTable
    options: Options
    providers: Mapping[int, Provider]  # by channel type, configured by `options`

    @classmethod
    def empty(cls) -> Catalog:
        return cls(RoutingTable((), ()), Options.from_rows({}), PROVIDERS)


async def load_catalog(engine: AsyncEngine, keyring: Keyring, settings: Settings) -> Catalog:
    async with engine.connect() as conn:
        rows = await all_channels(conn)
        ability_rows = await enabled_abilities(conn)
        option_rows: Mapping[str, str] = await all_options(conn)
    channels = [channel_from_row(row, keyring) for row in rows]
    options = Options.from_rows(option_rows)
    providers = build_providers(options, settings)
    return Catalog(RoutingTable(channels, ability_rows), options, providers)
