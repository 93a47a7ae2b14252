"""Long texts reach their readers whole, in several messages, within Telegram's limits."""

from __future__ import annotations

from typing import Any

from bot.app import App
from bot.emulator import Emulator
from bot.i18n import t
from tests.e2e.handoff_helpers import GROUP, OTHER, STEWARD, file_direct, settle, ticket
from tests.e2e.intake_helpers import (
    Chat,
    assert_no_rejections,
    buttons,
    plain,
    told_to_confirm,
)

# 4,096 characters in sentences and paragraphs, an emoji (two UTF-16 units) and HTML specials.
SENTENCE = "楼上漏水 <三天> & 天花板都泡了😀。"


def _units(text: str, n: int) -> str:
    """The head of `text` that is exactly `n` UTF-16 units (as much as a Telegram user may send)."""
    out, used = "", 0
    for ch in text:
        used += 2 if ord(ch) > 0xFFFF else 1
        if used > n:
            return out
        out += ch
    return out


LONG = _units("\n\n".join(SENTENCE * 40 for _ in range(12)), 4096)
CAPTION = _units(LONG, 1024)


def _texts(msgs: list[dict[str, Any]]) -> list[str]:
    return [m.get("text") or m.get("caption") or "" for m in msgs]


async def _claimed(emu: Emulator, desk: App) -> Any:
    tk = await file_direct(desk, emu)
    await emu.user(STEWARD).press(tk.card_message_id, f"s:claim:{tk.id}", chat_id=GROUP)
    await settle(desk, emu)
    return tk


async def test_a_4096_character_reply_reaches_the_customer_whole(
        emu: Emulator, staffdesk: App) -> None:
    tk = await _claimed(emu, staffdesk)
    before = len(emu.sent(5601))
    await emu.user(STEWARD).send_text(LONG, chat_id=GROUP, message_thread_id=tk.topic_id)
    await settle(staffdesk, emu)
    got = _texts(emu.sent(5601)[before:])
    header = plain("zh_CN", "customer.relay_header", name="王管家")
    assert len(got) == 2
    assert "".join(got) == header + "\n" + LONG  # in order, nothing left out, nothing added
    assert_no_rejections(emu)  # every part within Telegram's limit


async def test_an_over_long_caption_comes_as_the_photo_then_the_whole_text(
        emu: Emulator, staffdesk: App) -> None:
    tk = await _claimed(emu, staffdesk)
    before = len(emu.sent(5601))
    caption = CAPTION
    await emu.user(STEWARD).send_photo(b"\x89PNG-plan", caption=caption, chat_id=GROUP,
                                       message_thread_id=tk.topic_id)
    await settle(staffdesk, emu)
    photo, *rest = emu.sent(5601)[before:]
    header = plain("zh_CN", "customer.relay_header", name="王管家")
    assert "photo" in photo and photo["caption"] == header
    assert "".join(_texts(rest)) == header + "\n" + caption
    assert_no_rejections(emu)


async def test_history_shows_every_line_in_full(emu: Emulator, staffdesk: App) -> None:
    tk = await _claimed(emu, staffdesk)
    await emu.user(5601).send_text(LONG)
    await settle(staffdesk, emu)
    await emu.user(OTHER).send_text("/history", chat_id=GROUP, message_thread_id=tk.topic_id)
    await settle(staffdesk, emu)
    parts = [m["text"] for m in emu.sent(GROUP, message_thread_id=tk.topic_id)
             if m.get("text", "").startswith("📜")]
    assert len(parts) == 2 and parts[0].count("(1/2)") == 1
    bodies = "".join(p.split("\n", 1)[1] for p in parts)
    assert LONG.replace("\n", "") in bodies.replace("\n", "")
    assert_no_rejections(emu)


async def test_a_long_story_is_accepted_read_back_and_kept_whole(
        emu: Emulator, staffdesk: App) -> None:
    chat = Chat(emu, emu.user(5602, first_name="李雷", language_code="zh-hans"))
    second = LONG[::-1].replace(">", "】")
    await chat.say("/start")
    await chat.press("file")
    [more] = await chat.say(LONG)
    assert more["text"] == t("zh_CN", "intake.facts.heard_1")  # accepted, not refused
    await chat.say(second)
    readback = await told_to_confirm(chat, count=3)
    text = "".join(_texts(readback))
    assert LONG.replace("\n", "") in text.replace("\n", "")
    assert second.replace("\n", "") in text.replace("\n", "")
    assert "c:ok" in buttons(readback[-1]) and not buttons(readback[0])
    await chat.press("ok", count=1)
    await settle(staffdesk, emu)
    async with staffdesk.db.uow() as uow:
        [tid] = [x.id for x in await uow.repos.tickets.of_customer(5602)]
    tk = await ticket(staffdesk, tid)
    assert tk.facts == LONG + "\n\n" + second  # every word, as written
    topic = _texts(emu.sent(GROUP, message_thread_id=tk.topic_id))
    first = next(i for i, x in enumerate(topic) if x.startswith("📄"))  # after the card
    assert t("zh_CN", "staff.card.facts_more", n="")[:6] in topic[first - 1]
    story = "".join(topic[first:]).replace("\n", "")
    assert LONG.replace("\n", "") in story and second.replace("\n", "") in story
    assert_no_rejections(emu)
