"""Group incidents (群体性投诉) end to end over HTTP with second-scale windows: five tickets on
one matter within the window make one crisis alert to the manager level (Telegram and e-mail at
a real SMTP server), a later one joins without a second; one update for every customer,
previewed and confirmed, within Telegram's real rate limits; the whole incident resolved."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot import sandbox
from bot.app import App
from bot.clock import FrozenClock
from bot.emulator import Emulator, Limits
from bot.services import customers, handoff, incidents, tickets
from handlers import staff_render
from tests.conftest import make_config
from tests.e2e.handoff_helpers import (
    ANSWERS,
    GROUP,
    ROSTER,
    STEWARD,
    SUPERVISOR,
    card_of,
    file_config,
    settle,
    staff_users,
    ticket,
)
from tests.e2e.intake_helpers import Chat, assert_no_rejections, plain, told_to_confirm
from tests.integration.mail_helpers import HOST, SmtpHandler, start_server

MANAGER, MANAGERS_CHAT = 1006, -1009000000001
# Wednesday 2 December 2026, 10:00 in Shanghai: a working day, inside business hours.
WEDNESDAY_10 = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)
TELEGRAM_LIMITS = {"overall_per_second": 30, "per_chat_per_second": 1, "per_group_per_minute": 20}


def _config(db_url: str, api: str, email: dict[str, Any] | None = None,
            limits: dict[str, Any] | None = None) -> Any:
    f = file_config()
    f["staff"] = [s if s["telegram_id"] != SUPERVISOR else {**s, "supervisor": MANAGER}
                  for s in ROSTER]
    f["staff"].append({"telegram_id": MANAGER, "name": "周总", "role": "manager",
                       "email": "zhou@example.com"})
    f["escalation"] = {"manager": {"chat_ids": [MANAGERS_CHAT], "email_to": ["gm@example.com"],
                                   "email_cc": ["ops@example.com"]}}
    f["incidents"] = {"threshold": 5, "window": "60s"}
    if limits:
        f["telegram"]["limits"] = limits
    if email:
        f["email"] = email
    return make_config(db_url, api, **f)


async def _desk(emu: Emulator, db_url: str, desk_factory: Any, **kw: Any
                ) -> tuple[App, FrozenClock]:
    staff_users(emu)
    emu.user(MANAGER, first_name="周总", language_code="zh")
    emu.create_group(MANAGERS_CHAT, title="管理中心")
    clock = FrozenClock(WEDNESDAY_10)
    return await desk_factory(_config(db_url, emu.base_url, **kw), clock=clock), clock


async def _file_by_chat(desk: App, emu: Emulator, customer_id: int, name: str) -> str:
    """A customer files a housing complaint about 3栋 1201 through the whole conversation;
    the reference they are given."""
    chat = Chat(emu, emu.user(customer_id, first_name=name, language_code="zh"))
    await chat.say("/start")
    await chat.press("file")
    await chat.say("楼里又停水了,一整天没有水")
    await told_to_confirm(chat)
    [ack] = await chat.press("ok")
    async with desk.db.uow() as uow:
        [t] = await uow.repos.tickets.of_customer(customer_id)
        ref = t.ref
    assert ref in ack["text"]
    return ref


async def _file(desk: App, emu: Emulator, customer_id: int, name: str) -> int:
    """File a ticket through the services as the intake's confirmation does (incident check,
    then dispatch); its id."""
    emu.user(customer_id, first_name=name, language_code="zh")
    d = desk.deps.desk
    async with desk.db.uow() as uow:
        c = await customers.register(uow, d.clock, customer_id, name, None, "zh")
        await uow.session.flush()
        t = await tickets.file_complaint(uow, d, c, dict(ANSWERS), d.clock.now())
        effects = await incidents.at_filing(uow, d, t, d.clock.now())
        effects += await handoff.dispatch(uow, d, t, d.clock.now())
        staff_render.render(uow.repos.outbox, effects)
        await uow.commit()
        return t.id


async def _by_ref(desk: App, ref: str) -> Any:
    async with desk.db.uow() as uow:
        from sqlalchemy import select

        from storage.models import Ticket
        t = await uow.session.scalar(select(Ticket).where(Ticket.ref == ref))
        assert t is not None, ref
        uow.session.expunge(t)
        return t


async def _events(desk: App, ticket_id: int, event: str) -> list[dict[str, Any]]:
    async with desk.db.uow() as uow:
        return [dict(h.details) for h in await uow.repos.tickets.history(ticket_id)
                if h.event == event]


def _texts(emu: Emulator, chat_id: int, needle: str, **where: Any) -> list[str]:
    return [m.get("text", "") for m in emu.sent(chat_id, **where) if needle in m.get("text", "")]


async def _command(desk: App, emu: Emulator, who: int, text: str, topic: int | None = None,
                   within: float = 15.0) -> list[dict[str, Any]]:
    """A staff member writes in the staff group; the bot's new messages there."""
    before = {m["message_id"] for m in emu.sent(GROUP)}
    await emu.user(who).send_text(text, chat_id=GROUP, message_thread_id=topic)
    await sandbox.settle(emu, desk, within=within)
    return [m for m in emu.sent(GROUP) if m["message_id"] not in before]


async def test_five_tickets_in_the_window_alert_the_managers_once(
        emu: Emulator, db_url: str, desk_factory: Any) -> None:
    handler = SmtpHandler()
    server = start_server(handler)
    try:
        desk, clock = await _desk(emu, db_url, desk_factory, email={
            "host": HOST, "port": server.port, "security": "none",
            "from_address": "desk@example.com"})
        early = await _file_by_chat(desk, emu, 5700, "早先")
        clock.advance(timedelta(seconds=61))  # out of the window of what follows
        refs = []
        for i, name in enumerate(("李雷", "韩梅梅", "王芳", "赵强")):
            refs.append(await _file_by_chat(desk, emu, 5701 + i, name))
            clock.advance(timedelta(seconds=5))
        await settle(desk, emu)
        assert not _texts(emu, MANAGER, "🚨") and not _texts(emu, MANAGERS_CHAT, "🚨")
        assert (await _by_ref(desk, refs[0])).incident_id is None  # four are not a group

        refs.append(await _file_by_chat(desk, emu, 5705, "刘洋"))  # the fifth within 60 s
        await settle(desk, emu)
        fifth = await _by_ref(desk, refs[-1])
        assert fifth.incident_id is not None
        inc = fifth.incident_id
        for ref in refs:
            t = await _by_ref(desk, ref)
            assert t.incident_id == inc
            assert await _events(desk, t.id, "incident_linked") == [{"incident_id": inc}]
            # Every card shows it: the four earlier ones edited, the fifth posted with it.
            assert plain("zh_CN", "staff.card.incident", id=inc) in card_of(emu, t)["text"]
        first = await _by_ref(desk, early)
        assert first.incident_id is None
        assert "🚨" not in card_of(emu, first)["text"]

        # One crisis alert: the manager above the stewards, and the managers' chat, with every
        # ticket's reference and topic link — and not the ticket from before the window.
        [dm] = _texts(emu, MANAGER, "🚨")
        assert _texts(emu, MANAGERS_CHAT, "🚨") == [dm]
        for ref in refs:
            t = await _by_ref(desk, ref)
            assert ref in dm and f"https://t.me/c/{str(GROUP)[4:]}/{t.topic_id}" in dm
        assert early not in dm and f"/broadcast {inc}" in dm
        assert not _texts(emu, SUPERVISOR, "🚨") and not _texts(emu, STEWARD, "🚨")
        [mail] = await handler.wait_for(1)
        assert sorted(mail.rcpt_tos) == ["gm@example.com", "ops@example.com",
                                         "zhou@example.com"]
        assert mail.message["Cc"] == "ops@example.com"
        assert mail.message["Subject"] == f"[群体性投诉 #{inc}] 房屋管理 · 3栋 1201:5 张工单"
        body = mail.message.get_body(("plain",))
        assert body is not None
        assert all(ref in body.get_content() for ref in refs)
        assert "楼里又停水了" in body.get_content()

        # A sixth in the window joins: no second alert, a line in the managers' chat.
        clock.advance(timedelta(seconds=30))
        sixth_ref = await _file_by_chat(desk, emu, 5706, "陈静")
        await settle(desk, emu)
        sixth = await _by_ref(desk, sixth_ref)
        assert await _events(desk, sixth.id, "incident_linked") == [
            {"incident_id": inc, "after_alert": True}]
        assert sixth.incident_id == inc
        assert plain("zh_CN", "staff.card.incident", id=inc) in card_of(emu, sixth)["text"]
        assert _texts(emu, MANAGER, "🚨") == [dm]
        [joined] = _texts(emu, MANAGERS_CHAT, sixth.ref)
        assert joined == plain("zh_CN", "staff.incident.joined", id=inc, ref=sixth.ref,
                               count=6, link=f"https://t.me/c/{str(GROUP)[4:]}/"
                               f"{sixth.topic_id}")
        assert len(handler.received) == 1
        assert_no_rejections(emu)
    finally:
        server.stop()


@pytest.mark.timeout(300)
async def test_one_update_reaches_every_customer_once_within_the_rate_limits(
        emu: Emulator, db_url: str, desk_factory: Any) -> None:
    """Telegram's real limits on both sides: the staff group's 20 a minute is passed by the
    filing and the update together, so only the sender's pacing keeps them free of 429s."""
    emu.set_limits(Limits())
    desk, _ = await _desk(emu, db_url, desk_factory, limits=TELEGRAM_LIMITS)
    people = [(5801, "李雷"), (5802, "韩梅梅"), (5803, "王芳"), (5804, "赵强"), (5805, "刘洋")]
    ids = [await _file(desk, emu, cid, name) for cid, name in people]
    ids.append(await _file(desk, emu, 5801, "李雷"))  # a second ticket of the first customer
    await sandbox.settle(emu, desk, within=120)
    linked = [await ticket(desk, i) for i in ids]
    inc = linked[0].incident_id
    assert inc is not None and all(t.incident_id == inc for t in linked)

    update = "供水管道今天下午已抢修完毕,18:00 前恢复供水。给您带来不便,非常抱歉。"
    [preview] = await _command(desk, emu, MANAGER, f"/broadcast {inc} {update}", within=60)
    as_customer = plain("zh_CN", "customer.incident_update",
                        refs=f"{linked[0].ref}、{linked[5].ref}", text=update)
    assert preview["text"] == plain("zh_CN", "staff.incident.preview", id=inc, count=5,
                                    tickets=6, text=as_customer)
    assert not any(_texts(emu, cid, update) for cid, _ in people)  # nothing before Confirm
    [[send, _]] = preview["reply_markup"]["inline_keyboard"]
    # A supervisor's press is refused; the manager's sends it; a second press sends nothing.
    qid = await emu.user(SUPERVISOR).press(preview["message_id"], send["callback_data"],
                                           chat_id=GROUP)
    await sandbox.settle(emu, desk, within=60)
    assert emu.callback_answers(qid)["text"] == plain("zh_CN", "access.manager_only")
    await emu.user(MANAGER).press(preview["message_id"], send["callback_data"], chat_id=GROUP)
    again = await emu.user(MANAGER).press(preview["message_id"], send["callback_data"],
                                          chat_id=GROUP)
    await sandbox.settle(emu, desk, within=120)
    assert emu.callback_answers(again)["text"] == plain("zh_CN", "staff.incident.decided")

    for cid, _ in people:  # once each, the customer with two tickets too
        [got] = _texts(emu, cid, update)
        assert got.startswith(plain("zh_CN", "customer.incident_update", refs="", text="")[:4])
    assert _texts(emu, 5801, update) == [as_customer]
    for t in linked:  # on every ticket's record and transcript, and in its topic
        [event] = await _events(desk, t.id, "incident_update")
        assert event["incident_id"] == inc and event["confirmed_by"] == MANAGER
        assert _texts(emu, GROUP, update, message_thread_id=t.topic_id) == [
            plain("zh_CN", "staff.incident.relayed", id=inc, name="周总", text=update)]
        async with desk.db.uow() as uow:
            assert await uow.repos.tickets.latest_public_reply(t.id) == update
    assert _texts(emu, GROUP, plain("zh_CN", "staff.incident.sent", count=5, tickets=6))
    shown = next(m for m in emu.sent(GROUP) if m["message_id"] == preview["message_id"])
    assert not shown.get("reply_markup", {}).get("inline_keyboard")  # decided: buttons gone
    assert not [c for c in emu.calls if c.status == 429]
    assert_no_rejections(emu)


async def test_a_manager_resolves_the_whole_incident_at_once(
        emu: Emulator, db_url: str, desk_factory: Any) -> None:
    desk, _ = await _desk(emu, db_url, desk_factory)
    people = [(5901, "李雷"), (5902, "韩梅梅"), (5903, "王芳"), (5904, "赵强")]
    ids = [await _file(desk, emu, cid, name) for cid, name in people]
    ids.append(await _file(desk, emu, 5901, "李雷"))
    await settle(desk, emu)
    linked = [await ticket(desk, i) for i in ids]
    inc = linked[0].incident_id
    assert inc is not None
    # One is being handled by a steward; one has gone up to the committee, above a manager.
    await emu.user(STEWARD).press(linked[1].card_message_id, f"s:claim:{linked[1].id}",
                                  chat_id=GROUP)
    await settle(desk, emu)
    async with desk.db.uow() as uow:
        row = await uow.repos.tickets.get(linked[3].id)
        assert row is not None
        row.escalation_level = 3
        await uow.commit()

    [shown] = await _command(desk, emu, STEWARD, f"/incident {inc}")
    assert shown["text"].startswith(plain("zh_CN", "staff.incident.show", id=inc,
                                          matter="房屋管理 · 3栋 1201", status="进行中",
                                          opened="", count=5, customers=4, broadcasts=0,
                                          tickets="").split("·")[0])
    assert all(t.ref in shown["text"] for t in linked)
    [refused] = await _command(desk, emu, STEWARD, f"/incident {inc} resolve 已修复")
    assert refused["text"] == plain("zh_CN", "access.manager_only")
    # Only managers speak for the company to all of them (the update itself: see above).
    [refused] = await _command(desk, emu, SUPERVISOR, f"/broadcast {inc} 我们正在抢修")
    assert refused["text"] == plain("zh_CN", "access.manager_only")

    note = "水泵已更换,全楼恢复供水。"
    said = await _command(desk, emu, MANAGER, f"/incident {inc} resolve {note}")
    texts = [m["text"] for m in said]
    assert plain("zh_CN", "staff.incident.resolved", id=inc, tickets=4, customers=3) in texts
    assert plain("zh_CN", "staff.incident.skipped", refs=linked[3].ref) in texts
    after = [await ticket(desk, i) for i in ids]
    assert [t.status for t in after] == ["resolved", "resolved", "resolved", "open",
                                         "resolved"]
    for t in after[:3] + after[4:]:
        [resolved] = await _events(desk, t.id, "resolved")
        assert resolved["note"] == note and resolved["incident_id"] == inc
        assert t.resolved_at is not None
        assert plain("zh_CN", "staff.status.resolved") in card_of(emu, t)["text"]
        [topic] = [x for x in emu.topics(GROUP) if x["message_thread_id"] == t.topic_id]
        assert topic["is_closed"]
    # The customer with two tickets gets the note once, with "Not solved" for each.
    [both] = _texts(emu, 5901, note)
    assert both == plain("zh_CN", "customer.incident_resolved",
                         refs=f"{linked[0].ref}、{linked[4].ref}", note=note)
    msg = next(m for m in emu.sent(5901) if note in m.get("text", ""))
    assert [b["callback_data"] for row in msg["reply_markup"]["inline_keyboard"]
            for b in row] == [f"c:ns:{linked[0].id}", f"c:ns:{linked[4].id}"]
    assert len(_texts(emu, 5902, note)) == 1 and len(_texts(emu, 5903, note)) == 1
    assert not _texts(emu, 5904, note)  # the committee's ticket was not resolved here
    [again] = await _command(desk, emu, MANAGER, f"/incident {inc} resolve 再来一次")
    assert again["text"] == plain("zh_CN", "staff.incident.already_resolved", id=inc)
    assert_no_rejections(emu)
