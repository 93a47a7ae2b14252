"""The real python-telegram-bot against the emulator over HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.request import HTTPXRequest

from bot.emulator import Emulator, Limits

TOKEN = "123456:TEST"
JPEG = bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffc0000b080030004001011100ffd9")


def _seconds(value: object) -> float:
    """retry_after is an int or a timedelta depending on PTB_TIMEDELTA."""
    return value.total_seconds() if hasattr(value, "total_seconds") else float(value)


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    e = Emulator(token=TOKEN, limits=Limits.off())
    await e.start(port=0)
    yield e
    await e.stop()


def make_bot(emu: Emulator, read_timeout: float = 5.0) -> Bot:
    return Bot(TOKEN, base_url=f"{emu.base_url}/bot", base_file_url=f"{emu.base_url}/file/bot",
               request=HTTPXRequest(read_timeout=read_timeout),
               get_updates_request=HTTPXRequest(read_timeout=read_timeout))


@pytest.fixture
async def bot(emu: Emulator) -> AsyncIterator[Bot]:
    async with make_bot(emu) as b:
        yield b


async def test_get_me_and_send(emu: Emulator, bot: Bot):
    assert bot.username == "emulator_bot" and bot.id == 123456
    emu.user(5001, first_name="李雷", language_code="zh-hans")
    kb = InlineKeyboardMarkup([[InlineKeyboardButton("确认", callback_data="ok:1")]])
    msg = await bot.send_message(5001, "<b>您好</b> &amp; 欢迎", parse_mode=ParseMode.HTML,
                                 reply_markup=kb)
    assert msg.text == "您好 & 欢迎" and msg.entities[0].type == "bold"
    assert msg.from_user.id == bot.id and msg.chat.type == "private"
    assert msg.reply_markup == kb
    edited = await bot.edit_message_text("已受理", chat_id=5001, message_id=msg.message_id)
    assert edited.text == "已受理" and edited.edit_date is not None
    with pytest.raises(BadRequest, match="(?i)message is not modified"):
        await bot.edit_message_text("已受理", chat_id=5001, message_id=msg.message_id)
    with pytest.raises(BadRequest, match="(?i)message to edit not found"):
        await bot.edit_message_text("x", chat_id=5001, message_id=999)
    with pytest.raises(BadRequest, match="(?i)can.t parse entities"):
        await bot.send_message(5001, "<b>oops", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(424242, "x")
    assert [m["text"] for m in emu.sent(5001)] == ["已受理"]


async def test_updates_polling_with_ptb(emu: Emulator, bot: Bot):
    user = emu.user(5001, first_name="Han")
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.05)
    await user.send_text("/start")
    [upd] = await poll
    assert upd.message.text == "/start" and upd.message.from_user.id == 5001
    assert upd.message.entities[0].type == "bot_command"
    msg = await bot.send_message(5001, "pick", reply_markup=InlineKeyboardMarkup(
        [[InlineKeyboardButton("A", callback_data="a")]]))
    qid = await user.press(msg.message_id, "a")
    updates = await bot.get_updates(offset=upd.update_id + 1, timeout=1)
    [cb] = updates
    assert cb.callback_query.id == qid and cb.callback_query.data == "a"
    assert cb.callback_query.message.message_id == msg.message_id
    assert await cb.callback_query.answer("收到", show_alert=True)
    assert emu.callback_answers(qid) == {"text": "收到", "show_alert": True, "url": None,
                                         "cache_time": 0}
    assert await bot.get_updates(offset=cb.update_id + 1, timeout=1) == ()


async def test_photo_roundtrip(emu: Emulator, bot: Bot):
    emu.user(5001)
    msg = await bot.send_photo(5001, JPEG, caption="<i>照片</i>", parse_mode=ParseMode.HTML)
    assert msg.caption == "照片" and msg.caption_entities[0].type == "italic"
    big = msg.photo[-1]
    assert (big.width, big.height) == (64, 48)
    f = await bot.get_file(big.file_id)
    assert bytes(await f.download_as_bytearray()) == JPEG
    again = await bot.send_photo(5001, big.file_id)
    assert again.photo[-1].file_id == big.file_id
    with pytest.raises(BadRequest, match="caption is too long"):
        await bot.send_photo(5001, JPEG, caption="c" * 1025)


async def test_user_uploads_downloadable(emu: Emulator, bot: Bot):
    user = emu.user(5001)
    await user.send_document(b"complaint evidence", file_name="证据.pdf")
    await user.send_voice(b"OggS-voice", duration=3)
    [u1, u2] = await bot.get_updates()
    doc = u1.message.document
    assert doc.file_name == "证据.pdf"
    data = await (await bot.get_file(doc.file_id)).download_as_bytearray()
    assert bytes(data) == b"complaint evidence"
    assert u2.message.voice.duration == 3
    sent = await bot.send_document(5001, doc.file_id, caption="copy")
    assert sent.document.file_id == doc.file_id
    voice = await bot.send_voice(5001, b"OggS-reply")
    assert voice.voice.file_size == len(b"OggS-reply")
    copied = await bot.copy_message(5001, 5001, u1.message.message_id)
    assert copied.message_id > voice.message_id


async def test_forum_with_ptb(emu: Emulator, bot: Bot):
    group = emu.create_group(-1001234567890, title="Staff", is_forum=True)
    topic = await bot.create_forum_topic(group.id, "工单 T-1")
    assert await bot.edit_forum_topic(group.id, topic.message_thread_id, name="工单 T-1 ✓")
    msg = await bot.send_message(group.id, "new ticket",
                                 message_thread_id=topic.message_thread_id)
    assert msg.message_thread_id == topic.message_thread_id and msg.is_topic_message
    assert await bot.close_forum_topic(group.id, topic.message_thread_id)
    assert emu.topics(group.id)[0]["is_closed"] is True
    assert await bot.reopen_forum_topic(group.id, topic.message_thread_id)
    plain = emu.create_group(-100111, title="Plain")
    with pytest.raises(BadRequest, match="not a forum"):
        await bot.create_forum_topic(plain.id, "x")
    chat = await bot.get_chat(group.id)
    assert chat.is_forum and chat.title == "Staff"
    assert await bot.send_chat_action(group.id, "typing",
                                      message_thread_id=topic.message_thread_id)
    sent = await emu.wait_for_sent(group.id, message_thread_id=topic.message_thread_id)
    assert sent[0]["text"] == "new ticket"


async def test_webhook_methods_with_ptb(emu: Emulator, bot: Bot):
    assert await bot.set_webhook("http://127.0.0.1:9/hook", secret_token="abc",
                                 drop_pending_updates=True)
    info = await bot.get_webhook_info()
    assert info.url == "http://127.0.0.1:9/hook" and info.has_custom_certificate is False
    with pytest.raises(Exception, match="Conflict"):
        await bot.get_updates()
    assert await bot.delete_webhook()
    assert (await bot.get_webhook_info()).url == ""


async def test_commands_with_ptb(bot: Bot):
    assert await bot.set_my_commands([("start", "开始"), ("help", "帮助")])
    cmds = await bot.get_my_commands()
    assert [c.command for c in cmds] == ["start", "help"]


@pytest.mark.parametrize(("kind", "exc"), [
    ("429", RetryAfter), ("5xx", NetworkError), ("blocked", Forbidden),
    ("chat_not_found", BadRequest),
])
async def test_faults_map_to_ptb_errors(emu: Emulator, bot: Bot, kind: str, exc: type):
    emu.user(5001)
    emu.add_fault(method="sendMessage", chat_id=5001, kind=kind, retry_after=2)
    with pytest.raises(exc) as info:
        await bot.send_message(5001, "x")
    if kind == "429":
        assert _seconds(info.value.retry_after) == 2
    assert (await bot.send_message(5001, "after")).text == "after"


async def test_upgraded_group_is_chat_migrated_for_ptb(emu: Emulator, bot: Bot):
    emu.create_group(-5001)
    emu.upgrade_group(-5001, -1005001)
    with pytest.raises(ChatMigrated) as info:
        await bot.send_message(-5001, "x")
    assert info.value.new_chat_id == -1005001
    emu.add_fault(method="sendMessage", chat_id=-1005001, kind="kicked")
    with pytest.raises(Forbidden):
        await bot.send_message(-1005001, "x")


async def test_timeout_fault_ptb_timed_out(emu: Emulator):
    emu.user(5001)
    emu.add_fault(method="sendMessage", kind="timeout", delay=30)
    async with make_bot(emu, read_timeout=0.3) as bot:
        with pytest.raises(TimedOut):
            await bot.send_message(5001, "x")
        assert (await bot.send_message(5001, "ok")).text == "ok"


async def test_rate_limit_ptb_retry_after(emu: Emulator, bot: Bot):
    emu.set_limits(Limits(overall_per_second=0, per_chat_per_second=1, per_group_per_minute=0))
    emu.user(5001)
    for i in range(3):  # the burst Telegram tolerates
        await bot.send_message(5001, str(i))
    with pytest.raises(RetryAfter) as info:
        await bot.send_message(5001, "2")
    assert _seconds(info.value.retry_after) >= 1
