"""After filing: /status, /ticket, messages joining the ticket, urging, abuse, language, timers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.clock import FrozenClock
from bot.config import Config
from bot.emulator import Emulator
from bot.i18n import t
from tests.e2e.intake_helpers import (
    Chat,
    assert_no_rejections,
    buttons,
    choose_category,
    plain,
    to_confirm,
)

MONDAY_10 = datetime(2026, 3, 16, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


async def _file(chat: Chat) -> str:
    await to_confirm(chat)
    [ack] = await chat.press("ok")
    return ack["text"]


async def _ticket_ids(app: Any, customer_id: int) -> list[tuple[int, str]]:
    async with app.db.uow() as uow:
        return [(x.id, x.ref) for x in await uow.repos.tickets.of_customer(customer_id)]


async def test_status_ticket_and_privacy(emu: Emulator, desk: Any) -> None:
    lei = Chat(emu, emu.user(5401, first_name="李雷", language_code="zh"))
    await _file(lei)
    [(tid, ref)] = await _ticket_ids(desk, 5401)
    [listing] = await lei.say("/status")
    assert ref in listing["text"] and "房屋管理" in listing["text"]
    assert t("zh_CN", "status.open") in listing["text"]
    assert f"c:t:{tid}" in buttons(listing) and f"c:u:{tid}" in buttons(listing)
    [detail] = await lei.say(f"/ticket {ref.lower()}")
    assert ref in detail["text"] and "楼上漏水" in detail["text"]
    assert t("zh_CN", "history.filed") in detail["text"]
    [same] = await lei.press("t", tid, message=listing)
    assert same["text"] == detail["text"]
    # Another customer sees nothing of it: not by reference, not by a forged button.
    mei = Chat(emu, emu.user(5402, first_name="韩梅梅", language_code="zh"))
    [none] = await mei.say(f"/ticket {ref}")
    assert none["text"] == plain("zh_CN", "tickets.not_found", ref=ref)
    [mine] = await mei.say("/status")
    assert mine["text"] == t("zh_CN", "tickets.none")
    # A forged button on Mei's own message carrying Lei's ticket id.
    [menu] = await mei.say("/start")
    qid = "forged-1"
    query = {"id": qid, "from": mei.user.as_dict(), "message": menu, "chat_instance": "1",
             "data": f"c:t:{tid}"}
    emu.callback_queries[qid] = {"query": query, "answer": None}
    before = len(mei.messages())
    emu.push_update("callback_query", query)
    for _ in range(100):
        if emu.callback_answers(qid) is not None:
            break
        await asyncio.sleep(0.02)
    assert emu.callback_answers(qid)["text"] == t("zh_CN", "tickets.not_yours")
    assert len(mei.messages()) == before
    assert_no_rejections(emu)


async def test_my_tickets_button_and_empty_list(emu: Emulator, desk: Any) -> None:
    chat = Chat(emu, emu.user(5403, first_name="Ann", language_code="en"))
    await chat.say("/start")
    [empty] = await chat.press("mine")
    assert empty["text"] == t("en", "tickets.none")


async def test_messages_join_the_open_ticket(emu: Emulator, desk: Any) -> None:
    chat = Chat(emu, emu.user(5404, first_name="Ann", language_code="en"))
    await _file(chat)
    [(tid, ref)] = await _ticket_ids(desk, 5404)
    [added] = await chat.say("Water is coming through the light fitting now.")
    assert added["text"] == plain("en", "tickets.message_added", ref=ref)
    await chat.photo()
    async with desk.db.uow() as uow:
        msgs = await uow.repos.tickets.messages(tid)
        assert msgs[-2].text == "Water is coming through the light fitting now."
        assert msgs[-1].kind == "photo" and msgs[-1].file_id
        events = [h.event for h in await uow.repos.tickets.history(tid)]
        # No staff group is configured here, so the ticket says it was not dispatched.
        assert events == ["filed", "not_dispatched", "customer_message", "customer_message"]


async def test_several_open_tickets_ask_which_one(emu: Emulator, desk: Any) -> None:
    chat = Chat(emu, emu.user(5405, first_name="Ann", language_code="en"))
    await _file(chat)
    await _file(chat)
    (new_id, new_ref), (old_id, _old_ref) = await _ticket_ids(desk, 5405)
    [choose] = await chat.say("Any news?")
    assert choose["text"] == t("en", "tickets.choose")
    assert set(buttons(choose)) == {f"c:to:{new_id}", f"c:to:{old_id}"}
    [added] = await chat.press("to", new_id)
    assert added["text"] == plain("en", "tickets.message_added", ref=new_ref)
    async with desk.db.uow() as uow:
        assert [m.text for m in await uow.repos.tickets.messages(new_id)][-1] == "Any news?"
        assert await uow.repos.drafts.get(5405) is None


async def test_words_written_while_choosing_start_a_new_complaint(
        emu: Emulator, desk: Any) -> None:
    chat = Chat(emu, emu.user(5407, first_name="Ann", language_code="en"))
    await _file(chat)
    await _file(chat)
    await chat.say("The gate is broken too, this is something else")
    await chat.say("/start")
    await chat.press("file")
    async with desk.db.uow() as uow:
        draft = await uow.repos.drafts.get(5407)
        assert draft is not None
        assert [f["text"] for f in draft.answers["facts"]] == [
            "The gate is broken too, this is something else"]
    await chat.press("done")  # the story is already there: straight on
    [outcome] = await choose_category(chat, "housing")  # not the same matter as the others
    assert "c:out:repair" in buttons(outcome)


async def test_second_ticket_can_link_the_first(emu: Emulator, desk: Any) -> None:
    chat = Chat(emu, emu.user(5406, first_name="Ann", language_code="en"))
    await _file(chat)
    [(first_id, first_ref)] = await _ticket_ids(desk, 5406)
    await chat.say("/start")
    from tests.e2e.intake_helpers import to_phone

    await to_phone(chat)
    _noted, previous = await chat.contact("13812345678")
    assert previous["text"] == t("en", "intake.previous.ask_pick")
    assert f"c:prev:{first_id}" in buttons(previous)
    await chat.press("prev", first_id)
    await chat.press("ok")
    async with desk.db.uow() as uow:
        new = (await uow.repos.tickets.of_customer(5406))[0]
        # The same matter a second time: a repeat complaint, at the manager's level.
        assert (new.previous_ticket_id, new.repeat_count, new.escalation_level) == (
            first_id, 1, 2)
        assert [h.event for h in await uow.repos.tickets.history(new.id)] == [
            "filed", "linked_previous", "escalated", "not_dispatched"]


async def test_urge_records_and_says_who_and_by_when(emu: Emulator, config: Config,
                                                     desk_factory: Callable[..., Any]) -> None:
    app = await desk_factory(config, clock=FrozenClock(MONDAY_10))
    chat = Chat(emu, emu.user(5407, first_name="李雷", language_code="zh"))
    await _file(chat)
    [(tid, ref)] = await _ticket_ids(app, 5407)
    [listing] = await chat.say("/status")
    [urged] = await chat.press("u", tid, message=listing)
    assert urged["text"] == plain("zh_CN", "urge.recorded_team", ref=ref,
                                  due="3月18日 周三 10:00")
    await chat.press("u", tid, message=listing)
    async with app.db.uow() as uow:
        ticket = (await uow.repos.tickets.of_customer(5407))[0]
        assert ticket.urge_count == 2
        urges = [h.details for h in await uow.repos.tickets.history(tid) if h.event == "urged"]
        assert urges == [{"count": 1}, {"count": 2}]
    assert_no_rejections(emu)


async def test_abuse_is_answered_firmly_recorded_and_the_flow_continues(
        emu: Emulator, desk: Any) -> None:
    chat = Chat(emu, emu.user(5408, first_name="李雷", language_code="zh"))
    await chat.say("/start")
    await chat.press("file")
    firm, more = await chat.say("你们这帮废物,漏水三天没人管", count=2)
    assert firm["text"] == t("zh_CN", "abuse.reply") and "尊重我的人格" in firm["text"]
    assert more["text"] == t("zh_CN", "intake.facts.heard_1")
    await chat.press("done")
    await chat.press("cat", "housing")
    await chat.press("out", "repair")
    await chat.say("3栋 1201")
    await chat.press("abt", "no")
    [again] = await chat.say("傻逼")  # at the name step: not taken as a name; one message
    assert again["text"] == t("zh_CN", "abuse.reply") + "\n\n" + t("zh_CN", "intake.name.ask")
    await chat.say("李雷")
    await chat.say("13812345678", count=2)
    await chat.press("prev", "no")
    await chat.press("ok")
    async with desk.db.uow() as uow:
        [ticket] = await uow.repos.tickets.of_customer(5408)
        assert ticket.facts == "你们这帮废物,漏水三天没人管"
        abuse = [h.details["text"] for h in await uow.repos.tickets.history(ticket.id)
                 if h.event == "abusive_language"]
        assert abuse == ["你们这帮废物,漏水三天没人管", "傻逼"]


async def test_language_switch(emu: Emulator, desk: Any) -> None:
    chat = Chat(emu, emu.user(5409, first_name="Li", language_code="zh"))
    [picker] = await chat.say("/language")
    assert set(buttons(picker)) == {"c:setlang:zh_CN", "c:setlang:en"}
    [menu] = await chat.press("setlang", "en")
    assert menu["text"] == t("en", "language.set_menu")
    [ask] = await chat.press("file", message=menu)
    assert ask["text"] == t("en", "intake.facts.ask")
    [again] = await chat.press("setlang", "zh_CN", message=picker)  # the step, in Chinese
    assert again["text"] == t("zh_CN", "language.set") + "\n\n" + t("zh_CN", "intake.facts.ask")


async def test_idle_reminder_once_then_expiry(emu: Emulator, config: Config,
                                              desk_factory: Callable[..., Any]) -> None:
    clock = FrozenClock(MONDAY_10)
    app = await desk_factory(config, clock=clock)
    chat = Chat(emu, emu.user(5410, first_name="Ann", language_code="en"))
    await chat.say("/start")
    await chat.press("file")
    clock.advance(timedelta(minutes=29))
    await app.scheduler.run_due()
    before = len(chat.messages())
    clock.advance(timedelta(minutes=2))
    await app.scheduler.run_due()
    [prompt] = (await emu.wait_for_sent(chat.id, count=before + 1))[before:]
    assert prompt["text"] == t("en", "intake.reminder") + "\n\n" + t("en", "intake.facts.ask")
    clock.advance(timedelta(hours=5))
    await app.scheduler.run_due()  # no second reminder
    clock.advance(timedelta(hours=19))
    await app.scheduler.run_due()
    expired, _menu = (await emu.wait_for_sent(chat.id, count=before + 3))[before + 1:]
    assert expired["text"] == t("en", "intake.expired")
    async with app.db.uow() as uow:
        assert await uow.repos.drafts.get(5410) is None


async def test_activity_postpones_reminder_and_expiry(emu: Emulator, config: Config,
                                                      desk_factory: Callable[..., Any]) -> None:
    clock = FrozenClock(MONDAY_10)
    app = await desk_factory(config, clock=clock)
    chat = Chat(emu, emu.user(5411, first_name="Ann", language_code="en"))
    await chat.say("/start")
    await chat.press("file")
    clock.advance(timedelta(minutes=20))
    await chat.say("The lift is broken")
    await chat.press("done")
    clock.advance(timedelta(minutes=11))
    before = len(chat.messages())
    await app.scheduler.run_due()  # 31 min after start, 11 after the last answer: not yet
    assert len(chat.messages()) == before
    clock.advance(timedelta(minutes=20))
    await app.scheduler.run_due()
    [reminder] = (await emu.wait_for_sent(chat.id, count=before + 1))[before:]
    assert reminder["text"].startswith(t("en", "intake.reminder"))


async def test_listening_moves_on_after_the_customer_stops(
        emu: Emulator, config: Config, desk_factory: Callable[..., Any]) -> None:
    clock = FrozenClock(MONDAY_10)
    app = await desk_factory(config, clock=clock)
    chat = Chat(emu, emu.user(5412, first_name="Ann", language_code="en"))
    await chat.say("/start")
    await chat.press("file")
    await chat.say("The lift has been broken since Friday.")
    clock.advance(timedelta(minutes=2))
    await chat.say("My mother is 80 and lives on the 12th floor.")
    clock.advance(timedelta(minutes=2))
    before = len(chat.messages())
    await app.scheduler.run_due()  # 4 min after the first message, 2 after the last
    assert len(chat.messages()) == before
    clock.advance(timedelta(minutes=2))
    await app.scheduler.run_due()
    [moving] = (await emu.wait_for_sent(chat.id, count=before + 1))[before:]
    # One message: what we heard, then the category the story points to.
    assert moving["text"] == t("en", "intake.moving_on") + "\n\n" + plain(
        "en", "intake.category.suggest", category="Equipment and facilities")
    assert buttons(moving) == ["c:cat:equipment", "c:cats", "c:back", "c:cancel"]


async def test_a_reminder_due_in_quiet_hours_waits_for_the_morning(
        emu: Emulator, config: Config, desk_factory: Callable[..., Any]) -> None:
    clock = FrozenClock(MONDAY_10 + timedelta(hours=10, minutes=40))  # 20:40 in Shanghai
    app = await desk_factory(config, clock=clock)
    chat = Chat(emu, emu.user(5411, first_name="Ann", language_code="en"))
    await chat.say("/start")
    await chat.press("file")
    before = len(chat.messages())
    clock.advance(timedelta(minutes=31))  # 21:11: the reminder is due, but it is night
    await app.scheduler.run_due()
    await asyncio.sleep(0.3)
    assert len(chat.messages()) == before
    clock.advance(timedelta(hours=10, minutes=48))  # 07:59
    await app.scheduler.run_due()
    await asyncio.sleep(0.3)
    assert len(chat.messages()) == before
    clock.advance(timedelta(minutes=1))  # 08:00
    await app.scheduler.run_due()
    [prompt] = (await emu.wait_for_sent(chat.id, count=before + 1))[before:]
    assert prompt["text"].startswith(t("en", "intake.reminder"))
