"""Every committed update is processed: out-of-order webhook deliveries, poison payloads."""

from __future__ import annotations

from typing import Any

import aiohttp
from sqlalchemy import select

from bot.app import App
from bot.config import Config
from bot.emulator import Emulator
from bot.inbox import chat_of, store
from storage.db import create_engine, session_factory
from storage.models import InboxUpdate
from tests.conftest import make_config
from tests.integration.test_crash_safety import _wait_until, greetings

SECRET = "s3cret"
HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET}


def _start(update_id: int, uid: int, name: str) -> dict[str, Any]:
    return {"update_id": update_id, "message": {
        "message_id": update_id, "date": 1_700_000_000, "text": "/start",
        "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        "chat": {"id": uid, "type": "private", "first_name": name},
        "from": {"id": uid, "is_bot": False, "first_name": name, "language_code": "en"}}}


def webhook_config(db_url: str, emu: Emulator | str) -> Config:
    """A desk fed by webhook (the emulator accepts setWebhook; we POST the updates ourselves)."""
    return make_config(db_url, emu if isinstance(emu, str) else emu.base_url,
                       telegram={"webhook_url": "https://example.invalid/hook",
                                 "webhook_secret": SECRET, "poll_timeout": 1,
                                 "limits": {"overall_per_second": 0, "per_chat_per_second": 0,
                                            "per_group_per_minute": 0}})


async def _inbox(db_url: str) -> dict[int, tuple[str, str | None]]:
    engine = create_engine(db_url)
    try:
        async with session_factory(engine)() as s:
            rows = (await s.scalars(select(InboxUpdate))).all()
            return {r.update_id: (r.status, r.error) for r in rows}
    finally:
        await engine.dispose()


async def _post(app: App, body: Any, *, raw: bytes | None = None) -> int:
    url = f"http://127.0.0.1:{app.web_port}/telegram/webhook"
    async with aiohttp.ClientSession() as http:
        kw: dict[str, Any] = {"data": raw} if raw is not None else {"json": body}
        async with http.post(url, headers=HEADERS, **kw) as r:
            return r.status


async def test_webhook_update_arriving_after_a_higher_one_is_processed(
        emu: Emulator, db_url: str, desk_factory: Any) -> None:
    """Telegram's parallel webhook connections deliver 501 before 500: both are answered."""
    app = await desk_factory(webhook_config(db_url, emu))
    emu.user(7201, first_name="Uma", language_code="en")
    emu.user(7202, first_name="Vic", language_code="en")
    assert await _post(app, _start(501, 7201, "Uma")) == 200
    await emu.wait_for_sent(7201)
    assert await _post(app, _start(500, 7202, "Vic")) == 200
    await emu.wait_for_sent(7202)
    await app.sender.drain()
    assert len(greetings(emu, 7201, "en", "Uma")) == 1
    assert len(greetings(emu, 7202, "en", "Vic")) == 1
    assert await _inbox(db_url) == {500: ("done", None), 501: ("done", None)}


async def test_queued_updates_run_in_update_order_whatever_order_they_came_in(
        emu: Emulator, db_url: str, desk_factory: Any) -> None:
    """Handed over 12, 10, 11 for one chat, they run 10, 11, 12 (per-chat order)."""
    from telegram import Update as TgUpdate
    from telegram.ext import ContextTypes, TypeHandler

    app = await desk_factory(webhook_config(db_url, emu))
    seen: list[int] = []

    async def record(u: TgUpdate, _c: ContextTypes.DEFAULT_TYPE) -> None:
        seen.append(u.update_id)

    app.application.add_handler(TypeHandler(TgUpdate, record), group=-1)
    emu.user(7203, first_name="Wu", language_code="en")
    stored = await store(app.db, app.clock, [_start(uid, 7203, "Wu") for uid in (12, 10, 11)])
    app.worker.submit(stored)
    await _wait_until(lambda: _all_done(db_url, 3))
    assert seen == [10, 11, 12]


async def _all_done(db_url: str, n: int) -> bool:
    rows = await _inbox(db_url)
    return len(rows) == n and all(s != "pending" for s, _ in rows.values())


async def test_an_unparseable_update_is_parked_and_the_rest_flow(
        emu: Emulator, db_url: str, desk_factory: Any) -> None:
    """A message without `date` in a batch: that one parked (row + metric), the others run."""
    app = await desk_factory(webhook_config(db_url, emu))
    emu.user(7204, first_name="Xi", language_code="en")
    emu.user(7205, first_name="Yo", language_code="en")
    poison = _start(801, 7204, "Xi")
    del poison["message"]["date"]
    batch = [_start(800, 7204, "Xi"), poison, _start(802, 7205, "Yo")]
    app.worker.submit(await store(app.db, app.clock, batch))
    await emu.wait_for_sent(7205)
    await _wait_until(lambda: _all_done(db_url, 3))
    assert await _inbox(db_url) == {800: ("done", None), 801: ("failed", "unparseable"),
                                    802: ("done", None)}
    assert app.metrics.updates_unparseable._value.get() == 1
    assert len(greetings(emu, 7204, "en", "Xi")) == 1


async def test_webhook_refuses_what_it_cannot_store_and_parks_what_it_cannot_read(
        emu: Emulator, db_url: str, desk_factory: Any) -> None:
    """Bad JSON, a non-integer update_id: 400, not stored; a message without chat: 200, parked."""
    app = await desk_factory(webhook_config(db_url, emu))
    assert await _post(app, None, raw=b"{not json") == 400
    assert await _post(app, {**_start(0, 7206, "Zed"), "update_id": "600"}) == 400
    assert await _post(app, {**_start(0, 7206, "Zed"), "update_id": 6.5}) == 400
    assert await _post(app, [1, 2]) == 400
    chatless = _start(601, 7206, "Zed")
    del chatless["message"]["chat"]
    assert await _post(app, chatless) == 200
    assert await _post(app, _start(602, 7206, "Zed")) == 200
    emu.user(7206, first_name="Zed", language_code="en")
    await emu.wait_for_sent(7206)
    await _wait_until(lambda: _all_done(db_url, 2))
    rows = await _inbox(db_url)
    assert rows[602] == ("done", None)
    assert rows[601][0] == "failed"


def test_chat_of_survives_malformed_payloads() -> None:
    """chat_of never raises: a malformed update is stored (chat unknown) and parked later."""
    assert chat_of({"update_id": 1, "message": {"message_id": 1}}) is None
    assert chat_of({"update_id": 1, "message": None}) is None
    assert chat_of({"update_id": 1, "callback_query": {"id": "x"}}) is None
    assert chat_of({"update_id": 1, "message": {"chat": {"id": "12"}}}) == 12


async def test_a_database_conflict_is_retried_not_parked(
        emu: Emulator, db_url: str, desk_factory: Any) -> None:
    """A deadlock between two instances says nothing about the update: tried again later."""
    from sqlalchemy.exc import DBAPIError
    from telegram import Update as TgUpdate
    from telegram.ext import ContextTypes, MessageHandler, filters

    class Deadlock(Exception):
        sqlstate = "40P01"  # what asyncpg's errors carry: PostgreSQL's deadlock_detected

    calls = []

    async def conflict_once(_u: TgUpdate, _c: ContextTypes.DEFAULT_TYPE) -> None:
        calls.append(1)
        if len(calls) <= 3:  # the whole first pass (one try, then two careful ones) meets it
            raise DBAPIError("UPDATE tickets", None, Deadlock())

    desk = await desk_factory(webhook_config(db_url, emu))
    desk.application.add_handler(MessageHandler(filters.ALL, conflict_once), group=-1)
    emu.user(9401, first_name="Dee", language_code="en")
    assert await _post(desk, _start(800, 9401, "Dee")) == 200
    await emu.wait_for_sent(9401, timeout=30)  # after the supervisor's backoff
    assert len(greetings(emu, 9401, "en", "Dee")) == 1
    assert (await _inbox(db_url))[800] == ("done", None)
