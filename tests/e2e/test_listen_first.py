"""Listen first: the customer's first words start the complaint; one reaction per pause; one
message per turn (PROCESS.md §1, §5)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from bot.clock import FrozenClock
from bot.emulator import Emulator
from bot.i18n import t
from bot.sandbox import settle
from tests.conftest import make_config
from tests.e2e.intake_helpers import Chat, assert_no_rejections, buttons, plain, to_phone

MONDAY_10 = datetime(2026, 3, 16, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
ELEVATOR = "电梯坏了三天了,没人管,老人上下楼很困难"


async def _draft(app: Any, chat_id: int) -> SimpleNamespace:
    async with app.db.uow() as uow:
        d = await uow.repos.drafts.get(chat_id)
        assert d is not None
        return SimpleNamespace(step=d.step, answers=d.answers)


async def test_first_words_after_start_become_the_story_then_the_usual_flow(
        emu: Emulator, desk: Any) -> None:
    chat = Chat(emu, emu.user(5801, first_name="王芳", language_code="zh"))
    [greeting] = await chat.say("/start")
    assert greeting["text"] == t("zh_CN", "start.greeting", name="王芳")
    assert greeting["text"].endswith("?")  # /start invites them to just write
    [heard] = await chat.say(ELEVATOR)
    assert heard["text"] == t("zh_CN", "intake.facts.heard_1")  # empathy, not a brush-off
    assert buttons(heard) == ["c:done", "c:back", "c:cancel"]
    draft = await _draft(desk, 5801)
    assert draft.step == "facts" and draft.answers["facts"][0]["text"] == ELEVATOR
    [category] = await chat.press("done")
    assert category["text"] == plain("zh_CN", "intake.category.suggest", category="设备管理")
    assert buttons(category) == ["c:cat:equipment", "c:cats", "c:back", "c:cancel"]
    [everything] = await chat.press("cats")  # the full list, one tap away, likely first
    assert everything["text"] == t("zh_CN", "intake.category.ask")
    assert buttons(everything)[0] == "c:cat:equipment" and "c:cat:housing" in buttons(everything)
    [outcome] = await chat.press("cat", "equipment")
    # One message per turn: the confirmation and the next question together.
    assert outcome["text"] == (t("zh_CN", "intake.category.noted", category="设备管理") + "\n\n"
                               + t("zh_CN", "intake.outcome.ask"))
    await chat.press("out", "repair")
    await chat.say("2号楼东侧电梯")
    await chat.press("abt", "no")
    await chat.press("pname")
    await chat.contact("+8613812345678")
    await chat.press("prev", "no")
    [ack] = await chat.press("ok")
    async with desk.db.uow() as uow:
        [ticket] = await uow.repos.tickets.of_customer(5801)
        assert ticket.ref in ack["text"]
        assert ticket.facts.startswith(ELEVATOR) and ticket.category == "equipment"
        assert ticket.extra == {"location": "2号楼东侧电梯"}
    texts = [m.get("text", "") for m in chat.messages()]
    assert t("zh_CN", "common.not_understood") not in texts
    assert_no_rejections(emu)


async def test_first_words_without_start_typed_yes_takes_the_suggestion(
        emu: Emulator, desk: Any) -> None:
    chat = Chat(emu, emu.user(5802, first_name="Ann", language_code="en"))
    [heard] = await chat.say("The lift has been broken for three days")  # no /start at all
    assert heard["text"] == t("en", "intake.facts.heard_1")
    [category] = await chat.press("done")
    assert buttons(category)[0] == "c:cat:equipment"
    [outcome] = await chat.say("yes")
    assert outcome["text"].endswith(t("en", "intake.outcome.ask"))
    draft = await _draft(desk, 5802)
    assert draft.answers["category"] == "equipment"
    assert draft.answers["facts"][0]["text"] == "The lift has been broken for three days"


async def test_a_photo_or_a_voice_note_as_the_first_message_starts_the_story(
        emu: Emulator, desk: Any) -> None:
    chat = Chat(emu, emu.user(5803, first_name="Ann", language_code="en"))
    [heard] = await chat.photo(caption="Look at the ceiling")
    assert heard["text"] == t("en", "intake.facts.heard_1")
    [heard] = await chat.voice()
    assert heard["text"] == t("en", "intake.facts.heard_2")  # varied, not the same sentence
    facts = (await _draft(desk, 5803)).answers["facts"]
    assert [(f["kind"], f["text"]) for f in facts] == [("photo", "Look at the ceiling"),
                                                       ("voice", "")]
    assert all(f["file_id"] for f in facts)
    # Words typed at the category step are more of the story, not a refusal.
    await chat.press("done")
    [again] = await chat.say("And water is dripping on the stairs")
    assert again["text"].startswith(t("en", "intake.category.added"))
    assert "c:cat:housing" in buttons(again)
    assert len((await _draft(desk, 5803)).answers["facts"]) == 3


async def test_five_quick_messages_get_one_reaction_from_a_durable_timer(
        emu: Emulator, db_url: str, desk_factory: Callable[..., Any]) -> None:
    clock = FrozenClock(MONDAY_10)
    cfg = make_config(db_url, emu.base_url, intake={"listen_pause": "2s"})
    app = await desk_factory(cfg, clock=clock)
    chat = Chat(emu, emu.user(5804, first_name="李雷", language_code="zh"))
    await chat.say("/start")
    before = len(chat.messages())
    for i in range(5):
        await chat.user.send_text(f"第{i + 1}件事:楼道的灯一直不亮")
    await settle(emu, app)
    await app.scheduler.run_due()
    await app.sender.drain()
    assert len(chat.messages()) == before  # nothing said per message: we are listening
    typing = [c for c in emu.calls if c.method == "sendChatAction"
              and c.params.get("chat_id") == chat.id]
    assert len(typing) == 1  # "typing…" once, at the first message: it is heard
    assert len((await _draft(app, 5804)).answers["facts"]) == 5
    # The pause is a timer row: a restart in between loses nothing.
    await app.stop()
    clock.advance(timedelta(seconds=3))
    app = await desk_factory(cfg, clock=clock)
    await app.scheduler.run_due()
    [reaction] = (await emu.wait_for_sent(chat.id, count=before + 1))[before:]
    assert reaction["text"] == t("zh_CN", "intake.facts.heard_1")
    await app.scheduler.run_due()
    await app.sender.drain()
    assert len(chat.messages()) == before + 1  # one reaction, not five
    # The next pause: a different sentence, and "That's all" moves to the newest prompt.
    await chat.user.send_text("物业说明天来修")
    await settle(emu, app)
    clock.advance(timedelta(seconds=3))
    await app.scheduler.run_due()
    [second] = (await emu.wait_for_sent(chat.id, count=before + 2))[before + 1:]
    assert second["text"] == t("zh_CN", "intake.facts.heard_2")
    assert "c:done" in buttons(second)
    await app.sender.drain()
    assert buttons(chat.messages()[before]) == []  # the older prompt lost its button
    assert_no_rejections(emu)


async def test_a_wrong_phone_number_is_one_message_with_the_question_once(
        emu: Emulator, desk: Any) -> None:
    chat = Chat(emu, emu.user(5805, first_name="李雷", language_code="zh"))
    await to_phone(chat)
    ask = chat.messages()[-1]
    assert ask["text"] == t("zh_CN", "intake.phone.ask")
    assert "只用于处理这次投诉" in ask["text"]  # PROCESS.md §8, said where the number is asked
    before = len(chat.messages())
    await chat.user.send_text("12345")
    await settle(emu, desk)
    [error] = chat.messages()[before:]
    question = t("zh_CN", "intake.phone.ask")
    assert error["text"].startswith(t("zh_CN", "intake.error.phone", example="13812345678",
                                      example_international="+86 138 1234 5678"))
    assert error["text"].count(question) == 1
