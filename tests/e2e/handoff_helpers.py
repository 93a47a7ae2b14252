"""Shared set-up for the staff-side tests: a desk with a forum staff group and a roster."""

from __future__ import annotations

import asyncio
from typing import Any

from bot import sandbox
from bot.app import App
from bot.emulator import Emulator
from bot.services import customers, handoff, tickets
from handlers import staff_render
from storage.models import Ticket

GROUP = -1001234567890
STEWARD, OTHER, SUPERVISOR, SUBJECT, ADMIN, RETIRED = 1001, 1003, 1002, 1004, 1009, 1005
ROSTER = [
    {"telegram_id": SUPERVISOR, "name": "李经理", "role": "supervisor"},
    {"telegram_id": STEWARD, "name": "王管家", "role": "steward", "supervisor": SUPERVISOR},
    {"telegram_id": OTHER, "name": "赵管家", "role": "steward", "supervisor": SUPERVISOR},
    {"telegram_id": SUBJECT, "name": "钱管家", "role": "steward", "supervisor": SUPERVISOR},
    {"telegram_id": RETIRED, "name": "孙管家", "role": "steward", "supervisor": SUPERVISOR},
    {"telegram_id": ADMIN, "name": "管理员", "role": "admin"},
]
ANSWERS = {"category": "housing", "facts": [{"kind": "text", "text": "楼上漏水,已经三天了"}],
           "outcome": "repair", "extra": {"unit": "3栋 1201"}, "name": "李雷",
           "phone": "+8613812345678", "previous": "no"}


def file_config() -> dict[str, Any]:
    """Config file sections for a desk with a staff group (limits off, as in every e2e)."""
    return {"telegram": {"staff_group_id": GROUP, "poll_timeout": 1,
                         "limits": {"overall_per_second": 0, "per_chat_per_second": 0,
                                    "per_group_per_minute": 0}},
            "staff": ROSTER}


def staff_users(emu: Emulator) -> None:
    """The staff group (forum) and its members."""
    emu.create_group(GROUP, title="管家群", is_forum=True)
    for s in ROSTER:
        emu.user(s["telegram_id"], first_name=s["name"], language_code="zh")


async def file_direct(desk: App, emu: Emulator, customer_id: int = 5601,
                      first_name: str = "李雷", language: str = "zh") -> Ticket:
    """File a ticket through the services (fast), then wait for its card in the topic."""
    emu.user(customer_id, first_name=first_name, language_code=language)
    d = desk.deps.desk
    async with desk.db.uow() as uow:
        c = await customers.register(uow, d.clock, customer_id, first_name, None, language)
        await uow.session.flush()
        t = await tickets.file_complaint(uow, d, c, dict(ANSWERS), d.clock.now())
        staff_render.render(uow.repos.outbox, await handoff.dispatch(uow, d, t, d.clock.now()))
        await uow.commit()
    await wait_card(desk, emu, t.ref)
    return await ticket(desk, t.id)


async def wait_card(desk: App, emu: Emulator, ref: str) -> dict[str, Any]:
    """The ticket's card once it is in the staff group, and its id recorded."""
    [card] = await emu.wait_for_sent(GROUP, predicate=lambda m: ref in (m.get("text") or "")
                                     and "reply_markup" in m)
    for _ in range(100):
        async with desk.db.uow() as uow:
            t = await uow.repos.tickets.get(int(ref_id(desk, card)))
            if t is not None and t.card_message_id:
                return card
        await asyncio.sleep(0.02)
    raise AssertionError("card message id never recorded")


def ref_id(_desk: App, card: dict[str, Any]) -> str:
    """The ticket id named by a card's buttons."""
    data = card["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    return data.split(":")[2]


async def ticket(desk: App, ticket_id: int) -> Ticket:
    """The ticket as stored now."""
    async with desk.db.uow() as uow:
        t = await uow.repos.tickets.get(ticket_id)
        assert t is not None
        uow.session.expunge(t)  # keep its loaded values after the read-only unit of work
        return t


async def settle(desk: App, emu: Emulator) -> None:
    """Wait until every injected update is processed and every reply delivered."""
    await sandbox.settle(emu, desk)


async def drained(desk: App) -> None:
    """Until every queued message was sent (so a second one, if any, would be seen); unlike
    settle() this needs no updates, so it suits a desk just restarted."""
    for _ in range(500):
        async with desk.db.uow() as uow:
            if await uow.repos.outbox.count_pending() == 0:
                return
        await asyncio.sleep(0.02)
    raise TimeoutError("outbox not drained")


def card_of(emu: Emulator, t: Ticket) -> dict[str, Any]:
    """The card as it looks now (edits applied)."""
    return next(m for m in emu.sent(GROUP) if m["message_id"] == t.card_message_id)


def history(events: list[Any]) -> list[str]:
    """Event names of history rows."""
    return [h.event for h in events]
