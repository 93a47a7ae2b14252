"""End to end: the whole intake through the emulator, in Chinese and in English."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from bot.clock import FrozenClock
from bot.config import Config
from bot.emulator import Emulator
from bot.i18n import t
from tests.e2e.intake_helpers import Chat, buttons, plain

# Friday 13 March 2026, 17:50 in Shanghai: the reply deadline skips the weekend.
FRIDAY_1750 = datetime(2026, 3, 13, 9, 50, tzinfo=UTC)


async def _desk(desk_factory: Callable[..., Any], config: Config) -> Any:
    return await desk_factory(config, clock=FrozenClock(FRIDAY_1750))


async def test_whole_intake_in_chinese(emu: Emulator, config: Config,
                                       desk_factory: Callable[..., Any]) -> None:
    app = await _desk(desk_factory, config)
    chat = Chat(emu, emu.user(5101, first_name="李雷", language_code="zh-hans"))
    [greeting] = await chat.say("/start")
    assert greeting["text"].startswith("您好,李雷")
    assert {"c:file", "c:mine", "c:lang"} <= set(buttons(greeting))
    [listen] = await chat.press("file")  # the story first
    assert listen["text"] == t("zh_CN", "intake.facts.ask")
    assert "c:done" in buttons(listen) and "c:back" in buttons(listen)
    [more] = await chat.say("楼上漏水,天花板都泡了")
    assert more["text"] == t("zh_CN", "intake.facts.heard_1")
    await chat.photo(caption="这是照片")
    await chat.say("物业说了两次会来,都没来")
    # Then the category, the one the story points to offered first.
    [category] = await chat.press("done")
    assert category["text"] == plain("zh_CN", "intake.category.suggest", category="房屋管理")
    assert buttons(category) == ["c:cat:housing", "c:cats", "c:back", "c:cancel"]
    [outcome] = await chat.press("cat", "housing")
    assert outcome["text"] == (t("zh_CN", "intake.category.noted", category="房屋管理") + "\n\n"
                               + t("zh_CN", "intake.outcome.ask"))
    [unit] = await chat.press("out", "repair")
    assert "楼栋及房号" in unit["text"]
    [about] = await chat.say("3栋 1201")
    assert about["text"] == t("zh_CN", "intake.about.ask")
    assert {"c:abt:no", "c:abt:yes", "c:back", "c:cancel"} <= set(buttons(about))
    [name] = await chat.press("abt", "no")
    assert "c:pname" in buttons(name)
    [phone] = await chat.press("pname")
    kb = phone["reply_markup"] if "reply_markup" in phone else None
    assert phone["text"] == t("zh_CN", "intake.phone.ask")
    assert kb is None or "keyboard" not in kb  # reply keyboards are not stored on messages
    noted, previous = await chat.contact("+86 138 1234 5678")
    assert "+86 138 1234 5678" in noted["text"]
    assert previous["text"] == t("zh_CN", "intake.previous.ask")
    [summary] = await chat.press("prev", "no")
    text = summary["text"]
    assert text.startswith("您刚才说的情况是") and text.endswith("是这样的吗?")
    assert "楼上漏水,天花板都泡了" in text and "3栋 1201" in text and "维修" in text
    assert "李雷" in text and "照片:1 张" in text
    assert f"{t('zh_CN', 'field.about')}: {t('zh_CN', 'intake.about.answer_no')}" in text
    [ack] = await chat.press("ok")
    assert "非常抱歉" in ack["text"] and "感谢" in ack["text"]
    # Friday 17:50 + 2 working days = Tuesday 17:50; first response 30 min after 17:50.
    assert "3月17日 周二 17:50" in ack["text"]
    assert "3月13日 周五 18:20" in ack["text"]

    async with app.db.uow() as uow:
        [ticket] = await uow.repos.tickets.of_customer(5101)
        assert ticket.ref in ack["text"]
        assert ticket.status == "open" and ticket.category == "housing"
        assert ticket.facts == "楼上漏水,天花板都泡了\n\n这是照片\n\n物业说了两次会来,都没来"
        assert ticket.desired_outcome == "repair" and ticket.extra == {"unit": "3栋 1201"}
        assert ticket.contact_name == "李雷" and ticket.phone == "+8613812345678"
        assert ticket.reply_due == datetime(2026, 3, 17, 9, 50, tzinfo=UTC)
        assert ticket.first_response_due == datetime(2026, 3, 13, 10, 20, tzinfo=UTC)
        history = await uow.repos.tickets.history(ticket.id)
        # No staff group in this config: the ticket records that it was not dispatched.
        assert [h.event for h in history] == ["filed", "not_dispatched"]
        assert history[0].actor_kind == "customer" and history[0].actor_id == 5101
        msgs = await uow.repos.tickets.messages(ticket.id)
        assert [m.kind for m in msgs] == ["text", "photo", "text"]
        timers = await uow.repos.timers.for_ticket(ticket.id)
        assert {(x.kind, x.due_at) for x in timers} == {
            ("first_response_due", ticket.first_response_due), ("reply_due", ticket.reply_due)}
        assert await uow.repos.drafts.get(5101) is None


async def test_whole_intake_in_english(emu: Emulator, config: Config,
                                       desk_factory: Callable[..., Any]) -> None:
    app = await _desk(desk_factory, config)
    chat = Chat(emu, emu.user(5102, first_name="Ann", language_code="en-GB"))
    [greeting] = await chat.say("/start")
    assert greeting["text"].startswith("Hello, Ann!")
    [listen] = await chat.press("file")
    assert listen["text"] == t("en", "intake.facts.ask")
    await chat.say("The front desk was rude to me twice this week.")
    [category] = await chat.press("done")  # no keyword matches: the whole list
    assert category["text"] == t("en", "intake.category.ask")
    assert "c:cat:service" in buttons(category)
    await chat.press("cat", "service")
    [typed] = await chat.press("out", "other")
    assert typed["text"] == t("en", "intake.outcome.ask_text")
    [about] = await chat.say("An apology from the manager, in writing.")
    assert about["text"] == t("en", "intake.about.ask")  # "service" has no extra fields
    [name] = await chat.press("abt", "no")
    assert name["text"] == t("en", "intake.name.ask")
    await chat.say("Ann Lee")
    noted, _ = await chat.say("+44 20 7946 0958", count=2)
    assert "+44 20 7946 0958" in noted["text"]
    [summary] = await chat.press("prev", "else")
    assert summary["text"].startswith("Let me read it back.")
    assert "An apology from the manager, in writing." in summary["text"]
    [ack] = await chat.press("ok")
    assert "We are very sorry" in ack["text"] and "thank you" in ack["text"]
    assert "a clear answer by <b>" not in ack["text"]  # markup became entities
    assert "Tue 17 Mar, 17:50" in ack["text"]
    assert "Fri 13 Mar, 18:20" in ack["text"]
    async with app.db.uow() as uow:
        [ticket] = await uow.repos.tickets.of_customer(5102)
        assert ticket.language == "en" and ticket.contact_name == "Ann Lee"
        assert ticket.desired_outcome == "An apology from the manager, in writing."
        assert ticket.phone == "+442079460958"
        assert len(await uow.repos.timers.for_ticket(ticket.id)) == 2
