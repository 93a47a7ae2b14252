"""No customer data in the bot's log, even at -v (DEBUG): names, phone numbers, stories."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from bot.cli import QUIET_LOGGERS, setup_logging
from bot.config import Config
from bot.emulator import Emulator
from tests.e2e.intake_helpers import Chat, choose_category

STORY = "楼上漏水秘密故事XYZZY"
PHONE_DIGITS = "13812345678"
NAME = "韩梅梅Secretname"
# The emulator runs in this process but plays Telegram: its log is Telegram's side, not ours.
NOT_OURS = ("bot.emulator", "aiohttp.access", "aiohttp.server")


@pytest.fixture
def cli_logging() -> Iterator[None]:
    """The CLI's logging set-up with -v; every level put back afterwards."""
    names = ["", *QUIET_LOGGERS]
    saved = {n: logging.getLogger(n).level for n in names}
    setup_logging(verbose=True)
    yield
    for n, level in saved.items():
        logging.getLogger(n).setLevel(level)


async def test_verbose_log_of_a_whole_intake_has_no_customer_data(
        emu: Emulator, config: Config, desk_factory: Callable[..., Any], cli_logging: None,
        caplog: pytest.LogCaptureFixture) -> None:
    await desk_factory(config)
    chat = Chat(emu, emu.user(5301, first_name=NAME, language_code="zh-hans"))
    await chat.say("/start")
    await chat.press("file")
    await chat.say(STORY)
    await chat.press("done")
    await choose_category(chat, "housing")
    await chat.press("out", "repair")
    await chat.say("3栋 1201")
    await chat.press("abt", "no")
    await chat.say(NAME)
    await chat.contact("+86 " + PHONE_DIGITS)
    await chat.press("prev", "no")
    [ack] = await chat.press("ok")
    assert "工单号" in ack["text"]
    ours = [r for r in caplog.records if not r.name.startswith(NOT_OURS)]
    assert any(r.levelno == logging.DEBUG for r in ours)  # -v really logs at DEBUG
    text = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in ours)
    for secret in (STORY, PHONE_DIGITS, NAME, "1201"):
        assert secret not in text, [r.name for r in ours if secret in r.getMessage()][:5]


async def test_database_errors_do_not_carry_customer_data(db_url: str) -> None:
    """A failed statement's message (logged with its traceback) names no parameters."""
    from datetime import UTC, datetime

    from sqlalchemy.exc import IntegrityError

    from storage.db import create_engine, session_factory
    from storage.migrate import upgrade_async
    from storage.models import Customer

    await upgrade_async(db_url)
    engine = create_engine(db_url)
    now = datetime.now(UTC)
    try:
        for _ in range(2):  # the second insert of the same id fails
            async with session_factory(engine)() as s:
                s.add(Customer(id=1, first_name=NAME, phone=PHONE_DIGITS, language="en",
                               unreachable=False, created_at=now, updated_at=now))
                try:
                    await s.commit()
                except IntegrityError as err:
                    message = str(err)
                    break
        assert "UNIQUE" in message or "unique" in message
        assert NAME not in message and PHONE_DIGITS not in message
    finally:
        await engine.dispose()
