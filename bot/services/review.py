"""Review before the customer hears it (审核, PROCESS.md §3 "handle → audit → reply").

When `[escalation] review` applies, a steward's Resolve does not resolve: the note is recorded
as proposed and put to the person above the steward (private message and the ticket's topic,
with Approve · Send back). Approved, the ticket is resolved as usual (bot.services.handling);
sent back, the steward hears why and the customer hears nothing.
"""

from __future__ import annotations

from datetime import datetime

from bot.domain.buttons import StaffAction
from bot.domain.review import needs_review
from bot.domain.routing import escalation_targets
from bot.domain.vocabulary import LEVELS, ActorKind, Event
from bot.services import escalation, handoff
from bot.services.desk import Desk
from bot.services.staff_out import Button, Effect, Say
from storage.models import Staff, Ticket, TicketHistory
from storage.uow import UnitOfWork

STAFF = ActorKind.STAFF
PROPOSED = frozenset({Event.RESOLUTION_PROPOSED})


def needed(desk: Desk, t: Ticket, resolver: Staff) -> bool:
    """Whether this person's Resolve on this ticket goes to a supervisor first."""
    return needs_review(desk.ladder.review, t.is_major, LEVELS.get(resolver.role, 0))


async def reviewers(uow: UnitOfWork, t: Ticket, proposer_id: int) -> tuple[int, ...]:
    """Who is asked to review: the nearest person above the steward at the ticket's level (at
    least a supervisor), else everyone with that role; never the steward or the person the
    complaint is about. Any supervisor at that level may decide, also from the topic."""
    roster = await handoff.roster(uow)
    found = escalation_targets(max(1, t.escalation_level), [proposer_id], t.about_staff_id,
                               roster)
    return tuple(i for i in found if i != proposer_id)


async def propose(uow: UnitOfWork, desk: Desk, t: Ticket, proposer: Staff, note: str,
                  now: datetime) -> list[Effect]:
    """Record the proposed resolution and put it to the reviewers; the customer hears nothing
    yet and the ticket stays with the steward."""
    people = await reviewers(uow, t, proposer.id)
    row = uow.repos.tickets.record(t.id, now, STAFF, proposer.id, Event.RESOLUTION_PROPOSED,
                                   {"note": note, "to": list(people)})
    await uow.repos.tickets.flush()  # the row's id goes on the buttons
    t.review_by, t.updated_at = proposer.id, now
    values: dict[str, object] = {"ref": t.ref, "proposer": proposer.name, "note": note,
                                 "link": _link(t)}
    arg = str(row.id)
    # The buttons name this proposal: a press after it was decided (or replaced) is refused.
    buttons = ((Button("staff.btn.approve", StaffAction.APPROVE, t.id, arg),
                Button("staff.btn.sendback", StaffAction.SEND_BACK, t.id, arg)),)
    out: list[Effect] = [Say(i, "staff.dm.review", values, desk.staff_lang, buttons=buttons,
                             ticket_id=t.id) for i in people]
    out += _to_topic(desk, t, "staff.review.proposed", values, buttons)
    return out + await escalation.refresh_card(uow, desk, t)


async def current(uow: UnitOfWork, t: Ticket, proposal_id: str) -> TicketHistory | None:
    """The proposal awaiting review, if it is the one named; None when it was decided since."""
    if t.review_by is None or not proposal_id.isdigit():
        return None
    rows = await uow.repos.tickets.history(t.id, PROPOSED)
    return rows[-1] if rows and rows[-1].id == int(proposal_id) else None


def note_of(proposal: TicketHistory) -> str:
    """The resolution note the steward proposed."""
    return str((proposal.details or {}).get("note", ""))


async def approve(uow: UnitOfWork, desk: Desk, t: Ticket, approver: Staff,
                  proposal: TicketHistory, now: datetime) -> list[Effect]:
    """Record who approved which proposal and tell the steward; the caller then resolves the
    ticket as any resolution (the customer gets the note)."""
    uow.repos.tickets.record(t.id, now, STAFF, approver.id, Event.RESOLUTION_APPROVED,
                             {"proposal": proposal.id, "proposed_by": proposal.actor_id})
    t.review_by = None
    return await _tell(uow, desk, t, proposal, "approved", {"name": approver.name})


async def send_back(uow: UnitOfWork, desk: Desk, t: Ticket, reviewer: Staff,
                    proposal: TicketHistory, reason: str, now: datetime) -> list[Effect]:
    """Record the proposal sent back with the reason and tell the steward; the customer hears
    nothing and the ticket stays with the steward."""
    uow.repos.tickets.record(t.id, now, STAFF, reviewer.id, Event.RESOLUTION_SENT_BACK,
                             {"proposal": proposal.id, "proposed_by": proposal.actor_id,
                              "reason": reason})
    t.review_by, t.updated_at = None, now
    out = await _tell(uow, desk, t, proposal, "sent_back",
                      {"name": reviewer.name, "reason": reason})
    return out + await escalation.refresh_card(uow, desk, t)


async def _tell(uow: UnitOfWork, desk: Desk, t: Ticket, proposal: TicketHistory, outcome: str,
                values: dict[str, object]) -> list[Effect]:
    """The decision in the topic and in the proposing steward's private chat."""
    steward = await uow.repos.staff.get(proposal.actor_id) if proposal.actor_id else None
    values = {"ref": t.ref, "proposer": steward.name if steward else "", "link": _link(t),
              **values}
    out = _to_topic(desk, t, f"staff.review.{outcome}", values)
    if steward is not None:
        out.append(Say(steward.id, f"staff.dm.review_{outcome}", values, desk.staff_lang,
                       ticket_id=t.id))
    return out


def _link(t: Ticket) -> str:
    return (handoff.topic_link(t.staff_chat_id, t.topic_id) if t.staff_chat_id else None) or ""


def _to_topic(desk: Desk, t: Ticket, key: str, values: dict[str, object],
              buttons: tuple[tuple[Button, ...], ...] = ()) -> list[Effect]:
    if t.staff_chat_id is None or not (t.topic_id or t.card_message_id):
        return []
    # Without topics, a reply to the card keeps it with its ticket.
    return [Say(t.staff_chat_id, key, values, desk.staff_lang, thread_id=t.topic_id,
                ticket_id=t.id, buttons=buttons,
                reply_to=None if t.topic_id else t.card_message_id)]
