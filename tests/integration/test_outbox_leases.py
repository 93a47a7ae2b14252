"""Two senders on one outbox: a live lease is never taken over, an expired one is (issue 7.6)."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta

from bot.bot_api import BotApi
from bot.clock import FrozenClock
from bot.emulator import Emulator
from bot.outbox import LEASE, Sender
from bot.ratelimit import RateLimiter
from storage.db import create_engine, session_factory
from storage.migrate import upgrade_async
from storage.uow import Database
from tests.conftest import TOKEN

CHAT_A, CHAT_B = 8101, 8102
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@contextlib.asynccontextmanager
async def _database(url: str) -> AsyncIterator[Database]:
    """One migrated database (SQLite file or PostgreSQL) that both instances use."""
    await upgrade_async(url)
    engine = create_engine(url)
    try:
        yield Database(session_factory(engine), serialize_writes=url.startswith("sqlite"))
    finally:
        await engine.dispose()


async def _enqueue(db: Database, chat_id: int, n: int) -> None:
    async with db.uow() as uow:
        for i in range(n):
            uow.repos.outbox.enqueue(chat_id, "sendMessage", {"chat_id": chat_id, "text": f"m{i}"})
        await uow.commit()


@contextlib.asynccontextmanager
async def _running(sender: Sender) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(sender.run())
    try:
        yield task
    finally:
        sender.stop()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _sender(db: Database, emu: Emulator, clock: FrozenClock,
            renew_every: float | None = None) -> Sender:
    return Sender(db, BotApi(emu.base_url, TOKEN, timeout=60), RateLimiter(0, 0, 0), clock,
                  renew_every=renew_every)


async def _wait(cond: Callable[[], bool | Awaitable[bool]], within: float = 10.0) -> None:
    end = asyncio.get_running_loop().time() + within
    while not await _value(cond()):
        if asyncio.get_running_loop().time() > end:
            raise TimeoutError("condition not reached")
        await asyncio.sleep(0.02)


async def _value(v: bool | Awaitable[bool]) -> bool:
    return await v if inspect.isawaitable(v) else bool(v)


async def test_a_second_instance_leaves_leased_rows_alone_on_sqlite(
        db_url: str, emu: Emulator) -> None:
    async with _database(db_url) as db:
        await _second_instance(db, emu)


async def test_a_second_instance_leaves_leased_rows_alone_on_postgresql(
        pg_url: str, emu: Emulator) -> None:
    async with _database(pg_url) as db:
        await _second_instance(db, emu)


async def test_an_expired_lease_is_taken_over_on_sqlite(db_url: str, emu: Emulator) -> None:
    async with _database(db_url) as db:
        await _expired_lease(db, emu)


async def test_an_expired_lease_is_taken_over_on_postgresql(pg_url: str, emu: Emulator) -> None:
    async with _database(pg_url) as db:
        await _expired_lease(db, emu)


async def test_a_lease_held_longer_than_its_term_is_renewed(db_url: str, emu: Emulator) -> None:
    async with _database(db_url) as db:
        emu.user(CHAT_A)
        emu.add_fault(method="sendMessage", chat_id=CHAT_A, kind="timeout", delay=60, times=1)
        await _enqueue(db, CHAT_A, 2)
        clock = FrozenClock(T0)
        a = _sender(db, emu, clock, renew_every=0.05)
        b = _sender(db, emu, clock)
        try:
            async with _running(a):
                await _wait(lambda: len(a._known) == 2)
                clock.advance(LEASE * 2)  # A's call hangs past the first lease's end

                async def renewed() -> bool:
                    async with db.uow() as uow:
                        return all(r.lease_until is not None
                                   and r.lease_until.replace(tzinfo=UTC) > clock.now()
                                   for r in await uow.repos.outbox.rows())

                await _wait(renewed)
                async with _running(b):
                    await b.drain(within=10)
                    assert emu.sent(CHAT_A) == [] and b.sent_count == 0
        finally:
            await api_close(a, b)


async def test_a_sender_whose_lease_was_taken_over_lets_the_rows_go_on_sqlite(
        db_url: str, emu: Emulator) -> None:
    async with _database(db_url) as db:
        await _lost_lease(db, emu)


async def test_a_sender_whose_lease_was_taken_over_lets_the_rows_go_on_postgresql(
        pg_url: str, emu: Emulator) -> None:
    async with _database(pg_url) as db:
        await _lost_lease(db, emu)


async def _lost_lease(db: Database, emu: Emulator) -> None:
    """A stalls past its lease (its clock stands still); B takes the rows over and sends them;
    A learns at its next renewal and sends none of them, not even the one it had in flight."""
    emu.user(CHAT_A)
    # A's first call fails after 1 s; B's first call after 3 s, so B still holds the rows
    # (pending) when A could try again.
    emu.add_fault(method="sendMessage", chat_id=CHAT_A, kind="timeout", delay=1, times=1)
    emu.add_fault(method="sendMessage", chat_id=CHAT_A, kind="timeout", delay=3, times=1)
    await _enqueue(db, CHAT_A, 3)
    a = _sender(db, emu, FrozenClock(T0), renew_every=0.05)
    b = _sender(db, emu, FrozenClock(T0 + LEASE + timedelta(seconds=1)))
    try:
        async with _running(a):
            await _wait(lambda: len(a._known) == 3 and a._inflight == 1)
            async with _running(b):
                await emu.wait_for_sent(CHAT_A, count=3, timeout=15)
                await b.drain(within=15)
                await _wait(lambda: not a._known)  # A's in-flight call failed; A let it go
                await asyncio.sleep(0.2)  # A has had its chances to send them again
    finally:
        await api_close(a, b)
    assert [m["text"] for m in emu.sent(CHAT_A)] == ["m0", "m1", "m2"]
    assert a.sent_count == 0 and b.sent_count == 3


async def _second_instance(shared_db: Database, emu: Emulator) -> None:
    emu.user(CHAT_A)
    emu.user(CHAT_B)
    # Instance A's first call hangs: A holds all its rows (one in flight, the rest queued).
    emu.add_fault(method="sendMessage", chat_id=CHAT_A, kind="timeout", delay=60, times=1)
    await _enqueue(shared_db, CHAT_A, 5)
    clock = FrozenClock(T0)
    a, b = _sender(shared_db, emu, clock), _sender(shared_db, emu, clock)
    try:
        async with _running(a):
            await _wait(lambda: len(a._known) == 5 and a._inflight == 1)
            async with _running(b):
                await _enqueue(shared_db, CHAT_B, 1)  # B is working: it sends rows nobody holds
                b.wake()
                await emu.wait_for_sent(CHAT_B, count=1, timeout=10)
                await b.drain(within=10)
                assert emu.sent(CHAT_A) == []  # none of A's leased rows went out twice
                assert b.sent_count == 1
    finally:
        await api_close(a, b)


async def _expired_lease(shared_db: Database, emu: Emulator) -> None:
    """The rows as a sender that died holding them leaves them: leased until T0 + LEASE."""
    emu.user(CHAT_A)
    await _enqueue(shared_db, CHAT_A, 3)
    async with shared_db.uow() as uow:
        rows = await uow.repos.outbox.due(T0, 10)
        await uow.repos.outbox.lease([r.id for r in rows], T0 + LEASE)
        await uow.commit()
    early = _sender(shared_db, emu, FrozenClock(T0 + LEASE - timedelta(seconds=1)))
    try:
        async with _running(early):
            await early.drain(within=10)
        assert emu.sent(CHAT_A) == []  # still leased: not taken
    finally:
        await api_close(early)
    b = _sender(shared_db, emu, FrozenClock(T0 + LEASE + timedelta(seconds=1)))
    try:
        async with _running(b):
            await emu.wait_for_sent(CHAT_A, count=3, timeout=10)
            await b.drain(within=10)
    finally:
        await api_close(b)
    assert [m["text"] for m in emu.sent(CHAT_A)] == ["m0", "m1", "m2"]
    async with shared_db.uow() as uow:
        assert [r.status for r in await uow.repos.outbox.rows()] == ["sent"] * 3
    # One row may have been in flight when its sender died; B cannot know which, so all it took
    # over are counted.
    assert _at_risk(b, "lease_expired", "private") == 3


async def api_close(*senders: Sender) -> None:
    """Close each sender's connection pool."""
    for s in senders:
        await s.api.close()


def _at_risk(sender: Sender, cause: str, chat: str) -> float:
    value = sender.metrics.registry.get_sample_value(
        "complaint_bot_outbox_duplicates_at_risk_total", {"cause": cause, "chat": chat})
    return value or 0.0
