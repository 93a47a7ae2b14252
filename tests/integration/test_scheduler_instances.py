"""Durable timers: two schedulers on one PostgreSQL database run each timer exactly once, a
slow run whose lease was taken over never commits, a restart fires a missed timer once, and a
timer that cannot run ends as failed (issue 8)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, text

from bot.clock import FrozenClock
from bot.config import Config
from bot.emulator import Emulator
from bot.i18n import t
from bot.scheduler import LEASE, MAX_ATTEMPTS, Scheduler, TimerHandler
from storage.db import create_engine, session_factory
from storage.migrate import upgrade_async
from storage.models import Timer
from storage.uow import Database, UnitOfWork
from tests.e2e.handoff_helpers import drained
from tests.e2e.intake_helpers import Chat

T0 = datetime(2026, 3, 16, 2, 0, tzinfo=UTC)  # a Monday, 10:00 in Shanghai
KIND = "ping"


@contextlib.asynccontextmanager
async def _instances(url: str) -> AsyncIterator[tuple[Database, Database]]:
    """Two engines on one migrated database, as two processes would have, plus the table the
    handlers record their runs in."""
    await upgrade_async(url)
    engines = [create_engine(url), create_engine(url)]
    dbs = tuple(Database(session_factory(e), serialize_writes=url.startswith("sqlite"))
                for e in engines)
    async with dbs[0].uow() as uow:
        await uow.session.execute(text(
            "CREATE TABLE timer_runs (timer_id INTEGER NOT NULL, instance VARCHAR(8) NOT NULL)"))
        await uow.commit()
    try:
        yield dbs[0], dbs[1]
    finally:
        for e in engines:
            await e.dispose()


async def _record_run(uow: UnitOfWork, timer: Timer, instance: str) -> None:
    """The handler's effect, in the timer's own unit of work: it counts only if that commits."""
    await uow.session.execute(text("INSERT INTO timer_runs (timer_id, instance) VALUES (:t, :i)"),
                              {"t": timer.id, "i": instance})


def _counting(instance: str, fail: Callable[[Timer], bool] = lambda _t: False) -> TimerHandler:
    async def handler(uow: UnitOfWork, timer: Timer, _clock: Any) -> None:
        await _record_run(uow, timer, instance)
        if fail(timer):
            raise RuntimeError("handler failed")  # after writing: the write must roll back

    return handler


async def _add_due(db: Database, clock: FrozenClock, n: int) -> list[int]:
    async with db.uow() as uow:
        timers = [uow.repos.timers.add(KIND, clock.now(), clock.now(), chat_id=i)
                  for i in range(n)]
        await uow.commit()
        return [x.id for x in timers]


async def _runs(db: Database) -> list[tuple[int, str]]:
    async with db.uow() as uow:
        rows = await uow.session.execute(
            text("SELECT timer_id, instance FROM timer_runs ORDER BY timer_id"))
        return [(int(r[0]), str(r[1])) for r in rows]


async def _timers(db: Database) -> list[Timer]:
    async with db.uow() as uow:
        timers = list((await uow.session.scalars(select(Timer).order_by(Timer.id))).all())
        await uow.commit()  # keeps them readable after the unit of work (a rollback expires)
        return timers


async def test_two_schedulers_run_500_timers_exactly_once(pg_url: str) -> None:
    clock = FrozenClock(T0)
    async with _instances(pg_url) as (db_a, db_b):
        ids = await _add_due(db_a, clock, 500)
        # Small batches, so the two claim turn about rather than one taking everything.
        a = Scheduler(db_a, clock, {KIND: _counting("a")}, batch=7)
        b = Scheduler(db_b, clock, {KIND: _counting("b")}, batch=5)
        ran_a, ran_b = await asyncio.gather(a.run_due(), b.run_due())
        runs = await _runs(db_a)
        assert sorted(tid for tid, _ in runs) == ids  # every timer once, none twice
        assert (ran_a, ran_b) == (sum(i == "a" for _, i in runs), sum(i == "b" for _, i in runs))
        assert ran_a > 0 and ran_b > 0  # both instances really took part
        assert {x.status for x in await _timers(db_a)} == {"done"}
        assert await a.run_due() == 0 and await b.run_due() == 0


async def test_failures_on_one_instance_are_retried_and_still_run_once(pg_url: str) -> None:
    clock = FrozenClock(T0)
    async with _instances(pg_url) as (db_a, db_b):
        ids = await _add_due(db_a, clock, 500)
        # Instance a fails every fifth timer the first time it runs it.
        a = Scheduler(db_a, clock, {KIND: _counting(
            "a", lambda x: x.id % 5 == 0 and x.attempts == 0)}, batch=7)
        b = Scheduler(db_b, clock, {KIND: _counting("b")}, batch=5)
        await asyncio.gather(a.run_due(), b.run_due())
        failed = [x for x in await _timers(db_a) if x.status == "pending"]
        assert failed and all(x.id % 5 == 0 and x.attempts == 1 for x in failed)
        assert all(x.due_at == T0 + timedelta(seconds=30) for x in failed)  # backed off
        assert {tid for tid, _ in await _runs(db_a)}.isdisjoint(x.id for x in failed)
        assert await a.run_due() == 0 and await b.run_due() == 0  # not before the backoff
        clock.advance(timedelta(seconds=31))
        await asyncio.gather(a.run_due(), b.run_due())
        assert sorted(tid for tid, _ in await _runs(db_a)) == ids
        timers = await _timers(db_a)
        assert {x.status for x in timers} == {"done"}
        assert {x.id for x in timers if x.attempts == 1} == {x.id for x in failed}


async def test_a_run_whose_lease_was_taken_over_does_not_commit(pg_url: str) -> None:
    """Instance a claims two timers and is slow in the first one's handler past its lease;
    instance b claims both and runs them. When a's handler returns, neither of a's runs may
    commit: the first is rolled back, the second is not started."""
    clock = FrozenClock(T0)
    async with _instances(pg_url) as (db_a, db_b):
        first, second = await _add_due(db_a, clock, 2)
        started, release = asyncio.Event(), asyncio.Event()
        a_calls: list[int] = []

        async def slow(uow: UnitOfWork, timer: Timer, _clock: Any) -> None:
            a_calls.append(timer.id)
            await _record_run(uow, timer, "a")
            started.set()
            await release.wait()

        a = Scheduler(db_a, clock, {KIND: slow}, batch=2)
        b = Scheduler(db_b, clock, {KIND: _counting("b")}, batch=2)
        task = asyncio.create_task(a.run_due())
        await started.wait()
        clock.advance(LEASE + timedelta(seconds=1))  # a's lease on both has run out
        assert await b.run_due() == 2
        release.set()
        assert await task == 0
        assert a_calls == [first]
        assert await _runs(db_a) == [(first, "b"), (second, "b")]
        timers = await _timers(db_a)
        assert [(x.status, x.attempts) for x in timers] == [("done", 0), ("done", 0)]


async def test_a_run_past_its_lease_that_nobody_took_over_commits(db_url: str) -> None:
    clock = FrozenClock(T0)
    async with _instances(db_url) as (db, _):
        [tid] = await _add_due(db, clock, 1)

        async def slow(uow: UnitOfWork, timer: Timer, _clock: Any) -> None:
            clock.advance(LEASE * 2)
            await _record_run(uow, timer, "a")

        assert await Scheduler(db, clock, {KIND: slow}).run_due() == 1
        assert await _runs(db) == [(tid, "a")]
        assert [x.status for x in await _timers(db)] == ["done"]


@pytest.mark.parametrize("killed_while_running", [False, True])
async def test_a_timer_due_while_the_desk_was_down_fires_once_at_start(
        emu: Emulator, config: Config, desk_factory: Callable[..., Any], database: Database,
        killed_while_running: bool) -> None:
    clock = FrozenClock(T0)
    app = await desk_factory(config, clock=clock)
    chat = Chat(emu, emu.user(5490, first_name="Ann", language_code="en"))
    await chat.say("/start")
    await chat.press("file")  # the idle reminder is due in 30 minutes
    await app.stop()
    clock.advance(timedelta(minutes=31))
    if killed_while_running:
        # The previous run claimed the reminder and died running it: its lease is still live.
        async with database.uow() as uow:
            assert len(await uow.repos.timers.claim_due(clock.now(), 10, clock.now() + LEASE)) == 1
            await uow.commit()
    before = len(chat.messages())
    app = await desk_factory(config, clock=clock)  # the clock does not move: it must be now
    [reminder] = (await emu.wait_for_sent(chat.id, count=before + 1, timeout=10))[before:]
    assert reminder["text"].startswith(t("en", "intake.reminder"))
    assert await app.scheduler.run_due() == 0
    await drained(app)
    assert len(chat.messages()) == before + 1
    async with app.db.uow() as uow:
        statuses = {x.kind: x.status for x in await uow.session.scalars(
            select(Timer).where(Timer.chat_id == chat.id))}
    assert statuses["intake_reminder"] == "done"


@pytest.mark.parametrize("kind", ["boom", "no_such_kind"])
async def test_a_timer_that_cannot_run_ends_failed_and_says_which(
        database: Database, caplog: pytest.LogCaptureFixture, kind: str) -> None:
    clock = FrozenClock(T0)
    story = "楼上漏水 water through the ceiling"

    async def boom(uow: UnitOfWork, timer: Timer, _clock: Any) -> None:
        raise RuntimeError(story)  # an exception may carry customer text: never logged

    sched = Scheduler(database, clock, {"boom": boom})
    async with database.uow() as uow:
        timer = uow.repos.timers.add(kind, clock.now(), clock.now(), chat_id=1,
                                     payload={"text": story})
        await uow.commit()
        tid = timer.id
    caplog.set_level(logging.INFO, logger="bot.scheduler")
    for attempt in range(1, MAX_ATTEMPTS + 1):
        assert await sched.run_due() == 0
        async with database.uow() as uow:
            got = await uow.repos.timers.get(tid)
            assert got is not None
            assert (got.status, got.attempts) == (
                "failed" if attempt == MAX_ATTEMPTS else "pending", attempt)
        clock.advance(timedelta(days=1))  # past any backoff
    assert await sched.run_due() == 0  # failed for good: not tried again
    tries = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(tries) == MAX_ATTEMPTS and len(errors) == 1
    assert all(f"timer {tid} ({kind}) failed" in m for m in [*tries, *errors])
    assert "gave up" in errors[0]
    assert "楼上漏水" not in caplog.text and "ceiling" not in caplog.text
