"""aiohttp app: Telegram webhook (stored before 200), /healthz and /metrics."""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Callable
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from bot.clock import Clock
from bot.inbox import InboxWorker, chat_of, store, valid_update_id
from bot.metrics import Metrics
from bot.services import staff_group
from storage.uow import Database, UnitOfWork

log = logging.getLogger(__name__)


def build_web_app(db: Database, worker: InboxWorker, clock: Clock, metrics: Metrics, *,
                  webhook_path: str, secret: str | None,
                  problems: Callable[[], dict[str, str]] = dict) -> web.Application:
    """The HTTP app; the webhook route exists only when a secret is configured.

    `problems` names the parts that are not healthy (a crashed or stalled loop, Telegram
    unreachable); any makes /healthz answer 503.
    """
    app = web.Application(client_max_size=2 * 1024 * 1024)

    async def webhook(request: web.Request) -> web.Response:
        got = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
        if secret is None or not hmac.compare_digest(got, secret):
            return web.Response(status=401, text="wrong secret token")
        try:
            update: Any = json.loads(await request.read())
        except ValueError:
            return web.Response(status=400, text="not JSON")
        if not valid_update_id(update):
            # Without an integer update_id it cannot be stored idempotently: refuse it loudly.
            return web.Response(status=400, text="not an update")
        if chat_of(update) is None:
            # Still stored and answered 200 (a 500 would be redelivered for ever); the worker
            # parks it if PTB cannot read it.
            log.warning("update %s names no chat", update["update_id"])
        new = await store(db, clock, [update])
        # 200 only now: the update is committed, so Telegram may forget it.
        metrics.updates_received.inc(len(new))
        worker.submit(new)
        return web.Response(text="ok")

    async def healthz(_request: web.Request) -> web.Response:
        bad = problems()
        try:
            async with db.uow() as uow:
                inbox = await uow.repos.inbox.count("pending")
                outbox = await uow.repos.outbox.count_pending()
            groups = await staff_group_health(db)
        except Exception as exc:  # report, don't crash: this is what monitoring asks
            return web.json_response({"ok": False, "error": type(exc).__name__,
                                      "problems": bad}, status=503)
        body: dict[str, Any] = {"ok": not bad, "inbox_pending": inbox, "outbox_pending": outbox,
                                "staff_group": groups}
        if bad:
            body["problems"] = bad
        return web.json_response(body, status=503 if bad else 200)

    async def metrics_view(_request: web.Request) -> web.Response:
        async with db.uow() as uow:
            metrics.inbox_pending.set(await uow.repos.inbox.count("pending"))
            metrics.outbox_pending.set(await uow.repos.outbox.count_pending())
            metrics.mail_pending.set(await uow.repos.mail.count_pending())
            await _staff_group_metrics(uow, metrics)
        return web.Response(body=generate_latest(metrics.registry),
                            headers={"Content-Type": CONTENT_TYPE_LATEST})

    if secret is not None:
        app.router.add_post(webhook_path, webhook)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics_view)
    return app


async def staff_group_health(db: Database) -> dict[str, Any]:
    """Staff groups the bot cannot post in and the tickets waiting for them. It does not fail
    /healthz: a restart cannot put the bot back into a group, an admin has to."""
    async with db.uow() as uow:
        down = [{"chat_id": c.chat_id, "problem": c.problem, "retries": c.retries,
                 "since": c.problem_since.isoformat() if c.problem_since else None}
                for c in await staff_group.problems(uow)]
        waiting = await uow.repos.handoff.count_awaiting_group()
    return {"ok": not down, "tickets_waiting": waiting, "unreachable": down}


async def _staff_group_metrics(uow: UnitOfWork, metrics: Metrics) -> None:
    metrics.staff_group_unreachable.clear()  # a group that works again drops out
    for c in await staff_group.problems(uow):
        metrics.staff_group_unreachable.labels(chat_id=str(c.chat_id)).set(1)
    metrics.tickets_awaiting_staff_group.set(await uow.repos.handoff.count_awaiting_group())
