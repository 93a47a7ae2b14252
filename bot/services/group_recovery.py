"""Staff groups that fail: an upgraded group followed, the others' tickets handed to stewards
by private message and brought back to the group when it works again."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.domain.delivery import chat_unreachable, migrated_to
from bot.domain.routing import route
from bot.domain.vocabulary import Event
from bot.services import handoff, staff_group
from bot.services.desk import Desk
from bot.services.handoff import CARD, PROBE, SYSTEM, TOPIC
from bot.services.staff_out import Call, Effect
from storage.models import Ticket
from storage.repositories import OutboxRow
from storage.uow import UnitOfWork

# Calls that say nothing about whether the bot may post in the group.
_NOT_A_POST = frozenset({"answerCallbackQuery"})


async def on_sent(uow: UnitOfWork, desk: Desk, row: OutboxRow, result: Any) -> list[Effect]:
    """A delivered call: a failed staff group that takes posts again gets its waiting tickets."""
    out: list[Effect] = []
    if row.chat_id < 0 and row.method not in _NOT_A_POST:
        since = await staff_group.mark_up(uow, row.chat_id)
        if since is not None:
            out += await _recover(uow, desk, row.chat_id, since, desk.clock.now())
        if row.purpose == CARD:
            await staff_group.proven(uow, row.chat_id)
    return out + await handoff.on_sent(uow, desk, row, result)


async def on_failed(uow: UnitOfWork, desk: Desk, row: OutboxRow, reason: str,
                    now: datetime) -> list[Effect]:
    """A call failed for good: an upgraded group is followed, a failing staff group falls back
    to private messages; the rest is the handoff's (no topics, a customer who blocked us)."""
    new_id = migrated_to(reason)
    if new_id is not None and row.chat_id < 0:
        return await _follow(uow, row, new_id, now)
    if row.chat_id < 0 and not handoff.no_topics(reason):
        return await _group_failed(uow, desk, row, reason, now)
    return await handoff.on_failed(uow, desk, row, reason, now)


async def _follow(uow: UnitOfWork, row: OutboxRow, new_id: int, now: datetime) -> list[Effect]:
    """Telegram upgraded the group: remember its new id and send the same call there."""
    await staff_group.migrated(uow, row.chat_id, new_id)
    if row.ticket_id and row.purpose in (TOPIC, CARD):
        uow.repos.tickets.record(row.ticket_id, now, SYSTEM, None, Event.STAFF_GROUP_MIGRATED,
                                 {"from": row.chat_id, "to": new_id})
    return [Call(new_id, row.method, {**row.payload, "chat_id": new_id},
                 ticket_id=row.ticket_id, purpose=row.purpose)]


async def _group_failed(uow: UnitOfWork, desk: Desk, row: OutboxRow, reason: str,
                        now: datetime) -> list[Effect]:
    """A call to a staff group failed: the group is marked down if the bot cannot post there,
    and a ticket that has no card yet goes to the stewards' private chats."""
    staff_chat = row.ticket_id is not None \
        or await uow.repos.handoff.known_chat(row.chat_id) is not None
    if staff_chat and chat_unreachable(reason):  # not any group someone added the bot to
        await staff_group.mark_down(uow, row.chat_id, reason, now)
    if row.ticket_id is None or row.purpose not in (TOPIC, CARD):
        return []  # later messages are on the transcript; the card's re-post copies them
    t = await uow.repos.tickets.get(row.ticket_id)
    if t is None or t.card_message_id is not None:
        return []
    out = await handoff.to_dms(uow, desk, t, row.chat_id, reason, now)
    if not chat_unreachable(reason):
        t.handoff_failed_at = None  # a fault of this card, not of the group: nothing to retry
    return out


async def _recover(uow: UnitOfWork, desk: Desk, chat_id: int, since: datetime,
                   now: datetime) -> list[Effect]:
    """The group works again: every ticket that waited for it gets its topic and card, and
    what failed to reach its topics meanwhile (customers' messages, notices) is sent again."""
    out: list[Effect] = []
    for t in await uow.repos.handoff.awaiting_group(chat_id):
        out += await _reopen(uow, desk, t, chat_id, now)
    for r in await uow.repos.outbox.failed_since(chat_id, since):
        if r.purpose in (TOPIC, CARD, PROBE) or r.method in _NOT_A_POST:
            continue  # the reopened tickets' own calls, made afresh above
        if r.ticket_id is not None and not await _has_card(uow, r.ticket_id):
            continue  # a card still to come copies the customer's messages itself
        out.append(Call(chat_id, r.method, r.payload, ticket_id=r.ticket_id,
                        purpose=r.purpose))
    return out


async def _has_card(uow: UnitOfWork, ticket_id: int) -> bool:
    t = await uow.repos.tickets.get(ticket_id)
    return t is not None and t.card_message_id is not None


async def _reopen(uow: UnitOfWork, desk: Desk, t: Ticket, chat_id: int,
                  now: datetime) -> list[Effect]:
    t.handoff_failed_at = None  # set again by the failure hook if the group still fails
    uow.repos.tickets.record(t.id, now, SYSTEM, None, Event.STAFF_GROUP_RETRIED,
                             {"chat_id": chat_id})
    r = route(t.category, handoff.area(t), t.about_staff_id, await handoff.roster(uow))
    return await handoff.open_in_group(uow, desk, t, chat_id, r.notify)


async def retry_group(uow: UnitOfWork, desk: Desk, chat_id: int, now: datetime) -> list[Effect]:
    """A staff group's retry timer: try its oldest waiting ticket (or a harmless call) again;
    success brings the others back, failure waits longer."""
    chat = await uow.repos.handoff.chat(chat_id)
    if chat.problem is None or chat.migrated_to is not None:
        return []
    chat.retries += 1
    uow.repos.timers.add(staff_group.RETRY_TIMER, now + staff_group.retry_delay(chat.retries),
                         now, chat_id=chat_id)
    waiting = await uow.repos.handoff.awaiting_group(chat_id, limit=1)
    if waiting:
        return await _reopen(uow, desk, waiting[0], chat_id, now)
    return [Call(chat_id, "getChat", {"chat_id": chat_id}, purpose=PROBE)]
