"""Withdrawing a complaint (撤诉), end to end over HTTP: from the ticket's detail, with a reason;
the topic told and closed, the deadlines stopped, foreign and stale presses refused."""

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
    STEWARD,
    SUPERVISOR,
    card_of,
    file_config,
    file_direct,
    settle,
    staff_users,
    ticket,
)
from tests.e2e.intake_helpers import Chat, assert_no_rejections, buttons, forge, plain

CUSTOMER = 5601
# Wednesday 2 December 2026, 10:00 in Shanghai: a working day, inside business hours.
WEDNESDAY_10 = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)


async def _desk(emu: Emulator, db_url: str, desk_factory: Any) -> tuple[App, FrozenClock]:
    """Second-scale windows and a frozen clock, so a missed deadline would show at once."""
    staff_users(emu)
    f = file_config()
    f["windows"] = {"first_response": "3s", "reply": "20s"}
    clock = FrozenClock(WEDNESDAY_10)
    return await desk_factory(make_config(db_url, emu.base_url, **f), clock=clock), clock


async def _claimed(desk: App, emu: Emulator) -> Any:
    tk = await file_direct(desk, emu)
    await emu.user(STEWARD).press(tk.card_message_id, f"s:claim:{tk.id}", chat_id=GROUP)
    await settle(desk, emu)
    return await ticket(desk, tk.id)


async def _detail(emu: Emulator, db_url: str, desk_factory: Any
                  ) -> tuple[App, FrozenClock, Any, Chat, dict[str, Any]]:
    """A claimed ticket and its detail (/ticket REF) in the customer's chat."""
    desk, clock = await _desk(emu, db_url, desk_factory)
    tk = await _claimed(desk, emu)
    chat = Chat(emu, emu.user(CUSTOMER))
    [detail] = await chat.say(f"/ticket {tk.ref}")
    return desk, clock, tk, chat, detail


async def _events(desk: App, ticket_id: int) -> list[tuple[str, dict[str, Any]]]:
    async with desk.db.uow() as uow:
        return [(h.event, dict(h.details)) for h in await uow.repos.tickets.history(ticket_id)]


async def test_withdraw_with_a_reason_closes_the_topic_and_stops_the_deadlines(
        emu: Emulator, db_url: str, desk_factory: Any) -> None:
    desk, clock, tk, chat, detail = await _detail(emu, db_url, desk_factory)
    assert f"c:wd:{tk.id}" in buttons(detail) and f"c:u:{tk.id}" in buttons(detail)
    [ask] = await chat.press("wd", tk.id)
    assert ask["text"] == plain("zh_CN", "withdraw.ask", ref=tk.ref)
    assert buttons(ask) == [f"c:wdr:{tk.id}:solved", f"c:wdr:{tk.id}:unneeded",
                            f"c:wdr:{tk.id}:other", f"c:wdk:{tk.id}"]
    [confirm] = await chat.press("wdr", f"{tk.id}:solved")
    assert confirm["text"] == plain("zh_CN", "withdraw.confirm", ref=tk.ref,
                                    reason=t("zh_CN", "withdraw.reason.solved"))
    assert (await ticket(desk, tk.id)).status == "assigned"  # nothing happens before Yes
    [done] = await chat.press("wdok", f"{tk.id}:solved")
    assert done["text"] == plain("zh_CN", "withdraw.done", ref=tk.ref)
    await settle(desk, emu)

    now = await ticket(desk, tk.id)
    assert now.status == "withdrawn"
    events = await _events(desk, tk.id)
    [withdrawn] = [d for e, d in events if e == "withdrawn"]
    assert withdrawn == {"reason": "solved"}
    said = plain("zh_CN", "staff.withdrawn", ref=tk.ref,
                 reason=t("zh_CN", "withdraw.reason.solved"))
    assert said in [m.get("text") for m in emu.sent(GROUP, message_thread_id=tk.topic_id)]
    [topic] = [x for x in emu.topics(GROUP) if x["message_thread_id"] == tk.topic_id]
    assert topic["is_closed"]
    card = card_of(emu, now)
    assert t("zh_CN", "staff.status.withdrawn") in card["text"]
    assert not card.get("reply_markup", {}).get("inline_keyboard")  # nothing left to press
    assert any(tk.ref in m["text"] and "🚫" not in m["text"]
               and t("zh_CN", "withdraw.reason.solved") in m["text"] for m in emu.sent(STEWARD))
    async with desk.db.uow() as uow:
        timers = await uow.repos.timers.for_ticket(tk.id)
        assert timers and all(x.status != "pending" for x in timers)

    # Long past the reply window: no deadline fires for a withdrawn complaint.
    counts = {c: len(emu.sent(c)) for c in (CUSTOMER, STEWARD, SUPERVISOR, GROUP)}
    clock.advance(timedelta(seconds=60))
    await desk.scheduler.run_due()
    await settle(desk, emu)
    assert {c: len(emu.sent(c)) for c in counts} == counts
    assert [e for e, _ in await _events(desk, tk.id)] == [e for e, _ in events]

    # A stale Yes changes nothing; a later message starts a new conversation.
    [again] = await chat.press("wdok", f"{tk.id}:solved", message=confirm)
    assert again["text"] == plain("zh_CN", "withdraw.not_active", ref=tk.ref)
    await emu.user(CUSTOMER).send_text("隔壁装修太吵了")
    await settle(desk, emu)
    assert [e for e, _ in await _events(desk, tk.id)].count("withdrawn") == 1
    assert "customer_message" not in [e for e, _ in await _events(desk, tk.id)]
    async with desk.db.uow() as uow:
        draft = await uow.repos.drafts.get(CUSTOMER)
        assert draft is not None and draft.answers["facts"][0]["text"] == "隔壁装修太吵了"
    assert_no_rejections(emu)


async def test_own_words_keep_it_and_a_foreign_press(
        emu: Emulator, db_url: str, desk_factory: Any) -> None:
    desk, _, tk, chat, detail = await _detail(emu, db_url, desk_factory)

    # Someone else's press is refused and recorded on the ticket; nothing changes.
    stranger = Chat(emu, emu.user(5602, first_name="韩梅梅", language_code="zh"))
    assert await forge(emu, stranger, f"c:wdok:{tk.id}:solved") == t("zh_CN",
                                                                      "tickets.not_yours")
    await settle(desk, emu)
    assert (await ticket(desk, tk.id)).status == "assigned"
    assert ("foreign_button", {"action": "wdok"}) in await _events(desk, tk.id)

    # "Keep my complaint" is one tap away.
    await chat.press("wd", tk.id, message=detail)
    [kept] = await chat.press("wdk", tk.id)
    assert kept["text"] == plain("zh_CN", "withdraw.kept", ref=tk.ref)
    assert (await ticket(desk, tk.id)).status == "assigned"

    # Another reason, in their own words.
    await chat.press("wd", tk.id, message=detail)
    [ask_text] = await chat.press("wdr", f"{tk.id}:other")
    assert ask_text["text"] == plain("zh_CN", "withdraw.ask_text", ref=tk.ref)
    [confirm] = await chat.say("已经和邻居谈好了")
    assert confirm["text"] == plain("zh_CN", "withdraw.confirm", ref=tk.ref,
                                    reason="已经和邻居谈好了")
    await chat.press("wdok", f"{tk.id}:other")
    await settle(desk, emu)
    assert (await ticket(desk, tk.id)).status == "withdrawn"
    [withdrawn] = [d for e, d in await _events(desk, tk.id) if e == "withdrawn"]
    assert withdrawn == {"reason": "other", "text": "已经和邻居谈好了"}
    assert any("已经和邻居谈好了" in m.get("text", "")
               for m in emu.sent(GROUP, message_thread_id=tk.topic_id))
    # Their words on withdrawing were never taken for a message on the ticket.
    assert "customer_message" not in history_names(await _events(desk, tk.id))
    assert_no_rejections(emu)


def history_names(events: list[tuple[str, dict[str, Any]]]) -> list[str]:
    return [e for e, _ in events]


async def test_doing_something_else_ends_the_wait_for_their_words(
        emu: Emulator, db_url: str, desk_factory: Any) -> None:
    desk, _, tk, chat, detail = await _detail(emu, db_url, desk_factory)
    [menu] = await chat.say("/start")
    await chat.press("wd", tk.id, message=detail)
    await chat.press("wdr", f"{tk.id}:other")
    # They file a new complaint instead: the wait is dropped and the new draft starts at once.
    [facts] = await chat.press("file", message=menu)
    assert facts["text"] == plain("zh_CN", "intake.facts.ask")
    [added] = await chat.say("楼道灯坏了")
    assert (await ticket(desk, tk.id)).status == "assigned"
    async with desk.db.uow() as uow:
        draft = await uow.repos.drafts.get(CUSTOMER)
        assert draft is not None and draft.step == "facts"
    assert not any(m.get("text") == t("zh_CN", "common.failed") for m in chat.messages())
    assert added
    await settle(desk, emu)
    assert_no_rejections(emu)
    assert "withdrawn" not in history_names(await _events(desk, tk.id))
