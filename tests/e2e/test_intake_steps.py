"""Intake steps end to end: restart, validation, Change a field, Back and Cancel."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from bot.config import Config
from bot.emulator import Emulator
from bot.i18n import t
from tests.conftest import make_config
from tests.e2e.intake_helpers import (
    Chat,
    assert_no_rejections,
    buttons,
    plain,
    to_confirm,
    to_phone,
)


async def test_restart_mid_intake_continues_at_the_same_step(
        emu: Emulator, config: Config, desk_factory: Callable[..., Any]) -> None:
    app = await desk_factory(config)
    chat = Chat(emu, emu.user(5201, first_name="韩梅梅", language_code="zh"))
    await to_phone(chat)
    await app.sender.drain()  # so the restart does not resend the last prompt
    await app.stop()
    before = len(chat.messages())
    # While the desk is down the customer answers; the update waits at "Telegram".
    await chat.user.send_contact("13812345678")
    app2 = await desk_factory(config)
    noted, previous = (await emu.wait_for_sent(chat.id, count=before + 2))[before:]
    assert "+86 138 1234 5678" in noted["text"]
    assert previous["text"] == t("zh_CN", "intake.previous.ask")
    [summary] = await chat.press("prev", "no")
    assert "楼上漏水,已经三天了" in summary["text"] and "3栋 1201" in summary["text"]
    await chat.press("ok")
    async with app2.db.uow() as uow:
        [ticket] = await uow.repos.tickets.of_customer(5201)
        assert ticket.phone == "+8613812345678"
    assert_no_rejections(emu)


async def test_resume_from_the_menu_after_start(emu: Emulator, desk: Any) -> None:
    chat = Chat(emu, emu.user(5202, first_name="Bo", language_code="en"))
    await chat.say("/start")
    await chat.press("file")
    [greeting] = await chat.say("/start")
    assert greeting["text"] == t("en", "start.greeting_resume", name="Bo")
    [ask] = await chat.press("file", message=greeting)  # one message: resuming + the question
    assert ask["text"] == t("en", "intake.resuming") + "\n\n" + t("en", "intake.facts.ask")


# -- validation ---------------------------------------------------------------------------

def _err(lang: str, reason: str, **hints: Any) -> str:
    return t(lang, f"intake.error.{reason}", **hints)


async def test_every_validation_path(emu: Emulator, db_url: str,
                                     desk_factory: Callable[..., Any]) -> None:
    cfg = make_config(db_url, emu.base_url, intake={"max_facts_length": 100}, categories=[
        {"key": "goods", "zh": "商品", "en": "Goods", "fields": [
            {"key": "when", "zh": "购买时间", "en": "Bought on", "type": "datetime"},
            {"key": "size", "zh": "规格", "en": "Size", "type": "choice",
             "options": [{"zh": "大", "en": "Large"}, {"zh": "小", "en": "Small"}]},
            {"key": "item", "zh": "商品照片", "en": "Photo of the item", "type": "photo"},
            {"key": "alt", "zh": "备用电话", "en": "Other phone", "type": "phone"}]}])
    await desk_factory(cfg)
    chat = Chat(emu, emu.user(5203, first_name="Eve", language_code="en"))
    await chat.say("/start")
    await chat.press("file")
    # Facts: "That's all" before anything was said, empty, a sticker, over the maximum.
    [m] = await chat.press("done")
    assert m["text"].startswith(_err("en", "no_facts"))
    [m] = await chat.say("   ")
    assert m["text"].startswith(_err("en", "empty"))
    [m] = await chat.sticker()
    assert m["text"].startswith(_err("en", "sticker"))
    [m] = await chat.voice()  # a voice note is part of the story
    assert m["text"] == t("en", "intake.facts.heard_1")
    await chat.say("y" * 60)
    [m] = await chat.say("z" * 41)  # over the maximum, but kept whole: never cut
    assert m["text"] == t("en", "intake.facts.heard_3")
    [m] = await chat.say("and one more thing")  # the story is full: said, not kept
    assert m["text"].startswith(_err("en", "story_full", limit=100))
    [m] = await chat.press("done")
    assert m["text"] == t("en", "intake.category.ask")  # no keywords: the whole list
    # A sticker where a category is expected; more story when the story is full.
    [m] = await chat.sticker()
    assert m["text"].startswith(_err("en", "category"))
    [m] = await chat.say("Spaceships")
    assert m["text"].startswith(_err("en", "story_full", limit=100))
    await chat.say("goods")  # typed names are accepted too
    await chat.press("out", "exchange")
    # Date/time: unreadable, in the future.
    [m] = await chat.say("the other day")
    assert m["text"].startswith(_err("en", "datetime"))
    [m] = await chat.say("2099-01-01 10:00")
    assert m["text"].startswith(_err("en", "future"))
    [size] = await chat.say("2026-01-05 14:30")
    # Choice: typed nonsense, then a typed option name.
    [m] = await chat.say("Medium")
    assert m["text"].startswith(_err("en", "choice"))
    [photo] = await chat.say("small")
    assert photo["text"] == plain("en", "intake.field.ask_photo", field="Photo of the item")
    [m] = await chat.say("it is blue")
    assert m["text"].startswith(_err("en", "photo_expected"))
    await chat.photo()
    [m] = await chat.say("12345")
    assert m["text"].startswith(_err("en", "phone", example="13812345678",
                                     example_international="+86 138 1234 5678"))
    await chat.say("010-6552 9988")
    # About a member of staff: typed instead of pressed; an empty name.
    [m] = await chat.say("perhaps")
    assert m["text"].startswith(_err("en", "use_buttons"))
    [m] = await chat.press("abt", "yes")
    assert m["text"] == plain("en", "intake.about.ask_text")
    [m] = await chat.say("  ")
    assert m["text"].startswith(_err("en", "empty"))
    [m] = await chat.say("N" * 201)
    assert m["text"].startswith(_err("en", "too_long", limit=200, left=200))
    [m] = await chat.sticker()
    assert m["text"].startswith(_err("en", "sticker"))
    await chat.say("the guard at the east gate")
    # Name: empty, sticker, too long.
    [m] = await chat.say("\u3000 ")
    assert m["text"].startswith(_err("en", "empty"))
    [m] = await chat.sticker()
    assert m["text"].startswith(_err("en", "sticker"))
    [m] = await chat.say("N" * 201)
    assert m["text"].startswith(_err("en", "too_long", limit=200, left=200))
    await chat.say("Eve")
    # Phone: 12345 is refused with an example; a sticker too.
    [m] = await chat.say("12345")
    assert m["text"].startswith(_err("en", "phone", example="13812345678",
                                     example_international="+86 138 1234 5678"))
    assert "13812345678" in m["text"]
    [m] = await chat.sticker()
    assert m["text"].startswith(_err("en", "sticker"))
    await chat.say("13812345678", count=2)
    [m] = await chat.say("maybe")
    assert m["text"].startswith(_err("en", "use_buttons"))
    [summary] = await chat.press("prev", "no")
    assert "Large" not in summary["text"] and "Small" in summary["text"]
    assert "2026-01-05 14:30" in summary["text"] and "+86 10 6552 9988" in summary["text"]
    assert "the guard at the east gate" in summary["text"]
    [m] = await chat.say("yes")
    assert m["text"].startswith(_err("en", "use_buttons"))
    assert_no_rejections(emu)


async def test_stale_button_is_answered_and_the_step_asked_again(
        emu: Emulator, desk: Any) -> None:
    chat = Chat(emu, emu.user(5204, first_name="Bo", language_code="en"))
    await chat.say("/start")
    await chat.press("file")
    await chat.say("Something went wrong")
    [category] = await chat.press("done")
    await chat.press("cat", "other")
    [again] = await chat.press("cat", "housing", message=category)
    assert again["text"] == t("en", "intake.outcome.ask")
    answers = [c for c in emu.calls if c.method == "answerCallbackQuery"]
    assert answers[-1].params.get("text") == t("en", "intake.stale")


# -- Change a field -----------------------------------------------------------------------

async def test_change_a_field_jumps_there_and_back_to_the_summary(
        emu: Emulator, desk: Any) -> None:
    chat = Chat(emu, emu.user(5205, first_name="李雷", language_code="zh"))
    await to_confirm(chat)
    [which] = await chat.press("chg")
    assert {"c:f:name", "c:f:x:unit", "c:f:facts", "c:f:category"} <= set(buttons(which))
    [name] = await chat.press("f", "name")
    assert name["text"] == t("zh_CN", "intake.name.ask")
    [summary] = await chat.say("李先生")
    assert "李先生" in summary["text"] and summary["text"].endswith("是这样的吗?")
    # The story: the new telling replaces the old.
    await chat.press("chg")
    [again] = await chat.press("f", "facts")
    assert again["text"] == t("zh_CN", "intake.facts.ask_again")
    await chat.say("其实是楼上的水管爆了")
    [summary] = await chat.press("done")
    assert "其实是楼上的水管爆了" in summary["text"] and "已经三天了" not in summary["text"]
    # Another category brings its own fields before the summary.
    await chat.press("chg")
    await chat.press("f", "category")
    [place] = await chat.press("cat", "equipment")
    assert "具体位置" in place["text"]
    [summary] = await chat.say("地下车库")
    assert "地下车库" in summary["text"] and "3栋 1201" not in summary["text"]
    # Back from a field being changed returns to the summary unchanged.
    await chat.press("chg")
    await chat.press("f", "phone")
    ok, summary = await chat.say(t("zh_CN", "button.back"), count=2)
    assert ok["text"] == t("zh_CN", "intake.ok")
    assert summary["text"].startswith("您刚才说的情况是")
    await chat.press("ok")
    async with desk.db.uow() as uow:
        [ticket] = await uow.repos.tickets.of_customer(5205)
        assert ticket.contact_name == "李先生" and ticket.category == "equipment"
        assert ticket.facts == "其实是楼上的水管爆了"
        assert ticket.extra == {"location": "地下车库"}
        [filed, _dispatch] = await uow.repos.tickets.history(ticket.id)
        assert filed.details["replaced_facts"] == ["楼上漏水,已经三天了"]
    assert_no_rejections(emu)


# -- Back and Cancel from every step ------------------------------------------------------

async def _reach(chat: Chat, step: str) -> None:
    """Walk a housing complaint up to `step`."""
    order = ["facts", "category", "outcome", "outcome_text", "x:unit", "about", "about_text",
             "name", "phone", "previous", "confirm", "change"]
    await chat.say("/start")
    await chat.press("file")
    moves = {
        "category": lambda: _facts(chat),
        "outcome": lambda: chat.press("cat", "housing"),
        "outcome_text": lambda: chat.press("out", "other"),
        "x:unit": lambda: chat.say("a new lock"),
        "about": lambda: chat.say("3-1201"),
        "about_text": lambda: chat.press("abt", "yes"),
        "name": lambda: chat.say("the guard at the east gate"),
        "phone": lambda: chat.say("Lei"),
        "previous": lambda: chat.say("13812345678", count=2),
        "confirm": lambda: chat.press("prev", "no"),
        "change": lambda: chat.press("chg"),
    }
    for s in order[1:order.index(step) + 1]:
        await moves[s]()


async def _facts(chat: Chat) -> None:
    await chat.say("the door is broken")
    await chat.press("done")


BACK_TO = {"category": "intake.facts.ask", "outcome": "intake.category.ask",
           "outcome_text": "intake.outcome.ask", "x:unit": "intake.outcome.ask",
           "about": "field", "about_text": "intake.about.ask", "name": "intake.about.ask",
           "phone": "intake.name.ask", "previous": "phone",
           "change": "summary"}


@pytest.mark.parametrize("step", list(BACK_TO))
async def test_back_from_every_step(emu: Emulator, desk: Any, step: str) -> None:
    chat = Chat(emu, emu.user(5300, first_name="Lei", language_code="en"))
    await _reach(chat, step)
    if step == "phone":
        ok, prev = await chat.say(t("en", "button.back"), count=2)
        assert ok["text"] == t("en", "intake.ok")
    else:
        [prev] = await chat.press("back")
    expected = BACK_TO[step]
    if expected == "field":
        assert "Building and unit number" in prev["text"]
    elif expected == "phone":
        assert prev["text"] == t("en", "intake.phone.ask")
    elif expected == "summary":
        assert prev["text"].startswith("Let me read it back.")
    else:
        assert prev["text"] == t("en", expected)
    assert_no_rejections(emu)


async def test_back_from_the_first_step_keeps_the_draft(emu: Emulator, desk: Any) -> None:
    chat = Chat(emu, emu.user(5301, first_name="Lei", language_code="en"))
    await _reach(chat, "facts")
    [menu] = await chat.press("back")
    assert menu["text"] == t("en", "intake.paused") and "c:file" in buttons(menu)
    async with desk.db.uow() as uow:
        assert (await uow.repos.drafts.get(5301)).step == "facts"


STEPS = ["facts", "category", "outcome", "outcome_text", "x:unit", "about", "about_text", "name",
         "phone", "previous", "confirm", "change"]


@pytest.mark.parametrize("step", STEPS)
@pytest.mark.parametrize("how", ["button", "command"])
async def test_cancel_from_every_step(emu: Emulator, desk: Any, step: str, how: str) -> None:
    chat = Chat(emu, emu.user(5302, first_name="Lei", language_code="en"))
    await _reach(chat, step)
    if how == "command":
        done, menu = await chat.say("/cancel", count=2)
    elif step == "phone":
        done, menu = await chat.say(t("en", "button.cancel"), count=2)
    elif step == "change":
        done, menu = await chat.press("cancel", message=chat.messages()[-2], count=2)
    else:
        done, menu = await chat.press("cancel", count=2)
    assert done["text"] == t("en", "intake.cancelled")
    assert "c:file" in buttons(menu)
    async with desk.db.uow() as uow:
        assert await uow.repos.drafts.get(5302) is None
        assert not await uow.repos.tickets.of_customer(5302)
    assert_no_rejections(emu)


async def test_cancel_with_nothing_in_progress(emu: Emulator, desk: Any) -> None:
    chat = Chat(emu, emu.user(5303, first_name="Lei", language_code="en"))
    note, _menu = await chat.say("/cancel", count=2)
    assert note["text"] == t("en", "intake.nothing_to_cancel")
