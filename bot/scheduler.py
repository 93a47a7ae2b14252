"""The scheduler: claims due timer rows and runs the service for each, in one transaction."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from bot.clock import Clock
from bot.supervise import PollingLoop
from storage.models import Timer
from storage.uow import Database, UnitOfWork

log = logging.getLogger(__name__)

# A timer handler runs inside the unit of work that marks the timer done.
TimerHandler = Callable[[UnitOfWork, Timer, Clock], Awaitable[None]]

LEASE = timedelta(minutes=2)
MAX_ATTEMPTS = 10


class Scheduler(PollingLoop):
    """Runs due timers; several instances may run it against one PostgreSQL database."""

    def __init__(self, db: Database, clock: Clock, handlers: dict[str, TimerHandler], *,
                 poll_seconds: float = 1.0, batch: int = 100) -> None:
        super().__init__(poll_seconds)
        self.db, self.clock, self.handlers = db, clock, handlers
        self.batch = batch

    async def run_due(self) -> int:
        """Run every timer due now; returns how many ran."""
        ran = 0
        while True:
            now = self.clock.now()
            async with self.db.uow() as uow:
                ids = await uow.repos.timers.claim_due(now, self.batch, now + LEASE)
                await uow.commit()
            for timer_id in ids:
                ran += await self._run_one(timer_id)
            if len(ids) < self.batch:
                return ran

    async def _run_one(self, timer_id: int) -> int:
        try:
            async with self.db.uow() as uow:
                timer = await uow.repos.timers.get(timer_id)
                if timer is None or timer.status != "pending":
                    return 0
                handler = self.handlers.get(timer.kind)
                if handler is None:
                    raise LookupError(f"no handler for timer kind {timer.kind!r}")
                await handler(uow, timer, self.clock)
                timer.status, timer.done_at, timer.lease_until = "done", self.clock.now(), None
                await uow.commit()
                return 1
        except Exception as exc:
            log.error("timer %s failed: %s", timer_id, type(exc).__name__)
            await self._record_failure(timer_id)
            return 0

    async def _record_failure(self, timer_id: int) -> None:
        async with self.db.uow() as uow:
            timer = await uow.repos.timers.get(timer_id)
            if timer is None:
                return
            timer.attempts += 1
            now = self.clock.now()
            if timer.attempts >= MAX_ATTEMPTS:
                timer.status, timer.done_at = "failed", now
            else:  # back off: 30 s, 1 min, 2 min, ...
                timer.due_at = now + timedelta(seconds=30 * 2 ** (timer.attempts - 1))
            timer.lease_until = None
            await uow.commit()
