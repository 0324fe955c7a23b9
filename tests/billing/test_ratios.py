"""relay.billing.ratios against new-api's ratio_setting rules (billing.md and the Go source)."""

from __future__ import annotations

import pytest

from relay.billing.ratios import (
    CLAUDE_1H_CACHE_MULTIPLIER,
    UNSET_MODEL_RATIO,
    RatioBook,
    default_tables,
    hardcoded_completion_ratio,
    matching_name,
)
from relay.options import Options


@pytest.fixture(scope="module")
def book() -> RatioBook:
    return Options.from_rows({}).ratios


def test_constants() -> None:
    assert UNSET_MODEL_RATIO == 37.5
    assert CLAUDE_1H_CACHE_MULTIPLIER == 1.6


# billing.md "Default model entries": model ratio / completion ratio / cache ratio
# (None = no entry: cache 1). gpt-3.5-turbo gets 2: new-api HEAD tests "gpt-" first.
DEFAULT_ENTRIES = [
    ("gpt-4o", 1.25, 4, 0.5),
    ("gpt-4o-mini", 0.075, 4, 0.5),
    ("gpt-4.1", 1.0, 2, 0.25),
    ("gpt-4.1-mini", 0.2, 2, 0.25),
    ("gpt-4.1-nano", 0.05, 2, 0.25),
    ("gpt-5", 0.625, 8, 0.1),
    ("gpt-5-mini", 0.125, 8, 0.1),
    ("o1", 7.5, 4, 0.5),
    ("o3", 1.0, 4, None),
    ("o3-mini", 0.55, 4, 0.5),
    ("o4-mini", 0.55, 1, None),
    ("gpt-3.5-turbo", 0.25, 2, None),
    ("gpt-4", 15, 2, 0.5),
    ("gpt-4-turbo", 5, 3, None),
    ("text-embedding-3-small", 0.01, 1, None),
    ("text-embedding-ada-002", 0.05, 1, None),
    ("whisper-1", 15, 1, None),
    ("tts-1", 7.5, 1, None),
    ("claude-3-5-sonnet-20241022", 1.5, 5, 0.1),
    ("claude-sonnet-4-20250514", 1.5, 5, 0.1),
    ("claude-3-haiku-20240307", 0.125, 5, 0.1),
    ("claude-opus-4-20250514", 7.5, 5, 0.1),
    ("claude-opus-4-1-20250805", 7.5, 5, 0.1),
    ("claude-opus-4-5-20251101", 2.5, 5, 0.1),
    ("gemini-2.0-flash", 0.05, 4, None),
    ("gemini-2.5-pro", 0.625, 8, None),
    ("gemini-2.5-flash", 0.15, 2.5 / 0.3, None),
    ("deepseek-chat", 0.27 / 2, 1, 0.25),
    ("deepseek-reasoner", 0.55 / 2, 1, 0.25),
]


@pytest.mark.parametrize(("model", "ratio", "completion", "cache"), DEFAULT_ENTRIES)
def test_default_model_entries(
    book: RatioBook, model: str, ratio: float, completion: float, cache: float | None
) -> None:
    assert book.model_ratio_of(model) == pytest.approx(ratio)
    assert book.completion_ratio_of(model) == pytest.approx(completion)
    assert book.cache_ratio_of(model) == (1.0 if cache is None else cache)
    assert book.price_of(model) is None
    assert book.is_priced(model)


@pytest.mark.parametrize(
    ("model", "price"),
    [
        ("dall-e-3", 0.04),
        ("gpt-4-gizmo-*", 0.1),
        ("mj_imagine", 0.1),
        ("mj_upscale", 0.05),
        ("suno_music", 0.1),
        ("sora-2", 0.3),
        ("gpt-4o-mini-tts", 0.3),
        ("veo-3.0-generate-001", 0.4),
        ("mj_inpaint", 0.0),
    ],
)
def test_default_prices(book: RatioBook, model: str, price: float) -> None:
    assert book.price_of(model) == price
    assert book.is_priced(model)


def test_claude_create_cache_and_image_defaults(book: RatioBook) -> None:
    assert book.create_cache_ratio_of("claude-3-5-sonnet-20241022") == 1.25
    assert book.create_cache_ratio_of("some-model") == 1.25
    assert book.image_ratio_of("gpt-image-1") == 2.0
    assert book.image_ratio_of("gpt-4o") == 1.0
    assert book.cache_ratio_of("unknown") == 1.0


def test_cache_create_cache_and_image_lookups_use_the_exact_name() -> None:
    book = RatioBook(
        cache_ratio={"gpt-4-gizmo-*": 0.3},
        create_cache_ratio={"gpt-4-gizmo-*": 2.0},
        image_ratio={"gpt-4-gizmo-*": 3.0},
    )
    assert book.cache_ratio_of("gpt-4-gizmo-abc") == 1.0
    assert book.create_cache_ratio_of("gpt-4-gizmo-abc") == 1.25
    assert book.image_ratio_of("gpt-4-gizmo-abc") == 1.0
    assert book.cache_ratio_of("gpt-4-gizmo-*") == 0.3


def test_audio_ratio_defaults(book: RatioBook) -> None:
    assert book.audio_ratio_of("gpt-4o-audio-preview") == 16.0
    assert book.audio_ratio_of("gpt-4o-realtime-preview") == 8.0
    assert book.audio_ratio_of("gpt-4o-mini-tts") == 25.0
    assert book.audio_completion_ratio_of("gpt-4o-realtime") == 2.0
    assert book.audio_completion_ratio_of("tts-1-hd") == 0.0
    assert book.audio_ratio_of("tts-1") == book.audio_completion_ratio_of("whisper-1") == 1.0


def test_audio_lookups_use_the_normalized_name() -> None:
    book = RatioBook(
        audio_ratio={"gpt-4-gizmo-*": 3.0}, audio_completion_ratio={"gpt-4o-gizmo-*": 0.5}
    )
    assert book.audio_ratio_of("gpt-4-gizmo-abc") == 3.0
    assert book.audio_completion_ratio_of("gpt-4o-gizmo-xyz") == 0.5
    assert book.audio_ratio_of("gpt-4o-gizmo-xyz") == 1.0


def test_a_stored_audio_table_replaces_the_defaults() -> None:
    book = Options.from_rows({"AudioRatio": '{"tts-1": 4}'}).ratios
    assert book.audio_ratio_of("tts-1") == 4.0
    assert book.audio_ratio_of("gpt-4o-audio-preview") == 1.0  # the stored table is all there is
    assert book.audio_completion_ratio_of("gpt-4o-realtime") == 2.0  # the other table: defaults


def test_unpriced_models(book: RatioBook) -> None:
    assert book.model_ratio_of("no-such-model") is None
    assert book.price_of("no-such-model") is None
    assert not book.is_priced("no-such-model")


@pytest.mark.parametrize(
    ("name", "matched"),
    [
        ("gpt-4-gizmo-g-abc", "gpt-4-gizmo-*"),
        ("gpt-4-gizmo", "gpt-4-gizmo-*"),
        ("gpt-4o-gizmo-g-xyz", "gpt-4o-gizmo-*"),
        ("gemini-2.5-flash-thinking-1024", "gemini-2.5-flash-thinking-*"),
        ("gemini-2.5-flash-lite-thinking-512", "gemini-2.5-flash-lite-thinking-*"),
        ("gemini-2.5-pro-thinking-128", "gemini-2.5-pro-thinking-*"),
        ("gemini-2.5-flash-preview-05-20-thinking", "gemini-2.5-flash-preview-05-20-thinking"),
        ("gemini-2.5-flash", "gemini-2.5-flash"),
        ("gemini-2.0-flash-thinking-exp", "gemini-2.0-flash-thinking-exp"),
        ("gpt-4o", "gpt-4o"),
        ("gpt-4", "gpt-4"),
        ("x-gpt-4-gizmo", "x-gpt-4-gizmo"),
    ],
)
def test_matching_name(name: str, matched: str) -> None:
    assert matching_name(name) == matched


def test_wildcards_apply_to_price_ratio_and_completion(book: RatioBook) -> None:
    assert book.price_of("gpt-4-gizmo-g-123") == 0.1
    assert book.model_ratio_of("gpt-4-gizmo-g-123") == 15
    assert book.model_ratio_of("gemini-2.5-flash-thinking-2048") == 0.075
    assert book.model_ratio_of("gemini-2.5-pro-thinking-64") == 0.625
    # "-gizmo-*" names get the unlocked reserved 2, so the option table's 3 applies.
    assert book.completion_ratio_of("gpt-4o-gizmo-g-1") == 3
    assert book.completion_ratio_of("gpt-4-gizmo-g-1") == 2


# Go getHardcodedCompletionModelRatio: (name, ratio, locked)
HARDCODED = [
    ("gpt-4-all", 2, False),
    ("gpt-4o-all", 2, False),
    ("gpt-4o-gizmo-*", 2, False),
    ("gpt-4o", 4, False),
    ("gpt-4o-2024-05-13", 3, True),
    ("gpt-4o-mini-tts", 20, False),
    ("gpt-5", 8, True),
    ("gpt-5-mini", 8, True),
    ("gpt-5.4", 6, True),
    ("gpt-5.4-nano", 6.25, True),
    ("gpt-5.5", 6, False),
    ("gpt-4.5-preview", 2, True),
    ("gpt-4-turbo", 3, True),
    ("gpt-4-turbo-2024-04-09", 3, True),
    ("gpt-4-1106", 3, True),
    ("my-gpt-4-1105", 1, False),  # not "gpt-" prefixed: falls through to 1
    ("gpt-4", 2, False),
    ("gpt-4.1", 2, False),
    ("gpt-3.5-turbo", 2, False),
    ("gpt-3.5-turbo-0125", 2, False),
    ("gpt-image-1", 2, False),
    ("o1", 4, True),
    ("o1-mini", 4, True),
    ("o3-pro", 4, True),
    ("o4-mini", 1, False),
    ("chatgpt-4o-latest", 3, True),
    ("claude-3-haiku-20240307", 5, True),
    ("anthropic/claude-3-opus", 5, True),
    ("claude-sonnet-4-5", 5, True),
    ("claude-opus-4-1", 5, True),
    ("claude-haiku-4-5", 5, True),
    ("claude-2.1", 1, False),
    ("mistral-large", 3, True),
    ("gemini-1.5-pro", 4, True),
    ("gemini-2.0-flash", 4, True),
    ("gemini-2.5-pro", 8, False),
    ("gemini-2.5-flash", 2.5 / 0.3, False),
    ("gemini-2.5-flash-preview-05-20", 3.5 / 0.15, False),
    ("gemini-2.5-flash-preview-05-20-nothinking", 4, False),
    ("gemini-2.5-flash-lite", 4, False),
    ("gemini-robotics-er-1.5-preview", 2.5 / 0.3, False),
    ("gemini-3-pro-preview", 6, False),
    ("gemini-3-pro-image-preview", 60, False),
    ("gemini-exp", 4, False),
    ("command-r", 3, True),
    ("command-r-plus", 5, True),
    ("command-r-08-2024", 4, True),
    ("command-r-plus-08-2024", 4, True),
    ("command-light", 4, False),
    ("ERNIE-Speed-8K", 2, True),
    ("ERNIE-Lite-8K", 2, True),
    ("ERNIE-Character-8K", 2, True),
    ("ERNIE-Functions-8K", 2, True),
    ("llama2-70b-4096", 0.8 / 0.64, True),
    ("llama3-8b-8192", 2, True),
    ("llama3-70b-8192", 0.79 / 0.59, True),
    ("deepseek-chat", 1, False),
]


@pytest.mark.parametrize(("name", "ratio", "locked"), HARDCODED)
def test_hardcoded_completion_ratio(name: str, ratio: float, locked: bool) -> None:
    assert hardcoded_completion_ratio(name) == (pytest.approx(ratio), locked)


def test_locked_completion_ratios_ignore_the_option() -> None:
    book = RatioBook(completion_ratio={"gpt-5": 1.0, "claude-3-haiku": 1.0, "o1": 9.0})
    assert book.completion_ratio_of("gpt-5") == 8
    assert book.completion_ratio_of("claude-3-haiku") == 5
    assert book.completion_ratio_of("o1") == 4


def test_unlocked_completion_ratios_follow_the_option() -> None:
    book = RatioBook(completion_ratio={"gpt-4o": 1.5, "deepseek-chat": 4.0, "gpt-4.1": 4.0})
    assert book.completion_ratio_of("gpt-4o") == 1.5
    assert book.completion_ratio_of("deepseek-chat") == 4.0
    assert book.completion_ratio_of("gpt-4.1") == 4.0
    assert book.completion_ratio_of("gpt-4o-mini") == 4  # no entry: hard-coded default
    assert book.completion_ratio_of("other") == 1


def test_names_with_a_slash_use_the_option_first_even_when_locked() -> None:
    book = RatioBook(completion_ratio={"vendor/claude-3-opus": 2.0})
    assert book.completion_ratio_of("vendor/claude-3-opus") == 2.0
    assert book.completion_ratio_of("other/claude-3-opus") == 5


def test_group_ratio_of() -> None:
    book = RatioBook(
        group_ratio={"default": 1.0, "vip": 0.8, "free": 0.0},
        group_group_ratio={"vip": {"default": 0.5, "free": 2.0}, "team": {}},
    )
    assert book.group_ratio_of("default", "default") == 1.0
    assert book.group_ratio_of("default", "vip") == 0.8
    assert book.group_ratio_of("vip", "default") == 0.5  # GroupGroupRatio wins
    assert book.group_ratio_of("vip", "free") == 2.0
    assert book.group_ratio_of("vip", "vip") == 0.8  # no special entry: GroupRatio
    assert book.group_ratio_of("team", "vip") == 0.8
    assert book.group_ratio_of("default", "free") == 0.0
    assert book.group_ratio_of("default", "unknown") == 1.0  # unknown group: 1


def test_default_tables_are_read_only_and_cached() -> None:
    tables = default_tables()
    assert tables is default_tables()
    assert {"ModelRatio", "ModelPrice", "CompletionRatio", "CacheRatio"} <= set(tables)
    with pytest.raises(TypeError):
        tables["ModelRatio"]["gpt-4o"] = 0.0  # type: ignore[index]
    assert dict(tables["CompletionRatio"]) == {
        "gpt-4-gizmo-*": 2,
        "gpt-4o-gizmo-*": 3,
        "gpt-4-all": 2,
        "gpt-image-1": 8,
    }
