"""Redis key names for quota state.

Every key that one script touches shares a hash tag `{rN}` (N = user id mod SHARDS), so each
script stays inside one Redis Cluster slot; the ledger and usage-log streams are sharded the same
way so the settlement script can append to them atomically.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

SHARDS = 16


def shard_of(user_id: int) -> int:
    return user_id % SHARDS


def tag(shard: int) -> str:
    return f"{{r{shard}}}"


def user_key(user_id: int) -> str:
    return f"{tag(shard_of(user_id))}:u:{user_id}"


def token_key(user_id: int, token_id: int) -> str:
    return f"{tag(shard_of(user_id))}:t:{token_id}"


def holds_key(shard: int) -> str:
    return f"{tag(shard)}:holds"


def token_limits_key(user_id: int, token_id: int) -> str:
    return f"{tag(shard_of(user_id))}:rl:{token_id}"


def model_success_key(user_id: int) -> str:
    return f"{tag(shard_of(user_id))}:mrs:{user_id}"


def model_total_key(user_id: int) -> str:
    return f"{tag(shard_of(user_id))}:mrt:{user_id}"


def ledger_key(shard: int) -> str:
    return f"{tag(shard)}:ledger"


def logs_key(shard: int) -> str:
    return f"{tag(shard)}:logs"


def lock_key(shard: int, job: str) -> str:
    return f"{tag(shard)}:lock:{job}"


class AccountKeys(NamedTuple):
    """Every key one user's token touches, built once per (user, token) and reused."""

    user: str
    token: str
    holds: str
    limits: str
    success: str
    total: str
    ledger: str
    logs: str


@functools.lru_cache(maxsize=65536)
def account_keys(user_id: int, token_id: int) -> AccountKeys:
    shard = shard_of(user_id)
    return AccountKeys(
        user_key(user_id),
        token_key(user_id, token_id),
        holds_key(shard),
        token_limits_key(user_id, token_id),
        model_success_key(user_id),
        model_total_key(user_id),
        ledger_key(shard),
        logs_key(shard),
    )
