"""ticket_history is append-only in the database itself, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from storage.db import create_engine, session_factory
from storage.migrate import alembic_config, upgrade_async
from storage.models import Customer, Ticket, TicketHistory

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
EDITS = ["UPDATE ticket_history SET event = 'forged'",
         "UPDATE ticket_history SET details = '{}' WHERE ticket_id = 1",
         "DELETE FROM ticket_history",
         "DELETE FROM ticket_history WHERE id = 1"]


async def _one_ticket_with_history(url: str) -> None:
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as s:
            s.add(Customer(id=7, first_name="A", language="en", unreachable=False,
                           created_at=NOW, updated_at=NOW))
            await s.flush()
            s.add(Ticket(id=1, ref="T-1", customer_id=7, category="housing", facts="leak",
                         desired_outcome="repair", contact_name="A", phone="+8613812345678",
                         language="en", status="open", created_at=NOW, updated_at=NOW))
            await s.flush()
            s.add(TicketHistory(ticket_id=1, at=NOW, actor_kind="customer", actor_id=7,
                                event="filed", details={}))
            await s.commit()
    finally:
        await engine.dispose()


async def _refusals(url: str) -> list[str]:
    """Try every edit on its own connection; return the database's error for each."""
    engine = create_engine(url)
    errors = []
    try:
        for statement in EDITS:
            async with engine.connect() as conn:
                with pytest.raises(DBAPIError) as err:
                    await conn.execute(text(statement))
                errors.append(str(err.value.orig))
        async with engine.connect() as conn:  # the row is still there, unchanged
            rows = (await conn.execute(text("SELECT event FROM ticket_history"))).all()
        assert [r[0] for r in rows] == ["filed"]
        async with engine.connect() as conn:  # appending still works
            await conn.execute(text(
                "INSERT INTO ticket_history (ticket_id, at, actor_kind, event, details) "
                "VALUES (1, :at, 'system', 'note', '{}')"), {"at": NOW})
            await conn.commit()
    finally:
        await engine.dispose()
    return errors


async def test_history_refuses_update_and_delete_on_sqlite(db_url: str) -> None:
    await upgrade_async(db_url)
    await _one_ticket_with_history(db_url)
    errors = await _refusals(db_url)
    assert all("append-only" in e for e in errors), errors


async def test_history_refuses_update_delete_truncate_on_postgresql(pg_url: str) -> None:
    await upgrade_async(pg_url)
    await _one_ticket_with_history(pg_url)
    errors = await _refusals(pg_url)
    assert all("append-only" in e for e in errors), errors
    engine = create_engine(pg_url)
    try:
        async with engine.connect() as conn:
            with pytest.raises(DBAPIError, match="append-only"):
                await conn.execute(text("TRUNCATE ticket_history CASCADE"))
    finally:
        await engine.dispose()


async def _down_and_up(url: str) -> None:
    cfg = alembic_config(url)
    await asyncio.to_thread(command.downgrade, cfg, "0002")
    engine = create_engine(url)
    try:  # without the triggers the history is an ordinary table again
        async with engine.connect() as conn:
            await conn.execute(text("UPDATE ticket_history SET event = 'x'"))
            await conn.rollback()
    finally:
        await engine.dispose()
    await upgrade_async(url)


async def _empty_down_to_base_and_up(url: str) -> None:
    await upgrade_async(url)
    await asyncio.to_thread(command.downgrade, alembic_config(url), "base")
    await upgrade_async(url)


async def test_migration_downgrades_and_upgrades_again_on_sqlite(db_url: str) -> None:
    await upgrade_async(db_url)
    await _one_ticket_with_history(db_url)
    await _down_and_up(db_url)
    assert all("append-only" in e for e in await _refusals(db_url))


async def test_migration_downgrades_and_upgrades_again_on_postgresql(pg_url: str) -> None:
    await upgrade_async(pg_url)
    await _one_ticket_with_history(pg_url)
    await _down_and_up(pg_url)
    assert all("append-only" in e for e in await _refusals(pg_url))


async def test_every_migration_downgrades_to_base_on_sqlite(db_url: str) -> None:
    await _empty_down_to_base_and_up(db_url)
    await _one_ticket_with_history(db_url)
    assert all("append-only" in e for e in await _refusals(db_url))


async def test_every_migration_downgrades_to_base_on_postgresql(pg_url: str) -> None:
    await _empty_down_to_base_and_up(pg_url)
    await _one_ticket_with_history(pg_url)
    assert all("append-only" in e for e in await _refusals(pg_url))
