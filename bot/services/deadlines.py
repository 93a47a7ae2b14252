"""Deadlines that act (PROCESS.md §1-2): a missed first response goes up the ladder; a reply
deadline reached without a resolution tells the customer where things stand and sets a new one.

A timer whose ticket has moved on does nothing: the transition that moved it cancelled it, and
the checks here cover a timer already claimed when that happened.
"""

from __future__ import annotations

from datetime import datetime

from bot.domain.lifecycle import ACTIVE, Transition
from bot.domain.vocabulary import ActorKind, EscalationCause, Event, Status, TimerKind
from bot.services import escalation, handoff, life
from bot.services.desk import Desk
from bot.services.staff_out import Effect, Say
from storage.models import Ticket, Timer
from storage.uow import UnitOfWork

SYSTEM = ActorKind.SYSTEM
# A first response still missing after two windows has reached the manager; the committee is
# for repeat complaints (PROCESS.md §4), not for a slow claim.
FIRST_RESPONSE_TOP = 2


async def first_response_missed(uow: UnitOfWork, desk: Desk, timer: Timer, now: datetime
                                ) -> list[Effect]:
    """Nobody claimed the ticket in its window: its supervisors, then the manager level.

    The customer is not bothered by this; their promise is the reply deadline.
    """
    t = await _ticket(uow, timer)
    if t is None or t.status != Status.OPEN or t.assignee_id is not None:
        return []
    step = int(timer.payload.get("step", 1))
    level = min(FIRST_RESPONSE_TOP, max(step, t.escalation_level + 1))
    uow.repos.tickets.record(t.id, now, SYSTEM, None, Event.DEADLINE_MISSED,
                             {"kind": str(TimerKind.FIRST_RESPONSE_DUE), "step": step})
    reason = escalation.cause_text(EscalationCause.FIRST_RESPONSE, desk.staff_lang)
    out = await escalation.escalate(uow, desk, t, level, EscalationCause.FIRST_RESPONSE,
                                    reason, SYSTEM, None, now)
    if level < FIRST_RESPONSE_TOP:
        # Another window for the level just told; after it, the next level up.
        uow.repos.timers.add(TimerKind.FIRST_RESPONSE_DUE,
                             life.deadline(desk, t, TimerKind.FIRST_RESPONSE_DUE, now), now,
                             ticket_id=t.id, payload={"step": step + 1})
    return out


async def reply_due(uow: UnitOfWork, desk: Desk, timer: Timer, now: datetime) -> list[Effect]:
    """The promised reply time came without a resolution: staff are told and it goes one level
    up now; the customer hears where things stand and a new time — in the morning if this is
    the middle of the night."""
    t = await _ticket(uow, timer)
    if t is None or t.status not in ACTIVE:
        return []
    uow.repos.tickets.record(t.id, now, SYSTEM, None, Event.DEADLINE_MISSED,
                             {"kind": str(TimerKind.REPLY_DUE)})
    out: list[Effect] = []
    assignee = await uow.repos.staff.get(t.assignee_id) if t.assignee_id else None
    if assignee is not None:
        link = handoff.topic_link(t.staff_chat_id, t.topic_id) if t.staff_chat_id else None
        out.append(Say(assignee.id, "staff.dm.reply_due", {"ref": t.ref, "link": link or ""},
                       desk.staff_lang, ticket_id=t.id))
    reason = escalation.cause_text(EscalationCause.REPLY_DEADLINE, desk.staff_lang)
    when = desk.calendar.after_quiet(now, desk.quiet)
    # In the day the progress message edits the card with its new deadline: one edit, not two.
    out += await escalation.escalate(uow, desk, t, t.escalation_level + 1,
                                     EscalationCause.REPLY_DEADLINE, reason, SYSTEM, None, now,
                                     refresh=when > now)
    if when > now:
        uow.repos.timers.add(TimerKind.PROGRESS_NOTICE, when, now, ticket_id=t.id)
        return out
    return out + await _progress(uow, desk, t, now)


async def progress_notice(uow: UnitOfWork, desk: Desk, timer: Timer, now: datetime
                          ) -> list[Effect]:
    """The progress message held back by quiet hours, unless the ticket was settled meanwhile."""
    t = await _ticket(uow, timer)
    if t is None or t.status not in ACTIVE:
        return []
    return await _progress(uow, desk, t, now)


async def _progress(uow: UnitOfWork, desk: Desk, t: Ticket, now: datetime) -> list[Effect]:
    """Tell the customer what is being done, with an apology and a new reply time (kept like
    the first: the PROGRESS transition sets its timer)."""
    await life.move(uow, desk, t, Transition.PROGRESS, SYSTEM, None, now)
    latest = await uow.repos.tickets.latest_public_reply(t.id)
    assert t.reply_due is not None  # PROGRESS always sets it
    values = {"ref": t.ref, "due": desk.calendar.local(t.reply_due)}
    out: list[Effect] = []
    if latest:
        out.append(Say(t.customer_id, "customer.progress_latest", {**values, "latest": latest},
                       t.language, ticket_id=t.id))
    else:
        out.append(Say(t.customer_id, "customer.progress", values, t.language, ticket_id=t.id))
    out += await escalation.refresh_card(uow, desk, t)
    return out


async def _ticket(uow: UnitOfWork, timer: Timer) -> Ticket | None:
    # Locked: a claim or a resolution committing on another instance must be seen.
    return await uow.repos.tickets.get_locked(timer.ticket_id) if timer.ticket_id else None
