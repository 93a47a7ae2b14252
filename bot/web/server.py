"""aiohttp app: Telegram webhook (stored before 200), /healthz and /metrics."""

from __future__ import annotations

import hmac
import json
import logging
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from bot.clock import Clock
from bot.inbox import InboxWorker, store
from bot.metrics import Metrics
from bot.services import staff_group
from storage.uow import Database, UnitOfWork

log = logging.getLogger(__name__)


def build_web_app(db: Database, worker: InboxWorker, clock: Clock, metrics: Metrics, *,
                  webhook_path: str, secret: str | None) -> web.Application:
    """The HTTP app; the webhook route exists only when a secret is configured."""
    app = web.Application(client_max_size=2 * 1024 * 1024)

    async def webhook(request: web.Request) -> web.Response:
        got = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
        if secret is None or not hmac.compare_digest(got, secret):
            return web.Response(status=401, text="wrong secret token")
        try:
            update: Any = json.loads(await request.read())
            int(update["update_id"])
        except (ValueError, KeyError, TypeError):
            return web.Response(status=400, text="not an update")
        new = await store(db, clock, [update])
        # 200 only now: the update is committed, so Telegram may forget it.
        metrics.updates_received.inc(len(new))
        worker.submit(new)
        return web.Response(text="ok")

    async def healthz(_request: web.Request) -> web.Response:
        try:
            async with db.uow() as uow:
                inbox = await uow.repos.inbox.count("pending")
                outbox = await uow.repos.outbox.count_pending()
            groups = await staff_group_health(db)
        except Exception as exc:  # report, don't crash: this is what monitoring asks
            return web.json_response({"ok": False, "error": type(exc).__name__}, status=503)
        return web.json_response({"ok": True, "inbox_pending": inbox, "outbox_pending": outbox,
                                  "staff_group": groups})

    async def metrics_view(_request: web.Request) -> web.Response:
        async with db.uow() as uow:
            metrics.inbox_pending.set(await uow.repos.inbox.count("pending"))
            metrics.outbox_pending.set(await uow.repos.outbox.count_pending())
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
