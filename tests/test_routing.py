"""relay.routing: tier weights, weighted pick, tier order and retries, model mapping."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from relay.routing import Channel, ModelMappingError, RoutingTable, Tier, map_model


def ch(cid: int, *, priority: int = 0, weight: int = 0, status: int = 1, **kw: object) -> Channel:
    return Channel(
        id=cid, type=1, name=f"c{cid}", keys=("k",), priority=priority, weight=weight,
        status=status, **kw,  # type: ignore[arg-type]
    )  # fmt: skip


# --- Tier -----------------------------------------------------------------------------------


def test_all_zero_weights_count_100_each() -> None:
    tier = Tier.build(0, [ch(1), ch(2), ch(3)])
    assert tier.weights == (100, 100, 100)
    assert tier.total == 300


def test_small_average_weight_is_scaled_by_100() -> None:
    tier = Tier.build(0, [ch(1, weight=1), ch(2, weight=3), ch(3, weight=0)])
    assert tier.weights == (100, 300, 0)
    assert tier.total == 400
    # average 9.67 (integer 9) < 10: scaled as well
    assert Tier.build(0, [ch(1, weight=9), ch(2, weight=10)]).weights == (900, 1000)


def test_weights_averaging_ten_or_more_are_kept() -> None:
    tier = Tier.build(5, [ch(1, weight=10), ch(2, weight=30)])
    assert tier.weights == (10, 30)
    assert (tier.priority, tier.total) == (5, 40)


def test_single_channel_is_returned_without_drawing() -> None:
    class NoDraw(random.Random):
        def randrange(self, *args: object, **kwargs: object) -> int:  # type: ignore[override]
            raise AssertionError("a single candidate needs no random draw")

    only = ch(7)
    assert Tier.build(0, [only]).pick(NoDraw()) is only


@pytest.mark.parametrize(
    ("weights", "expected"),
    [
        ((0, 0, 0), (1 / 3, 1 / 3, 1 / 3)),
        ((1, 3), (0.25, 0.75)),
        ((10, 30, 60), (0.1, 0.3, 0.6)),
        ((5, 0, 15), (0.25, 0.0, 0.75)),
    ],
)
def test_pick_distribution_follows_the_weights(
    weights: tuple[int, ...], expected: tuple[float, ...]
) -> None:
    channels = [ch(i + 1, weight=w) for i, w in enumerate(weights)]
    tier = Tier.build(0, channels)
    rng = random.Random(1234)
    draws = 30_000
    counts = Counter(tier.pick(rng).id for _ in range(draws))
    for channel, share in zip(channels, expected, strict=True):
        assert counts[channel.id] / draws == pytest.approx(share, abs=0.015)
    if 0.0 in expected:
        assert counts[channels[expected.index(0.0)].id] == 0


def test_pick_walks_weights_in_order() -> None:
    class Fixed(random.Random):
        def __init__(self, value: int) -> None:
            super().__init__(0)
            self.value = value

        def randrange(self, *args: object, **kwargs: object) -> int:  # type: ignore[override]
            return self.value

    a, b, c = ch(1, weight=10), ch(2, weight=20), ch(3, weight=30)
    tier = Tier.build(0, [a, b, c])
    assert [tier.pick(Fixed(r)).id for r in (0, 9, 10, 29, 30, 59)] == [1, 1, 2, 2, 3, 3]


# --- RoutingTable ---------------------------------------------------------------------------


def table(channels: list[Channel], model: str = "m", group: str = "g") -> RoutingTable:
    return RoutingTable(channels, [(group, model, c.id) for c in channels])


def test_tiers_are_sorted_by_priority_descending() -> None:
    channels = [ch(1, priority=0), ch(2, priority=10), ch(3, priority=5), ch(4, priority=10)]
    tiers = table(channels).tiers("g", "m")
    assert [t.priority for t in tiers] == [10, 5, 0]
    assert [c.id for c in tiers[0].channels] == [2, 4]


def test_select_uses_tier_min_attempt_last() -> None:
    rt = table([ch(1, priority=0), ch(2, priority=10), ch(3, priority=5)])
    assert [rt.select("g", "m", attempt).id for attempt in range(5)] == [2, 3, 1, 1, 1]  # type: ignore[union-attr]


def test_select_without_candidates_is_none() -> None:
    rt = table([ch(1)])
    assert rt.select("g", "other", 0) is None
    assert rt.select("other", "m", 0) is None
    assert rt.tiers("g", "other") == ()


def test_disabled_channels_are_excluded() -> None:
    rt = table([ch(1, status=2, priority=10), ch(2, status=3), ch(3, priority=1)])
    assert [t.priority for t in rt.tiers("g", "m")] == [1]
    assert all(rt.select("g", "m", a).id == 3 for a in range(3))  # type: ignore[union-attr]
    assert rt.enabled_channel(1) is None and rt.enabled_channel(2) is None
    assert rt.enabled_channel(3) is not None and rt.enabled_channel(99) is None
    assert 1 in rt.channels  # still known (for pin errors)


def test_only_disabled_channels_means_no_route() -> None:
    rt = table([ch(1, status=2)])
    assert rt.select("g", "m", 0) is None
    assert rt.models_of("g") == ()


def test_abilities_of_unknown_channels_are_ignored() -> None:
    rt = RoutingTable([ch(1)], [("g", "m", 1), ("g", "m", 42), ("g", "x", 43)])
    assert [c.id for t in rt.tiers("g", "m") for c in t.channels] == [1]
    assert rt.models_of("g") == ("m",)


def test_groups_and_models_are_separate() -> None:
    a, b = ch(1), ch(2)
    rt = RoutingTable([a, b], [("g1", "m", 1), ("g2", "m", 2), ("g1", "n", 2), ("g1", "b", 1)])
    assert rt.select("g1", "m", 0) is a
    assert rt.select("g2", "m", 0) is b
    assert rt.select("g1", "n", 0) is b
    assert rt.models_of("g1") == ("b", "m", "n")
    assert rt.models_of("g2") == ("m",)
    assert rt.models_of("nobody") == ()


def test_normalized_name_fallback() -> None:
    gizmo, thinking, exact = ch(1), ch(2), ch(3)
    rt = RoutingTable(
        [gizmo, thinking, exact],
        [
            ("g", "gpt-4-gizmo-*", 1),
            ("g", "gemini-2.5-flash-thinking-*", 2),
            ("g", "gpt-4-gizmo-special", 3),
        ],
    )
    assert rt.select("g", "gpt-4-gizmo-g-abc", 0) is gizmo
    assert rt.select("g", "gemini-2.5-flash-thinking-1024", 0) is thinking
    assert rt.select("g", "gpt-4-gizmo-special", 0) is exact  # an exact entry wins
    assert rt.select("g", "gemini-2.5-pro-thinking-8", 0) is None


def test_weighted_select_within_a_tier() -> None:
    heavy, light = ch(1, weight=90, priority=3), ch(2, weight=10, priority=3)
    rt = table([heavy, light, ch(3, priority=1)])
    counts = Counter(rt.select("g", "m", 0).id for _ in range(4000))  # type: ignore[union-attr]
    assert set(counts) == {1, 2}
    assert counts[1] > counts[2] * 4


# --- map_model ------------------------------------------------------------------------------


def test_map_model_follows_chains() -> None:
    c = ch(1, model_mapping={"a": "b", "b": "c", "x": "y"})
    assert map_model(c, "a") == "c"
    assert map_model(c, "b") == "c"
    assert map_model(c, "x") == "y"
    assert map_model(c, "unmapped") == "unmapped"


def test_map_model_self_and_empty_targets_stop() -> None:
    c = ch(1, model_mapping={"a": "a", "b": "", "c": "d", "d": "d"})
    assert map_model(c, "a") == "a"
    assert map_model(c, "b") == "b"
    assert map_model(c, "c") == "d"


@pytest.mark.parametrize(
    ("mapping", "start"),
    [
        ({"a": "b", "b": "a"}, "a"),
        ({"a": "b", "b": "c", "c": "b"}, "a"),
        ({"a": "b", "b": "a"}, "b"),
    ],
)
def test_map_model_cycles_are_errors(mapping: dict[str, str], start: str) -> None:
    with pytest.raises(ModelMappingError, match="#1"):
        map_model(ch(1, model_mapping=mapping), start)
