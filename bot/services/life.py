"""Carrying out the ticket's transitions: the one place a ticket's status is written.

The domain (bot.domain.lifecycle) decides; this sets the status, records the events and sets or
cancels the ticket's timers, computing each deadline from the windows stored on the ticket.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bot.domain import lifecycle
from bot.domain.durations import Duration, parse_duration
from bot.domain.lifecycle import Change, Transition
from bot.domain.vocabulary import ActorKind, Event, TimerKind
from bot.services.desk import Desk
from storage.models import Ticket
from storage.uow import UnitOfWork


async def move(uow: UnitOfWork, desk: Desk, t: Ticket, transition: Transition,
               actor: ActorKind, actor_id: int | None, now: datetime,
               **details: object) -> Change:
    """Apply a transition to a ticket and carry it out; IllegalTransition when not allowed."""
    change = lifecycle.apply(transition, t.status)
    await carry_out(uow, desk, t, change, actor, actor_id, now, **details)
    return change


async def carry_out(uow: UnitOfWork, desk: Desk, t: Ticket, change: Change, actor: ActorKind,
                    actor_id: int | None, now: datetime, **details: object) -> None:
    """Write what a transition changes: status, history, deadlines and timers.

    The first event carries `details` and every deadline set, so the record says what was
    promised; a status change is recorded with the new status.
    """
    t.status, t.updated_at = change.status, now
    timers = uow.repos.timers
    touched = tuple(dict.fromkeys(change.cancel_timers + change.set_timers))
    if touched and t.id is not None:
        # A set timer replaces the pending one of its kind: one deadline of each kind at a time.
        await timers.cancel(ticket_id=t.id, kinds=touched)
    promised: dict[str, str] = {}
    for kind in change.set_timers:
        due = deadline(desk, t, kind, now)
        if kind == TimerKind.FIRST_RESPONSE_DUE:
            t.first_response_due = due
        elif kind == TimerKind.REPLY_DUE:
            t.reply_due = due
        timers.add(kind, due, now, ticket_id=t.id, payload={"step": 1})
        promised[str(kind)] = due.isoformat()
    for i, event in enumerate(change.events):
        if event == Event.STATUS_CHANGED:
            data: dict[str, object] = {"status": str(change.status)}
        else:
            data = {**details, **promised} if i == 0 else {}
        uow.repos.tickets.record(t.id, now, actor, actor_id, event, data)


def window(desk: Desk, t: Ticket, kind: TimerKind) -> Duration:
    """The ticket's window for a deadline: the one stored at filing, else the desk's."""
    stored = t.first_response_window if kind == TimerKind.FIRST_RESPONSE_DUE else t.reply_window
    if stored:
        return parse_duration(stored)
    return desk.first_response if kind == TimerKind.FIRST_RESPONSE_DUE else desk.reply


# The follow-up's timers and the desk window each waits (the follow-up after resolution; the
# reminder and the expiry after the follow-up was sent).
_FOLLOW_UP_WINDOWS: dict[str, Callable[[Desk], Duration]] = {
    TimerKind.FOLLOW_UP: lambda d: d.follow_up_after,
    TimerKind.FOLLOW_UP_REMINDER: lambda d: d.follow_up_reminder,
    TimerKind.FOLLOW_UP_EXPIRY: lambda d: d.follow_up_expiry}


def deadline(desk: Desk, t: Ticket, kind: TimerKind, now: datetime) -> datetime:
    """When a deadline of this kind set now falls due."""
    cal = desk.calendar
    follow_up = _FOLLOW_UP_WINDOWS.get(kind)
    if follow_up is not None:
        # Messages to the customer nobody asked for just then: never in the quiet hours.
        return cal.after_quiet(cal.add(now, follow_up(desk)), desk.quiet)
    if kind == TimerKind.FIRST_RESPONSE_DUE:
        # Stewards pick tickets up in business hours, so a complaint at 23:00 is promised a call
        # half an hour after opening, not at 23:30.
        return cal.add(cal.next_working_moment(now), window(desk, t, kind))
    return cal.add(now, window(desk, t, kind))
