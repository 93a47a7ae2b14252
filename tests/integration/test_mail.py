"""E-mail against a real SMTP server on loopback: delivered once, retried, failures told."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
from aiosmtpd.controller import Controller

from bot.app import App
from bot.clock import FrozenClock
from bot.config import EnvSettings
from bot.emulator import Emulator
from bot.mailer import Mailer, SmtpSettings
from bot.metrics import Metrics
from bot.services.desk import Desk
from bot.services.mail_render import EscalationMail, escalation_mail
from handlers import steward
from storage.db import create_engine, session_factory
from storage.migrate import upgrade_async
from storage.uow import Database
from tests.conftest import make_config
from tests.integration.mail_helpers import (
    HOST,
    T0,
    SmtpHandler,
    add_ticket,
    free_port,
    self_signed,
    start_server,
)

FROM = "desk@example.com"
TO = ["boss@example.com", "duty@example.com"]
CC = ["committee@example.com"]


@pytest.fixture
def smtp() -> Iterator[tuple[SmtpHandler, Controller]]:
    """A plain SMTP server on loopback."""
    handler = SmtpHandler()
    server = start_server(handler)
    yield handler, server
    server.stop()


def _metric(m: Metrics, name: str) -> float:
    return m.registry.get_sample_value(name) or 0.0


async def _queue(db: Database, now: Any, *, ticket_id: int | None = None,
                 subject: str = "[投诉 260312-K7Q3M] 升级至第 1 级 · 值班经理",
                 to: list[str] = TO, cc: list[str] = CC) -> int:
    async with db.uow() as uow:
        row = uow.repos.mail.add(to, cc, subject, "plain body", "<p>html body</p>", now,
                                 ticket_id=ticket_id)
        await uow.flush()
        await uow.commit()
        return row.id


async def _row(db: Database, mail_id: int) -> Any:
    """The mail row's columns (read before the unit of work ends and expires the object)."""
    async with db.uow() as uow:
        (row,) = await uow.repos.mail.rows(id=mail_id)
        return SimpleNamespace(**{c.key: getattr(row, c.key) for c in row.__table__.columns})


async def _told(db: Database, **where: Any) -> list[tuple[int, str, int | None, dict[str, Any]]]:
    """Outbox rows as (chat, method, ticket, payload)."""
    async with db.uow() as uow:
        return [(r.chat_id, r.method, r.ticket_id, json.loads(r.payload))
                for r in await uow.repos.outbox.rows(**where)]


def _mailer(db: Database, clock: FrozenClock, port: int, *, security: str = "none",
            metrics: Metrics | None = None, **kw: Any) -> Mailer:
    desk = Desk.from_config(make_config("sqlite+aiosqlite://", "http://127.0.0.1:9",
                                        telegram={"staff_group_id": -1009}), clock)
    return Mailer(db, clock, SmtpSettings(HOST, port, security, FROM, timeout=5),
                  metrics=metrics or Metrics(), on_problem=steward.mail_hooks(desk), **kw)


async def test_a_queued_escalation_mail_arrives_whole(
        emu: Emulator, db_url: str, desk_factory: Any,
        caplog: pytest.LogCaptureFixture) -> None:
    handler = SmtpHandler()  # asking for a login, as a real relay would
    server = start_server(handler, authenticator=handler.authenticate, auth_require_tls=False)
    config = make_config(db_url, emu.base_url,
                         email={"host": HOST, "port": server.port, "security": "none",
                                "from_address": FROM})
    config = config.model_copy(update={"env": EnvSettings(
        telegram_bot_token=config.env.telegram_bot_token,
        telegram_api_url=config.env.telegram_api_url, database_url=db_url,
        smtp_user="desk", smtp_password="s3cret-pw")})
    caplog.set_level(logging.DEBUG)
    app: App = await desk_factory(config)
    assert app.deps.desk.mail_enabled and app.mailer is not None
    story = "电梯坏了 <script>alert('x')</script> & 三天没人管"
    subject, text, html = escalation_mail(EscalationMail(
        ref="260312-K7Q3M", level=1, level_name="值班经理", reason="30 分钟无人签收",
        category="设备管理", contact_name="张女士", facts=story, desired_outcome="今天修好",
        first_response_due=None, reply_due=None, card_link="https://t.me/c/1/77"), "zh_CN")
    async with app.db.uow() as uow:  # the commit wakes the mailer: no poll interval waited
        uow.repos.mail.add(TO, CC, subject, text, html, app.clock.now())
        await uow.commit()

    (got,) = await handler.wait_for(1)
    msg = got.message
    assert got.mail_from == FROM and got.rcpt_tos == TO + CC
    assert msg["To"] == ", ".join(TO) and msg["Cc"] == ", ".join(CC)
    assert msg["Subject"] == "[投诉 260312-K7Q3M] 升级至第 1 级 · 值班经理"
    assert msg["Message-ID"] and msg["Date"] and msg["From"] == FROM
    assert msg.get_content_type() == "multipart/alternative"
    plain, rich = msg.get_body(("plain",)), msg.get_body(("html",))
    assert plain is not None and rich is not None
    assert story in plain.get_content()
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp;" in rich.get_content()
    assert "<script>" not in rich.get_content()
    assert handler.logins == [("desk", "s3cret-pw")]
    assert "s3cret-pw" not in caplog.text and "e-mail is off" not in caplog.text
    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{app.web_port}/metrics") as r:
            metrics = await r.text()
    assert "complaint_bot_mail_sent_total 1.0" in metrics
    assert "complaint_bot_mail_pending 0.0" in metrics
    server.stop()


async def test_smtp_down_retries_with_backoff_then_delivers_once(database: Database) -> None:
    clock, port, metrics = FrozenClock(T0), free_port(), Metrics()
    mailer = _mailer(database, clock, port, metrics=metrics)
    mail_id = await _queue(database, clock.now())

    assert await mailer.run_due() == 0  # nothing listens on the port
    row = await _row(database, mail_id)
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.not_before == T0 + timedelta(seconds=30) and "Connect" in row.error
    clock.advance(timedelta(seconds=30))
    assert await mailer.run_due() == 0
    row = await _row(database, mail_id)
    assert row.attempts == 2 and row.not_before == clock.now() + timedelta(seconds=60)

    handler = SmtpHandler()
    server = start_server(handler, port)
    try:
        assert await mailer.run_due() == 0  # back, but the mail's next try is not due yet
        assert handler.received == []
        clock.advance(timedelta(seconds=60))
        assert await mailer.run_due() == 1
        clock.advance(timedelta(hours=1))
        assert await mailer.run_due() == 0  # sent rows are never tried again
    finally:
        server.stop()
    assert len(handler.received) == 1
    row = await _row(database, mail_id)
    assert (row.status, row.sent_at, row.attempts) == ("sent", clock.now() - timedelta(hours=1), 2)
    assert _metric(metrics, "complaint_bot_mail_retried_total") == 2
    assert _metric(metrics, "complaint_bot_mail_sent_total") == 1


async def test_the_backoff_is_capped_and_the_mailer_gives_up_in_the_end(database: Database
                                                                        ) -> None:
    clock, metrics = FrozenClock(T0), Metrics()
    ticket_id = await add_ticket(database)
    mailer = _mailer(database, clock, free_port(), metrics=metrics,
                     max_backoff=timedelta(minutes=2), max_attempts=4)
    mail_id = await _queue(database, clock.now(), ticket_id=ticket_id)
    waits = []
    for _ in range(4):
        await mailer.run_due()
        row = await _row(database, mail_id)
        if row.status == "pending":
            waits.append(row.not_before - clock.now())
            clock.advance(waits[-1])
    assert waits == [timedelta(seconds=s) for s in (30, 60, 120)]
    assert (row.status, row.attempts) == ("failed", 4)
    assert row.error.startswith("gave up after 4 tries")
    assert _metric(metrics, "complaint_bot_mail_failed_total") == 1
    (told,) = await _told(database, chat_id=-1001)
    assert "gave up after 4 tries" in told[3]["text"]


@pytest.mark.parametrize(("where", "reply", "failed"), [
    ("rcpt", "550 5.1.1 No such user", True),
    ("data", "554 5.7.1 Rejected as spam", True),
    ("mail", "553 5.7.1 Sender not allowed", True),
    ("rcpt", "451 4.7.1 Greylisted, try again later", False),
    ("data", "452 4.3.1 Insufficient storage", False),
])
async def test_a_5xx_fails_for_good_and_is_told_in_the_topic(
        database: Database, smtp: tuple[SmtpHandler, Controller], where: str, reply: str,
        failed: bool) -> None:
    handler, server = smtp
    if where == "rcpt":
        handler.rcpt_replies = {a: reply for a in TO + CC}
    else:
        setattr(handler, f"{where}_reply", reply)
    clock, metrics = FrozenClock(T0), Metrics()
    ticket_id = await add_ticket(database)
    mail_id = await _queue(database, clock.now(), ticket_id=ticket_id,
                           subject="[投诉 260312-K7Q3M] 升级至第 2 级 · 管理中心总经理")

    await _mailer(database, clock, server.port, metrics=metrics).run_due()

    row = await _row(database, mail_id)
    told = await _told(database)
    assert handler.received == []
    if not failed:  # a 4xx is for now: tried again later, nobody bothered yet
        assert (row.status, row.attempts, told) == ("pending", 1, [])
        assert _metric(metrics, "complaint_bot_mail_retried_total") == 1
        return
    assert (row.status, row.attempts) == ("failed", 1) and reply.split()[0] in row.error
    assert _metric(metrics, "complaint_bot_mail_failed_total") == 1
    ((chat_id, method, told_ticket, payload),) = told
    assert (chat_id, method, told_ticket) == (-1001, "sendMessage", ticket_id)
    assert payload["message_thread_id"] == 77
    assert "升级至第 2 级 · 管理中心总经理" in payload["text"] and reply in payload["text"]
    assert "未能发出" in payload["text"]
    clock.advance(timedelta(days=1))
    assert await _mailer(database, clock, server.port).run_due() == 0  # never tried again


async def test_some_recipients_refused_is_sent_to_the_rest_and_told(
        database: Database, smtp: tuple[SmtpHandler, Controller]) -> None:
    handler, server = smtp
    handler.rcpt_replies = {"committee@example.com": "550 5.1.1 No such user"}
    clock = FrozenClock(T0)
    mail_id = await _queue(database, clock.now(), ticket_id=await add_ticket(database))

    assert await _mailer(database, clock, server.port).run_due() == 1

    (got,) = handler.received
    assert got.rcpt_tos == TO and got.message["Cc"] == "committee@example.com"
    row = await _row(database, mail_id)
    assert row.status == "sent" and "committee@example.com" in row.error
    ((_, _, _, payload),) = await _told(database, chat_id=-1001)
    text = payload["text"]
    assert "committee@example.com: 550 5.1.1 No such user" in text and "拒收" in text


async def test_a_ticket_without_a_topic_is_told_in_its_staff_group(
        database: Database, smtp: tuple[SmtpHandler, Controller]) -> None:
    handler, server = smtp
    handler.data_reply = "554 5.7.1 Rejected"
    clock = FrozenClock(T0)
    await _queue(database, clock.now(),
                 ticket_id=await add_ticket(database, staff_chat_id=None, topic_id=None))
    await _mailer(database, clock, server.port).run_due()
    ((chat_id, _, _, payload),) = await _told(database)
    assert chat_id == -1009 and "message_thread_id" not in payload


@pytest.fixture
async def tls_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                     request: pytest.FixtureRequest) -> AsyncIterator[tuple[SmtpHandler, int]]:
    """An SMTP server with a self-signed certificate the client is told to trust."""
    cert, ctx = self_signed(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # OpenSSL's own trust-store variable
    handler = SmtpHandler()
    kw = {"ssl_context": ctx} if request.param == "tls" else {"tls_context": ctx,
                                                               "require_starttls": True}
    server = start_server(handler, **kw)
    yield handler, server.port
    server.stop()


@pytest.mark.parametrize("tls_server", ["starttls", "tls"], indirect=True)
async def test_starttls_and_tls_deliver(database: Database, tls_server: tuple[SmtpHandler, int],
                                        request: pytest.FixtureRequest) -> None:
    handler, port = tls_server
    security = request.node.callspec.params["tls_server"]
    clock = FrozenClock(T0)
    await _queue(database, clock.now())
    assert await _mailer(database, clock, port, security=security).run_due() == 1
    assert len(handler.received) == 1


async def test_starttls_refused_by_the_server_keeps_the_mail_waiting(
        database: Database, smtp: tuple[SmtpHandler, Controller]) -> None:
    """A server without STARTTLS gets no mail in the clear; the mail waits, it is not lost."""
    handler, server = smtp
    clock = FrozenClock(T0)
    mail_id = await _queue(database, clock.now())
    assert await _mailer(database, clock, server.port, security="starttls").run_due() == 0
    row = await _row(database, mail_id)
    assert (row.status, row.attempts) == ("pending", 1) and "STARTTLS" in row.error
    assert handler.received == []


async def test_without_email_the_start_up_says_so_once(
        config: Any, desk_factory: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    app: App = await desk_factory(config)
    said = [r for r in caplog.records if r.name.startswith("bot") and "mail" in r.getMessage()]
    assert [(r.levelname, r.getMessage()) for r in said] == [
        ("INFO", "e-mail is off: no [email] section in the configuration")]
    assert app.mailer is None and not app.deps.desk.mail_enabled
    assert "mailer" not in app.supervisor.states()


async def test_two_mailers_send_each_mail_once_on_sqlite(
        db_url: str, smtp: tuple[SmtpHandler, Controller]) -> None:
    await _two_mailers(db_url, *smtp)


async def test_two_mailers_send_each_mail_once_on_postgresql(
        pg_url: str, smtp: tuple[SmtpHandler, Controller]) -> None:
    await _two_mailers(pg_url, *smtp)


async def _two_mailers(url: str, handler: SmtpHandler, server: Controller) -> None:
    """Two instances claim from one queue at once: every mail goes out, none twice."""
    await upgrade_async(url)
    engines = [create_engine(url), create_engine(url)]
    dbs = [Database(session_factory(e), serialize_writes=url.startswith("sqlite"))
           for e in engines]
    clock = FrozenClock(T0)
    try:
        for i in range(24):
            await _queue(dbs[0], clock.now(), subject=f"mail {i}")
        mailers = [_mailer(db, clock, server.port, batch=3) for db in dbs]
        sent = await asyncio.gather(*(m.run_due() for m in mailers))
        assert sum(sent) == 24
        subjects = sorted(r.message["Subject"] for r in handler.received)
        assert subjects == sorted(f"mail {i}" for i in range(24))
        async with dbs[1].uow() as uow:
            assert [r.status for r in await uow.repos.mail.rows()] == ["sent"] * 24
    finally:
        for e in engines:
            await e.dispose()
