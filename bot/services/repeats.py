"""Repeat complaints at intake (重复投诉, PROCESS.md §4): "is this the same matter as ticket X?",
and what "yes" does — the new words join that ticket and it goes up the ladder.

The rules (which tickets match, which level a count gives) are in bot.domain.repeats; a new
ticket filed as a repeat at the "complained before?" step is raised in tickets.file_complaint.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from bot.domain import repeats as rules
from bot.domain.lifecycle import ACTIVE
from bot.domain.vocabulary import ActorKind, EscalationCause, Event, RepeatReason, Status
from bot.services import escalation, handling, repeat, tickets
from bot.services.desk import Desk
from bot.services.staff_out import Effect, Say
from storage.models import Ticket
from storage.uow import UnitOfWork

CUSTOMER = ActorKind.CUSTOMER


async def offer(uow: UnitOfWork, desk: Desk, customer_id: int, now: datetime,
                category: str | None = None, declined: Collection[int] = ()
                ) -> list[dict[str, Any]]:
    """The customer's tickets a complaint may be the same matter as, as the draft keeps them
    (``{id, ref, status}``, newest first, at most three); [] when none matches."""
    mine = {t.id: t for t in await uow.repos.tickets.of_customer(
        customer_id, statuses=rules.SAME_MATTER_STATUSES)}
    found = rules.same_matter(
        (rules.Earlier(t.id, t.category, Status(t.status), t.created_at,
                       rules.finished_at(t.status, t.resolved_at, t.closed_at, t.updated_at))
         for t in mine.values()),
        now, desk.repeat_window, category, declined)
    return [{"id": e.id, "ref": mine[e.id].ref, "status": str(e.status)} for e in found]


async def joinable(uow: UnitOfWork, customer_id: int, ticket_id: int) -> Ticket | None:
    """The customer's ticket a repeat may still join (locked: staff may be acting on it), or
    None (not theirs, or withdrawn since it was offered)."""
    t = await uow.repos.tickets.get_locked(ticket_id)
    if t is None or t.customer_id != customer_id or t.status not in rules.SAME_MATTER_STATUSES:
        return None
    return t


async def join(uow: UnitOfWork, desk: Desk, t: Ticket, customer_id: int,
               answers: dict[str, Any], now: datetime) -> list[Effect]:
    """The customer came back about this ticket's matter: the story they have told since (its
    photos too) joins the ticket as a repeat — reopened when it was resolved or closed, one
    more on its repeat count, up the ladder to the level that count gives — and staff see
    their words in the topic."""
    facts = list(answers.get("facts") or [])
    out: list[Effect] = []
    active = t.status in ACTIVE  # still being handled: it stays with whoever has it
    if active:
        t.repeat_count += 1
        if t.staff_chat_id and (t.topic_id or t.card_message_id):
            out.append(Say(t.staff_chat_id, "staff.repeat_joined",
                           {"ref": t.ref, "nth": t.repeat_count + 1}, desk.staff_lang,
                           thread_id=t.topic_id, ticket_id=t.id))
    else:
        # Resolved or closed: the one reopening path of a repeat complaint (up the ladder, not
        # back to whoever resolved it).
        out += await repeat.reopen(uow, desk, t, CUSTOMER, customer_id, now,
                                   RepeatReason.CAME_BACK)
    repo = uow.repos.tickets
    repo.record(t.id, now, CUSTOMER, customer_id, Event.REPEAT_JOINED,
                {"count": t.repeat_count, "messages": len(facts)})
    tickets.add_message(uow, desk, t, facts, customer_id)
    for text in answers.get("abuse") or []:
        repo.record(t.id, now, CUSTOMER, customer_id, Event.ABUSIVE_LANGUAGE, {"text": text})
    tickets.record_edits(uow, t.id, customer_id, answers, now)
    out += await handling.customer_wrote(
        uow, desk, t, [(f["mid"], None) for f in facts if f.get("mid")], now)
    if active:
        reason = tickets.repeat_reason(desk, t, "came_back")
        out += await escalation.escalate(uow, desk, t, rules.level_for(t.repeat_count),
                                         EscalationCause.REPEAT, reason, CUSTOMER, customer_id,
                                         now, refresh=False)
        # The card shows the level and repeat count even when the level stays.
        out += await escalation.refresh_card(uow, desk, t)
    return out
