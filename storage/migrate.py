"""Apply Alembic migrations programmatically (used by `run` at start and by `migrate`)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(url: str) -> Config:
    """An Alembic config pointing at our migrations and the given database."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at `url` up to `revision` (blocking)."""
    command.upgrade(alembic_config(url), revision)


async def upgrade_async(url: str, revision: str = "head") -> None:
    """Run the migrations from async code (Alembic's env runs its own event loop)."""
    await asyncio.to_thread(upgrade, url, revision)


def current(url: str) -> str | None:
    """The revision the database is at, or None when it has none."""
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import create_engine as sync_engine

    sync_url = url.replace("+aiosqlite", "").replace("+asyncpg", "+psycopg")
    if "+psycopg" in sync_url:  # asyncpg-only installs: ask through the async engine instead
        return asyncio.run(_current_async(url))
    engine = sync_engine(sync_url)
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


async def _current_async(url: str) -> str | None:
    from alembic.runtime.migration import MigrationContext

    from storage.db import create_engine

    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(
                lambda c: MigrationContext.configure(c).get_current_revision()
            )
    finally:
        await engine.dispose()
