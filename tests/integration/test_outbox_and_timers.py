"""The sender keeps per-chat order within the limits; timers run once and survive crashes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bot.app import App
from bot.clock import FrozenClock
from bot.emulator import Emulator, Limits
from bot.scheduler import Scheduler
from storage.models import Timer
from storage.uow import Database, UnitOfWork
from tests.conftest import make_config


async def _enqueue(app: App, chat_id: int, texts: list[str]) -> None:
    async with app.db.uow() as uow:
        for text in texts:
            uow.repos.outbox.enqueue(chat_id, "sendMessage", {"chat_id": chat_id, "text": text})
        await uow.commit()


async def test_per_chat_order_within_telegram_limits_and_no_429(
        emu: Emulator, db_url: str, desk_factory: Any) -> None:
    emu.set_limits(Limits())  # Telegram's real limits on the emulator side too
    app = await desk_factory(make_config(db_url, emu.base_url,
                                         telegram={"poll_timeout": 1}))
    emu.user(8001)
    emu.user(8002)
    await _enqueue(app, 8001, ["a1", "a2", "a3"])
    await _enqueue(app, 8002, ["b1", "b2", "b3"])
    await emu.wait_for_sent(8001, count=3, timeout=10)
    await emu.wait_for_sent(8002, count=3, timeout=10)
    assert [m["text"] for m in emu.sent(8001)] == ["a1", "a2", "a3"]
    assert [m["text"] for m in emu.sent(8002)] == ["b1", "b2", "b3"]
    assert not [c for c in emu.calls if c.status == 429]


async def test_a_rate_limited_message_is_not_overtaken(emu: Emulator, desk: App) -> None:
    emu.user(8003)
    emu.add_fault(method="sendMessage", chat_id=8003, kind="429", retry_after=1, times=1)
    await _enqueue(desk, 8003, ["first", "second"])
    await emu.wait_for_sent(8003, count=2, timeout=10)
    assert [m["text"] for m in emu.sent(8003)] == ["first", "second"]


async def test_timers_run_once_when_due_and_survive_a_crashed_worker(database: Database) -> None:
    clock = FrozenClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    ran: list[int] = []

    async def handler(uow: UnitOfWork, timer: Timer, _clock: Any) -> None:
        ran.append(timer.id)

    sched = Scheduler(database, clock, {"ping": handler})
    async with database.uow() as uow:
        uow.repos.timers.add("ping", clock.now() + timedelta(minutes=30), clock.now(), chat_id=1)
        await uow.commit()
    assert await sched.run_due() == 0  # not due yet
    clock.advance(timedelta(minutes=31))
    # A worker that claimed it and died: the lease must run out before anyone else runs it.
    async with database.uow() as uow:
        lease = clock.now() + timedelta(minutes=2)
        [tid] = await uow.repos.timers.claim_due(clock.now(), 10, lease)
        await uow.commit()
    assert await sched.run_due() == 0
    clock.advance(timedelta(minutes=3))
    assert await sched.run_due() == 1
    assert await sched.run_due() == 0
    assert ran == [tid]
    async with database.uow() as uow:
        timer = await uow.repos.timers.get(tid)
        assert timer is not None and timer.status == "done"


async def test_a_failing_timer_backs_off_and_is_kept(database: Database) -> None:
    clock = FrozenClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))

    async def boom(uow: UnitOfWork, timer: Timer, _clock: Any) -> None:
        raise RuntimeError("service failed")

    sched = Scheduler(database, clock, {"boom": boom})
    async with database.uow() as uow:
        t = uow.repos.timers.add("boom", clock.now(), clock.now())
        await uow.commit()
        tid = t.id
    assert await sched.run_due() == 0
    async with database.uow() as uow:
        timer = await uow.repos.timers.get(tid)
        assert timer is not None
        assert (timer.status, timer.attempts) == ("pending", 1)
        assert timer.due_at == clock.now() + timedelta(seconds=30)
