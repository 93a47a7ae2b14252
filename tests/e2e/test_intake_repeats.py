"""Repeat complaints (重复投诉, PROCESS.md §4) end to end over HTTP: the same matter again joins
its ticket and goes up the ladder; an earlier ticket picked at "complained before?" files the
new one as a repeat at its level; a message after a ticket was closed offers the choice."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.app import App
from bot.clock import FrozenClock
from bot.domain.lifecycle import Transition
from bot.domain.vocabulary import ActorKind
from bot.emulator import Emulator
from bot.i18n import t
from bot.services import life
from bot.services.staff_out import Call
from handlers import staff_render
from tests.conftest import make_config
from tests.e2e.handoff_helpers import (
    GROUP,
    ROSTER,
    STEWARD,
    SUPERVISOR,
    card_of,
    file_config,
    file_direct,
    settle,
    staff_users,
    ticket,
)
from tests.e2e.intake_helpers import (
    Chat,
    assert_no_rejections,
    buttons,
    plain,
    to_phone,
)

MANAGER, COMMITTEE, MANAGERS_CHAT = 1006, 1007, -1009000000001
CUSTOMER, OTHER_CUSTOMER = 5601, 5602
# Wednesday 2 December 2026, 10:00 in Shanghai: a working day, inside business hours.
WEDNESDAY_10 = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)


async def _desk(emu: Emulator, db_url: str, desk_factory: Any, clock: Any = None,
                **intake: Any) -> App:
    """A staff group and a roster with the whole ladder: supervisor, manager, committee."""
    staff_users(emu)
    emu.user(MANAGER, first_name="周总", language_code="zh")
    emu.user(COMMITTEE, first_name="吴主任", language_code="zh")
    emu.create_group(MANAGERS_CHAT, title="管理中心")
    f = file_config()
    f["staff"] = [s if s["telegram_id"] != SUPERVISOR else {**s, "supervisor": MANAGER}
                  for s in ROSTER]
    f["staff"] += [{"telegram_id": MANAGER, "name": "周总", "role": "manager",
                    "supervisor": COMMITTEE},
                   {"telegram_id": COMMITTEE, "name": "吴主任", "role": "committee"}]
    f["escalation"] = {"manager": {"chat_ids": [MANAGERS_CHAT]}}
    if intake:
        f["intake"] = intake
    return await desk_factory(make_config(db_url, emu.base_url, **f),  # type: ignore[no-any-return]
                              clock=clock)


async def _resolve(desk: App, emu: Emulator, tk: Any) -> None:
    """The steward claims the ticket and resolves it (its topic is closed then)."""
    steward = emu.user(STEWARD)
    await steward.press(tk.card_message_id, f"s:claim:{tk.id}", chat_id=GROUP)
    await settle(desk, emu)
    await steward.press(tk.card_message_id, f"s:resolve:{tk.id}", chat_id=GROUP)
    await settle(desk, emu)
    await steward.send_text("已修好楼上的水管。", chat_id=GROUP, message_thread_id=tk.topic_id)
    await settle(desk, emu)
    assert (await ticket(desk, tk.id)).status == "resolved"


async def _close(desk: App, emu: Emulator, tk: Any) -> None:
    """Resolved, then closed through the lifecycle with its topic, as a satisfied follow-up
    answer closes it."""
    await _resolve(desk, emu, tk)
    d = desk.deps.desk
    async with desk.db.uow() as uow:
        row = await uow.repos.tickets.get(tk.id)
        assert row is not None
        now = d.clock.now()
        await life.move(uow, d, row, Transition.CLOSE, ActorKind.SYSTEM, None, now)
        row.closed_at = now
        # Closing closes the topic, as the follow-up's close does.
        staff_render.render(uow.repos.outbox, [Call(
            row.staff_chat_id, "closeForumTopic",
            {"chat_id": row.staff_chat_id, "message_thread_id": row.topic_id}, ticket_id=row.id)])
        await uow.commit()
    await settle(desk, emu)


async def _filed(emu: Emulator, db_url: str, desk_factory: Any,
                 then: Callable[[App, Emulator, Any], Awaitable[None]] | None = None
                 ) -> tuple[App, Any, Chat]:
    """A desk, the customer's housing ticket (`then` resolved or closed) and their chat."""
    desk = await _desk(emu, db_url, desk_factory)
    tk = await file_direct(desk, emu, CUSTOMER)
    if then is not None:
        await then(desk, emu, tk)
    return desk, tk, Chat(emu, emu.user(CUSTOMER))


async def _tell(chat: Chat, story: str) -> list[dict[str, Any]]:
    """"File a complaint", the story in one message, "That's all": the category question."""
    await chat.say("/start")
    await chat.press("file")
    await chat.say(story)
    return await chat.press("done")


async def _finish_housing(chat: Chat) -> dict[str, Any]:
    """From the outcome question to the acknowledgement (a housing complaint, first time)."""
    await chat.press("out", "repair")
    await chat.say("3栋 1201")
    await chat.press("abt", "no")
    await chat.press("pname")
    await chat.contact("+8613812345678")
    await chat.press("prev", "no")
    [ack] = await chat.press("ok")
    return ack


async def _history(desk: App, ticket_id: int) -> list[tuple[str, dict[str, Any]]]:
    async with desk.db.uow() as uow:
        return [(h.event, dict(h.details or {}))
                for h in await uow.repos.tickets.history(ticket_id)]


async def _tickets(desk: App, customer_id: int) -> list[Any]:
    async with desk.db.uow() as uow:
        rows = await uow.repos.tickets.of_customer(customer_id)
        for r in rows:
            uow.session.expunge(r)
        return rows


async def _no_draft(desk: App, chat_id: int) -> bool:
    async with desk.db.uow() as uow:
        return await uow.repos.drafts.get(chat_id) is None


def _texts(emu: Emulator, chat_id: int, needle: str, thread: int | None = None) -> list[str]:
    return [m.get("text") or "" for m in emu.sent(chat_id, thread)
            if needle in (m.get("text") or "")]


async def test_the_same_matter_again_joins_the_open_ticket_and_goes_to_the_manager(
        emu: Emulator, db_url: str, desk_factory: Any) -> None:
    desk, tk, chat = await _filed(emu, db_url, desk_factory)
    await chat.say("/start")
    await chat.press("file")
    await chat.say("水又漏下来了,天花板都湿透了")
    await chat.photo(caption="这是今天拍的")
    await chat.press("done")
    # The category is known: a ticket of that kind is still open, so they are asked.
    [same] = await chat.press("cat", "housing")
    assert same["text"].startswith(plain("zh_CN", "intake.category.noted", category="房屋管理"))
    assert plain("zh_CN", "intake.same.line", ref=tk.ref,
                 status=t("zh_CN", "status.open")) in same["text"]
    assert same["text"].endswith(t("zh_CN", "intake.same.ask").rsplit("\n", 1)[-1])
    assert buttons(same) == [f"c:same:{tk.id}", "c:same:new", "c:back", "c:cancel"]
    assert same["reply_markup"]["inline_keyboard"][0][0]["text"] == t(
        "zh_CN", "intake.same.yes", ref=tk.ref)

    [joined] = await chat.press("same", tk.id)
    # An apology, where their words went, and who follows it up now.
    assert joined["text"] == plain("zh_CN", "repeat.joined", ref=tk.ref,
                                   level=t("zh_CN", "levels.l2"))
    await settle(desk, emu)
    assert await _no_draft(desk, CUSTOMER)
    [only] = await _tickets(desk, CUSTOMER)  # no second ticket
    now = await ticket(desk, tk.id)
    assert (only.id, now.status, now.repeat_count, now.escalation_level) == (tk.id, "open", 1, 2)
    events = await _history(desk, tk.id)
    assert [e for e, _ in events][-4:] == ["repeat_joined", "customer_message",
                                            "customer_message", "escalated"]
    [rj] = [d for e, d in events if e == "repeat_joined"]
    assert rj == {"count": 1, "messages": 2}
    [esc] = [d for e, d in events if e == "escalated"]
    assert (esc["level"], esc["from"], esc["cause"]) == (2, 0, "repeat")
    async with desk.db.uow() as uow:
        msgs = [(m.kind, m.text) for m in await uow.repos.tickets.messages(tk.id)]
    assert msgs[-2:] == [("text", "水又漏下来了,天花板都湿透了"), ("photo", "这是今天拍的")]
    # Staff see it in the topic: the repeat said, then the customer's own messages.
    topic = emu.sent(GROUP, now.topic_id)
    said = [m.get("text") or m.get("caption") or "" for m in topic]
    assert plain("zh_CN", "staff.repeat_joined", ref=tk.ref, nth=2) in said
    assert "水又漏下来了,天花板都湿透了" in said and "这是今天拍的" in said
    # The manager is told in private and in the level's chat; the card shows level and count.
    assert any(tk.ref in x for x in _texts(emu, MANAGER, tk.ref))
    assert _texts(emu, MANAGERS_CHAT, tk.ref)
    assert not _texts(emu, COMMITTEE, tk.ref)
    card = card_of(emu, now)["text"]
    assert plain("zh_CN", "staff.card.repeat", nth=2, ref="—") in card
    assert "2" in card.splitlines()[1]
    assert_no_rejections(emu)


async def test_another_category_is_not_asked_about(emu: Emulator, db_url: str,
                                                   desk_factory: Any) -> None:
    _app, _tk, chat = await _filed(emu, db_url, desk_factory)  # a housing ticket
    await _tell(chat, "电梯坏了三天了,没人管")
    [outcome] = await chat.press("cat", "equipment")
    assert not any(b.startswith("c:same") for b in buttons(outcome))
    assert "c:out:repair" in buttons(outcome)


async def test_something_new_files_a_new_ticket(emu: Emulator, db_url: str,
                                                desk_factory: Any) -> None:
    desk, tk, chat = await _filed(emu, db_url, desk_factory)
    await _tell(chat, "楼道的灯也坏了")
    await chat.press("cat", "housing")
    [outcome] = await chat.press("same", "new")
    assert outcome["text"] == (t("zh_CN", "intake.same.noted_new") + "\n\n"
                               + t("zh_CN", "intake.outcome.ask"))
    ack = await _finish_housing(chat)
    assert "非常抱歉" in ack["text"]
    new, old = await _tickets(desk, CUSTOMER)
    assert old.id == tk.id and (old.repeat_count, old.escalation_level) == (0, 0)
    assert (new.facts, new.repeat_count, new.escalation_level) == ("楼道的灯也坏了", 0, 0)
    assert new.previous_ticket_id is None
    assert_no_rejections(emu)


async def test_an_earlier_ticket_picked_files_a_repeat_at_its_level(
        emu: Emulator, db_url: str, desk_factory: Any) -> None:
    desk = await _desk(emu, db_url, desk_factory)
    first = await file_direct(desk, emu, CUSTOMER)
    async with desk.db.uow() as uow:
        row = await uow.repos.tickets.get(first.id)
        assert row is not None
        row.repeat_count = 1  # the customer has come back about it once already
        await uow.commit()
    chat = Chat(emu, emu.user(CUSTOMER))
    await to_phone(chat, "other")  # another kind: not offered as the same matter
    _noted, previous = await chat.contact("+8613812345678", count=2)
    assert f"c:prev:{first.id}" in buttons(previous) and "c:prev:ignored" in buttons(previous)
    [summary] = await chat.press("prev", first.id)
    assert t("zh_CN", "intake.previous.linked") in summary["text"]
    await chat.press("ok")
    await settle(desk, emu)
    new = (await _tickets(desk, CUSTOMER))[0]
    # The third complaint on the matter: the committee's level from the start.
    assert (new.previous_ticket_id, new.repeat_count, new.escalation_level) == (first.id, 2, 3)
    [esc] = [d for e, d in await _history(desk, new.id) if e == "escalated"]
    assert (esc["level"], esc["cause"]) == (3, "repeat")
    assert first.ref in esc["reason"]
    # Told once the topic exists, with its link; the stewards are not asked to claim it.
    new = await ticket(desk, new.id)
    [dm] = _texts(emu, COMMITTEE, new.ref)
    assert f"/{new.topic_id}" in dm and first.ref in dm
    assert not _texts(emu, STEWARD, new.ref)
    assert plain("zh_CN", "staff.card.repeat", nth=3, ref=first.ref) in card_of(emu, new)["text"]

    # "I complained before and nobody handled it": the second complaint, to the manager.
    other = Chat(emu, emu.user(OTHER_CUSTOMER, first_name="韩梅梅", language_code="zh"))
    await to_phone(other)
    await other.contact("+8613812345679", count=2)
    [summary] = await other.press("prev", "ignored")
    assert t("zh_CN", "intake.previous.answer_ignored") in summary["text"]
    await other.press("ok")
    await settle(desk, emu)
    [mine] = await _tickets(desk, OTHER_CUSTOMER)
    assert (mine.previous_ticket_id, mine.repeat_count, mine.escalation_level) == (None, 1, 2)
    [dm] = _texts(emu, MANAGER, mine.ref)
    assert t("zh_CN", "escalation.repeat.ignored") in dm
    assert_no_rejections(emu)


async def test_a_message_after_closure_offers_the_choice_and_yes_reopens_it(
        emu: Emulator, db_url: str, desk_factory: Any) -> None:
    desk, tk, chat = await _filed(emu, db_url, desk_factory, _close)
    [same] = await chat.say("楼上又漏水了,和上次一样")
    assert same["text"] == plain("zh_CN", "intake.same.ask_finished", tickets=plain(
        "zh_CN", "intake.same.line", ref=tk.ref, status=t("zh_CN", "status.closed")))
    assert buttons(same) == [f"c:same:{tk.id}", "c:same:new", "c:back", "c:cancel"]
    [joined] = await chat.press("same", tk.id)
    assert joined["text"] == plain("zh_CN", "repeat.joined", ref=tk.ref,
                                   level=t("zh_CN", "levels.l2"))
    await settle(desk, emu)
    now = await ticket(desk, tk.id)
    assert (now.status, now.repeat_count, now.escalation_level) == ("open", 1, 2)
    assert now.closed_at is None and now.assignee_id is None
    names = [e for e, _ in await _history(desk, tk.id)]
    # Reopening a repeat takes it up the ladder at once; then what they wrote joins it.
    assert names[names.index("closed") + 1:] == [
        "reopened", "escalated", "repeat_joined", "customer_message"]
    assert [len(await _tickets(desk, CUSTOMER)), await _no_draft(desk, CUSTOMER)] == [1, True]
    # The topic is opened again and says why; the manager is told.
    assert any(c.method == "reopenForumTopic" and c.status == 200 for c in emu.calls)
    assert _texts(emu, GROUP, plain("zh_CN", "staff.reopened_why.came_back"), now.topic_id)
    assert _texts(emu, GROUP, "楼上又漏水了,和上次一样", now.topic_id)
    assert _texts(emu, MANAGER, tk.ref)
    assert_no_rejections(emu)


async def test_a_resolved_ticket_of_the_category_reopens_as_a_repeat(
        emu: Emulator, db_url: str, desk_factory: Any) -> None:
    desk, tk, chat = await _filed(emu, db_url, desk_factory, _resolve)
    await _tell(chat, "修完第二天又漏了")
    [same] = await chat.press("cat", "housing")
    assert plain("zh_CN", "intake.same.line", ref=tk.ref,
                 status=t("zh_CN", "status.resolved")) in same["text"]
    await chat.press("same", tk.id)
    await settle(desk, emu)
    now = await ticket(desk, tk.id)
    assert (now.status, now.repeat_count, now.escalation_level) == ("open", 1, 2)
    assert (now.assignee_id, now.resolved_at) == (None, None)  # back to the stewards
    assert not next(x for x in emu.topics(GROUP) if x["message_thread_id"] == now.topic_id)[
        "is_closed"]
    assert _texts(emu, GROUP, "修完第二天又漏了", now.topic_id)
    assert_no_rejections(emu)


async def test_a_message_after_closure_about_something_new_starts_the_story(
        emu: Emulator, db_url: str, desk_factory: Any) -> None:
    desk, tk, chat = await _filed(emu, db_url, desk_factory, _close)
    await chat.say("车库的门禁坏了")
    [listening] = await chat.press("same", "new")
    assert listening["text"] == (t("zh_CN", "intake.same.noted_new") + "\n\n"
                                 + t("zh_CN", "intake.facts.heard_1"))
    assert "c:done" in buttons(listening)
    await chat.say("已经一个星期了")
    [category] = await chat.press("done")
    if "c:cat:housing" not in buttons(category):
        await chat.press("cats")
    # They said it is not that ticket's matter: not asked again for its category.
    [outcome] = await chat.press("cat", "housing")
    assert "c:out:repair" in buttons(outcome) and "c:same:new" not in buttons(outcome)
    await _finish_housing(chat)
    new, old = await _tickets(desk, CUSTOMER)
    assert old.status == "closed" and old.repeat_count == 0
    assert new.facts == "车库的门禁坏了\n\n已经一个星期了" and new.repeat_count == 0
    assert_no_rejections(emu)


async def test_a_ticket_closed_longer_ago_than_the_window_is_not_offered(
        emu: Emulator, db_url: str, desk_factory: Any) -> None:
    clock = FrozenClock(WEDNESDAY_10)
    desk = await _desk(emu, db_url, desk_factory, clock, repeat_window="1h")
    tk = await file_direct(desk, emu, CUSTOMER)
    await _close(desk, emu, tk)
    clock.advance(timedelta(hours=2))
    chat = Chat(emu, emu.user(CUSTOMER))
    [heard] = await chat.say("楼上又漏水了")
    assert heard["text"] == t("zh_CN", "intake.facts.heard_1")
    assert not any(b.startswith("c:same") for b in buttons(heard))
