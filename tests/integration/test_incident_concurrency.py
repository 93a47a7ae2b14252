"""Two instances filing the tickets that complete one group incident at the same moment open
one incident, not two (PostgreSQL; SQLite has one writer)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from bot.clock import FrozenClock
from bot.services import incidents
from storage.db import create_engine, session_factory
from storage.migrate import upgrade_async
from storage.models import Customer, Incident, Ticket
from storage.uow import Database, UnitOfWork
from tests.unit.fakes import make_desk

T0 = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)


def _ticket(n: int, at: datetime) -> Ticket:
    return Ticket(ref=f"261202-A{n:04d}", customer_id=700 + n, category="equipment",
                  facts="停水", desired_outcome="恢复供水", extra={"location": "3号楼"},
                  contact_name=f"客户{n}", phone="+8613800000000", language="zh_CN",
                  status="open", created_at=at, updated_at=at)


async def _add(uow: UnitOfWork, n: int, at: datetime) -> Ticket:
    uow.session.add(Customer(id=700 + n, first_name=f"客户{n}", language="zh_CN",
                             unreachable=False, created_at=at, updated_at=at))
    t = uow.repos.tickets.add(_ticket(n, at))
    await uow.flush()
    return t


@pytest.mark.postgres
async def test_the_second_filing_waits_and_joins_the_incident_the_first_opens(
        pg_url: str) -> None:
    await upgrade_async(pg_url)
    engine = create_engine(pg_url)
    db = Database(session_factory(engine), serialize_writes=False)
    clock = FrozenClock(T0 + timedelta(minutes=10))
    desk = make_desk(clock, incidents={"threshold": 5, "window": "1h"})
    try:
        async with db.uow() as uow:
            for n in range(1, 5):
                await _add(uow, n, T0 + timedelta(minutes=n))
            await uow.commit()
        now = clock.now()
        async with db.uow() as first:
            t5 = await _add(first, 5, now)
            await incidents.at_filing(first, desk, t5, now)

            async def second() -> int | None:
                async with db.uow() as uow:
                    t6 = await _add(uow, 6, now)
                    await incidents.at_filing(uow, desk, t6, now)
                    await uow.commit()
                    return t6.incident_id

            other = asyncio.create_task(second())
            await asyncio.sleep(0.5)  # it has read the candidates by now, and waits on them
            assert not other.done()
            await first.commit()
        joined = await other
        async with db.uow() as uow:
            [inc] = await uow.repos.incidents.with_status("open")
            assert isinstance(inc, Incident) and joined == inc.id
            members = await uow.repos.incidents.tickets(inc.id)
            assert [t.ref for t in members] == [f"261202-A{n:04d}" for n in range(1, 7)]
    finally:
        await engine.dispose()
