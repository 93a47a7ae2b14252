"""The scheduler: claims due timer rows and runs the service for each, in one transaction."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

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
            lease = now + LEASE
            async with self.db.uow() as uow:
                ids = await uow.repos.timers.claim_due(now, self.batch, lease)
                await uow.commit()
            for timer_id in ids:
                ran += await self._run_one(timer_id, lease)
            if len(ids) < self.batch:
                return ran

    async def _run_one(self, timer_id: int, lease: datetime) -> int:
        # The lease this pass wrote is its claim ticket. A run that outlives it (a slow handler,
        # or the end of a long batch) may meanwhile have been claimed by another instance, which
        # wrote a later lease. Only the holder of the lease the row shows may run the timer and
        # mark it done, and marking it done is a conditional UPDATE in the handler's own
        # transaction: whichever run loses rolls back with everything its handler wrote. (No
        # row lock is held across the handler: handlers lock tickets and drafts first, then
        # cancel timers, and the scheduler must take its locks in that same order.)
        kind = "?"
        try:
            async with self.db.uow() as uow:
                timer = await uow.repos.timers.get(timer_id)
                if timer is None or timer.status != "pending" or timer.lease_until != lease:
                    return 0  # done, cancelled, or taken over since this pass claimed it
                kind = timer.kind
                handler = self.handlers.get(kind)
                if handler is None:
                    raise LookupError("no handler for this timer kind")
                await handler(uow, timer, self.clock)
                if not await uow.repos.timers.finish(timer_id, lease, self.clock.now()):
                    log.warning("timer %s (%s) outran its lease and another instance took it "
                                "over; this run is rolled back", timer_id, kind)
                    return 0
                await uow.commit()
                return 1
        except Exception as exc:
            # The type only: an exception's text may quote what a customer wrote. A warning:
            # it is tried again; giving up is the error.
            log.warning("timer %s (%s) failed: %s", timer_id, kind, type(exc).__name__)
            await self._record_failure(timer_id, lease)
            return 0

    async def _record_failure(self, timer_id: int, lease: datetime) -> None:
        async with self.db.uow() as uow:
            timer = await uow.repos.timers.get(timer_id)
            if timer is None or timer.lease_until != lease:
                return  # another instance holds it now: its run decides
            timer.attempts += 1
            now = self.clock.now()
            if timer.attempts >= MAX_ATTEMPTS:
                timer.status, timer.done_at = "failed", now
                log.error("timer %s (%s) failed %d times; gave up", timer.id, timer.kind,
                          timer.attempts)
            else:  # back off: 30 s, 1 min, 2 min, ...
                timer.due_at = now + timedelta(seconds=30 * 2 ** (timer.attempts - 1))
            timer.lease_until = None
            await uow.commit()
