"""End to end: real python-telegram-bot over HTTP against the emulator."""

from __future__ import annotations

from bot.app import App
from bot.emulator import Emulator
from bot.i18n import t


async def test_start_greets_in_chinese(emu: Emulator, desk: App) -> None:
    user = emu.user(5001, first_name="李雷", language_code="zh-hans")
    await user.send_text("/start")
    [msg] = await emu.wait_for_sent(5001)
    assert msg["text"] == t("zh_CN", "start.greeting", name="李雷")
    assert "投诉" in msg["text"]


async def test_start_greets_in_english(emu: Emulator, desk: App) -> None:
    user = emu.user(5002, first_name="Ann <Lee>", language_code="en-GB")
    await user.send_text("/start")
    [msg] = await emu.wait_for_sent(5002)
    # The name is escaped for HTML and arrives as typed.
    assert msg["text"] == t("en", "start.greeting", name="Ann <Lee>")
    assert msg["text"].startswith("Hello, Ann <Lee>!")


async def test_unplaced_message_gets_an_answer_not_silence(emu: Emulator, desk: App) -> None:
    user = emu.user(5003, first_name="Bo", language_code=None)
    await user.send_sticker()
    [msg] = await emu.wait_for_sent(5003)
    assert msg["text"] == t("zh_CN", "common.not_understood")
