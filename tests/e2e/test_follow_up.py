"""The follow-up (回访) end to end over HTTP, with second-scale windows and an injected clock:
satisfied closes the ticket with its rating and closes the topic; not satisfied reopens it as a
repeat complaint that climbs to the manager (e-mailed, operations in copy) and then the
committee, and never goes back to the steward who resolved it; no answer gets one reminder and
is closed as "no response", across restarts, with nothing sent twice; something left over is
asked for in the customer's words, which reach the topic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bot.app import App
from bot.clock import FrozenClock
from bot.config import Config
from bot.emulator import Emulator
from bot.i18n import t, when
from bot.scheduler import LEASE
from storage.models import Ticket
from tests.conftest import make_config
from tests.e2e.handoff_helpers import (
    GROUP,
    OTHER,
    ROSTER,
    STEWARD,
    SUPERVISOR,
    drained,
    file_config,
    file_direct,
    history,
    settle,
    staff_users,
    ticket,
)
from tests.e2e.intake_helpers import Chat, assert_no_rejections, buttons, plain
from tests.integration.mail_helpers import HOST, SmtpHandler, start_server

CUSTOMER, MANAGER, BOARD = 5601, 1006, 1007
# Wednesday 2 December 2026, 10:00 in Shanghai: a working day, outside quiet hours.
WEDNESDAY_10 = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)
NOTE = "已更换楼上水管并修复天花板。\n费用由物业承担。"


def _config(db_url: str, api: str, email: dict[str, Any] | None = None) -> Config:
    f = file_config()
    f["staff"] = [s if s["telegram_id"] != SUPERVISOR else {**s, "supervisor": MANAGER}
                  for s in ROSTER]
    f["staff"] += [{"telegram_id": MANAGER, "name": "周总", "role": "manager",
                    "supervisor": BOARD},
                   {"telegram_id": BOARD, "name": "陈董", "role": "committee"}]
    # Claiming and replying are not what these tests are about: their windows stay out of it.
    f["windows"] = {"first_response": "1h", "reply": "1h", "follow_up_after": "10s",
                    "follow_up_reminder": "5s", "follow_up_expiry": "12s"}
    f["escalation"] = {"manager": {"email_to": ["gm@example.com"],
                                   "email_cc": ["ops@example.com"]},
                       "committee": {"email_to": ["board@example.com"]}}
    if email:
        f["email"] = email
    return make_config(db_url, api, **f)


async def _desk(emu: Emulator, db_url: str, desk_factory: Any,
                email: dict[str, Any] | None = None) -> tuple[App, FrozenClock, Config]:
    staff_users(emu)
    emu.user(MANAGER, first_name="周总", language_code="zh")
    emu.user(BOARD, first_name="陈董", language_code="zh")
    clock = FrozenClock(WEDNESDAY_10)
    config = _config(db_url, emu.base_url, email)
    return await desk_factory(config, clock=clock), clock, config


async def _press_staff(desk: App, emu: Emulator, who: int, tk: Ticket, action: str) -> str:
    q = await emu.user(who).press(tk.card_message_id, f"s:{action}:{tk.id}", chat_id=GROUP)
    await settle(desk, emu)
    return q


async def _resolved(desk: App, emu: Emulator, tk: Ticket, who: int, note: str = NOTE) -> None:
    """`who` (the assignee) presses Resolve and writes the note the customer gets."""
    await _press_staff(desk, emu, who, tk, "resolve")
    await emu.user(who).send_text(note, chat_id=GROUP, message_thread_id=tk.topic_id)
    await settle(desk, emu)
    assert (await ticket(desk, tk.id)).status == "resolved"


async def _claimed_and_resolved(desk: App, emu: Emulator) -> Ticket:
    tk = await file_direct(desk, emu)
    await _press_staff(desk, emu, STEWARD, tk, "claim")
    await _resolved(desk, emu, tk, STEWARD)
    return tk


async def _tick(desk: App, emu: Emulator, clock: FrozenClock, seconds: float) -> None:
    clock.advance(timedelta(seconds=seconds))
    await desk.scheduler.run_due()
    await settle(desk, emu)


async def _asked(emu: Emulator, db_url: str, desk_factory: Any
                 ) -> tuple[App, FrozenClock, Config, Ticket, dict[str, Any]]:
    """A desk, a ticket the steward resolved, and its follow-up once the window is over."""
    desk, clock, config = await _desk(emu, db_url, desk_factory)
    tk = await _claimed_and_resolved(desk, emu)
    await _tick(desk, emu, clock, 11)
    [ask] = _follow_ups(emu)
    return desk, clock, config, tk, ask


def _follow_ups(emu: Emulator) -> list[dict[str, Any]]:
    """The customer's messages carrying follow-up buttons (the follow-up and its reminder)."""
    return [m for m in emu.sent(CUSTOMER) if any(d.startswith("c:fu:") for d in buttons(m))]


def _arg(msg: dict[str, Any], answer: str) -> str:
    """What the follow-up button for `answer` carries after "c:fu:"."""
    [data] = [d for d in buttons(msg) if d.endswith(f":{answer}")]
    return data.removeprefix("c:fu:")


def _said(emu: Emulator, chat_id: int, text: str, thread: int | None = None) -> int:
    return sum(1 for m in emu.sent(chat_id, message_thread_id=thread) if m.get("text") == text)


def _topic(emu: Emulator, tk: Ticket) -> dict[str, Any]:
    [topic] = [x for x in emu.topics(GROUP) if x["message_thread_id"] == tk.topic_id]
    return topic


async def test_satisfied_closes_the_ticket_with_its_rating_and_closes_the_topic(
        emu: Emulator, db_url: str, desk_factory: Any) -> None:
    desk, clock, _ = await _desk(emu, db_url, desk_factory)
    tk = await _claimed_and_resolved(desk, emu)
    assert not _topic(emu, tk)["is_closed"]  # open while the follow-up is pending
    due = desk.deps.desk.calendar.local(WEDNESDAY_10 + timedelta(seconds=10))
    assert _said(emu, GROUP, plain("zh_CN", "staff.resolved", follow_up=when("zh_CN", due)),
                 tk.topic_id) == 1
    await _tick(desk, emu, clock, 9)
    assert not _follow_ups(emu)  # not yet: the window is 10 s
    await _tick(desk, emu, clock, 2)
    [ask] = _follow_ups(emu)
    # Thanks, the resolution in one line, the question and its four answers.
    assert ask["text"] == plain("zh_CN", "follow_up.ask", ref=tk.ref,
                                summary="已更换楼上水管并修复天花板。")
    assert [b["text"] for row in ask["reply_markup"]["inline_keyboard"] for b in row] == [
        "满意", "基本满意", "不满意", "还有遗留问题"]
    assert _said(emu, GROUP, plain("zh_CN", "staff.follow_up_sent"), tk.topic_id) == 1
    chat = Chat(emu, emu.user(CUSTOMER))
    [thanks] = await chat.press("fu", _arg(ask, "satisfied"), message=ask)
    assert thanks["text"] == plain("zh_CN", "follow_up.thanks", ref=tk.ref)
    await settle(desk, emu)
    now = await ticket(desk, tk.id)
    assert (now.status, now.rating, now.rating_label, now.closed_at) == (
        "closed", 5, "satisfied", clock.now())
    assert _said(emu, GROUP, plain("zh_CN", "staff.closed_rated", answer="满意", rating=5),
                 tk.topic_id) == 1
    assert _topic(emu, tk)["is_closed"]
    # Answered: no reminder and no expiry follow; a second press is refused politely.
    await _tick(desk, emu, clock, 30)
    assert len(_follow_ups(emu)) == 1
    [stale] = await chat.press("fu", _arg(ask, "mostly"), message=ask)
    assert stale["text"] == plain("zh_CN", "follow_up.stale", ref=tk.ref)
    assert (await ticket(desk, tk.id)).rating == 5
    [listing] = await chat.say("/status")
    assert t("zh_CN", "status.closed") in listing["text"]
    async with desk.db.uow() as uow:
        events = history(await uow.repos.tickets.history(tk.id))
    assert [e for e in events if e.startswith("follow_up") or e == "closed"] == [
        "follow_up_sent", "follow_up_answered", "closed"]
    assert_no_rejections(emu)


async def test_not_satisfied_is_a_repeat_that_goes_to_the_manager_then_the_committee(
        emu: Emulator, db_url: str, desk_factory: Any) -> None:
    handler = SmtpHandler()
    server = start_server(handler)
    try:
        desk, clock, _ = await _desk(emu, db_url, desk_factory, email={
            "host": HOST, "port": server.port, "security": "none",
            "from_address": "desk@example.com"})
        tk = await _claimed_and_resolved(desk, emu)
        await _tick(desk, emu, clock, 11)
        [first] = _follow_ups(emu)
        chat = Chat(emu, emu.user(CUSTOMER))
        [sorry] = await chat.press("fu", _arg(first, "not_satisfied"), message=first)
        await settle(desk, emu)
        now = await ticket(desk, tk.id)
        assert (now.status, now.repeat_count, now.escalation_level, now.assignee_id,
                now.resolver_id, now.rating, now.rating_label) == (
            "open", 1, 2, None, STEWARD, 2, "not_satisfied")
        # An apology, who follows it up now, and a new reply time (the reply window from now).
        assert now.reply_due == clock.now() + timedelta(hours=1)
        assert sorry["text"] == plain(
            "zh_CN", "customer.reopened", ref=tk.ref, level=t("zh_CN", "levels.l2"),
            due=when("zh_CN", desk.deps.desk.calendar.local(now.reply_due)))
        assert not _topic(emu, tk)["is_closed"]
        # The second complaint on the matter: the manager, by message and by e-mail with CC.
        assert any(tk.ref in m.get("text", "") for m in emu.sent(MANAGER))
        (mail,) = await handler.wait_for(1)
        assert mail.message["To"] == "gm@example.com"
        assert mail.message["Cc"] == "ops@example.com"
        assert tk.ref in mail.message["Subject"] and "第 2 级" in mail.message["Subject"]
        # Not back to the steward who resolved it; a steward cannot take a manager's ticket;
        # the manager can, and hands it to another steward.
        q = await _press_staff(desk, emu, STEWARD, tk, "claim")
        assert emu.callback_answers(q)["text"] == t("zh_CN", "access.previous_resolver")
        q = await _press_staff(desk, emu, OTHER, tk, "claim")
        assert emu.callback_answers(q)["text"] == t("zh_CN", "access.level_too_low")
        q = await _press_staff(desk, emu, MANAGER, tk, "claim")
        assert (await ticket(desk, tk.id)).assignee_id == MANAGER
        await emu.user(MANAGER).send_text(f"/transfer {OTHER} 请赵管家上门复查",
                                          chat_id=GROUP, message_thread_id=tk.topic_id)
        await settle(desk, emu)
        assert (await ticket(desk, tk.id)).assignee_id == OTHER
        await _resolved(desk, emu, tk, OTHER, "已再次上门,重新做了防水。")
        # A new resolution gets a new follow-up; the first one's buttons are refused.
        await _tick(desk, emu, clock, 11)
        [_, second] = _follow_ups(emu)
        assert _arg(second, "satisfied") != _arg(first, "satisfied")
        [stale] = await chat.press("fu", _arg(first, "satisfied"), message=first)
        assert stale["text"] == plain("zh_CN", "follow_up.stale", ref=tk.ref)
        assert (await ticket(desk, tk.id)).status == "resolved"
        # Not satisfied again: the third complaint goes to the committee.
        await chat.press("fu", _arg(second, "not_satisfied"), message=second)
        await settle(desk, emu)
        now = await ticket(desk, tk.id)
        assert (now.status, now.repeat_count, now.escalation_level, now.resolver_id) == (
            "open", 2, 3, OTHER)
        (_, board) = await handler.wait_for(2)
        assert board.message["To"] == "board@example.com" and "第 3 级" in board.message["Subject"]
        assert any(tk.ref in m.get("text", "") for m in emu.sent(BOARD))
    finally:
        server.stop()


async def test_no_answer_gets_one_reminder_then_is_closed_and_restarts_send_nothing_twice(
        emu: Emulator, db_url: str, desk_factory: Any) -> None:
    desk, clock, config, tk, ask = await _asked(emu, db_url, desk_factory)
    reminder = plain("zh_CN", "follow_up.reminder", ref=tk.ref)
    closed = plain("zh_CN", "follow_up.closed_no_response", ref=tk.ref)
    # Down before the reminder is due; the instance died while running it (its lease is live).
    await desk.stop()
    clock.advance(timedelta(seconds=6))
    async with desk.db.uow() as uow:
        assert len(await uow.repos.timers.claim_due(clock.now(), 10, clock.now() + LEASE)) == 1
        await uow.commit()
    before = len(emu.sent(CUSTOMER))
    desk = await desk_factory(config, clock=clock)
    await emu.wait_for_sent(CUSTOMER, count=before + 1, timeout=10)
    assert await desk.scheduler.run_due() == 0
    await drained(desk)
    assert _said(emu, CUSTOMER, reminder) == 1
    # Down again past the expiry; started again: closed as "no response", once.
    await desk.stop()
    clock.advance(timedelta(seconds=7))
    desk = await desk_factory(config, clock=clock)
    await emu.wait_for_sent(CUSTOMER, count=before + 2, timeout=10)
    assert await desk.scheduler.run_due() == 0
    await drained(desk)
    now = await ticket(desk, tk.id)
    assert (now.status, now.rating, now.rating_label) == ("closed", None, None)
    assert _topic(emu, tk)["is_closed"]
    assert _said(emu, GROUP, plain("zh_CN", "staff.closed_no_response"), tk.topic_id) == 1
    clock.advance(timedelta(seconds=60))
    assert await desk.scheduler.run_due() == 0
    await drained(desk)
    assert [_said(emu, CUSTOMER, x) for x in (ask["text"], reminder, closed)] == [1, 1, 1]
    async with desk.db.uow() as uow:
        rows = await uow.repos.tickets.history(tk.id)
        events = history(rows)
        reasons = [h.details["reason"] for h in rows if h.event == "closed"]
    assert events.count("follow_up_sent") == 1 and events.count("follow_up_reminded") == 1
    assert reasons == ["no_response"]


async def test_something_left_over_is_asked_for_in_their_words_and_reopens_the_ticket(
        emu: Emulator, db_url: str, desk_factory: Any) -> None:
    desk, clock, _, tk, ask = await _asked(emu, db_url, desk_factory)
    chat = Chat(emu, emu.user(CUSTOMER))
    [prompt] = await chat.press("fu", _arg(ask, "left_over"), message=ask)
    assert prompt["text"] == plain("zh_CN", "follow_up.left_over_ask", ref=tk.ref)
    assert buttons(prompt) == ["c:cancel"]
    # A way out: nothing changes, and the follow-up's buttons still work.
    [cancelled] = await chat.press("cancel", message=prompt)
    assert cancelled["text"] == plain("zh_CN", "follow_up.left_over_cancelled")
    assert (await ticket(desk, tk.id)).status == "resolved"
    [prompt] = await chat.press("fu", _arg(ask, "left_over"), message=ask)
    [again] = await chat.sticker()
    assert again["text"] == plain("zh_CN", "follow_up.left_over_again", ref=tk.ref)
    # The reminder does not ask someone who is telling us what is left over.
    await _tick(desk, emu, clock, 6)
    assert len(_follow_ups(emu)) == 1
    [sorry] = await chat.say("阳台的墙角还在渗水。")
    assert t("zh_CN", "levels.l2") in sorry["text"] and tk.ref in sorry["text"]
    await settle(desk, emu)
    now = await ticket(desk, tk.id)
    assert (now.status, now.repeat_count, now.rating, now.rating_label) == (
        "open", 1, None, "left_over")
    in_topic = [m.get("text") for m in emu.sent(GROUP, message_thread_id=tk.topic_id)]
    reopened = plain("zh_CN", "staff.reopened", ref=tk.ref, n=2, resolver="王管家",
                     why=t("zh_CN", "staff.reopened_why.left_over"))
    # The reopening is said first, then the customer's own words are relayed.
    assert in_topic.index(reopened) < in_topic.index("阳台的墙角还在渗水。")
    async with desk.db.uow() as uow:
        words = [m.text for m in await uow.repos.tickets.messages(tk.id) if m.direction == "in"]
        [answered] = [h.details for h in await uow.repos.tickets.history(tk.id)
                      if h.event == "follow_up_answered"]
    assert "阳台的墙角还在渗水。" in words
    assert answered["answer"] == "left_over" and answered["message_id"]
    # Their next messages join the reopened ticket as any other.
    [added] = await chat.say("下午两点以后家里有人。")
    assert added["text"] == plain("zh_CN", "tickets.message_added", ref=tk.ref)
    assert_no_rejections(emu)
