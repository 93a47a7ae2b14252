"""The one place that wires everything together: storage, PTB, inbox, outbox, web."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import secrets
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from aiohttp import web
from telegram.error import InvalidToken, TelegramError
from telegram.ext import Application, ApplicationBuilder

from bot.bot_api import ApiError, ApiUnavailable, BotApi
from bot.clock import Clock
from bot.config import Config, ConfigError
from bot.inbox import ALLOWED_UPDATES, InboxWorker, Poller
from bot.mailer import Mailer, SmtpSettings
from bot.metrics import Metrics
from bot.outbox import Sender
from bot.ratelimit import RateLimiter
from bot.scheduler import Scheduler, TimerHandler
from bot.services import roster
from bot.supervise import Supervisor
from bot.web.server import build_web_app
from handlers import customer, steward
from handlers.deps import Deps
from storage.db import create_engine, is_sqlite, session_factory
from storage.migrate import upgrade_async
from storage.uow import Database

log = logging.getLogger(__name__)

# SIGTERM: how long the batch in hand and the sends in flight may take, all together; below
# Docker's default 10 s before it sends SIGKILL.
SHUTDOWN_GRACE_S = 8.0
STALL_AFTER_S = 60.0  # a loop silent this long is reported stalled by /healthz
MAX_CONNECT_BACKOFF_S = 60.0  # the longest wait between two tries to reach Telegram


class TokenRejected(ConfigError):
    """Telegram refused the bot token (401/404): a configuration error, not an outage."""

    def __init__(self) -> None:
        super().__init__("TELEGRAM_BOT_TOKEN: Telegram rejected the token (401 Unauthorized)")


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
    mailer: Mailer | None = field(default=None, init=False)  # None: e-mail is off
    deps: Deps = field(init=False)
    metrics: Metrics = field(default_factory=Metrics, init=False)
    web_port: int | None = field(default=None, init=False)
    supervisor: Supervisor = field(init=False)
    telegram_ready: bool = field(default=False, init=False)  # the first Bot API call answered
    _runner: web.AppRunner | None = field(default=None, init=False)
    _connector: asyncio.Task[None] | None = field(default=None, init=False)
    _secret: str | None = field(default=None, init=False)
    _fatal: asyncio.Future[TokenRejected] | None = field(default=None, init=False)
    _stopped: bool = field(default=False, init=False)

    async def start(self) -> None:
        """Migrate, connect, recover what a previous run left, and start every loop.

        Telegram being unreachable does not stop start-up: what needs no Telegram runs at once
        and the rest starts in the background when the first Bot API call answers.
        """
        env = self.config.env
        if not env.telegram_bot_token:
            raise RuntimeError("TELEGRAM_BOT_TOKEN is not set")
        self._fatal = asyncio.get_running_loop().create_future()
        await upgrade_async(env.database_url)
        self._engine = create_engine(env.database_url)
        self.db = Database(session_factory(self._engine),
                           serialize_writes=is_sqlite(env.database_url))
        self.application = build_application(self.config, env.telegram_bot_token)
        self.deps = Deps(config=self.config, clock=self.clock)
        self.application.bot_data["deps"] = self.deps
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
                             on_failed=hooks["on_failed"],
                             lease=timedelta(seconds=self.config.file.telegram.outbox_lease_seconds))
        if is_sqlite(env.database_url):
            # One instance per SQLite file: whatever is leased was leased by this desk's
            # previous run, now dead, so its rows (an acknowledgement held behind a retry)
            # go out now instead of a lease later, and a timer it was running fires at start.
            # PostgreSQL instances wait for expiry.
            async with self.db.uow() as uow:
                await uow.repos.outbox.release_all_leases()
                await uow.repos.timers.release_all_leases()
                await uow.commit()
        self.db.on_outbox.append(self.sender.wake)
        self.scheduler = Scheduler(self.db, self.clock, timer_handlers(self.deps))
        self.db.on_timers.append(self.scheduler.wake)
        self.worker = InboxWorker(self.db, self.application, self.clock, metrics=self.metrics,
                                  on_parked=customer.on_parked)
        self.supervisor = Supervisor(self.metrics)
        self._supervise("scheduler", self.scheduler, self.scheduler.run)
        await self._start_mailer()
        tg = self.config.file.telegram
        self._secret = tg.webhook_secret or (secrets.token_urlsafe(32) if tg.webhook_url else None)
        await self._start_web(self._secret)
        # One try in line (the usual case: Telegram answers and start() returns serving); if it
        # does not, keep trying in the background with capped backoff.
        if not await self._connect_once(attempt=1, wait=1.0):
            self._connector = asyncio.create_task(self._connect_with_backoff(), name="telegram")

    async def _start_mailer(self) -> None:
        """E-mail needs no Telegram: it starts with the scheduler, or says once that it is off."""
        smtp = SmtpSettings.from_config(self.config)
        if smtp is None:
            log.info("e-mail is off: no [email] section in the configuration")
            return
        if is_sqlite(self.config.env.database_url):
            async with self.db.uow() as uow:  # one instance per file: the leases were ours
                await uow.repos.mail.release_leases()
                await uow.commit()
        self.mailer = Mailer(self.db, self.clock, smtp, metrics=self.metrics,
                             on_problem=steward.mail_hooks(self.deps.desk))
        self.db.on_mail.append(self.mailer.wake)
        log.info("e-mail via %s:%d (%s)", smtp.host, smtp.port, smtp.security)
        # A send may wait `timeout` at each SMTP step: that is not a stall.
        self._supervise("mailer", self.mailer, self.mailer.run,
                        stall_after=STALL_AFTER_S + 6 * smtp.timeout)

    async def _connect_once(self, attempt: int, wait: float) -> bool:
        """The first Bot API calls; True once they answered and every loop is serving."""
        try:
            await self.application.initialize()  # PTB's getMe: the bot's identity
            tg = self.config.file.telegram
            if tg.webhook_url:
                # Telegram pushes to us; each update is stored before we answer 200.
                await self.api.call("setWebhook", {"url": tg.webhook_url,
                                                   "secret_token": self._secret,
                                                   "allowed_updates": ALLOWED_UPDATES})
        except InvalidToken:
            raise TokenRejected from None  # the message would carry the token: not re-raised
        except ApiError as exc:
            if exc.status in (401, 404):
                raise TokenRejected from None
            self._telegram_down(attempt, wait, f"{exc.status}")
            return False
        except (TelegramError, ApiUnavailable) as exc:
            self._telegram_down(attempt, wait, type(exc).__name__)
            return False
        self.telegram_ready = True
        if attempt > 1:
            log.info("Telegram answered (attempt %d); serving", attempt)
        await self._serve()
        return True

    @staticmethod
    def _telegram_down(attempt: int, wait: float, why: str) -> None:
        # One line per attempt, no traceback: a network error is expected here, not a bug.
        log.warning("Telegram unreachable (%s), attempt %d; retrying in %.0fs", why, attempt, wait)

    async def _connect_with_backoff(self) -> None:
        attempt, wait = 1, 1.0
        try:
            while True:
                await asyncio.sleep(wait)
                attempt, wait = attempt + 1, min(wait * 2, MAX_CONNECT_BACKOFF_S)
                try:
                    if await self._connect_once(attempt, wait):
                        return
                except TokenRejected:
                    raise
                except Exception as exc:  # e.g. the database failed in recovery: try again
                    log.warning("start-up failed (%s), attempt %d; retrying in %.0fs",
                                type(exc).__name__, attempt, wait)
        except TokenRejected as exc:
            assert self._fatal is not None
            self._fatal.set_result(exc)

    async def _serve(self) -> None:
        """Start what needs Telegram: recovery, the worker, the sender and (polling) the poller."""
        recovered = await self.worker.recover()
        if recovered:
            log.info("recovered %d stored updates", recovered)
        self._supervise("sender", self.sender, self.sender.run)
        self._supervise("inbox-worker", self.worker, self.worker.run)
        tg = self.config.file.telegram
        if not tg.webhook_url and self.poll:
            poller = Poller(self.db, self.api, self.worker, self.clock,
                            timeout=tg.poll_timeout, metrics=self.metrics)
            # A long poll plus its HTTP margin plus the longest backoff is not a stall.
            self._supervise("poller", poller, poller.run,
                            stall_after=tg.poll_timeout + 10 + 60 + STALL_AFTER_S)

    def _supervise(self, name: str, owner: Any, run: Callable[[], Coroutine[Any, Any, None]],
                   stall_after: float = STALL_AFTER_S) -> None:
        owner.heartbeat = self.supervisor.heartbeat(name)
        self.supervisor.start(name, run, stall_after=stall_after)

    def problems(self) -> dict[str, str]:
        """What keeps this desk from being healthy: part → state (empty when all is well)."""
        out = self.supervisor.problems()
        if not self.telegram_ready:
            out["telegram"] = "unreachable"
        return out

    async def _start_web(self, secret: str | None) -> None:
        w = self.config.file.web
        if not w.enabled:
            return
        app = build_web_app(self.db, self.worker, self.clock, self.metrics,
                            webhook_path=w.webhook_path, secret=secret, problems=self.problems)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, w.host, w.port)
        try:
            await site.start()
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            raise ConfigError(f"[web] port: {w.host}:{w.port} is already in use "
                              "(choose a free port)") from None
        self.web_port = self._runner.addresses[0][1]

    async def stop(self, grace: float = SHUTDOWN_GRACE_S) -> None:
        """Stop gracefully: no new updates, the batch in hand and the sends in flight finish
        and are recorded (all within `grace` seconds); what is stored stays stored."""
        if self._stopped:
            return
        self._stopped = True
        if self._connector is not None:
            self._connector.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._connector
        sup = getattr(self, "supervisor", None)
        if sup is not None:
            # One budget for all the steps, so the whole stop stays within `grace`.
            deadline = time.monotonic() + grace

            def left() -> float:
                return max(0.1, deadline - time.monotonic())

            await sup.cancel("poller")  # unconfirmed updates are redelivered by Telegram
            self.worker.stop()
            await sup.wait("inbox-worker", left())
            if sup.running("sender"):
                self.sender.stop()
                await sup.wait("sender", left())
                with contextlib.suppress(Exception):  # the database may be what failed
                    await self.sender.finish(left())
            self.scheduler.stop()
            await sup.wait("scheduler", left())
            if self.mailer is not None:
                self.mailer.stop()
                await sup.wait("mailer", left())
            await sup.cancel_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if hasattr(self, "application"):
            with contextlib.suppress(Exception):
                await self.application.shutdown()
        if hasattr(self, "api"):
            await self.api.close()
        if hasattr(self, "_engine"):
            await self._engine.dispose()

    async def run_forever(self, stop: asyncio.Event | None = None) -> None:
        """Start and run until `stop` is set (or cancelled); a rejected token raises."""
        stop = stop or asyncio.Event()
        try:
            await self.start()
            assert self._fatal is not None
            stopping: asyncio.Future[Any] = asyncio.ensure_future(stop.wait())
            await asyncio.wait([stopping, self._fatal], return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            if self._fatal.done():
                raise self._fatal.result()
            log.info("stopping: finishing the work in hand")
        finally:
            await self.stop()


def timer_handlers(deps: Deps) -> dict[str, TimerHandler]:
    """Which service runs for each timer kind."""
    return {**customer.timer_handlers(deps.desk), **steward.timer_handlers(deps.desk)}
