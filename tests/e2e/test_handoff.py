"""Handoff to stewards end to end: dispatch, claim, relay, notes, about-staff, resolve."""

from __future__ import annotations

import asyncio
from typing import Any

from bot.app import App
from bot.emulator import Emulator
from bot.i18n import t, when
from tests.conftest import make_config
from tests.e2e.handoff_helpers import (
    GROUP,
    OTHER,
    STEWARD,
    SUBJECT,
    SUPERVISOR,
    card_of,
    file_config,
    file_direct,
    history,
    settle,
    staff_users,
    ticket,
)
from tests.e2e.intake_helpers import Chat, assert_no_rejections, plain, to_confirm


def _data(action: str, tid: int, arg: str = "") -> str:
    return f"s:{action}:{tid}" + (f":{arg}" if arg else "")


async def test_filing_opens_a_topic_with_the_card_and_routes_it(
        emu: Emulator, staffdesk: App) -> None:
    chat = Chat(emu, emu.user(5601, first_name="李雷", language_code="zh"))
    await to_confirm(chat)
    await chat.press("ok")
    async with staffdesk.db.uow() as uow:
        [tk] = await uow.repos.tickets.of_customer(5601)
        uow.session.expunge(tk)
    [topic] = [x for x in emu.topics(GROUP) if tk.ref in x["name"]]
    assert "房屋管理" in topic["name"] and "李雷" in topic["name"]
    [card] = await emu.wait_for_sent(GROUP, message_thread_id=topic["message_thread_id"],
                                     predicate=lambda m: "reply_markup" in m)
    assert "楼上漏水,已经三天了" in card["text"] and "138****5678" in card["text"]
    assert "13812345678" not in card["text"]  # only the masked number
    labels = [b["text"] for row in card["reply_markup"]["inline_keyboard"] for b in row]
    assert labels == [t("zh_CN", f"staff.btn.{a}") for a in ("claim", "transfer", "about")]
    # Every routed steward is mentioned and told directly, with a link to the topic.
    for sid in (STEWARD, OTHER):
        assert f"tg://user?id={sid}" in str(card)
        [dm] = await emu.wait_for_sent(sid)
        assert tk.ref in dm["text"] and f"/{topic['message_thread_id']}" in dm["text"]
    assert not emu.sent(SUPERVISOR)
    assert_no_rejections(emu)


async def test_two_stewards_claim_at_once_and_exactly_one_wins(
        emu: Emulator, staffdesk: App) -> None:
    tk = await file_direct(staffdesk, emu)
    q1, q2 = await asyncio.gather(
        emu.user(STEWARD).press(tk.card_message_id, _data("claim", tk.id), chat_id=GROUP),
        emu.user(OTHER).press(tk.card_message_id, _data("claim", tk.id), chat_id=GROUP))
    await settle(staffdesk, emu)
    now = await ticket(staffdesk, tk.id)
    assert now.status == "assigned" and now.assignee_id in (STEWARD, OTHER)
    winner = "王管家" if now.assignee_id == STEWARD else "赵管家"
    answers = {emu.callback_answers(q1)["text"], emu.callback_answers(q2)["text"]}
    assert answers == {t("zh_CN", "staff.claimed", name=winner),
                       t("zh_CN", "access.already_claimed", name=winner)}
    # The customer learns who handles it; the card and the topic name show the assignee.
    told = [m["text"] for m in emu.sent(5601)]
    assert plain("zh_CN", "customer.claimed", name=winner, ref=tk.ref) in told
    assert winner in card_of(emu, now)["text"]
    assert any(winner in x["name"] for x in emu.topics(GROUP))
    async with staffdesk.db.uow() as uow:
        events = history(await uow.repos.tickets.history(tk.id))
        assert events.count("claimed") == 1 and "denied" in events
        timers = {x.kind: x.status for x in await uow.repos.timers.for_ticket(tk.id)}
        assert timers["first_response_due"] == "cancelled"  # the claim was the first response
    assert_no_rejections(emu)


async def test_relay_both_ways_and_notes_stay_internal(emu: Emulator, staffdesk: App) -> None:
    tk = await file_direct(staffdesk, emu)
    steward, other, customer = emu.user(STEWARD), emu.user(OTHER), emu.user(5601)
    await steward.press(tk.card_message_id, _data("claim", tk.id), chat_id=GROUP)
    await settle(staffdesk, emu)
    before = len(emu.sent(5601))
    await steward.send_text("您好,我们下午三点上门查看。", chat_id=GROUP,
                            message_thread_id=tk.topic_id)
    await steward.send_photo(b"\x89PNG-plan", caption="维修方案", chat_id=GROUP,
                             message_thread_id=tk.topic_id)
    await steward.send_text("/note 客户情绪激动,注意语气", chat_id=GROUP,
                            message_thread_id=tk.topic_id)
    await other.send_text("我之前处理过这户", chat_id=GROUP, message_thread_id=tk.topic_id)
    await settle(staffdesk, emu)
    got = emu.sent(5601)[before:]
    assert [m.get("text") or m.get("caption") for m in got] == [
        plain("zh_CN", "customer.relay_header", name="王管家") + "\n您好,我们下午三点上门查看。",
        plain("zh_CN", "customer.relay_header", name="王管家") + "\n维修方案"]
    assert "photo" in got[1]

    in_topic = len(emu.sent(GROUP, message_thread_id=tk.topic_id))
    await customer.send_text("好的,谢谢")
    await customer.send_photo(b"\x89PNG-ceiling")
    await settle(staffdesk, emu)
    copied = emu.sent(GROUP, message_thread_id=tk.topic_id)[in_topic:]
    assert [m.get("text") for m in copied][:1] == ["好的,谢谢"]
    assert any("photo" in m for m in copied)
    async with staffdesk.db.uow() as uow:
        lines = [(x.direction, x.text, x.customer_message_id, x.staff_message_id)
                 for x in await uow.repos.tickets.messages(tk.id)]
    by_dir = [(d, text) for d, text, _, _ in lines]
    # The customer answers a relayed message by replying to it: a reply in the topic too.
    [relayed] = [x for x in emu.sent(5601) if "三点上门" in (x.get("text") or "")]
    await customer.send_text("三点可以", reply_to_message_id=relayed["message_id"])
    await settle(staffdesk, emu)
    [answer] = [x for x in emu.sent(GROUP, message_thread_id=tk.topic_id)
                if x.get("text") == "三点可以"]
    [original] = [mid for d, text, _, mid in lines if text == "您好,我们下午三点上门查看。"]
    assert answer["reply_to_message"]["message_id"] == original
    assert ("note", "客户情绪激动,注意语气") in by_dir and ("note", "我之前处理过这户") in by_dir
    assert ("out", "您好,我们下午三点上门查看。") in by_dir and ("in", "好的,谢谢") in by_dir
    # Both ways are mapped: every relayed line knows its id on the other side.
    assert all(cm and sm for d, text, cm, sm in lines
               if d == "out" or (d == "in" and text == "好的,谢谢"))
    assert_no_rejections(emu)


async def test_history_command_shows_the_whole_transcript(emu: Emulator, staffdesk: App) -> None:
    tk = await file_direct(staffdesk, emu)
    await emu.user(OTHER).send_text("/history", chat_id=GROUP, message_thread_id=tk.topic_id)
    [h] = await emu.wait_for_sent(GROUP, message_thread_id=tk.topic_id,
                                  predicate=lambda m: "📜" in (m.get("text") or ""))
    assert "楼上漏水,已经三天了" in h["text"]


async def test_a_complaint_about_a_steward_goes_to_their_supervisor(
        emu: Emulator, staffdesk: App) -> None:
    tk = await file_direct(staffdesk, emu)
    await settle(staffdesk, emu)
    subject_before = [m["text"] for m in emu.sent(SUBJECT)]
    other = emu.user(OTHER)
    await other.press(tk.card_message_id, _data("about", tk.id), chat_id=GROUP)
    await settle(staffdesk, emu)
    [pick] = [m for m in emu.sent(GROUP, message_thread_id=tk.topic_id)
              if "钱管家" in str(m.get("reply_markup"))]
    await other.press(pick["message_id"], _data("ab", tk.id, str(SUBJECT)), chat_id=GROUP)
    await settle(staffdesk, emu)
    now = await ticket(staffdesk, tk.id)
    assert now.about_staff_id == SUBJECT and now.escalation_level == 1
    [dm] = [m for m in emu.sent(SUPERVISOR) if tk.ref in m["text"]]
    # The person it is about is not told (they only had the ordinary new-ticket note).
    assert [m["text"] for m in emu.sent(SUBJECT)] == subject_before
    q = await emu.user(SUBJECT).press(tk.card_message_id, _data("claim", tk.id), chat_id=GROUP)
    q2 = await emu.user(OTHER).press(tk.card_message_id, _data("claim", tk.id), chat_id=GROUP)
    await settle(staffdesk, emu)
    assert emu.callback_answers(q)["text"] == t("zh_CN", "access.about_you")
    assert emu.callback_answers(q2)["text"] == t("zh_CN", "access.level_too_low")
    await emu.user(SUBJECT).send_text("我来回复", chat_id=GROUP, message_thread_id=tk.topic_id)
    await emu.user(SUPERVISOR).press(tk.card_message_id, _data("claim", tk.id), chat_id=GROUP)
    await settle(staffdesk, emu)
    now = await ticket(staffdesk, tk.id)
    assert now.assignee_id == SUPERVISOR
    assert not [m for m in emu.sent(5601) if "我来回复" in m.get("text", "")]
    assert dm


async def test_resolve_then_not_solved_reopens(emu: Emulator, staffdesk: App) -> None:
    tk = await file_direct(staffdesk, emu)
    steward = emu.user(STEWARD)
    await steward.press(tk.card_message_id, _data("claim", tk.id), chat_id=GROUP)
    await settle(staffdesk, emu)  # the card now offers the handling buttons
    await steward.press(tk.card_message_id, _data("resolve", tk.id), chat_id=GROUP)
    await settle(staffdesk, emu)
    await steward.send_text("已更换楼上水管并修复天花板。", chat_id=GROUP,
                            message_thread_id=tk.topic_id)
    await settle(staffdesk, emu)
    [res] = [m for m in emu.sent(5601) if "已更换楼上水管" in m.get("text", "")]
    assert res["text"] == plain("zh_CN", "customer.resolved", ref=tk.ref,
                                note="已更换楼上水管并修复天花板。")
    now = await ticket(staffdesk, tk.id)
    assert now.status == "resolved" and now.resolved_at is not None
    # The topic stays open while the follow-up is pending.
    assert not any(x["is_closed"] for x in emu.topics(GROUP))
    chat = Chat(emu, emu.user(5601))
    [answer] = await chat.press("ns", tk.id, message=res)
    await settle(staffdesk, emu)
    now = await ticket(staffdesk, tk.id)
    # A repeat complaint: reopened at the manager level, not back to the steward who had it.
    assert (now.status, now.repeat_count, now.assignee_id, now.resolver_id,
            now.escalation_level) == ("open", 1, None, STEWARD, 2)
    assert now.reply_due is not None
    assert answer["text"] == plain(
        "zh_CN", "customer.reopened", ref=tk.ref, level=t("zh_CN", "levels.l2"),
        due=when("zh_CN", staffdesk.deps.desk.calendar.local(now.reply_due)))
    assert any(plain("zh_CN", "staff.reopened", ref=tk.ref, n=2, resolver="王管家",
                     why=t("zh_CN", "staff.reopened_why.not_solved")) == m.get("text")
               for m in emu.sent(GROUP, message_thread_id=tk.topic_id))
    assert_no_rejections(emu)


async def test_blocked_customer_marks_the_ticket_unreachable(
        emu: Emulator, staffdesk: App) -> None:
    tk = await file_direct(staffdesk, emu)
    emu.user(5601).block()
    steward = emu.user(STEWARD)
    await steward.press(tk.card_message_id, _data("claim", tk.id), chat_id=GROUP)
    await settle(staffdesk, emu)
    await steward.send_text("您好?", chat_id=GROUP, message_thread_id=tk.topic_id)
    await settle(staffdesk, emu)
    now = await ticket(staffdesk, tk.id)
    assert now.unreachable
    notices = [m for m in emu.sent(GROUP, message_thread_id=tk.topic_id)
               if m.get("text") == plain("zh_CN", "staff.unreachable", ref=tk.ref)]
    assert len(notices) == 1  # said once, not per bounced message
    tries = [c for c in emu.calls if c.params.get("chat_id") == 5601 and c.status == 403]
    assert len(tries) == 2  # each message tried once, never retried
    # Writing again means they unblocked the bot: the next block is noticed again.
    emu.user(5601).block(False)
    await emu.user(5601).send_text("我又能收到消息了")
    await settle(staffdesk, emu)
    async with staffdesk.db.uow() as uow:
        customer = await uow.repos.customers.get(5601)
        assert customer is not None and not customer.unreachable


async def test_group_without_topics_falls_back_to_replying_to_the_card(
        emu: Emulator, db_url: str, desk_factory: Any) -> None:
    staff_users(emu)
    emu.chats[GROUP].is_forum = False
    desk = await desk_factory(make_config(db_url, emu.base_url, **file_config()))
    tk = await file_direct(desk, emu)
    assert tk.topic_id is None
    notice = t("zh_CN", "staff.no_topics")
    assert [m["text"] for m in emu.sent(GROUP)].count(notice) == 1
    steward = emu.user(STEWARD)
    await steward.press(tk.card_message_id, _data("claim", tk.id), chat_id=GROUP)
    await settle(desk, emu)
    await steward.send_text("马上派人", chat_id=GROUP, reply_to_message_id=tk.card_message_id)
    await settle(desk, emu)
    assert any("马上派人" in m.get("text", "") for m in emu.sent(5601))
    # A second ticket: the notice is not repeated.
    tk2 = await file_direct(desk, emu, customer_id=5602)
    assert tk2.card_message_id
    assert [m["text"] for m in emu.sent(GROUP)].count(notice) == 1


async def test_an_edited_customer_message_keeps_both_wordings(
        emu: Emulator, staffdesk: App) -> None:
    tk = await file_direct(staffdesk, emu)
    customer = emu.user(5601)
    sent = await customer.send_text("明天上午都在家")
    await settle(staffdesk, emu)
    await customer.edit_text(sent["message_id"], "明天下午才在家")
    await settle(staffdesk, emu)
    [notice] = [m for m in emu.sent(GROUP, message_thread_id=tk.topic_id)
                if "明天下午才在家" in (m.get("text") or "")]
    assert notice["text"] == plain("zh_CN", "staff.customer_edited", text="明天下午才在家")
    [copied] = [m for m in emu.sent(GROUP, message_thread_id=tk.topic_id)
                if m.get("text") == "明天上午都在家"]
    assert notice["reply_to_message"]["message_id"] == copied["message_id"]
    async with staffdesk.db.uow() as uow:
        texts = [x.text for x in await uow.repos.tickets.messages(tk.id)]
        [edit] = [h.details for h in await uow.repos.tickets.history(tk.id)
                  if h.event == "customer_edited"]
    assert "明天上午都在家" in texts and "明天下午才在家" in texts  # both kept
    assert (edit["before"], edit["after"]) == ("明天上午都在家", "明天下午才在家")
    assert_no_rejections(emu)


async def test_a_late_not_solved_still_reopens_it_with_the_history(
        emu: Emulator, staffdesk: App) -> None:
    """No deadline on the customer: "Not solved" after the 48 hours reopens the ticket too."""
    from datetime import timedelta

    tk = await file_direct(staffdesk, emu)
    steward = emu.user(STEWARD)
    await steward.press(tk.card_message_id, _data("claim", tk.id), chat_id=GROUP)
    await settle(staffdesk, emu)
    await steward.press(tk.card_message_id, _data("resolve", tk.id), chat_id=GROUP)
    await settle(staffdesk, emu)
    await steward.send_text("已修复。", chat_id=GROUP, message_thread_id=tk.topic_id)
    await settle(staffdesk, emu)
    [res] = [m for m in emu.sent(5601) if "已修复" in m.get("text", "")]
    async with staffdesk.db.uow() as uow:  # three days pass before the customer answers
        row = await uow.repos.tickets.get(tk.id)
        assert row is not None and row.resolved_at is not None
        row.resolved_at -= timedelta(days=3)
        await uow.commit()
    [answer] = await Chat(emu, emu.user(5601)).press("ns", tk.id, message=res)
    assert tk.ref in answer["text"] and t("zh_CN", "levels.l2") in answer["text"]
    await settle(staffdesk, emu)
    now = await ticket(staffdesk, tk.id)
    assert (now.status, now.repeat_count) == ("open", 1)
    async with staffdesk.db.uow() as uow:
        [reopened] = [h.details for h in await uow.repos.tickets.history(tk.id)
                      if h.event == "reopened"]
    # Reopened late; someone must take it up again within the first-response window, and the
    # customer is promised a new reply time.
    assert reopened.pop("first_response_due") == now.first_response_due.isoformat()
    assert reopened.pop("reply_due") == now.reply_due.isoformat()
    assert reopened == {"count": 1, "late": True, "why": "not_solved", "resolver": STEWARD}
    assert any(tk.ref in m.get("text", "") and "王管家" in m.get("text", "")
               for m in emu.sent(GROUP, message_thread_id=tk.topic_id))
