"""The one place that wires everything together: storage, PTB, inbox, outbox, web."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from telegram.ext import Application, ApplicationBuilder

from bot.bot_api import BotApi
from bot.clock import Clock
from bot.config import Config
from bot.inbox import ALLOWED_UPDATES, InboxWorker, Poller
from bot.metrics import Metrics
from bot.outbox import Sender
from bot.ratelimit import RateLimiter
from bot.scheduler import Scheduler, TimerHandler
from bot.services import roster
from bot.web.server import build_web_app
from handlers import customer, steward
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
        # PTB itself only calls getMe here: sending and polling go through bot.bot_api.
        .connection_pool_size(2)
        .get_updates_connection_pool_size(1)
        .build()
    )
    steward.install(app)  # staff buttons ("s:") and group chats
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
    api: BotApi = field(init=False)
    scheduler: Scheduler = field(init=False)
    deps: Deps = field(init=False)
    metrics: Metrics = field(default_factory=Metrics, init=False)
    web_port: int | None = field(default=None, init=False)
    _runner: web.AppRunner | None = field(default=None, init=False)
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
        self.deps = Deps(config=self.config, clock=self.clock)
        self.application.bot_data["deps"] = self.deps
        await self.application.initialize()
        async with self.db.uow() as uow:
            await roster.bootstrap(uow, self.clock, self.config.file.staff)
            await uow.commit()
        limits = self.config.file.telegram.limits
        hooks = steward.sender_hooks(self.deps.desk)
        self.api = BotApi(env.telegram_api_url, env.telegram_bot_token)
        await self.api.start()
        self.sender = Sender(self.db, self.api,
                             RateLimiter(limits.overall_per_second, limits.per_chat_per_second,
                                         limits.per_group_per_minute, limits.per_chat_burst),
                             self.clock,
                             metrics=self.metrics, on_sent=hooks["on_sent"],
                             on_failed=hooks["on_failed"])
        self.db.on_outbox.append(self.sender.wake)
        self.scheduler = Scheduler(self.db, self.clock, timer_handlers(self.deps))
        self.db.on_timers.append(self.scheduler.wake)
        self.worker = InboxWorker(self.db, self.application, self.clock, metrics=self.metrics,
                                  on_parked=customer.on_parked)
        recovered = await self.worker.recover()
        if recovered:
            log.info("recovered %d stored updates", recovered)
        self._spawn(self.sender.run(), "sender")
        self._spawn(self.worker.run(), "inbox-worker")
        self._spawn(self.scheduler.run(), "scheduler")
        tg = self.config.file.telegram
        secret = tg.webhook_secret or (secrets.token_urlsafe(32) if tg.webhook_url else None)
        await self._start_web(secret)
        if tg.webhook_url:
            # Telegram pushes to us; each update is stored before we answer 200.
            await self.api.call("setWebhook", {"url": tg.webhook_url, "secret_token": secret,
                                               "allowed_updates": ALLOWED_UPDATES})
        elif self.poll:
            poller = Poller(self.db, self.api, self.worker, self.clock,
                            timeout=tg.poll_timeout, metrics=self.metrics)
            self._spawn(poller.run(), "poller")

    async def _start_web(self, secret: str | None) -> None:
        w = self.config.file.web
        if not w.enabled:
            return
        app = build_web_app(self.db, self.worker, self.clock, self.metrics,
                            webhook_path=w.webhook_path, secret=secret)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, w.host, w.port)
        await site.start()
        self.web_port = self._runner.addresses[0][1]

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(coro, name=name)
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
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        with contextlib.suppress(Exception):
            await self.application.shutdown()
        await self.api.close()
        await self._engine.dispose()

    async def run_forever(self) -> None:
        """Start and run until cancelled."""
        await self.start()
        try:
            await asyncio.Event().wait()
        finally:
            await self.stop()


def timer_handlers(deps: Deps) -> dict[str, TimerHandler]:
    """Which service runs for each timer kind."""
    return {**customer.timer_handlers(deps.desk)}


def _log_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.critical("%s stopped: %r", task.get_name(), task.exception())
