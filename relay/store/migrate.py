"""Run the Alembic migrations to head; called once by the supervisor before anything serves."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["url"] = url
    return cfg


def run_migrations(url: str) -> None:
    """Upgrade the database at `url` to the newest schema. Blocking; call outside an event loop."""
    command.upgrade(alembic_config(url), "head")
