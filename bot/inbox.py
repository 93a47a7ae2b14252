"""Durable intake of updates (polling loop and webhook) and the worker that feeds PTB."""

from __future__ import annotations

import asyncio
import heapq
import json
import logging
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from telegram import Update
from telegram.ext import Application

from bot import bot_api, scope
from bot.bot_api import ApiError, ApiUnavailable, BotApi
from bot.clock import Clock
from bot.metrics import Metrics
from storage.repositories import StoredUpdate
from storage.uow import Database, UnitOfWork

log = logging.getLogger(__name__)

# Pending rows older than this that no worker of this instance holds are taken over (another
# instance died holding them); looked for this often.
STALE_AFTER_S = 10.0
SWEEP_EVERY_S = 5.0

ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "my_chat_member"]


def chat_of(update: dict[str, Any]) -> int | None:
    """The chat an update belongs to (for per-chat order); None if it names none it can read."""
    try:
        for key in ("message", "edited_message", "channel_post", "my_chat_member"):
            if key in update:
                return int(update[key]["chat"]["id"])
        cq = update.get("callback_query")
        if cq:
            msg = cq.get("message")
            return int(msg["chat"]["id"] if msg else cq["from"]["id"])
    except (KeyError, TypeError, ValueError, AttributeError):
        # A malformed payload is still stored (and parked by the worker), never refused here.
        return None
    return None


# SQLSTATEs a retry resolves: deadlock detected, serialization failure, lock not available.
_TRANSIENT_SQLSTATES = frozenset({"40P01", "40001", "55P03"})


def transient_db_error(exc: BaseException) -> bool:
    """True for a database conflict that the same work, tried again later, gets past."""
    orig = getattr(exc, "orig", None)
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    return code in _TRANSIENT_SQLSTATES or "database is locked" in str(orig or "")


def valid_update_id(update: Any) -> bool:
    """True when `update` is an object with an integer update_id (what the inbox can key on)."""
    uid = update.get("update_id") if isinstance(update, dict) else None
    return isinstance(uid, int) and not isinstance(uid, bool) and 0 <= uid < 2 ** 63


def to_stored(updates: list[dict[str, Any]]) -> list[StoredUpdate]:
    """Serialise raw updates once, for the inbox."""
    return [StoredUpdate(u["update_id"], chat_of(u), json.dumps(u, ensure_ascii=False))
            for u in updates]


async def store(db: Database, clock: Clock, updates: list[dict[str, Any]]) -> list[StoredUpdate]:
    """Commit updates to the inbox; return the ones not seen before (duplicates are no-ops)."""
    stored = to_stored(updates)
    async with db.uow() as uow:
        new = await uow.repos.inbox.store(stored, clock.now())
        await uow.commit()
    return [s for s in stored if s.update_id in new]


class InboxWorker:
    """Processes inbox rows in update order, a batch per transaction, a savepoint per update."""

    def __init__(self, db: Database, application: Application, clock: Clock, *,
                 batch_size: int = 64, tries: int = 2, metrics: Metrics | None = None,
                 on_parked: Callable[[UnitOfWork, Update], None] | None = None) -> None:
        self.db, self.application, self.clock = db, application, clock
        self.metrics = metrics or Metrics()
        self.on_parked = on_parked  # tells the person that their message was kept
        self.batch_size = batch_size
        self.tries = tries
        # A heap by update_id, not a FIFO: webhook deliveries arrive out of order (Telegram
        # uses parallel connections), and each must still run, the lower id of a chat first.
        self._queue: list[tuple[int, StoredUpdate]] = []
        self._queued: set[int] = set()  # ids queued or in the batch in hand
        self._event = asyncio.Event()
        self._last_id = 0  # update ids are positive
        self._busy = False
        self._stopping = False
        self._swept = time.monotonic()
        self.heartbeat: Callable[[], None] = lambda: None  # set by the supervisor
        self.processed = 0
        self.failed = 0
        application.add_error_handler(self._on_error)

    def submit(self, updates: list[StoredUpdate]) -> None:
        """Queue committed updates for processing."""
        for u in updates:
            if u.update_id not in self._queued:
                self._queued.add(u.update_id)
                heapq.heappush(self._queue, (u.update_id, u))
                self._last_id = max(self._last_id, u.update_id)
        if updates:
            self._event.set()

    @property
    def last_update_id(self) -> int:
        """The highest update id handed to this worker (0 before the first)."""
        return self._last_id

    @property
    def idle(self) -> bool:
        """True when nothing is queued or being processed."""
        return not self._queue and not self._busy

    async def recover(self) -> int:
        """Queue what a previous run stored but did not process; returns how many."""
        async with self.db.uow() as uow:
            pending = await uow.repos.inbox.pending(limit=1_000_000)
        self.submit(pending)
        self._swept = time.monotonic()
        return len(pending)

    async def sweep(self) -> int:
        """Queue updates left pending for a while that this worker does not hold.

        Another instance that died after storing them (its 200 or its offset already told
        Telegram) would otherwise leave them until it restarts. Taking them is safe: each row
        is claimed when its batch runs, so it is processed once whoever holds it.
        """
        self._swept = time.monotonic()
        before = self.clock.now() - timedelta(seconds=STALE_AFTER_S)
        async with self.db.uow() as uow:
            ids = [i for i in await uow.repos.inbox.stale(before, self.batch_size * 16)
                   if i not in self._queued]
            found = await uow.repos.inbox.by_ids(ids) if ids else []
        if found:
            log.info("taking over %d updates left pending", len(found))
            self.submit(found)
        return len(found)

    async def run(self) -> None:
        """Process until cancelled or stopped (stop() lets the batch in hand finish)."""
        while not self._stopping:
            self.heartbeat()
            if time.monotonic() - self._swept >= SWEEP_EVERY_S:
                await self.sweep()
            if not self._queue:  # after a restart the queue may hold what the crash left
                # Wake now and then even when idle, so the heartbeat says "alive", not "stalled".
                try:
                    async with asyncio.timeout(5.0):
                        await self._event.wait()
                except TimeoutError:
                    continue
            self._event.clear()
            while self._queue and not self._stopping:
                batch = [heapq.heappop(self._queue)[1]
                         for _ in range(min(self.batch_size, len(self._queue)))]
                self._busy = True
                try:
                    await self._process_batch(batch)
                except Exception:
                    # The batch's transaction failed (e.g. the database was unavailable): its
                    # updates are still pending in the inbox; put them back and let the
                    # supervisor restart this loop after its backoff.
                    for item in batch:
                        heapq.heappush(self._queue, (item.update_id, item))
                    raise
                finally:
                    self._busy = False
                self._queued.difference_update(i.update_id for i in batch)
                self.heartbeat()

    def stop(self) -> None:
        """Finish the batch in hand, then end run()."""
        self._stopping = True
        self._event.set()

    async def _process_batch(self, batch: list[StoredUpdate]) -> None:
        # Optimistic first: one transaction and no savepoints (two statements fewer per
        # update). Only when an update fails is the batch redone with a savepoint per update,
        # so one bad update cannot take the others' writes with it.
        if await self._process_fast(batch):
            return
        await self._process_careful(batch)

    async def _process_fast(self, batch: list[StoredUpdate]) -> bool:
        """The whole batch in one transaction; False (all rolled back) if any update fails."""
        updates = [self._parse(item) for item in batch]
        if any(u is None for u in updates):
            return False  # a poison update: the careful path parks it (rare, so no cost here)
        async with self.db.uow() as uow:
            mine = await uow.repos.inbox.claim([i.update_id for i in batch])
            if len(mine) < len(batch):  # some were processed (or are being) by another worker
                updates = [u for u, i in zip(updates, batch, strict=True) if i.update_id in mine]
                batch = [i for i in batch if i.update_id in mine]
            for update in updates:
                assert update is not None
                if await self._handle(uow, update) is not None:
                    uow.repos.outbox.discard()
                    return False  # leaving without commit rolls the whole batch back
            await self._finish(uow, [i.update_id for i in batch])
        return True

    async def _process_careful(self, batch: list[StoredUpdate]) -> None:
        async with self.db.uow() as uow:
            mine = await uow.repos.inbox.claim([i.update_id for i in batch])
            done = [item.update_id for item in batch
                    if item.update_id in mine and await self._process_one(uow, item)]
            await self._finish(uow, done)

    async def _finish(self, uow: UnitOfWork, done: list[int]) -> None:
        """Mark the processed updates in the same transaction as their effects, and commit."""
        await uow.repos.inbox.mark_done(done, self.clock.now())
        await uow.commit()
        self.processed += len(done)
        self.metrics.updates_processed.inc(len(done))

    def _parse(self, item: StoredUpdate) -> Update | None:
        """The update as PTB's object; None when PTB cannot read it (it is parked, not retried)."""
        try:
            update = Update.de_json(json.loads(item.payload), self.application.bot)
        except Exception:  # any payload PTB cannot parse (e.g. a message without `date`)
            return None
        return update if isinstance(update, Update) else None

    async def _park_unparseable(self, uow: UnitOfWork, item: StoredUpdate) -> None:
        """Park an update PTB cannot parse, so it never blocks the ones after it."""
        self.failed += 1
        self.metrics.updates_unparseable.inc()
        log.error("update %s cannot be parsed and is parked", item.update_id)
        await uow.repos.inbox.mark_attempt(item.update_id, "unparseable", True, self.clock.now())

    async def _handle(self, uow: UnitOfWork, update: Update) -> BaseException | None:
        """Run PTB's handlers for one update inside `uow`; the error, if one failed."""
        sc = scope.UpdateScope(uow)
        token = scope.enter(sc)
        try:
            await self.application.process_update(update)
        except Exception as exc:  # a handler bug must not stop the desk
            sc.error = exc
        finally:
            scope.leave(token)
        return sc.error

    async def _process_one(self, uow: UnitOfWork, item: StoredUpdate) -> bool:
        """Run the handlers in a savepoint; on failure undo their writes and record the error."""
        update = self._parse(item)
        if update is None:
            await self._park_unparseable(uow, item)
            return False
        error: BaseException | None = None
        for _ in range(self.tries):
            async with uow.session.begin_nested() as savepoint:
                error = await self._handle(uow, update)
                if error is None:
                    try:
                        await uow.flush()
                    except Exception as exc:  # e.g. a constraint the handler's rows broke
                        error = exc
                if error is None:
                    return True
                uow.repos.outbox.discard()
                await savepoint.rollback()
        if error is not None and transient_db_error(error):
            # Two instances met on the same rows (a deadlock, a lock timeout): nothing is wrong
            # with the update. The whole batch goes back and is tried again after a backoff.
            raise error
        self.failed += 1
        self.metrics.updates_failed.inc()
        # Only the exception type: its text may quote what the customer wrote.
        log.error("update %s failed and is parked: %s", item.update_id, type(error).__name__)
        await uow.repos.inbox.mark_attempt(item.update_id, type(error).__name__, True,
                                           self.clock.now())
        if self.on_parked is not None:
            self.on_parked(uow, update)
        return False

    async def _on_error(self, update: object, context: Any) -> None:
        sc = scope.scope_or_none()
        if sc is not None:
            sc.error = context.error
        else:
            log.error("error outside an update: %s", type(context.error).__name__)


class Poller:
    """Our own getUpdates loop: an update is confirmed to Telegram only after it is stored."""

    def __init__(self, db: Database, api: BotApi, worker: InboxWorker,
                 clock: Clock, *, timeout: int = 25, limit: int = 100,
                 metrics: Metrics | None = None) -> None:
        self.db, self.api, self.worker, self.clock = db, api, worker, clock
        self.metrics = metrics or Metrics()
        self.timeout, self.limit = timeout, limit
        self.heartbeat: Callable[[], None] = lambda: None  # set by the supervisor

    async def run(self) -> None:
        """Poll until cancelled (a database error ends it; the supervisor restarts it)."""
        await self.api.call("deleteWebhook", {"drop_pending_updates": False})
        async with self.db.uow() as uow:
            last = await uow.repos.inbox.max_update_id()
        offset = last + 1 if last is not None else None
        backoff = 1.0
        while True:
            self.heartbeat()
            try:
                raw = await self.api.call(
                    "getUpdates",
                    {"offset": offset, "timeout": self.timeout, "limit": self.limit,
                     "allowed_updates": ALLOWED_UPDATES},
                    http_timeout=self.timeout + 10)
                backoff = 1.0
            except (ApiError, ApiUnavailable) as exc:
                wait = bot_api.retry_after_seconds(exc) or backoff
                log.warning("getUpdates failed (%s); retrying in %.0fs",
                            getattr(exc, "status", type(exc).__name__), wait)
                await asyncio.sleep(wait)
                if not bot_api.retry_after_seconds(exc):
                    backoff = min(backoff * 2, 60.0)
                continue
            if not raw:
                continue
            new = await store(self.db, self.clock, raw)
            self.metrics.updates_received.inc(len(new))
            # The next getUpdates with this offset is what confirms them to Telegram.
            offset = max(u["update_id"] for u in raw) + 1
            self.worker.submit(new)
