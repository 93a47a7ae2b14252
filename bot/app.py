"""The one place that wires everything together: storage, PTB, inbox, outbox, web."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from telegram.ext import Application, ApplicationBuilder

from bot.clock import Clock
from bot.config import Config
from bot.inbox import InboxWorker, Poller
from bot.outbox import Sender
from bot.ratelimit import RateLimiter
from bot.scheduler import Scheduler, TimerHandler
from handlers import customer
from handlers.deps import Deps
from storage.db import create_engine, is_sqlite, session_factory
from storage.migrate import upgrade_async
from storage.uow import Database

log = logging.getLogger(__name__)


def build_application(config: Config, token: str) -> Application:  # type: ignore[type-arg]
    """PTB Application used for routing and parsing only; we fetch and send ourselves."""
    api = config.env.telegram_api_url.rstrip("/")
    app = (
        ApplicationBuilder()
        .token(token)
        .base_url(f"{api}/bot")
        .base_file_url(f"{api}/file/bot")
        .updater(None)
        # Several sends in flight at once; 32 measured better than PTB's 256 (pool contention).
        .connection_pool_size(40)
        .pool_timeout(10.0)
        .get_updates_connection_pool_size(2)
        .build()
    )
    customer.install(app)
    return app


@dataclass
class App:
    """A running complaint desk: start() it, stop() it."""

    config: Config
    clock: Clock = field(default_factory=Clock)
    poll: bool = True
    db: Database = field(init=False)
    application: Application = field(init=False)  # type: ignore[type-arg]
    worker: InboxWorker = field(init=False)
    sender: Sender = field(init=False)
    scheduler: Scheduler = field(init=False)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list, init=False)

    async def start(self) -> None:
        """Migrate, connect, recover what a previous run left, and start every loop."""
        env = self.config.env
        if not env.telegram_bot_token:
            raise RuntimeError("TELEGRAM_BOT_TOKEN is not set")
        await upgrade_async(env.database_url)
        self._engine = create_engine(env.database_url)
        self.db = Database(session_factory(self._engine),
                           serialize_writes=is_sqlite(env.database_url))
        self.application = build_application(self.config, env.telegram_bot_token)
        self.application.bot_data["deps"] = Deps(config=self.config, clock=self.clock)
        await self.application.initialize()
        limits = self.config.file.telegram.limits
        self.sender = Sender(self.db, self.application.bot,
                             RateLimiter(limits.overall_per_second, limits.per_chat_per_second,
                                         limits.per_group_per_minute), self.clock)
        self.db.on_outbox.append(self.sender.wake)
        self.scheduler = Scheduler(self.db, self.clock, timer_handlers())
        self.db.on_timers.append(self.scheduler.wake)
        self.worker = InboxWorker(self.db, self.application, self.clock)
        recovered = await self.worker.recover()
        if recovered:
            log.info("recovered %d stored updates", recovered)
        self._spawn(self.sender.run(), "sender")
        self._spawn(self.worker.run(), "inbox-worker")
        self._spawn(self.scheduler.run(), "scheduler")
        if self.poll:
            poller = Poller(self.db, self.application, self.worker, self.clock,
                            timeout=self.config.file.telegram.poll_timeout)
            self._spawn(poller.run(), "poller")

    def _spawn(self, coro: object, name: str) -> None:
        task = asyncio.create_task(coro, name=name)  # type: ignore[arg-type]
        task.add_done_callback(_log_crash)
        self._tasks.append(task)

    async def stop(self) -> None:
        """Stop the loops and close connections (what is stored stays stored)."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        with contextlib.suppress(Exception):
            await self.application.shutdown()
        await self._engine.dispose()

    async def run_forever(self) -> None:
        """Start and run until cancelled."""
        await self.start()
        try:
            await asyncio.Event().wait()
        finally:
            await self.stop()


def timer_handlers() -> dict[str, TimerHandler]:
    """Which service runs for each timer kind."""
    return {}


def _log_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.critical("%s stopped: %r", task.get_name(), task.exception())
