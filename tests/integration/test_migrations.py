"""Migrations apply on an empty SQLite file and on PostgreSQL, and match the models."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from storage.db import create_engine
from storage.migrate import alembic_config, upgrade_async
from storage.models import Base

TABLES = {"customers", "staff", "tickets", "ticket_history", "ticket_messages", "intake_drafts",
          "inbox", "outbox", "timers", "mail"}


def _head(url: str) -> str:
    return ScriptDirectory.from_config(alembic_config(url)).get_current_head() or ""


async def _check(url: str) -> dict[str, Any]:
    await upgrade_async(url)
    await upgrade_async(url)  # applying again is a no-op
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            def inspect_sync(c: Any) -> dict[str, Any]:
                ctx = MigrationContext.configure(c)
                return {"tables": set(inspect(c).get_table_names()),
                        "revision": ctx.get_current_revision(),
                        "diff": compare_metadata(ctx, Base.metadata)}

            info = await conn.run_sync(inspect_sync)
            if engine.dialect.name == "sqlite":
                info["journal"] = (await conn.execute(text("PRAGMA journal_mode"))).scalar()
                info["fk"] = (await conn.execute(text("PRAGMA foreign_keys"))).scalar()
                info["busy"] = (await conn.execute(text("PRAGMA busy_timeout"))).scalar()
                info["sync"] = (await conn.execute(text("PRAGMA synchronous"))).scalar()
            return info
    finally:
        await engine.dispose()


async def test_migrations_on_empty_sqlite_file(db_url: str) -> None:
    info = await _check(db_url)
    assert TABLES <= info["tables"]
    assert info["revision"] == _head(db_url)
    assert info["diff"] == []  # the migrations create exactly what the models declare
    assert (info["journal"], info["fk"]) == ("wal", 1)
    assert info["busy"] >= 5000
    # FULL (2): a commit is on disk before it returns, so an update whose inbox row committed
    # (and whose offset Telegram was then told) survives a power loss, not only a crash.
    assert info["sync"] == 2


async def test_migrations_on_postgresql(pg_url: str) -> None:
    info = await _check(pg_url)
    assert TABLES <= info["tables"]
    assert info["revision"] == _head(pg_url)
    assert info["diff"] == []


async def test_nul_in_customer_text_on_postgresql(pg_url: str) -> None:
    """PostgreSQL cannot hold NUL in text: it becomes U+FFFD there instead of failing the update."""
    from datetime import UTC, datetime

    from storage.db import session_factory
    from storage.models import Customer

    await upgrade_async(pg_url)
    engine = create_engine(pg_url)
    try:
        now = datetime.now(UTC)
        async with session_factory(engine)() as s:
            s.add(Customer(id=1, first_name="A\x00B", language="en", unreachable=False,
                           created_at=now, updated_at=now))
            await s.commit()
        async with session_factory(engine)() as s:  # read back from the database itself
            assert (await s.get(Customer, 1)).first_name == "A\ufffdB"  # type: ignore[union-attr]
    finally:
        await engine.dispose()
