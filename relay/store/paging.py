"""The admin listings' query pair: one page of rows, and how many rows match in all."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, func, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection


async def counted_page(
    conn: AsyncConnection,
    table: Table,
    where: Sequence[Any],
    order: Sequence[Any],
    offset: int,
    limit: int,
    columns: Sequence[Any] = (),
) -> tuple[list[RowMapping], int]:
    """The rows of `table` matching every condition of `where`, in `order`, from `offset`
    (at most `limit`; only `columns` when given), and the number of all matching rows."""
    total = (await conn.execute(select(func.count()).select_from(table).where(*where))).scalar_one()
    query = select(*columns) if columns else select(table)
    rows = await conn.execute(query.where(*where).order_by(*order).offset(offset).limit(limit))
    return list(rows.mappings().all()), int(total)
