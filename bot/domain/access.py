"""Who may do what on a ticket: every staff action is decided here, from database facts."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.domain.vocabulary import LEVELS, Status


class Action(StrEnum):
    """Staff actions on a ticket."""

    CLAIM = "claim"
    RELAY = "relay"
    NOTE = "note"
    HISTORY = "history"
    RELEASE = "release"
    TRANSFER = "transfer"
    ASK_CUSTOMER = "ask"
    ESCALATE = "escalate"
    RESOLVE = "resolve"
    FLAG_ABOUT_STAFF = "about"
    SHOW_PHONE = "phone"
    MARK_MAJOR = "major"
    UNMARK_MAJOR = "unmajor"
    SET_VIP = "vip"  # set or clear the VIP flag of the ticket's customer
    APPROVE_RESOLUTION = "approve"  # a steward's proposed resolution goes to the customer
    SEND_BACK = "sendback"  # … or back to the steward with a reason


# Reading and annotating: any active staff member may, except the person the ticket is about.
_OPEN_TO_STAFF = frozenset({Action.NOTE, Action.HISTORY, Action.FLAG_ABOUT_STAFF})
# Handling: the assignee, or a supervisor (or above) at or above the ticket's level.
# Seeing the customer's number is part of handling (PROCESS.md §8: used for this complaint).
_HANDLING = frozenset({Action.RELAY, Action.RELEASE, Action.TRANSFER, Action.ASK_CUSTOMER,
                       Action.ESCALATE, Action.RESOLVE, Action.SHOW_PHONE})
_FINISHED = frozenset({Status.CLOSED, Status.WITHDRAWN})
# Deciding on a proposed resolution (审核).
_REVIEW = frozenset({Action.APPROVE_RESOLUTION, Action.SEND_BACK})


@dataclass(frozen=True)
class Actor:
    """The acting user as the roster knows them (None role = not on the roster)."""

    id: int
    role: str | None
    active: bool = True

    @property
    def level(self) -> int:
        """Escalation level of their role; -1 for people who are not staff."""
        return LEVELS.get(self.role or "", -1)


@dataclass(frozen=True)
class TicketFacts:
    """What authorisation needs to know about a ticket, read from the database."""

    status: str
    assignee_id: int | None
    escalation_level: int = 0
    about_staff_id: int | None = None
    review_by: int | None = None  # the steward whose resolution awaits review, if any


@dataclass(frozen=True)
class Decision:
    """Allowed, or refused with a reason key (catalog: access.<reason>)."""

    allowed: bool
    reason: str = ""


ALLOW = Decision(True)


def authorize(actor: Actor, action: Action, ticket: TicketFacts) -> Decision:
    """Decide whether `actor` may take `action` on `ticket`."""
    if actor.level < 0:
        return Decision(False, "not_staff")
    if not actor.active:
        return Decision(False, "inactive")
    if ticket.about_staff_id == actor.id:
        return Decision(False, "about_you")  # nobody handles a complaint about themselves
    if action in _OPEN_TO_STAFF:
        return ALLOW
    if action is Action.SET_VIP:
        # About the customer, not this ticket's handling: also from a finished ticket's topic.
        return _senior(actor)
    if ticket.status in _FINISHED:
        return Decision(False, "finished")
    if action is Action.MARK_MAJOR:
        return ALLOW  # marking up is always safe: more eyes, never fewer
    if action is Action.UNMARK_MAJOR:
        return _senior(actor)
    if action is Action.CLAIM:
        return _claim(actor, ticket)
    if action in _REVIEW:
        return _review(actor, ticket)
    if action is Action.RESOLVE and ticket.review_by is not None:
        # One proposal at a time: the reviewer approves or sends back the one waiting.
        return Decision(False, "awaiting_review")
    if action in _HANDLING:
        if ticket.assignee_id == actor.id:
            return ALLOW
        if actor.level >= max(1, ticket.escalation_level):
            return ALLOW  # a supervisor steps in on a ticket at or below their level
        return Decision(False, "not_assignee")
    return Decision(False, "unknown_action")


def _senior(actor: Actor) -> Decision:
    # Taking a ticket off the supervisors' list, or deciding who is a VIP, is their call.
    return ALLOW if actor.level >= 1 else Decision(False, "senior_only")


def _review(actor: Actor, ticket: TicketFacts) -> Decision:
    if ticket.review_by is None:
        return Decision(False, "no_review")  # decided already (a stale button)
    if actor.id == ticket.review_by:
        return Decision(False, "own_resolution")  # nobody approves their own work
    if actor.level < 1:
        return Decision(False, "senior_only")
    # An escalated ticket is reviewed at its level, like any other handling of it.
    if actor.level < ticket.escalation_level:
        return Decision(False, "level_too_low")
    return ALLOW


def _claim(actor: Actor, ticket: TicketFacts) -> Decision:
    if ticket.assignee_id is not None:
        return Decision(False, "already_claimed")
    if ticket.status != Status.OPEN:
        return Decision(False, "not_open")
    # A complaint about a colleague, or one escalated, needs someone at a higher level.
    needed = max(ticket.escalation_level, 1 if ticket.about_staff_id is not None else 0)
    if actor.level < needed:
        return Decision(False, "level_too_low")
    return ALLOW
