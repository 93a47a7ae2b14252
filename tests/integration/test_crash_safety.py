"""Nothing is lost or done twice: stored updates, queued messages, redeliveries, 429s."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import select

from bot.bot_api import BotApi
from bot.clock import Clock
from bot.config import Config
from bot.emulator import Emulator
from bot.i18n import t
from bot.inbox import store
from storage.db import create_engine, session_factory
from storage.migrate import upgrade_async
from storage.models import InboxUpdate, OutboxMessage
from storage.uow import Database
from tests.conftest import TOKEN, make_config


async def _rows(db_url: str, model: Any) -> list[Any]:
    engine = create_engine(db_url)
    try:
        async with session_factory(engine)() as s:
            return list((await s.scalars(select(model))).all())
    finally:
        await engine.dispose()


async def _wait_until(cond: Any, within: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + within
    while not await cond():
        if loop.time() > end:
            raise TimeoutError("condition not reached")
        await asyncio.sleep(0.05)


def greetings(emu: Emulator, chat_id: int, lang: str, name: str) -> list[dict[str, Any]]:
    """The /start greetings the bot sent to a chat."""
    text = t(lang, "start.greeting", name=name)
    return [m for m in emu.sent(chat_id) if m.get("text") == text]


async def test_stored_but_unprocessed_update_runs_once_after_restart(
        emu: Emulator, config: Config, db_url: str, desk_factory: Any) -> None:
    # Play the poller's part up to the crash: fetch, store, confirm — then "die" before
    # the worker touches it.
    await upgrade_async(db_url)
    await emu.user(7001, first_name="Kai", language_code="en").send_text("/start")
    api = BotApi(emu.base_url, TOKEN)
    try:
        raw = await api.call("getUpdates", {"timeout": 0})
        engine = create_engine(db_url)
        db = Database(session_factory(engine), serialize_writes=True)
        assert len(await store(db, Clock(), raw)) == 1
        await engine.dispose()
        await api.call("getUpdates", {"offset": raw[-1]["update_id"] + 1, "timeout": 0})
    finally:
        await api.close()
    assert emu.pending_updates() == 0  # Telegram has forgotten it: only our inbox has it

    app = await desk_factory(config)
    await emu.wait_for_sent(7001)
    await app.sender.drain()
    await app.stop()
    app = await desk_factory(config)  # and once more: nothing is processed twice
    await app.sender.drain()
    assert len(greetings(emu, 7001, "en", "Kai")) == 1
    [row] = await _rows(db_url, InboxUpdate)
    assert row.status == "done" and row.attempts == 0


async def test_same_update_id_twice_is_processed_once(
        emu: Emulator, db_url: str, desk_factory: Any) -> None:
    config = make_config(db_url, emu.base_url,
                         telegram={"webhook_url": "https://example.invalid/hook",
                                   "webhook_secret": "s3cret", "poll_timeout": 1,
                                   "limits": {"overall_per_second": 0, "per_chat_per_second": 0,
                                              "per_group_per_minute": 0}})
    app = await desk_factory(config)
    emu.user(7002, first_name="Lin", language_code="en")
    update = {"update_id": 42, "message": {
        "message_id": 1, "date": 1_700_000_000, "text": "/start",
        "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        "chat": {"id": 7002, "type": "private", "first_name": "Lin"},
        "from": {"id": 7002, "is_bot": False, "first_name": "Lin", "language_code": "en"}}}
    url = f"http://127.0.0.1:{app.web_port}/telegram/webhook"
    async with aiohttp.ClientSession() as http:
        for _ in range(2):
            async with http.post(url, json=update,
                                 headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret"}) as r:
                assert r.status == 200
        async with http.post(url, json=update,
                             headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"}) as r:
            assert r.status == 401
    await emu.wait_for_sent(7002)
    await app.sender.drain()
    assert len(greetings(emu, 7002, "en", "Lin")) == 1
    assert [r.update_id for r in await _rows(db_url, InboxUpdate)] == [42]


async def test_sender_obeys_retry_after(emu: Emulator, desk: Any) -> None:
    emu.add_fault(method="sendMessage", chat_id=7003, kind="429", retry_after=1, times=1)
    await emu.user(7003, first_name="Mo", language_code="en").send_text("/start")
    await emu.wait_for_sent(7003, timeout=10)
    calls = [c for c in emu.calls if c.method == "sendMessage" and c.params.get("chat_id") == 7003]
    assert [c.status for c in calls] == [429, 200]
    assert calls[1].at - calls[0].at >= 1.0  # waited what Telegram asked for, not less


async def test_transient_errors_are_retried_until_delivered(emu: Emulator, desk: Any) -> None:
    emu.add_fault(method="sendMessage", chat_id=7004, kind="5xx", times=2)
    await emu.user(7004, first_name="Ng", language_code="en").send_text("/start")
    await emu.wait_for_sent(7004, timeout=15)
    statuses = [c.status for c in emu.calls
                if c.method == "sendMessage" and c.params.get("chat_id") == 7004]
    assert statuses == [502, 502, 200]


async def test_blocked_user_is_not_retried_forever(emu: Emulator, desk: Any,
                                                   db_url: str) -> None:
    user = emu.user(7005, first_name="Oz", language_code="en")
    user.block()
    await user.send_text("/start")

    async def failed() -> bool:
        return any(r.status == "failed" for r in await _rows(db_url, OutboxMessage))

    await _wait_until(failed)
    await asyncio.sleep(0.3)
    calls = [c for c in emu.calls if c.method == "sendMessage"]
    assert [c.status for c in calls] == [403]
    [row] = await _rows(db_url, OutboxMessage)
    assert "blocked" in (row.error or "")


async def test_queued_message_survives_a_killed_process(
        emu: Emulator, db_url: str, tmp_path: Path) -> None:
    """SIGKILL the real bot process while its reply is queued; the next run sends it once."""
    emu.add_fault(method="sendMessage", chat_id=7006, kind="5xx", times=None)
    cfg = tmp_path / "desk.toml"
    # The default 60 s lease: on SQLite (one instance) the restarted run takes the killed
    # run's rows at once — the acknowledgement must not wait a lease (the wait below is 30 s).
    cfg.write_text("[telegram]\npoll_timeout = 1\n"
                   "[telegram.limits]\noverall_per_second = 0\n"
                   "per_chat_per_second = 0\nper_group_per_minute = 0\n[web]\nport = 0\n")
    env = {**os.environ, "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": emu.base_url,
           "DATABASE_URL": db_url, "COMPLAINT_BOT_CONFIG": str(cfg)}

    def spawn() -> subprocess.Popen[bytes]:
        return subprocess.Popen([sys.executable, "-m", "bot", "run"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    proc = spawn()
    try:
        await emu.user(7006, first_name="Pia", language_code="en").send_text("/start")

        async def queued_and_tried() -> bool:
            try:
                rows = await _rows(db_url, OutboxMessage)
            except Exception:  # noqa: BLE001 - the process has not migrated the file yet
                return False
            return bool(rows) and rows[0].status == "pending" and any(
                c.status == 502 for c in emu.calls if c.method == "sendMessage")

        await _wait_until(queued_and_tried, within=30)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        emu.clear_faults()
        proc = spawn()
        await emu.wait_for_sent(7006, timeout=30)
        await _wait_until(lambda: _all_sent(db_url), within=15)
        await asyncio.sleep(0.5)
        assert len(greetings(emu, 7006, "en", "Pia")) == 1
        assert [c.status for c in emu.calls if c.method == "sendMessage"][-1] == 200
    finally:
        proc.kill()
        proc.wait(10)


async def _all_sent(db_url: str) -> bool:
    return all(r.status == "sent" for r in await _rows(db_url, OutboxMessage))


async def test_a_failing_update_is_parked_without_losing_its_batch(
        emu: Emulator, desk: Any, db_url: str) -> None:
    """One handler error in a batch: the others are processed, the sender is told politely."""
    from telegram import Update as TgUpdate
    from telegram.ext import ContextTypes, MessageHandler, filters

    async def boom(_u: TgUpdate, _c: ContextTypes.DEFAULT_TYPE) -> None:
        raise RuntimeError("a handler bug")

    desk.application.add_handler(MessageHandler(filters.Regex("^boom$"), boom), group=-1)
    updates = []
    for n, (uid, name, text) in enumerate(((7101, "Ai", "/start"), (7102, "Bo", "boom"),
                                           (7103, "Cy", "/start"))):
        emu.user(uid, first_name=name, language_code="en")
        updates.append({"update_id": 900 + n, "message": {
            "message_id": 1, "date": 1_700_000_000, "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}]
            if text.startswith("/") else [],
            "chat": {"id": uid, "type": "private", "first_name": name},
            "from": {"id": uid, "is_bot": False, "first_name": name, "language_code": "en"}}})
    # Stored and handed over together, as the poller does with one getUpdates answer.
    desk.worker.submit(await store(desk.db, desk.clock, updates))
    for uid, name in ((7101, "Ai"), (7103, "Cy")):
        await emu.wait_for_sent(uid)
        assert len(greetings(emu, uid, "en", name)) == 1
    [apology] = await emu.wait_for_sent(7102)
    assert apology["text"] == t("en", "common.failed")
    await desk.sender.drain()
    rows = {r.update_id: (r.status, r.error) for r in await _rows(db_url, InboxUpdate)}
    assert rows == {900: ("done", None), 901: ("failed", "RuntimeError"), 902: ("done", None)}
