"""The outbox sender: delivers queued Bot API calls in per-chat order within the rate limits."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from bot import bot_api
from bot.bot_api import BotApi, Outcome
from bot.clock import Clock
from bot.metrics import Metrics, chat_kind
from bot.ratelimit import RateLimiter
from storage.repositories import OutboxRow
from storage.uow import Database, UnitOfWork

log = logging.getLogger(__name__)

# A short lease, renewed while this sender holds the rows: another instance never takes rows a
# live sender holds, and the rows of one that died come back within a minute (not five).
LEASE = timedelta(seconds=60)  # [telegram] outbox_lease_seconds
RENEW_SHARE = 0.25  # renewed every quarter lease: a database stall of 3/4 of it keeps the lease
# Button answers have their own lane: fetched first, sent at once, never behind a chat's
# queued messages (Telegram's chat and group limits do not apply to them).
ANSWER_METHODS = ("answerCallbackQuery",)
ANSWER_FETCH = 100
ANSWER_CONCURRENCY = 16
MAX_BACKOFF_S = 300.0
# Transient failures are retried for hours (a Telegram outage must not lose an acknowledgement),
# then given up so nothing is retried forever.
MAX_ATTEMPTS = 60

# Called in the results transaction with (uow, row, result or None, error reason or None).
SentHook = Callable[[UnitOfWork, OutboxRow, Any, str | None], Awaitable[None]]


@dataclass
class _Result:
    row: OutboxRow
    outcome: Outcome | None  # None = delivered
    result: Any = None
    reason: str = ""
    retry_in: float = 0.0
    let_go: bool = False  # a retry left to the database (not_before), not held in memory


@dataclass
class _ChatQueue:
    rows: deque[OutboxRow] = field(default_factory=deque)
    busy: bool = False  # a call to this chat is in flight (the answer lane ignores it)
    hold_until: float = 0.0  # monotonic time before which nothing goes to this chat


class Sender:
    """Reads due outbox rows and delivers them; one per instance."""

    def __init__(self, db: Database, api: BotApi, limiter: RateLimiter, clock: Clock, *,
                 concurrency: int = 32, fetch_size: int = 500,
                 on_sent: list[SentHook] | None = None, on_failed: list[SentHook] | None = None,
                 metrics: Metrics | None = None, lease: timedelta = LEASE,
                 renew_every: float | None = None) -> None:
        self.metrics = metrics or Metrics()
        self.lease = lease
        self.renew_every = lease.total_seconds() * RENEW_SHARE if renew_every is None \
            else renew_every
        self.db, self.api, self.limiter, self.clock = db, api, limiter, clock
        self.concurrency = concurrency
        self.fetch_size = fetch_size
        self.on_sent = on_sent or []
        self.on_failed = on_failed or []
        self._wake = asyncio.Event()
        self._need_fetch = True
        self._chats: dict[int, _ChatQueue] = {}
        self._answers = _ChatQueue()
        self._answers_inflight = 0
        # Row ids held in memory → the lease_until this sender last wrote on them: the lease
        # is still ours only while the row shows that value (a taker writes a later one).
        self._known: dict[int, datetime] = {}
        self._lost: set[int] = set()  # in flight when another instance took them over
        self._inflight = 0
        self._results: list[_Result] = []
        self._stopping = False
        self._pruned = 0.0
        self.sent_count = 0
        self.rate_limited_count = 0
        self.heartbeat: Callable[[], None] = lambda: None  # set by the supervisor

    def wake(self) -> None:
        """New rows were committed: look at the outbox now."""
        self._need_fetch = True
        self._wake.set()

    async def run(self) -> None:
        """Deliver until cancelled."""
        # No lease is cleared at start: another instance may hold them. A crashed run's rows
        # come back when their lease runs out (at most one lease later).
        next_fetch = 0.0
        next_renew = time.monotonic() + self.renew_every
        db_task: asyncio.Task[None] | None = None
        try:
            while not self._stopping:
                self.heartbeat()
                now = time.monotonic()
                # Database work runs beside the sending: a long transaction elsewhere (SQLite
                # has one writer) must not stall calls that are already in memory.
                if db_task is None or db_task.done():
                    fetch = self._need_fetch or now >= next_fetch
                    renew = now >= next_renew
                    if fetch or renew or self._results:
                        if fetch:
                            self._need_fetch = False
                            next_fetch = now + 1.0  # rows with not_before come due by the clock
                        if renew:
                            next_renew = now + self.renew_every
                        db_task = asyncio.create_task(self._db_pass(fetch, renew))
                delay = self._dispatch()
                timeout = min(delay, max(0.0, next_fetch - time.monotonic()))
                # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation.
                try:
                    async with asyncio.timeout(max(timeout, 0.001)):
                        await self._wake.wait()
                except TimeoutError:
                    pass
                self._wake.clear()
        finally:
            if db_task is not None:
                if not self._stopping:  # asked to stop: let it commit what it is writing
                    db_task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await db_task

    async def _db_pass(self, fetch: bool, renew: bool = False) -> None:
        """Fetch due rows, write the results of finished calls, extend the leases held."""
        try:
            if fetch:
                await self._fetch()
            if renew and self._known:
                await self._renew()
            if self._results:
                await self._flush_results()
        except Exception:
            # The database may be briefly unavailable; results stay queued in memory.
            log.exception("outbox pass failed; retrying")
            await asyncio.sleep(1.0)
            self._need_fetch = True
        self._wake.set()

    async def drain(self, within: float = 10.0) -> None:
        """Wait until nothing is queued or in flight (tests, shutdown)."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if self._idle():
                async with self.db.uow() as uow:
                    # Not due(): on PostgreSQL it skips the rows a fetch is leasing right now.
                    empty = not await uow.repos.outbox.any_due(self.clock.now())
                # Looked again after the query: a fetch may have taken rows in the meantime.
                if empty and self._idle():
                    return
            await asyncio.sleep(0.02)
        raise TimeoutError("outbox not drained")

    def _idle(self) -> bool:
        return not self._known and not self._inflight and not self._results

    async def _fetch(self) -> None:
        if time.monotonic() - self._pruned >= 1.0:  # a sweep a second, not one per wake
            self._pruned = time.monotonic()
            self.limiter.prune(self._pruned)
        now = self.clock.now()
        async with self.db.uow() as uow:
            repo = uow.repos.outbox
            # Answers first and on their own: never behind a full fetch of other rows.
            rows = await repo.due(now, ANSWER_FETCH, ANSWER_METHODS)
            rows += await repo.due(now, self.fetch_size)
            # An answer is in both lists; by id, in first-seen order (answers stay first).
            rows = list({r.id: r for r in rows if r.id not in self._known}.values())
            until = now + self.lease
            await repo.lease([r.id for r in rows], until)
            await uow.commit()
            # Held in memory before the unit of work is left: drain() must never see the rows
            # leased in the database but not yet here.
            for r in rows:
                self._known[r.id] = until
                if r.taken_over and not bot_api.repeats_harmlessly(r.method):
                    # A sender stopped holding it: the call may have gone out before it died.
                    self._at_risk(r, bot_api.RiskCause.LEASE_EXPIRED)
                lane = (self._answers if r.method in ANSWER_METHODS
                        else self._chats.setdefault(r.chat_id, _ChatQueue()))
                lane.rows.append(r)

    async def _renew(self) -> None:
        """Extend the lease of every row still held, so no other instance takes it over; let
        go of rows another instance took (our lease ran out: the database stalled)."""
        held, until = dict(self._known), self.clock.now() + self.lease
        async with self.db.uow() as uow:
            kept = await uow.repos.outbox.renew(held, until)
            await uow.commit()
        for i in kept:
            if i in self._known:
                self._known[i] = until
        lost = held.keys() - kept
        if lost:
            log.warning("outbox: %d leased rows were taken over by another sender", len(lost))
            self._let_go(lost)

    def _let_go(self, lost: set[int]) -> None:
        """Drop rows we no longer hold: queued ones now, in-flight ones when they end."""
        for q in (self._answers, *self._chats.values()):
            if any(r.id in lost for r in q.rows):
                for r in q.rows:
                    if r.id in lost:
                        self._known.pop(r.id, None)
                q.rows = deque(r for r in q.rows if r.id not in lost)
        # The rest are in flight or their result is being written: let go when they end.
        self._lost |= lost & self._known.keys()

    def _at_risk(self, row: OutboxRow, cause: bot_api.RiskCause) -> None:
        self.metrics.duplicates_at_risk.labels(cause=cause.value, chat=chat_kind(row.chat_id)).inc()

    def _dispatch(self) -> float:
        """Start every call that may go now; return seconds until the next may."""
        now = time.monotonic()
        soonest = 1.0
        a = self._answers
        # Answers are not counted against `concurrency`: a full pipe of slow sends must not
        # hold a steward's button answer.
        while a.rows and self._answers_inflight < ANSWER_CONCURRENCY:
            self._answers_inflight += 1
            self._start(a, a.rows.popleft())
        for chat_id, q in list(self._chats.items()):
            if not q.rows:
                if not q.busy:
                    del self._chats[chat_id]
                continue
            if q.busy:
                continue
            if self._inflight - self._answers_inflight >= self.concurrency:
                return 0.01
            if q.hold_until > now:
                soonest = min(soonest, q.hold_until - now)
                continue
            row = q.rows[0]
            wait = self.limiter.wait(chat_id, row.method, now)
            if wait > 0:
                soonest = min(soonest, wait)
                continue
            self.limiter.record(chat_id, row.method, now)
            q.rows.popleft()
            q.busy = True
            self._start(q, row)
        return soonest

    def _start(self, q: _ChatQueue, row: OutboxRow) -> None:
        self._inflight += 1
        asyncio.create_task(self._send(q, row))

    async def _send(self, q: _ChatQueue, row: OutboxRow) -> None:
        try:
            result = await self.api.call(row.method, row.payload)
            res = _Result(row, None, result)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # every failure is classified; nothing escapes the loop
            outcome, reason = bot_api.classify(exc)
            res = _Result(row, outcome, None, reason)
            if outcome is Outcome.RATE_LIMITED:
                res.retry_in = bot_api.retry_after_seconds(exc)
            elif outcome is Outcome.TRANSIENT:
                res.retry_in = min(MAX_BACKOFF_S, 2.0 ** row.attempts) * random.uniform(0.8, 1.2)
                cause = bot_api.maybe_delivered(exc)
                if cause and not bot_api.repeats_harmlessly(row.method):
                    # Telegram may have done it and only the answer was lost; the resend can
                    # duplicate it. Counted, never silent (there is no way to ask Telegram).
                    self._at_risk(row, cause)
        finally:
            q.busy = False
            self._inflight -= 1
            if q is self._answers:
                self._answers_inflight -= 1
        if res.outcome is Outcome.TRANSIENT:
            row.attempts += 1
            if row.attempts >= MAX_ATTEMPTS:
                res.outcome, res.reason = Outcome.PERMANENT, f"gave up: {res.reason}"
        if res.outcome in (Outcome.RATE_LIMITED, Outcome.TRANSIENT):
            if q is self._answers or row.id in self._lost:
                # Answers have no order to keep: this one comes back when due, the others go on.
                # A row another sender took over is theirs to retry.
                res.let_go = True
            else:
                # Keep the row at the head of its chat so later messages never overtake it.
                q.rows.appendleft(row)
                q.hold_until = time.monotonic() + res.retry_in
            if res.outcome is Outcome.RATE_LIMITED:
                self.rate_limited_count += 1
        self._results.append(res)
        self._wake.set()

    async def _flush_results(self) -> None:
        # Cleared only after the commit: if it fails, the results are written on the next pass.
        results = list(self._results)
        now = self.clock.now()
        async with self.db.uow() as uow:
            repo = uow.repos.outbox
            sent = [(r.row.id, _message_id(r.result)) for r in results
                    if r.outcome in (None, Outcome.DONE)]
            await repo.mark_sent(sent, now)
            for r in results:
                if r.outcome in (None, Outcome.DONE):
                    # A DONE row passes its reason ("not modified", "query expired") on.
                    await self._hooks(uow, self.on_sent, r.row, r.result, r.reason or None)
                elif r.outcome is Outcome.PERMANENT:
                    log.warning("outbox %s %s to chat failed for good: %s",
                                r.row.id, r.row.method, r.reason)
                    await repo.mark_failed(r.row.id, r.reason, now)
                    self.metrics.messages_failed.inc()
                    await self._hooks(uow, self.on_failed, r.row, None, r.reason)
                elif r.row.id in self._known and r.row.id not in self._lost:
                    # Retried from memory, a row keeps its lease (no other sender may take it);
                    # a row taken over by another sender is theirs to retry, not ours to touch.
                    await repo.retry_later(r.row.id, now + timedelta(seconds=r.retry_in), r.reason,
                                           count_attempt=r.outcome is Outcome.TRANSIENT,
                                           release=r.let_go)
            await uow.commit()
        del self._results[:len(results)]
        self.sent_count += len(sent)
        self.metrics.messages_sent.inc(len(sent))
        for r in results:
            if r.outcome in (None, Outcome.DONE, Outcome.PERMANENT) or r.let_go:
                self._known.pop(r.row.id, None)
                self._lost.discard(r.row.id)

    async def _hooks(self, uow: UnitOfWork, hooks: list[SentHook], row: OutboxRow,
                     result: Any, reason: str | None) -> None:
        """Run follow-up hooks, each in a savepoint: one failing must not lose the results."""
        for hook in hooks:
            await uow.isolated(partial(hook, uow, row, result, reason),
                               f"outbox hook for {row.id} ({row.purpose})")

    def stop(self) -> None:
        """Ask the loop to end after the current step."""
        self._stopping = True
        self._wake.set()

    async def finish(self, within: float = 10.0) -> None:
        """After stop(): let calls in flight end (at most `within` s) and record their results."""
        deadline = time.monotonic() + within
        # Polled: the calls in flight signal only through the shared wake event the loop owns.
        while ((self._inflight or self._answers_inflight)  # noqa: ASYNC110
               and time.monotonic() < deadline):
            await asyncio.sleep(0.02)
        if self._results:
            await self._flush_results()
        # Rows held here but never started (button answers included): their lease ends now,
        # so the next run sends them at once instead of waiting for it to expire.
        held = [r.id for q in (*self._chats.values(), self._answers) for r in q.rows
                if r.id not in self._lost]
        if held:
            async with self.db.uow() as uow:
                await uow.repos.outbox.lease(held, self.clock.now())
                await uow.commit()


def _message_id(result: Any) -> int | None:
    return result.get("message_id") if isinstance(result, dict) else None
