"""The ticket's life as one state machine: every transition checks the state and says what follows.

Services call `apply(transition, status)` and carry out the `Change` it returns (set the status,
record the events, set and cancel the timers); no service writes a status itself. The table below
is the whole life (PROCESS.md §3); anything not in it raises `IllegalTransition`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.domain.vocabulary import FOLLOW_UP_TIMERS, TICKET_TIMERS, Event, Status, TimerKind

OPEN, ASSIGNED, WAITING = Status.OPEN, Status.ASSIGNED, Status.WAITING_ON_CUSTOMER
RESOLVED, CLOSED, WITHDRAWN = Status.RESOLVED, Status.CLOSED, Status.WITHDRAWN

# Statuses in which the customer is still waiting for us: messages join the ticket, urging works.
ACTIVE = frozenset({OPEN, ASSIGNED, WAITING})
FINISHED = frozenset({CLOSED, WITHDRAWN})


class Transition(StrEnum):
    """Everything that can happen to a ticket's status."""

    FILE = "file"
    DISPATCH = "dispatch"
    CLAIM = "claim"
    RELEASE = "release"
    UNASSIGN = "unassign"  # the assignee turned out to be whom the complaint is about
    TRANSFER = "transfer"
    ASK = "ask"  # waiting on the customer
    CUSTOMER_ANSWERED = "customer_answered"
    ESCALATE = "escalate"
    PROGRESS = "progress"  # the reply deadline came without a resolution
    RESOLVE = "resolve"
    REOPEN = "reopen"
    FOLLOW_UP_SENT = "follow_up_sent"
    CLOSE = "close"
    WITHDRAW = "withdraw"


class IllegalTransition(ValueError):
    """A transition the ticket's current status does not allow."""


@dataclass(frozen=True)
class Change:
    """What a transition does: the new status, the events to record, the timers to set/cancel."""

    status: Status
    events: tuple[Event, ...]
    set_timers: tuple[TimerKind, ...] = ()
    cancel_timers: tuple[TimerKind, ...] = ()


@dataclass(frozen=True)
class _Rule:
    moves: dict[Status | None, Status]  # from → to; a status not listed here is illegal
    events: tuple[Event, ...]
    set_timers: tuple[TimerKind, ...] = ()
    cancel_timers: tuple[TimerKind, ...] = ()


def _stay(*statuses: Status) -> dict[Status | None, Status]:
    return {s: s for s in statuses}


_FR, _RD = TimerKind.FIRST_RESPONSE_DUE, TimerKind.REPLY_DUE
# Everything still to fire on a ticket: what a finished ticket must never hear from again.
_ALL_TIMERS = TICKET_TIMERS + FOLLOW_UP_TIMERS

RULES: dict[Transition, _Rule] = {
    Transition.FILE: _Rule({None: OPEN}, (Event.FILED,), (_FR, _RD)),
    Transition.DISPATCH: _Rule(_stay(OPEN), (Event.DISPATCHED,)),
    # The claim is the first response: its deadline is kept, so its timer goes.
    Transition.CLAIM: _Rule({OPEN: ASSIGNED}, (Event.CLAIMED, Event.STATUS_CHANGED),
                             cancel_timers=(_FR,)),
    # Nobody handles it any more: the first-response clock starts again for whoever takes it.
    Transition.RELEASE: _Rule({ASSIGNED: OPEN, WAITING: OPEN}, (Event.RELEASED,), (_FR,)),
    Transition.UNASSIGN: _Rule({ASSIGNED: OPEN, WAITING: OPEN}, (), (_FR,)),
    # A person chose who handles it: that is the first response being taken care of.
    Transition.TRANSFER: _Rule({OPEN: ASSIGNED, **_stay(ASSIGNED, WAITING)},
                               (Event.TRANSFERRED,), cancel_timers=(_FR,)),
    Transition.ASK: _Rule({OPEN: WAITING, ASSIGNED: WAITING, WAITING: WAITING},
                          (Event.ASKED_CUSTOMER,)),
    Transition.CUSTOMER_ANSWERED: _Rule({WAITING: ASSIGNED}, (Event.STATUS_CHANGED,)),
    Transition.ESCALATE: _Rule(_stay(OPEN, ASSIGNED, WAITING), (Event.ESCALATED,)),
    # A new reply deadline is promised and kept like the first.
    Transition.PROGRESS: _Rule(_stay(OPEN, ASSIGNED, WAITING), (Event.PROGRESS_SENT,), (_RD,)),
    # Handled: the deadlines go, and the satisfaction check (回访) is due after its window.
    Transition.RESOLVE: _Rule({OPEN: RESOLVED, ASSIGNED: RESOLVED, WAITING: RESOLVED},
                              (Event.RESOLVED,), (TimerKind.FOLLOW_UP,),
                              cancel_timers=TICKET_TIMERS),
    # A repeat complaint: somebody must take it up again within the first-response window, and
    # the customer is promised a new reply time; this resolution's follow-up is over. A closed
    # ticket reopens only when the customer comes back about the same matter (PROCESS.md §4).
    Transition.REOPEN: _Rule({RESOLVED: OPEN, CLOSED: OPEN}, (Event.REOPENED,), (_FR, _RD),
                             cancel_timers=FOLLOW_UP_TIMERS),
    # Asked once: one reminder if they do not answer, then closed as "no response".
    Transition.FOLLOW_UP_SENT: _Rule(_stay(RESOLVED), (Event.FOLLOW_UP_SENT,),
                                     (TimerKind.FOLLOW_UP_REMINDER, TimerKind.FOLLOW_UP_EXPIRY)),
    Transition.CLOSE: _Rule({RESOLVED: CLOSED}, (Event.CLOSED,), cancel_timers=_ALL_TIMERS),
    Transition.WITHDRAW: _Rule({OPEN: WITHDRAWN, ASSIGNED: WITHDRAWN, WAITING: WITHDRAWN},
                               (Event.WITHDRAWN,), cancel_timers=_ALL_TIMERS),
}


def allowed_from(transition: Transition) -> frozenset[Status]:
    """The statuses of an existing ticket a transition may start from."""
    return frozenset(s for s in RULES[transition].moves if s is not None)


def apply(transition: Transition, status: Status | str | None) -> Change:
    """Check a transition against the ticket's status; return what it changes, or raise."""
    rule = RULES[transition]
    current = Status(status) if status is not None else None
    if current not in rule.moves:
        raise IllegalTransition(
            f"a ticket that is {current or 'not yet filed'} cannot {transition}")
    return Change(rule.moves[current], rule.events, rule.set_timers, rule.cancel_timers)
