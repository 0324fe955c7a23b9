"""End to end: channels disabled by their error *rate* under relay traffic, key by key on
multi-key channels, and brought back by scheduled tests (the admin's channel health jobs)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import openai
import orjson
import pytest
from admin_channels import Options, chat, info_of, new_group, one, row, wait_for
from admin_client import root
from relay_harness import MockUpstream, RelayServer, Store

from relay.store.channels import set_channel_status

pytestmark = pytest.mark.integration

HEALTH_OPTIONS = {
    "AutomaticDisableChannelEnabled": "true",
    "relay.channel_error_window_minutes": "1",
    "relay.channel_error_rate": "0.5",
    "relay.channel_error_min_requests": "4",
}


@pytest.fixture
async def options(store: Store) -> AsyncIterator[Options]:
    changed = Options(store)
    yield changed
    await changed.restore()


async def traffic(relay: RelayServer, api_key: str, count: int) -> tuple[int, int]:
    """(successes, failures) of `count` chat calls through the relay port."""
    ok = failed = 0
    for _ in range(count):
        try:
            await chat(relay, api_key)
            ok += 1
        except openai.APIStatusError:
            failed += 1
    return ok, failed


async def test_error_rate_disables_only_failing_channels_and_keys(
    relay: RelayServer, store: Store, upstream: MockUpstream, options: Options
) -> None:
    await options.set(HEALTH_OPTIONS)
    groups = {name: new_group() for name in ("bad", "few", "noban", "healthy", "multi")}
    users = {name: await store.user_with_token(group=g) for name, g in groups.items()}
    async with root(relay) as admin:
        ids = {
            "bad": await one(admin, upstream, groups["bad"], "mock;status=401;tag=bad"),
            "few": await one(admin, upstream, groups["few"], "mock;status=401;tag=few"),
            "noban": await one(
                admin, upstream, groups["noban"], "mock;status=401;tag=noban", auto_ban=0
            ),
            "healthy": await one(admin, upstream, groups["healthy"], "mock;tag=healthy"),
            "multi": await one(
                admin,
                upstream,
                groups["multi"],
                "mock;tag=K0\nmock;status=401;tag=K1",
                mode="multi_to_single",
                multi_key_mode="polling",
            ),
        }
    await store.publish_routing()
    assert await traffic(relay, users["bad"].api_key, 5) == (0, 5)
    assert await traffic(relay, users["few"].api_key, 3) == (0, 3)  # under the minimum
    assert await traffic(relay, users["noban"].api_key, 5) == (0, 5)
    assert await traffic(relay, users["healthy"].api_key, 5) == (5, 0)
    ok, failed = await traffic(relay, users["multi"].api_key, 12)
    assert ok >= 5 and failed >= 5

    async def bad_disabled() -> bool:
        multi = await info_of(store, ids["multi"])
        key_off = multi["multi_key_status_list"].get("1") == 3
        return (await row(store, ids["bad"]))["status"] == 3 and key_off

    assert await wait_for(bad_disabled, 25, 0.5)
    bad = await row(store, ids["bad"])
    reason = orjson.loads(bad["other_info"])
    assert "5 of 5 attempts failed" in reason["status_reason"] and reason["status_time"] > 0
    assert (
        await store.scalar(
            "SELECT COUNT(*) FROM abilities WHERE channel_id = :id AND enabled = :t",
            id=ids["bad"],
            t=True,
        )
        == 0
    )
    for name in ("few", "noban", "healthy", "multi"):
        assert (await row(store, ids[name]))["status"] == 1, name
    multi = await info_of(store, ids["multi"])
    assert multi["multi_key_status_list"] == {"1": 3}
    assert "failed" in multi["multi_key_disabled_reason"]["1"]
    audit = await store.scalar(
        "SELECT COUNT(*) FROM logs WHERE type = 3 AND username = 'system' AND content LIKE :c",
        c=f"%auto-disabled #{ids['bad']}",
    )
    assert audit == 1
    with pytest.raises(openai.APIStatusError) as gone:
        await chat(relay, users["bad"].api_key)
    assert gone.value.status_code == 503  # no channel left for the group
    assert await traffic(relay, users["multi"].api_key, 6) == (6, 0)  # the good key only
    async with root(relay) as admin:
        keys = await admin.post(
            "/api/channel/multi_key/manage",
            {"channel_id": ids["multi"], "action": "get_key_status"},
        )
        assert keys.data["auto_disabled_count"] == 1 and keys.data["keys"][1]["reason"]
        dropped = await admin.post(
            "/api/channel/multi_key/manage",
            {"channel_id": ids["multi"], "action": "delete_disabled_keys"},
        )
        assert dropped.ok and (await info_of(store, ids["multi"]))["multi_key_size"] == 1


async def test_no_auto_disable_while_the_option_is_off(
    relay: RelayServer, store: Store, upstream: MockUpstream, options: Options
) -> None:
    await options.set({**HEALTH_OPTIONS, "AutomaticDisableChannelEnabled": "false"})
    group = new_group()
    user = await store.user_with_token(group=group)
    async with root(relay) as admin:
        channel_id = await one(admin, upstream, group, "mock;status=401;tag=off")
    await store.publish_routing()
    assert await traffic(relay, user.api_key, 6) == (0, 6)
    await options.set({"AutomaticDisableChannelEnabled": "true"})  # counts were not even kept

    async def disabled() -> bool:
        return (await row(store, channel_id))["status"] != 1

    assert not await wait_for(disabled, 12, 1.0)


async def test_scheduled_tests_re_enable_auto_disabled_channels_only(
    relay: RelayServer, store: Store, upstream: MockUpstream, options: Options
) -> None:
    async with root(relay) as admin:
        auto = await one(admin, upstream, new_group(), "mock;tag=RECOVERED")
        manual = await one(admin, upstream, new_group(), "mock;tag=MANUAL")
        broken = await one(admin, upstream, new_group(), "mock;status=401;tag=BROKEN")
    async with store.engine.begin() as conn:
        await set_channel_status(conn, auto, 3, "test: auto-disabled")
        await set_channel_status(conn, broken, 3, "test: auto-disabled")
        await set_channel_status(conn, manual, 2, "test: manually disabled")
    await options.set(
        {
            "AutomaticEnableChannelEnabled": "true",
            "monitor_setting.auto_test_channel_enabled": "true",
            "monitor_setting.auto_test_channel_minutes": "0.05",
        }
    )

    async def recovered() -> bool:
        return (await row(store, auto))["status"] == 1

    assert await wait_for(recovered, 30, 0.5)
    assert (await row(store, manual))["status"] == 2  # never status 2
    assert (await row(store, manual))["test_time"] == 0
    assert (await row(store, broken))["status"] == 3
    assert (await row(store, broken))["test_time"] == 0  # failed tests store no time
    assert orjson.loads((await row(store, auto))["other_info"])["status_reason"] == ""
    assert (
        await store.scalar(
            "SELECT COUNT(*) FROM logs WHERE type = 3 AND content LIKE :c",
            c=f"%auto-enabled #{auto}",
        )
        == 1
    )
