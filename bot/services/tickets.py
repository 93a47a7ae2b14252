"""Ticket use cases on the customer's side: file, list, show, urge, add a message."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.domain import ticket as tk
from bot.domain.intake import ABOUT, ABOUT_TEXT
from bot.domain.routing import match_staff
from bot.services import major
from bot.services.desk import Desk
from bot.services.inbound import Inbound
from bot.services.views import HistoryLine, TicketDetail, TicketRow
from storage.models import Customer, Ticket, Timer
from storage.uow import UnitOfWork

FIRST_RESPONSE_DUE = "first_response_due"
REPLY_DUE = "reply_due"
CUSTOMER = "customer"
SYSTEM = "system"


def facts_text(answers: dict[str, Any]) -> str:
    """The story as one text: the customer's messages in order, verbatim."""
    return "\n\n".join(f["text"] for f in answers.get("facts") or [] if f.get("text"))


async def file_complaint(uow: UnitOfWork, desk: Desk, customer: Customer,
                         answers: dict[str, Any], now: datetime) -> Ticket:
    """Open the ticket from a confirmed draft, with its deadlines, history and timers."""
    cal = desk.calendar
    # The first-response window runs from dispatch, and stewards dispatch in business hours,
    # so a complaint at 23:00 is promised a call 30 minutes after opening, not at 23:30.
    first_due = cal.add(cal.next_working_moment(now), desk.first_response)
    reply_due = cal.add(now, desk.reply)
    previous = answers.get("previous")
    about_text = answers.get(ABOUT_TEXT) if answers.get(ABOUT) == "yes" else None
    about_id = None
    if about_text:
        roster = [(s.id, s.name, s.active) for s in await uow.repos.staff.all()]
        about_id = match_staff(about_text, roster)
    t = uow.repos.tickets.add(Ticket(
        ref=tk.new_ref(cal.local(now).date()), customer_id=customer.id, channel="telegram",
        category=answers["category"], facts=facts_text(answers),
        desired_outcome=answers.get("outcome_text") or answers["outcome"],
        extra=answers.get("extra") or {}, contact_name=answers["name"], phone=answers["phone"],
        language=customer.language, status=tk.OPEN, escalation_level=0, is_major=False,
        repeat_count=0, urge_count=0, unreachable=False,
        previous_ticket_id=previous if isinstance(previous, int) else None,
        about_staff_id=about_id, first_response_due=first_due, reply_due=reply_due,
        created_at=now, updated_at=now))
    await uow.repos.tickets.flush()
    repo = uow.repos.tickets
    repo.record(t.id, now, CUSTOMER, customer.id, "filed", {
        "outcome": answers["outcome"], "previous": previous,
        "first_response_due": first_due.isoformat(), "reply_due": reply_due.isoformat(),
        # Who the customer said it is about, in their words, and whom that matched (if anyone).
        **({"about_text": about_text, "about_staff_id": about_id} if about_text else {}),
        # Versions the customer replaced before confirming are kept: the record is evidence.
        **({"replaced_facts": answers["replaced_facts"]} if answers.get("replaced_facts")
           else {})})
    if isinstance(previous, int):
        repo.record(t.id, now, CUSTOMER, customer.id, "linked_previous", {"ticket_id": previous})
    for text in answers.get("abuse") or []:
        repo.record(t.id, now, CUSTOMER, customer.id, "abusive_language", {"text": text})
    record_edits(uow, t.id, customer.id, answers, now)
    for f in answers.get("facts") or []:
        repo.add_message(t.id, now, "in", customer.id, f.get("kind", "text"), f.get("text"),
                         f.get("file_id"), f.get("mid"))
    # Major from the start (PROCESS.md §4): level 1, recorded; its alert goes with the card.
    major.triage_at_filing(uow, desk, customer, t, answers, now)
    timers = uow.repos.timers
    timers.add(FIRST_RESPONSE_DUE, first_due, now, ticket_id=t.id)
    timers.add(REPLY_DUE, reply_due, now, ticket_id=t.id)
    return t


def row(t: Ticket, desk: Desk, now: datetime) -> TicketRow:
    """A ticket as the customer's list shows it (the next promised time still ahead)."""
    active = t.status in tk.ACTIVE
    upcoming = [d for d in (t.first_response_due, t.reply_due) if d is not None and d > now]
    due = min(upcoming) if active and upcoming else (t.reply_due if active else None)
    return TicketRow(t.id, t.ref, t.category, t.status,
                     desk.calendar.local(due) if due else None, active)


async def list_for(uow: UnitOfWork, desk: Desk, customer_id: int) -> tuple[TicketRow, ...]:
    """The customer's own tickets, newest first."""
    now = desk.clock.now()
    return tuple(row(t, desk, now) for t in await uow.repos.tickets.of_customer(customer_id))


async def detail(uow: UnitOfWork, desk: Desk, t: Ticket) -> TicketDetail:
    """One ticket with the part of its history the customer may see."""
    events = await uow.repos.tickets.history(t.id, tk.CUSTOMER_VISIBLE_EVENTS)
    lines = tuple(HistoryLine(desk.calendar.local(h.at), h.event,
                              {k: v for k, v in h.details.items() if k in ("count",)})
                  for h in events)
    return TicketDetail(row(t, desk, desk.clock.now()), t.facts, lines)


async def urge(uow: UnitOfWork, desk: Desk, t: Ticket, customer_id: int
               ) -> tuple[str | None, datetime | None]:
    """Record an urge (催办); return who handles the ticket (None: the team) and by when."""
    now = desk.clock.now()
    t.urge_count += 1
    t.updated_at = now
    uow.repos.tickets.record(t.id, now, CUSTOMER, customer_id, "urged", {"count": t.urge_count})
    handler = await uow.repos.staff.get(t.assignee_id) if t.assignee_id else None
    return (handler.name if handler else None,
            desk.calendar.local(t.reply_due) if t.reply_due else None)


def add_message(uow: UnitOfWork, desk: Desk, t: Ticket, messages: list[dict[str, Any]],
                customer_id: int) -> None:
    """Add what the customer sent to an open ticket (the steward relay comes later)."""
    now = desk.clock.now()
    repo = uow.repos.tickets
    for m in messages:
        repo.add_message(t.id, now, "in", customer_id, m["kind"], m.get("text"),
                         m.get("file_id"), m.get("mid"))
        repo.record(t.id, now, CUSTOMER, customer_id, "customer_message",
                    {"message_id": m.get("mid"), "kind": m["kind"]})
        if m.get("abusive"):
            repo.record(t.id, now, CUSTOMER, customer_id, "abusive_language",
                        {"text": m.get("text")})
    t.updated_at = now


def record_edits(uow: UnitOfWork, ticket_id: int, customer_id: int, answers: dict[str, Any],
                 now: datetime) -> None:
    """Put the edits the customer made before the ticket existed on its history."""
    for e in answers.get("edits") or []:
        uow.repos.tickets.record(ticket_id, now, CUSTOMER, customer_id, tk.CUSTOMER_EDITED,
                                 {**e, "before_filing": True})


async def foreign_button(uow: UnitOfWork, ticket_id: int, presser_id: int, action: str,
                         now: datetime) -> None:
    """A customer pressed a button naming a ticket that is not theirs: refused, and recorded
    on that ticket (if it exists) with who pressed what; nothing they wrote is stored."""
    t = await uow.repos.tickets.get(ticket_id)
    if t is not None and t.customer_id != presser_id:
        uow.repos.tickets.record(t.id, now, CUSTOMER, presser_id, tk.FOREIGN_BUTTON,
                                 {"action": action})


def message_of(m: Inbound) -> dict[str, Any]:
    """What of a customer's message is kept on a ticket."""
    return {"kind": m.kind if m.kind in ("photo", "document", "voice") else "text",
            "text": m.text, "file_id": m.file_id, "mid": m.message_id, "reply_to": m.reply_to}


async def deadline_reached(uow: UnitOfWork, timer: Timer, now: datetime) -> None:
    """A promised time came: record it (what to do about it belongs to the escalation issue)."""
    if timer.ticket_id is None:
        return
    t = await uow.repos.tickets.get(timer.ticket_id)
    if t is not None and t.status in tk.ACTIVE:
        uow.repos.tickets.record(t.id, now, SYSTEM, None, "deadline_reached",
                                 {"kind": timer.kind})

