"""Deadlines that act, end to end over HTTP with second-scale windows and an injected clock:
a missed first response goes to the supervisor and then the manager; a reply deadline tells the
customer where things stand (after quiet hours) and sets a new one; the third urge escalates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bot.app import App
from bot.clock import FrozenClock
from bot.emulator import Emulator
from bot.i18n import t
from tests.conftest import make_config
from tests.e2e.handoff_helpers import (
    GROUP,
    ROSTER,
    STEWARD,
    SUPERVISOR,
    file_config,
    file_direct,
    settle,
    staff_users,
    ticket,
)
from tests.e2e.intake_helpers import Chat
from tests.integration.mail_helpers import HOST, SmtpHandler, start_server

MANAGER, MANAGERS_CHAT = 1006, -1009000000001
# Wednesday 2 December 2026, 10:00 in Shanghai: a working day, inside business hours.
WEDNESDAY_10 = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)
# The same day at 20:59:50 in Shanghai: the reply deadline falls inside quiet hours.
WEDNESDAY_2059 = datetime(2026, 12, 2, 12, 59, 50, tzinfo=UTC)


def _config(db_url: str, api: str, email: dict[str, Any] | None = None,
            **windows: Any) -> Any:
    f = file_config()
    f["staff"] = [s if s["telegram_id"] != SUPERVISOR
                  else {**s, "supervisor": MANAGER, "email": "li@example.com"} for s in ROSTER]
    f["staff"].append({"telegram_id": MANAGER, "name": "周总", "role": "manager"})
    f["windows"] = {"first_response": "3s", "reply": "20s", **windows}
    f["escalation"] = {"manager": {"chat_ids": [MANAGERS_CHAT], "email_to": ["gm@example.com"],
                                   "email_cc": ["ops@example.com"]}}
    if email:
        f["email"] = email
    return make_config(db_url, api, **f)


async def _desk(emu: Emulator, db_url: str, desk_factory: Any, at: datetime,
                email: dict[str, Any] | None = None, **windows: Any) -> tuple[App, FrozenClock]:
    staff_users(emu)
    emu.user(MANAGER, first_name="周总", language_code="zh")
    emu.create_group(MANAGERS_CHAT, title="管理中心")
    clock = FrozenClock(at)
    config = _config(db_url, emu.base_url, email, **windows)
    return await desk_factory(config, clock=clock), clock


async def _claimed(desk: App, emu: Emulator) -> Any:
    """A ticket filed and claimed by the steward."""
    tk = await file_direct(desk, emu)
    await emu.user(STEWARD).press(tk.card_message_id, f"s:claim:{tk.id}", chat_id=GROUP)
    await settle(desk, emu)
    return tk


async def _tick(desk: App, emu: Emulator, clock: FrozenClock, seconds: float) -> None:
    clock.advance(timedelta(seconds=seconds))
    await desk.scheduler.run_due()
    await settle(desk, emu)


def _texts(emu: Emulator, chat_id: int, needle: str) -> list[str]:
    return [m.get("text", "") for m in emu.sent(chat_id) if needle in m.get("text", "")]


def _take_over_buttons(emu: Emulator, tid: int) -> list[dict[str, Any]]:
    return [m for m in emu.sent(GROUP)
            if any(b.get("callback_data") == f"s:claim:{tid}"
                   and b["text"] == t("zh_CN", "staff.btn.take_over")
                   for row in m.get("reply_markup", {}).get("inline_keyboard", []) for b in row)]


async def test_an_unclaimed_ticket_goes_to_the_supervisor_then_the_manager(
        emu: Emulator, db_url: str, desk_factory: Any) -> None:
    desk, clock = await _desk(emu, db_url, desk_factory, WEDNESDAY_10)
    tk = await file_direct(desk, emu)
    await _tick(desk, emu, clock, 2)
    assert not _texts(emu, SUPERVISOR, tk.ref)  # the window is not over yet
    await _tick(desk, emu, clock, 2)
    [dm] = _texts(emu, SUPERVISOR, tk.ref)
    assert t("zh_CN", "escalation.cause.first_response") in dm and "t.me/c/" in dm
    assert _take_over_buttons(emu, tk.id)  # in the topic, with the card's link in the DM
    assert (await ticket(desk, tk.id)).escalation_level == 1
    assert not _texts(emu, 5601, "升级") and not _texts(emu, MANAGER, tk.ref)
    assert len([m for m in emu.sent(5601)]) == 0  # the customer is not bothered by this
    await _tick(desk, emu, clock, 4)  # still unclaimed after another window
    assert _texts(emu, MANAGER, tk.ref) and _texts(emu, MANAGERS_CHAT, tk.ref)
    assert (await ticket(desk, tk.id)).escalation_level == 2
    await _tick(desk, emu, clock, 30)
    assert len(_texts(emu, SUPERVISOR, tk.ref)) == 1  # each level told once
    assert len(_texts(emu, MANAGER, tk.ref)) == 1


async def test_a_claimed_tickets_first_response_timer_does_nothing(
        emu: Emulator, db_url: str, desk_factory: Any) -> None:
    desk, clock = await _desk(emu, db_url, desk_factory, WEDNESDAY_10)
    tk = await _claimed(desk, emu)
    await _tick(desk, emu, clock, 10)
    assert not _texts(emu, SUPERVISOR, tk.ref)
    assert (await ticket(desk, tk.id)).escalation_level == 0


async def test_the_reply_deadline_tells_the_customer_and_sets_a_new_one(
        emu: Emulator, db_url: str, desk_factory: Any) -> None:
    desk, clock = await _desk(emu, db_url, desk_factory, WEDNESDAY_10)
    tk = await _claimed(desk, emu)
    await emu.user(STEWARD).send_text("师傅明天上午上门查看。", chat_id=GROUP,
                                      message_thread_id=tk.topic_id)
    await settle(desk, emu)
    first_due = (await ticket(desk, tk.id)).reply_due
    await _tick(desk, emu, clock, 21)
    [progress] = _texts(emu, 5601, "非常抱歉")
    assert "师傅明天上午上门查看。" in progress  # the steward's latest public message
    now = await ticket(desk, tk.id)
    assert now.reply_due is not None and first_due is not None and now.reply_due > first_due
    assert now.escalation_level == 1
    assert _texts(emu, STEWARD, tk.ref) and _texts(emu, SUPERVISOR, tk.ref)
    # The new deadline is kept like the first: it too tells the customer, and goes up again.
    await _tick(desk, emu, clock, 21)
    assert len(_texts(emu, 5601, "非常抱歉")) == 2
    assert (await ticket(desk, tk.id)).escalation_level == 2


async def test_quiet_hours_hold_the_customers_message_but_not_the_staff_alert(
        emu: Emulator, db_url: str, desk_factory: Any) -> None:
    desk, clock = await _desk(emu, db_url, desk_factory, WEDNESDAY_2059)
    tk = await _claimed(desk, emu)
    # The first-response window runs in business hours; the reply window is elapsed time.
    await _tick(desk, emu, clock, 25)  # 21:00:15 in Shanghai: quiet
    assert _texts(emu, SUPERVISOR, tk.ref) and _texts(emu, STEWARD, tk.ref)
    assert not _texts(emu, 5601, "非常抱歉")
    morning = datetime(2026, 12, 3, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai
    await _tick(desk, emu, clock, (morning - clock.now()).total_seconds() - 1)
    assert not _texts(emu, 5601, "非常抱歉")
    await _tick(desk, emu, clock, 1)
    [progress] = _texts(emu, 5601, "非常抱歉")
    assert "12月3日" in progress  # the new reply time is counted from the morning message


async def test_the_third_urge_escalates_and_the_customer_is_told_who_has_it(
        emu: Emulator, db_url: str, desk_factory: Any) -> None:
    desk, clock = await _desk(emu, db_url, desk_factory, WEDNESDAY_10, reply="2 working days")
    tk = await _claimed(desk, emu)
    chat = Chat(emu, emu.user(5601))
    [listing] = await chat.say("/status")
    for n in (1, 2):
        [answer] = await chat.press("u", tk.id, message=listing)
        await settle(desk, emu)
        assert "王管家" in answer["text"]
        assert len(_texts(emu, STEWARD, "催办")) == n  # every urge reaches the assignee
    assert (await ticket(desk, tk.id)).escalation_level == 0
    [answer] = await chat.press("u", tk.id, message=listing)
    await settle(desk, emu)
    assert t("zh_CN", "levels.l1") in answer["text"]
    assert (await ticket(desk, tk.id)).escalation_level == 1
    [dm] = _texts(emu, SUPERVISOR, tk.ref)
    assert "3" in dm


async def test_each_level_is_mailed_with_its_to_and_cc(
        emu: Emulator, db_url: str, desk_factory: Any) -> None:
    handler = SmtpHandler()
    server = start_server(handler)
    try:
        desk, clock = await _desk(emu, db_url, desk_factory, WEDNESDAY_10, email={
            "host": HOST, "port": server.port, "security": "none",
            "from_address": "desk@example.com"})
        tk = await file_direct(desk, emu)
        await _tick(desk, emu, clock, 4)  # level 1: the supervisor's roster address
        (first,) = await handler.wait_for(1)
        assert first.rcpt_tos == ["li@example.com"] and first.message["Cc"] is None
        assert tk.ref in first.message["Subject"] and "第 1 级" in first.message["Subject"]
        await _tick(desk, emu, clock, 4)  # level 2: management GM, operations in copy
        (_, second) = await handler.wait_for(2)
        assert second.message["To"] == "gm@example.com"
        assert second.message["Cc"] == "ops@example.com"
        assert "第 2 级" in second.message["Subject"]
        plain = second.message.get_body(("plain",))
        assert plain is not None and "楼上漏水,已经三天了" in plain.get_content()
    finally:
        server.stop()
