"""The unit of work: one transaction, its repositories, and what to wake after it commits."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import utcnow

if TYPE_CHECKING:
    from storage.repositories import Repositories

SessionFactory = async_sessionmaker[AsyncSession]
log = logging.getLogger(__name__)


class Database:
    """Session factory plus the wake-up hooks that committed writes fire."""

    def __init__(self, factory: SessionFactory, *, serialize_writes: bool) -> None:
        self.factory = factory
        # SQLite has one writer: queueing in-process is cheaper than spinning on SQLITE_BUSY.
        self._lock = asyncio.Lock() if serialize_writes else None
        self.on_outbox: list[Callable[[], None]] = []
        self.on_timers: list[Callable[[], None]] = []
        self.on_mail: list[Callable[[], None]] = []

    def uow(self) -> UnitOfWork:
        """A new unit of work (use with `async with`)."""
        return UnitOfWork(self)


class UnitOfWork:
    """One transaction; leaving without commit() rolls back."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.session: AsyncSession
        self.outbox_added = False
        self.timers_added = False
        self.mail_added = False
        self._committed = False
        self._repos: Repositories | None = None

    async def __aenter__(self) -> UnitOfWork:
        if self.db._lock is not None:
            await self.db._lock.acquire()
        self.session = self.db.factory()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if not self._committed:
                await self.session.rollback()
            await self.session.close()
        finally:
            if self.db._lock is not None:
                self.db._lock.release()
        if self._committed:
            self._wake()

    @property
    def repos(self) -> Repositories:
        """Repositories bound to this transaction."""
        if self._repos is None:
            from storage.repositories import Repositories

            self._repos = Repositories(self)
        return self._repos

    async def flush(self) -> None:
        """Write buffered rows (the outbox) without committing."""
        if self._repos is not None:
            await self._repos.outbox.flush(utcnow())
        await self.session.flush()

    async def isolated(self, step: Callable[[], Awaitable[None]], what: str) -> None:
        """Run a follow-up step in a savepoint: if it fails only it is undone, and logged."""
        try:
            async with self.session.begin_nested():
                await step()
                await self.flush()
        except Exception:
            if self._repos is not None:
                self._repos.outbox.discard()
            log.exception("%s failed", what)

    async def commit(self) -> None:
        """Commit the transaction; the hooks fire when the unit of work is left."""
        await self.flush()
        await self.session.commit()
        self._committed = True

    def _wake(self) -> None:
        if self.outbox_added:
            for hook in self.db.on_outbox:
                hook()
        if self.timers_added:
            for hook in self.db.on_timers:
                hook()
        if self.mail_added:
            for hook in self.db.on_mail:
                hook()
