"""relay.importer: which source databases it reads, and the report it prints."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from relay.importer import ImportError_, Report, source_url


def test_sqlite_paths_and_urls(tmp_path: Path) -> None:
    db = tmp_path / "one-api.db"
    db.write_bytes(b"")
    assert source_url(str(db)) == f"sqlite+aiosqlite:///{db}"
    assert source_url(f"sqlite:///{db}") == f"sqlite+aiosqlite:///{db}"


def test_postgres_dsns() -> None:
    assert source_url("postgres://u:p@h:5432/oneapi") == "postgresql+asyncpg://u:p@h:5432/oneapi"
    assert source_url("postgresql://h/db") == "postgresql+asyncpg://h/db"


def test_mysql_needs_a_driver() -> None:
    dsn = "root:pa@ss@tcp(db:3306)/oneapi?charset=utf8mb4&parseTime=True"
    if importlib.util.find_spec("aiomysql") is None:
        with pytest.raises(ImportError_, match="aiomysql"):
            source_url(dsn)
    else:
        assert source_url(dsn) == "mysql+aiomysql://root:pa%40ss@db:3306/oneapi"


def test_unknown_sources_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ImportError_, match="cannot read"):
        source_url(str(tmp_path / "missing.db"))


def test_report_lines() -> None:
    report = Report(kind="one-api", counts={"users": 2, "tokens": 0})
    report.warnings.append("channel #3: One API type 38 has no equivalent; disabled")
    report.cuts.add("tokens.name")
    assert report.lines(dry_run=True) == [
        "source: one-api database",
        "would import 2 users",
        "would import 0 tokens",
        "note: channel #3: One API type 38 has no equivalent; disabled",
        "note: 1 values cut to fit tokens.name",
    ]
    assert report.lines(dry_run=False)[1] == "imported 2 users"
