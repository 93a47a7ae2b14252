"""The intake on PostgreSQL: the same flow, the same rows (skips where no server runs)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.emulator import Emulator
from tests.conftest import make_config
from tests.e2e.intake_helpers import Chat, assert_no_rejections, to_confirm


async def test_intake_files_a_ticket_on_postgresql(emu: Emulator, pg_url: str,
                                                   desk_factory: Callable[..., Any]) -> None:
    app = await desk_factory(make_config(pg_url, emu.base_url))
    chat = Chat(emu, emu.user(5501, first_name="李雷", language_code="zh"))
    await to_confirm(chat)
    await chat.press("ok")
    await chat.say("还有一件事")
    async with app.db.uow() as uow:
        [ticket] = await uow.repos.tickets.of_customer(5501)
        assert ticket.extra == {"unit": "3栋 1201"}
        assert [h.event for h in await uow.repos.tickets.history(ticket.id)] == [
            "filed", "not_dispatched", "customer_message"]
        assert len(await uow.repos.timers.for_ticket(ticket.id)) == 2
    assert_no_rejections(emu)
