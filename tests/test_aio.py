"""relay.aio.cancel_quietly: a background task always ends, even if it swallows a cancel."""

from __future__ import annotations

import asyncio

import pytest

from relay.aio import cancel_quietly


async def test_none_is_fine() -> None:
    await cancel_quietly(None)


async def test_a_task_that_swallows_one_cancel_still_ends() -> None:
    swallowed = 0

    async def stubborn() -> None:
        nonlocal swallowed
        while True:
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                swallowed += 1
                if swallowed >= 3:
                    raise

    task = asyncio.create_task(stubborn())
    await asyncio.sleep(0)
    await asyncio.wait_for(cancel_quietly(task), 5)
    assert task.cancelled() and swallowed == 3


async def test_other_errors_of_the_task_propagate() -> None:
    async def broken() -> None:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            raise RuntimeError("cleanup failed") from None

    task = asyncio.create_task(broken())
    await asyncio.sleep(0)
    with pytest.raises(RuntimeError, match="cleanup failed"):
        await cancel_quietly(task)
