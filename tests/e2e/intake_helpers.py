"""Driving a customer through the intake over the emulator (shared by the intake e2e tests)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from bot.emulator import Emulator, EmuUser


class Chat:
    """A customer's private chat: act, then collect the bot's new messages."""

    def __init__(self, emu: Emulator, user: EmuUser) -> None:
        self.emu, self.user = emu, user

    @property
    def id(self) -> int:
        """The chat id (the user's id)."""
        return self.user.id

    def messages(self) -> list[dict[str, Any]]:
        """Every bot message so far (as edited)."""
        return self.emu.sent(self.id)

    async def _after(self, action: Awaitable[Any], count: int) -> list[dict[str, Any]]:
        before = len(self.messages())
        await action
        msgs = await self.emu.wait_for_sent(self.id, count=before + count)
        return msgs[before:]

    async def say(self, text: str, count: int = 1) -> list[dict[str, Any]]:
        """Send text; return the `count` new bot messages."""
        return await self._after(self.user.send_text(text), count)

    async def photo(self, data: bytes = b"\x89PNG-photo", caption: str | None = None,
                    count: int = 1) -> list[dict[str, Any]]:
        """Send a photo."""
        return await self._after(self.user.send_photo(data, caption=caption), count)

    async def contact(self, phone: str, count: int = 2) -> list[dict[str, Any]]:
        """Share a contact."""
        return await self._after(self.user.send_contact(phone), count)

    async def sticker(self, count: int = 1) -> list[dict[str, Any]]:
        """Send a sticker."""
        return await self._after(self.user.send_sticker(), count)

    async def voice(self, count: int = 1) -> list[dict[str, Any]]:
        """Send a voice note."""
        return await self._after(self.user.send_voice(b"OggS-voice"), count)

    def last_with_buttons(self) -> dict[str, Any]:
        """The newest bot message that has inline buttons."""
        for m in reversed(self.messages()):
            if m.get("reply_markup", {}).get("inline_keyboard"):
                return m
        raise AssertionError("no bot message with buttons")

    async def press(self, action: str, arg: str | int = "", count: int = 1,
                    message: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Press a button (by action and arg) on the newest message with buttons."""
        msg = message or self.last_with_buttons()
        data = f"c:{action}:{arg}" if arg != "" else f"c:{action}"
        return await self._after(self.user.press(msg["message_id"], data), count)


async def forge(emu: Emulator, chat: Chat, data: str) -> str:
    """Press a button that was never shown (callback data naming another customer's ticket);
    returns the answer's text."""
    [menu] = await chat.say("/start")
    qid = f"forged-{data}"
    query = {"id": qid, "from": chat.user.as_dict(), "message": menu, "chat_instance": "1",
             "data": data}
    emu.callback_queries[qid] = {"query": query, "answer": None}
    emu.push_update("callback_query", query)
    for _ in range(200):
        if emu.callback_answers(qid) is not None:
            return str(emu.callback_answers(qid)["text"])
        await asyncio.sleep(0.02)
    raise AssertionError(f"no answer to {data}")


def buttons(msg: dict[str, Any]) -> list[str]:
    """The callback data of a message's inline buttons."""
    return [b["callback_data"] for row in msg.get("reply_markup", {}).get("inline_keyboard", [])
            for b in row if "callback_data" in b]


async def choose_category(chat: Chat, key: str) -> list[dict[str, Any]]:
    """At the category step: press the category (asking for the full list when it is not
    among the offered buttons); returns the next question. When a ticket of that category
    filed earlier in the test is offered as "the same matter?", this is something new."""
    if f"c:cat:{key}" not in buttons(chat.last_with_buttons()):
        await chat.press("cats")
    answer = await chat.press("cat", key)
    if "c:same:new" in buttons(answer[-1]):
        return await chat.press("same", "new")
    return answer


STORIES = {"housing": "楼上漏水,已经三天了", "equipment": "电梯坏了三天了,没人管"}


async def to_phone(chat: Chat, category: str = "housing") -> None:
    """From nothing to the phone step (a housing complaint with a unit)."""
    await chat.say("/start")
    await chat.press("file")
    await chat.say(STORIES.get(category, "楼上漏水,已经三天了"))
    await chat.press("done")
    await choose_category(chat, category)
    await chat.press("out", "repair")
    if category == "housing":
        await chat.say("3栋 1201")
    await chat.press("abt", "no")  # not about a member of staff
    await chat.press("pname")


async def to_confirm(chat: Chat) -> list[dict[str, Any]]:
    """From nothing to the read-back."""
    await to_phone(chat)
    await chat.contact("+8613812345678")
    return await chat.press("prev", "no")


async def told_to_confirm(chat: Chat, count: int = 1) -> list[dict[str, Any]]:
    """From a told story (housing) to the read-back, which may come in `count` messages."""
    await chat.press("done")
    await choose_category(chat, "housing")
    await chat.press("out", "repair")
    await chat.say("3栋 1201")
    await chat.press("abt", "no")
    await chat.press("pname")
    await chat.contact("+8613812345678")
    return await chat.press("prev", "no", count=count)


def assert_no_rejections(emu: Emulator) -> None:
    """Every Bot API call the desk made was accepted (a 400 means a rendering bug)."""
    bad = [(c.method, c.status, c.description) for c in emu.calls if c.status != 200]
    assert not bad, bad


def plain(lang: str, key: str, **values: Any) -> str:
    """A catalog text as the customer sees it (markup turned into entities)."""
    import html
    import re

    from bot.i18n import t

    return html.unescape(re.sub(r"<[^>]+>", "", t(lang, key, **values)))
