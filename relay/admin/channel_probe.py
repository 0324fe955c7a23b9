"""Talking to a channel's upstream from the admin process: the channel test (a minimal chat
request through the channel's provider, billed to the tester with a consume log), the model
list, and the balance endpoints of the vendors that expose one."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, cast

import orjson
from sqlalchemy import insert, select
from sqlalchemy.engine import RowMapping

from relay.admin.channel_form import key_statuses, type_name
from relay.admin.context import AdminContext
from relay.billing.quote import make_quote
from relay.catalog import channel_from_row
from relay.errors import RelayError, upstream_error
from relay.http.client import UpstreamError
from relay.http.proxy import parse_proxy
from relay.options import Options
from relay.providers.base import Endpoint, UpstreamCall, Usage, overridden_headers
from relay.providers.registry import ChannelType, build_providers, provider_for
from relay.routing import Channel, ModelMappingError, map_model
from relay.store.channels import (
    STATUS_AUTO_DISABLED,
    STATUS_ENABLED,
    parse_info,
    record_balance,
    record_test,
    split_keys,
)
from relay.store.schema import logs, users

log = logging.getLogger("relay.admin.channels")

Row = Mapping[Any, Any]  # a channels RowMapping or a dict of one
DEFAULT_TEST_MODEL = "gpt-4o-mini"
TEST_TIMEOUT_SECONDS = 60.0
GET_TIMEOUT_SECONDS = 30.0  # model lists and balances
LOG_TYPE_CONSUME = 2
TEST_LOG_NAME = "channel test"
_REASONING_PREFIXES = ("o1", "o3", "o4", "gpt-5")


class ProbeError(Exception):
    """An upstream call of the admin failed; the message is shown to the admin."""


@dataclass
class ProbeOutcome:
    ok: bool
    message: str
    millis: int
    error: RelayError | None = None  # what the upstream answered (None for local failures)
    key_index: int = -1  # multi-key channels: the key that was tested


def open_keys(ctx: AdminContext, row: Row) -> list[str]:
    """All keys of a channel by index (one for a single-key channel); [] if undecryptable."""
    try:
        text = ctx.keyring.open(row["key"])
    except ValueError:
        return []
    return split_keys(text) if parse_info(row["channel_info"])["is_multi_key"] else [text]


def _base_url(row: Row) -> str:
    base = (row["base_url"] or "").rstrip("/")
    if base:
        return base
    vendor = getattr(provider_for(int(row["type"])), "vendor", None)
    return str(vendor.base_url).rstrip("/") if vendor is not None else ""


def pick_test_model(row: Row, requested: str) -> str:
    """new-api's choice: the parameter, then test_model, then the first model, then a default."""
    if requested.strip():
        return requested.strip()
    if (row["test_model"] or "").strip():
        return str(row["test_model"]).strip()
    first = (row["models"] or "").split(",")[0].strip()
    return first or DEFAULT_TEST_MODEL


def _test_key(ctx: AdminContext, row: Row) -> tuple[str, int]:
    """The key to test: the first enabled one, else the first auto-disabled one (so a passing
    test can bring it back); (key, index) with index -1 for single-key channels."""
    keys = open_keys(ctx, row)
    info = parse_info(row["channel_info"])
    if not info["is_multi_key"]:
        return (keys[0] if keys else ""), -1
    statuses = key_statuses(info, len(keys))
    for wanted in (STATUS_ENABLED, STATUS_AUTO_DISABLED):
        for index, (key, status) in enumerate(zip(keys, statuses, strict=True)):
            if key and status == wanted:
                return key, index
    return "", -1


def _error_in_body(data: Any) -> str:
    if not isinstance(data, dict) or data.get("error") in (None, ""):
        return ""
    err = data["error"]
    if isinstance(err, dict):
        return str(err.get("message") or orjson.dumps(err).decode())
    return str(err)


def _test_payload(model: str) -> dict[str, Any]:
    payload: dict[str, Any] = {"model": model, "messages": [{"role": "user", "content": "hi"}]}
    limit = "max_completion_tokens" if model.startswith(_REASONING_PREFIXES) else "max_tokens"
    payload[limit] = 16
    return payload


async def _send(
    ctx: AdminContext,
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    proxy: str,
    seconds: float,
) -> tuple[int, bytes]:
    """(status, body) of one request on relay's upstream client, through the channel's proxy
    as the workers send."""
    upstream = await ctx.upstream.request(
        method, url, headers, body, connect_timeout=seconds, total_timeout=seconds, proxy=proxy
    )
    try:
        return upstream.status, await upstream.read()
    finally:
        upstream.release()


def _reason(exc: Exception) -> str:
    """What went wrong, for the admin: the client's own texts (a proxy only by its safe
    form); for a socket error only its kind, so no proxy address or credential shows."""
    return type(exc).__name__ if isinstance(exc, OSError) else str(exc)


async def _send_test(
    ctx: AdminContext, options: Options, channel: Channel, key: str, model: str
) -> tuple[Usage, RelayError | None, str]:
    """One chat request through the channel's provider: (usage, upstream error, local error)."""
    providers = build_providers(options, ctx.settings)
    provider = providers.get(channel.type)
    if provider is None:
        return Usage(), None, f"channel type {channel.type} cannot be tested"
    try:
        upstream_model = map_model(channel, model)
    except ModelMappingError as exc:
        err = RelayError(500, str(exc), "channel:model_mapped_error", channel_error=True)
        return Usage(), err, ""
    payload = _test_payload(model)
    call = UpstreamCall(
        endpoint=Endpoint.CHAT,
        body=orjson.dumps(payload),
        payload=payload,
        upstream_model=upstream_model,
        model_mapped=upstream_model != model,
        stream=False,
        inject_usage=False,
    )
    built = provider.build_request(channel, key, call)
    proxy = channel.setting.proxy
    if proxy:
        try:
            parse_proxy(proxy)
        except ValueError as exc:  # parse_proxy's messages name no part of the URL
            return Usage(), None, f"the channel's proxy is not usable: {exc}"
    seconds = ctx.settings.relay_timeout or TEST_TIMEOUT_SECONDS
    try:
        status, body = await _send(
            ctx, "POST", built.url, built.headers, built.body, proxy, seconds
        )
    except (UpstreamError, OSError, ValueError) as exc:
        err = RelayError(500, f"Failed to reach the upstream: {_reason(exc)}", "do_request_failed")
        return Usage(), err, ""
    if status != 200:
        return Usage(), upstream_error(channel.status_code_mapping.get(status, status), body), ""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return Usage(), RelayError(500, "bad response body", "bad_response_body"), ""
    if text := _error_in_body(data):
        return Usage(), RelayError(500, f"upstream error: {text}", "bad_response_body"), ""
    usage = provider.parse_usage(Endpoint.CHAT, data) if isinstance(data, dict) else None
    return usage or Usage(), None, ""


async def _bill(
    ctx: AdminContext, options: Options, row: Row, user_id: int, model: str, usage: Usage, secs: int
) -> None:
    """Charge the test to the tester through the quota service, with a consume log row."""
    async with ctx.engine.connect() as conn:
        user = (
            (
                await conn.execute(
                    select(
                        users.c.status,
                        users.c.quota,
                        users.c.used_quota,
                        users.c.request_count,
                        users.c.group,
                        users.c.username,
                    ).where(users.c.id == user_id)
                )
            )
            .mappings()
            .first()
        )
    if user is None:
        return
    quote = make_quote(options, model, user["group"], user["group"], 0, 0, True)
    quota = quote.charge(usage)
    if quota:
        await ctx.quota.adjust_user(
            user_id,
            -quota,
            override=False,
            sql={k: int(user[k]) for k in ("status", "quota", "used_quota", "request_count")},
        )
    other = {**quote.log_other(), "admin_info": {"use_channel": [str(row["id"])]}}
    async with ctx.engine.begin() as conn:
        await conn.execute(
            insert(logs).values(
                user_id=user_id,
                created_at=int(time.time()),
                type=LOG_TYPE_CONSUME,
                content=f"channel test of #{row['id']} {row['name']}",
                username=user["username"],
                token_name=TEST_LOG_NAME,
                model_name=model,
                quota=quota,
                prompt_tokens=usage.prompt_tokens,
                completion_tokens=usage.completion_tokens,
                use_time=secs,
                channel_id=int(row["id"]),
                group=user["group"],
                other=orjson.dumps(other).decode(),
            )
        )


async def run_channel_test(ctx: AdminContext, row: Row, model: str, user_id: int) -> ProbeOutcome:
    """Test a channel as new-api does; the response time is stored when it passes."""
    started = time.monotonic()
    options, _ = await ctx.options()
    model = pick_test_model(row, model)
    key, index = _test_key(ctx, row)
    if not key:
        return ProbeOutcome(False, "the channel has no usable key", 0, key_index=index)
    channel = channel_from_row(cast(RowMapping, row), ctx.keyring)
    usage, error, local = await _send_test(ctx, options, channel, key, model)
    millis = int((time.monotonic() - started) * 1000)
    if local:
        return ProbeOutcome(False, local, 0, key_index=index)
    if error is not None:
        return ProbeOutcome(False, error.text, millis, error, index)
    try:
        await _bill(ctx, options, row, user_id, model, usage, millis // 1000)
    except Exception:
        log.exception("billing the test of channel #%s failed", row["id"])
    async with ctx.engine.begin() as conn:
        await record_test(conn, int(row["id"]), millis)
    return ProbeOutcome(True, "", millis, key_index=index)


# ---- upstream model lists -----------------------------------------------------------------


async def fetch_model_ids(
    ctx: AdminContext,
    base_url: str,
    key: str,
    headers: Mapping[str, str] | None = None,
    proxy: str = "",
) -> list[str]:
    """GET <base>/v1/models with the key (through `proxy` if set); the model ids it lists."""
    if not base_url:
        raise ProbeError("base_url is required for this channel type")
    data = await _get_json(ctx, f"{base_url.rstrip('/')}/v1/models", key, headers, proxy)
    items = data.get("data") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise ProbeError("the upstream's model list has no data array")
    return [str(m["id"]) for m in items if isinstance(m, dict) and m.get("id")]


async def fetch_channel_models(ctx: AdminContext, row: Row) -> list[str]:
    keys = [k for k in open_keys(ctx, row) if k]
    channel = channel_from_row(cast(RowMapping, row), ctx.keyring)
    key = keys[0] if keys else ""
    headers = overridden_headers(channel, key)
    return await fetch_model_ids(ctx, _base_url(row), key, headers, channel.setting.proxy)


async def _get_json(
    ctx: AdminContext,
    url: str,
    key: str,
    headers: Mapping[str, str] | None = None,
    proxy: str = "",
) -> Any:
    sent = {"Authorization": f"Bearer {key}", **(headers or {})}
    try:
        status, body = await _send(ctx, "GET", url, sent, b"", proxy, GET_TIMEOUT_SECONDS)
    except (UpstreamError, OSError, ValueError) as exc:
        raise ProbeError(f"request failed: {_reason(exc)}") from None
    if status != 200:
        raise ProbeError(f"status code: {status}")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        raise ProbeError("the upstream did not answer JSON") from None


# ---- balances -----------------------------------------------------------------------------


def _number(value: Any, what: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ProbeError(f"the upstream's answer has no {what}") from None


GetJson = Callable[[str], Awaitable[Any]]  # GET a URL as the channel (key, proxy): its JSON


async def _openai_balance(get: GetJson, base: str, _o: Options) -> float:
    """The legacy dashboard endpoints: hard limit minus this period's usage."""
    sub = await get(f"{base}/v1/dashboard/billing/subscription")
    now = time.gmtime()
    start = time.strftime("%Y-%m-01", now)
    if not (isinstance(sub, dict) and sub.get("has_payment_method")):
        start = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 100 * 86400))
    end = time.strftime("%Y-%m-%d", now)
    usage = await get(f"{base}/v1/dashboard/billing/usage?start_date={start}&end_date={end}")
    hard = _number(sub.get("hard_limit_usd") if isinstance(sub, dict) else None, "hard limit")
    used = _number(usage.get("total_usage") if isinstance(usage, dict) else None, "usage")
    return hard - used / 100


async def _deepseek_balance(get: GetJson, base: str, _o: Options) -> float:
    data = await get(f"{base}/user/balance")
    infos = data.get("balance_infos") if isinstance(data, dict) else None
    if not isinstance(infos, list) or not infos:
        raise ProbeError("the upstream's answer has no balance_infos")
    chosen = next((i for i in infos if i.get("currency") == "CNY"), infos[0])
    return _number(chosen.get("total_balance"), "total_balance")


async def _siliconflow_balance(get: GetJson, base: str, _o: Options) -> float:
    data = await get(f"{base}/v1/user/info")
    if not isinstance(data, dict) or data.get("code") != 20000:
        message = data.get("message") if isinstance(data, dict) else ""
        raise ProbeError(f"the upstream refused: {message}")
    return _number((data.get("data") or {}).get("totalBalance"), "totalBalance")


async def _openrouter_balance(get: GetJson, base: str, _o: Options) -> float:
    data = await get(f"{base}/v1/credits")
    credits = (data.get("data") if isinstance(data, dict) else None) or {}
    total = _number(credits.get("total_credits"), "total_credits")
    return total - _number(credits.get("total_usage"), "total_usage")


async def _moonshot_balance(get: GetJson, base: str, o: Options) -> float:
    data = await get(f"{base}/v1/users/me/balance")
    if not isinstance(data, dict) or not data.get("status") or data.get("code") != 0:
        raise ProbeError("the upstream refused the balance query")
    cny = _number((data.get("data") or {}).get("available_balance"), "available_balance")
    return cny / float(o["USDExchangeRate"])


BalanceQuery = Callable[[GetJson, str, Options], Awaitable[float]]
BALANCE_QUERIES: dict[int, BalanceQuery] = {
    ChannelType.OPENAI: _openai_balance,
    ChannelType.CUSTOM: _openai_balance,
    ChannelType.DEEPSEEK: _deepseek_balance,
    ChannelType.SILICONFLOW: _siliconflow_balance,
    ChannelType.OPENROUTER: _openrouter_balance,
    ChannelType.MOONSHOT: _moonshot_balance,
}


async def update_balance(ctx: AdminContext, row: Row) -> float:
    """Ask the upstream for the account balance (USD) and store it; raises ProbeError."""
    if parse_info(row["channel_info"])["is_multi_key"]:
        raise ProbeError("balance queries are not supported for multi-key channels")
    query = BALANCE_QUERIES.get(int(row["type"]))
    if query is None:
        raise ProbeError(
            f"balance queries are not supported for this channel type ({type_name(row['type'])})"
        )
    keys = open_keys(ctx, row)
    proxy = channel_from_row(cast(RowMapping, row), ctx.keyring).setting.proxy
    get = functools.partial(_get_json, ctx, key=keys[0] if keys else "", proxy=proxy)
    options, _ = await ctx.options()
    balance = await query(get, _base_url(row), options)
    async with ctx.engine.begin() as conn:
        await record_balance(conn, int(row["id"]), balance)
    return balance
