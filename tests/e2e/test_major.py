"""Major complaints (重大投诉) end to end: triage at filing, the alert, /major and /vip."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from bot import i18n
from bot.app import App
from bot.clock import FrozenClock
from bot.emulator import Emulator
from bot.services import customers, handoff, tickets
from handlers import staff_render
from tests.conftest import make_config
from tests.e2e.handoff_helpers import (
    ANSWERS,
    GROUP,
    OTHER,
    ROSTER,
    STEWARD,
    SUBJECT,
    SUPERVISOR,
    card_of,
    file_config,
    file_direct,
    settle,
    staff_users,
    ticket,
)
from tests.e2e.intake_helpers import Chat, assert_no_rejections, plain, told_to_confirm

CUSTOMER = 5601


async def _events(desk: App, ticket_id: int, event: str) -> list[Any]:
    """The ticket's history rows of one event (who, details), read now."""
    async with desk.db.uow() as uow:
        return [SimpleNamespace(actor_kind=h.actor_kind, actor_id=h.actor_id, details=h.details)
                for h in await uow.repos.tickets.history(ticket_id) if h.event == event]


async def _say(desk: App, emu: Emulator, who: int, text: str, topic: int | None) -> list[str]:
    """A staff member writes in the ticket's topic; what the bot said there in answer."""
    before = len(emu.sent(GROUP, message_thread_id=topic))
    await emu.user(who).send_text(text, chat_id=GROUP, message_thread_id=topic)
    await settle(desk, emu)
    return [m.get("text") or "" for m in emu.sent(GROUP, message_thread_id=topic)[before:]]


def _topic_name(emu: Emulator, ref: str) -> str:
    [topic] = [x for x in emu.topics(GROUP) if ref in x["name"]]
    return str(topic["name"])


async def test_a_complaint_threatening_the_media_goes_to_the_supervisor_at_once(
        emu: Emulator, staffdesk: App) -> None:
    chat = Chat(emu, emu.user(CUSTOMER, first_name="李雷", language_code="zh"))
    await chat.say("/start")
    await chat.press("file")
    await chat.say("楼上漏水三天了,再不修我就找媒体曝光")
    await told_to_confirm(chat)
    await chat.press("ok")
    async with staffdesk.db.uow() as uow:
        [row] = await uow.repos.tickets.of_customer(CUSTOMER)
        uow.session.expunge(row)
    # Major and at the supervisor's level from the start, with the reason on its record.
    assert row.is_major and row.escalation_level == 1
    [marked] = await _events(staffdesk, row.id, "marked_major")
    assert marked.actor_kind == "system"
    assert marked.details == {"by": "triage", "rule": "keyword", "keyword": "媒体", "level": 1}
    # The supervisor of the routed stewards is told in private, with the reason and the link.
    [dm] = await emu.wait_for_sent(SUPERVISOR)
    reason = plain("zh_CN", "staff.major_reason.keyword", keyword="媒体")
    link = f"https://t.me/c/{str(GROUP)[4:]}/"
    assert dm["text"].startswith("‼️") and row.ref in dm["text"] and reason in dm["text"]
    assert link in dm["text"]
    # The card says so first, and so does the topic's name.
    await settle(staffdesk, emu)
    t = await ticket(staffdesk, row.id)
    card = card_of(emu, t)["text"]
    assert card.splitlines()[0] == plain("zh_CN", "staff.card.major", reason=reason)
    assert _topic_name(emu, t.ref).startswith("‼️ " + t.ref)
    assert f"/{t.topic_id}" in dm["text"]
    # The stewards still get their usual note; the alert is the supervisors' only.
    for sid in (STEWARD, OTHER):
        assert not any("‼️" in m["text"] for m in emu.sent(sid))
    # At level 1 the supervisor takes it.
    await emu.user(SUPERVISOR).press(t.card_message_id, f"s:claim:{t.id}", chat_id=GROUP)
    await settle(staffdesk, emu)
    assert (await ticket(staffdesk, t.id)).assignee_id == SUPERVISOR
    assert_no_rejections(emu)


async def test_major_and_major_off_by_whom_they_are_allowed(
        emu: Emulator, staffdesk: App) -> None:
    tk = await file_direct(staffdesk, emu)
    assert not tk.is_major and tk.escalation_level == 0
    async with staffdesk.db.uow() as uow:
        row = await uow.repos.tickets.get(tk.id)
        assert row is not None
        row.about_staff_id = SUBJECT  # about a colleague, who may not mark it
        await uow.commit()
    said = await _say(staffdesk, emu, SUBJECT, "/major 我觉得很严重", tk.topic_id)
    assert plain("zh_CN", "access.about_you") in said
    said = await _say(staffdesk, emu, OTHER, "/major", tk.topic_id)
    assert plain("zh_CN", "staff.usage.major") in said
    assert not (await ticket(staffdesk, tk.id)).is_major

    # Any other colleague may mark it: level 1, recorded with who and why, supervisor told.
    said = await _say(staffdesk, emu, OTHER, "/major 客户是人大代表", tk.topic_id)
    assert plain("zh_CN", "staff.major.marked", reason="客户是人大代表") in said
    t = await ticket(staffdesk, tk.id)
    assert t.is_major and t.escalation_level == 1
    [marked] = await _events(staffdesk, tk.id, "marked_major")
    assert (marked.actor_kind, marked.actor_id) == ("staff", OTHER)
    assert marked.details["by"] == "staff" and marked.details["reason"] == "客户是人大代表"
    reason = plain("zh_CN", "staff.major_reason.staff", name="赵管家", reason="客户是人大代表")
    [dm] = [m for m in emu.sent(SUPERVISOR) if "‼️" in m["text"] and "reply_markup" not in m]
    assert reason in dm["text"] and f"/{tk.topic_id}" in dm["text"]
    assert card_of(emu, t)["text"].startswith(plain("zh_CN", "staff.card.major", reason=reason))
    assert _topic_name(emu, t.ref).startswith("‼️")
    said = await _say(staffdesk, emu, STEWARD, "/major 再标一次", tk.topic_id)
    assert plain("zh_CN", "staff.major.already") in said

    # Unmarking is the supervisors' call; the level stays where it is.
    said = await _say(staffdesk, emu, OTHER, "/major off 误会", tk.topic_id)
    assert plain("zh_CN", "access.senior_only") in said
    said = await _say(staffdesk, emu, SUPERVISOR, "/major off", tk.topic_id)
    assert plain("zh_CN", "staff.usage.major") in said
    assert (await ticket(staffdesk, tk.id)).is_major
    said = await _say(staffdesk, emu, SUPERVISOR, "/major off 已核实,普通投诉", tk.topic_id)
    assert plain("zh_CN", "staff.major.unmarked", reason="已核实,普通投诉") in said
    t = await ticket(staffdesk, tk.id)
    assert not t.is_major and t.escalation_level == 1
    [unmarked] = await _events(staffdesk, tk.id, "unmarked_major")
    assert (unmarked.actor_id, unmarked.details) == (SUPERVISOR, {"reason": "已核实,普通投诉"})
    assert "‼️" not in card_of(emu, t)["text"] and "‼️" not in _topic_name(emu, t.ref)
    denied = [(h.actor_id, h.details["reason"]) for h in await _events(staffdesk, tk.id, "denied")]
    assert denied == [(SUBJECT, "about_you"), (OTHER, "senior_only")]
    assert_no_rejections(emu)


async def test_a_vip_customers_next_complaint_is_major(emu: Emulator, staffdesk: App) -> None:
    first = await file_direct(staffdesk, emu)
    said = await _say(staffdesk, emu, STEWARD, "/vip", first.topic_id)
    assert plain("zh_CN", "access.senior_only") in said
    said = await _say(staffdesk, emu, SUPERVISOR, "/vip", first.topic_id)
    assert plain("zh_CN", "staff.vip.set", name="李雷") in said
    async with staffdesk.db.uow() as uow:
        c = await uow.repos.customers.get(CUSTOMER)
        assert c is not None and c.vip
    [set_row] = await _events(staffdesk, first.id, "vip_set")
    assert (set_row.actor_id, set_row.details) == (SUPERVISOR, {"customer_id": CUSTOMER})
    assert plain("zh_CN", "staff.card.vip") in card_of(emu, first)["text"]
    assert not (await ticket(staffdesk, first.id)).is_major  # this one stays as it was

    alerts = len(emu.sent(SUPERVISOR))
    second = await file_direct(staffdesk, emu)
    assert second.is_major and second.escalation_level == 1
    [marked] = await _events(staffdesk, second.id, "marked_major")
    assert marked.details["rule"] == "vip"
    await emu.wait_for_sent(SUPERVISOR, count=alerts + 1)
    dm = emu.sent(SUPERVISOR)[alerts]
    assert second.ref in dm["text"] and plain("zh_CN", "staff.major_reason.vip") in dm["text"]

    said = await _say(staffdesk, emu, SUPERVISOR, "/vip off", second.topic_id)
    assert plain("zh_CN", "staff.vip.cleared", name="李雷") in said
    assert await _events(staffdesk, second.id, "vip_cleared")
    said = await _say(staffdesk, emu, SUPERVISOR, "/vip off", second.topic_id)
    assert plain("zh_CN", "staff.vip.not_vip") in said
    assert plain("zh_CN", "staff.card.vip") not in card_of(emu, second)["text"]
    assert_no_rejections(emu)


async def test_a_major_category_and_a_desk_without_staff_group(
        emu: Emulator, db_url: str, desk_factory: Any) -> None:
    """A category marked major makes every complaint in it major; with no staff group to post
    the card in, the supervisors are told all the same (without a link)."""
    staff_users(emu)
    cfg = file_config()
    cfg["telegram"].pop("staff_group_id")
    cfg["categories"] = [{"key": "housing", "zh": "房屋管理", "en": "Housing", "major": True,
                          "fields": [{"key": "unit", "zh": "楼栋及房号", "en": "Unit"}]},
                         {"key": "other", "zh": "其他", "en": "Other"}]
    desk = await desk_factory(make_config(db_url, emu.base_url, **cfg))
    d = desk.deps.desk
    async with desk.db.uow() as uow:
        c = await customers.register(uow, d.clock, CUSTOMER, "李雷", None, "zh")
        await uow.session.flush()
        t = await tickets.file_complaint(uow, d, c, dict(ANSWERS), d.clock.now())
        effects = await handoff.dispatch(uow, d, t, d.clock.now())
        await uow.commit()
    assert t.is_major and t.escalation_level == 1
    supervisors = {s["telegram_id"] for s in ROSTER if s["role"] == "supervisor"}
    assert {e.chat_id for e in effects} == supervisors
    [e] = effects
    assert e.key == "staff.dm.major" and e.values["link"] == ""
    assert e.values["reason"] == i18n.t("zh_CN", "staff.major_reason.category", category="房屋管理")


async def test_while_the_staff_group_is_down_the_alert_goes_once(
        emu: Emulator, db_url: str, desk_factory: Any) -> None:
    """No group to post the card in: the supervisor gets the private card and the alert; when
    the group is back and the card is posted there, the alert is not repeated."""
    staff_users(emu)
    clock = FrozenClock(datetime(2026, 12, 7, 2, 0, tzinfo=UTC))  # Monday 10:00 in Shanghai
    desk = await desk_factory(make_config(db_url, emu.base_url, **file_config()), clock=clock)
    emu.add_fault(chat_id=GROUP, kind="kicked", times=None)
    d = desk.deps.desk
    async with desk.db.uow() as uow:
        c = await customers.register(uow, d.clock, CUSTOMER, "李雷", None, "zh")
        await uow.session.flush()
        answers = {**ANSWERS, "outcome_text": "不赔偿我就请律师"}
        t = await tickets.file_complaint(uow, d, c, answers, d.clock.now())
        staff_render.render(uow.repos.outbox, await handoff.dispatch(uow, d, t, d.clock.now()))
        await uow.commit()
    await settle(desk, emu)

    def alerts() -> list[str]:
        return [m["text"] for m in emu.sent(SUPERVISOR)
                if m["text"].startswith("‼️") and "reply_markup" not in m]  # not the card

    [alert] = alerts()
    assert plain("zh_CN", "staff.major_reason.keyword", keyword="律师") in alert
    assert any("reply_markup" in m for m in emu.sent(SUPERVISOR))  # the private card too
    emu.clear_faults()
    clock.advance(timedelta(minutes=1))
    await desk.scheduler.run_due()
    for _ in range(250):
        await settle(desk, emu)
        if (await ticket(desk, t.id)).card_message_id:
            break
        await asyncio.sleep(0.02)
    back = await ticket(desk, t.id)
    assert back.card_message_id and "‼️" in card_of(emu, back)["text"]
    assert len(alerts()) == 1
