"""Ticket use cases on the customer's side: file, list, show, urge, add a message."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot import i18n
from bot.domain import lifecycle, repeats
from bot.domain import ticket as tk
from bot.domain.intake import ABOUT, ABOUT_TEXT, IGNORED
from bot.domain.lifecycle import Transition
from bot.domain.routing import match_staff
from bot.domain.vocabulary import TOP_LEVEL, ActorKind, EscalationCause, Event
from bot.services import escalation, handoff, life, major
from bot.services.desk import Desk
from bot.services.inbound import Inbound
from bot.services.staff_out import Effect, Say
from bot.services.views import HistoryLine, TicketDetail, TicketRow
from storage.models import Customer, Ticket
from storage.uow import UnitOfWork

CUSTOMER, SYSTEM = ActorKind.CUSTOMER, ActorKind.SYSTEM


def facts_text(answers: dict[str, Any]) -> str:
    """The story as one text: the customer's messages in order, verbatim."""
    return "\n\n".join(f["text"] for f in answers.get("facts") or [] if f.get("text"))


async def file_complaint(uow: UnitOfWork, desk: Desk, customer: Customer,
                         answers: dict[str, Any], now: datetime) -> Ticket:
    """Open the ticket from a confirmed draft, with its deadlines, history and timers."""
    cal = desk.calendar
    previous = answers.get("previous")
    about_text = answers.get(ABOUT_TEXT) if answers.get(ABOUT) == "yes" else None
    about_id = None
    if about_text:
        roster = [(s.id, s.name, s.active) for s in await uow.repos.staff.all()]
        about_id = match_staff(about_text, roster)
    filing = lifecycle.apply(Transition.FILE, None)
    # The earlier ticket they picked at "complained before?" (checked to be theirs when picked).
    earlier = (await uow.repos.tickets.get_for_customer(previous, customer.id)
               if isinstance(previous, int) else None)
    first_window, reply_window = desk.windows_for(answers["category"])
    t = uow.repos.tickets.add(Ticket(
        ref=tk.new_ref(cal.local(now).date()), customer_id=customer.id, channel="telegram",
        category=answers["category"], facts=facts_text(answers),
        desired_outcome=answers.get("outcome_text") or answers["outcome"],
        extra=answers.get("extra") or {}, contact_name=answers["name"], phone=answers["phone"],
        language=customer.language, status=filing.status, escalation_level=0, is_major=False,
        repeat_count=repeats.count_for_new(earlier.repeat_count if earlier else None,
                                           previous == IGNORED),
        urge_count=0, unreachable=False,
        previous_ticket_id=earlier.id if earlier else None,
        about_staff_id=about_id, first_response_window=str(first_window),
        reply_window=str(reply_window), created_at=now, updated_at=now))
    await uow.repos.tickets.flush()
    await life.carry_out(uow, desk, t, filing, ActorKind.CUSTOMER, customer.id, now, **{
        "outcome": answers["outcome"], "previous": previous,
        # Who the customer said it is about, in their words, and whom that matched (if anyone).
        **({"about_text": about_text, "about_staff_id": about_id} if about_text else {}),
        # Versions the customer replaced before confirming are kept: the record is evidence.
        **({"replaced_facts": answers["replaced_facts"]} if answers.get("replaced_facts")
           else {})})
    repo = uow.repos.tickets
    if isinstance(previous, int):
        repo.record(t.id, now, CUSTOMER, customer.id, Event.LINKED_PREVIOUS,
                    {"ticket_id": previous})
    for text in answers.get("abuse") or []:
        repo.record(t.id, now, CUSTOMER, customer.id, Event.ABUSIVE_LANGUAGE, {"text": text})
    record_edits(uow, t.id, customer.id, answers, now)
    for f in answers.get("facts") or []:
        repo.add_message(t.id, now, "in", customer.id, f.get("kind", "text"), f.get("text"),
                         f.get("file_id"), f.get("mid"))
    # Major from the start (PROCESS.md §4): level 1, recorded; its alert goes with the card.
    await major.triage_at_filing(uow, desk, customer, t, answers, now)
    if t.repeat_count:
        # A repeat complaint (PROCESS.md §4) starts at the level its count gives; the level is
        # told with the card, as a major one is (escalation.alert_filed).
        reason = repeat_reason(desk, t, "earlier", ref=earlier.ref) if earlier else \
            repeat_reason(desk, t, "ignored")
        await escalation.raise_level(uow, desk, t, repeats.level_for(t.repeat_count),
                                     EscalationCause.REPEAT, reason, CUSTOMER, customer.id, now)
    return t


def repeat_reason(desk: Desk, t: Ticket, why: str, **values: object) -> str:
    """Why a repeat complaint goes up, in the staff language: which complaint on the matter
    this is, and `why` (a key of escalation.repeat) says how we know."""
    lang = desk.staff_lang
    return escalation.cause_text(EscalationCause.REPEAT, lang, nth=t.repeat_count + 1,
                                 why=i18n.t(lang, f"escalation.repeat.{why}", **values))


def row(t: Ticket, desk: Desk, now: datetime) -> TicketRow:
    """A ticket as the customer's list shows it (the next promised time still ahead)."""
    active = t.status in lifecycle.ACTIVE
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


@dataclass(frozen=True)
class Urged:
    """An urge recorded: who handles the ticket (None: the team), by when, the level it went
    up to (None: it did not), and what staff are told."""

    who: str | None
    due: datetime | None
    escalated_to: int | None
    staff: list[Effect]


async def urge(uow: UnitOfWork, desk: Desk, t: Ticket, customer_id: int) -> Urged:
    """Record an urge (催办), show it to whoever has the ticket, and every
    `urges_to_escalate`-th one takes the ticket a level up (PROCESS.md §4: coming back
    several times without result)."""
    now = desk.clock.now()
    t.urge_count += 1
    t.updated_at = now
    uow.repos.tickets.record(t.id, now, CUSTOMER, customer_id, Event.URGED,
                             {"count": t.urge_count})
    handler = await uow.repos.staff.get(t.assignee_id) if t.assignee_id else None
    out: list[Effect] = []
    link = handoff.topic_link(t.staff_chat_id, t.topic_id) if t.staff_chat_id else None
    values = {"ref": t.ref, "count": t.urge_count, "link": link or ""}
    if t.staff_chat_id is not None and (t.topic_id or t.card_message_id):
        out.append(Say(t.staff_chat_id, "staff.urged", values, desk.staff_lang,
                       thread_id=t.topic_id, ticket_id=t.id))
    if handler is not None:
        out.append(Say(handler.id, "staff.dm.urged", values, desk.staff_lang, ticket_id=t.id))
    every = desk.ladder.urges_to_escalate
    escalated_to = None
    if every and t.urge_count % every == 0 and t.escalation_level < TOP_LEVEL:
        escalated_to = t.escalation_level + 1
        reason = escalation.cause_text(EscalationCause.URGED, desk.staff_lang,
                                       count=t.urge_count)
        out += await escalation.escalate(uow, desk, t, escalated_to, EscalationCause.URGED,
                                         reason, CUSTOMER, customer_id, now)
    return Urged(handler.name if handler else None,
                 desk.calendar.local(t.reply_due) if t.reply_due else None, escalated_to, out)


def add_message(uow: UnitOfWork, desk: Desk, t: Ticket, messages: list[dict[str, Any]],
                customer_id: int) -> None:
    """Add what the customer sent to an open ticket (the steward relay comes later)."""
    now = desk.clock.now()
    repo = uow.repos.tickets
    for m in messages:
        repo.add_message(t.id, now, "in", customer_id, m["kind"], m.get("text"),
                         m.get("file_id"), m.get("mid"))
        repo.record(t.id, now, CUSTOMER, customer_id, Event.CUSTOMER_MESSAGE,
                    {"message_id": m.get("mid"), "kind": m["kind"]})
        if m.get("abusive"):
            repo.record(t.id, now, CUSTOMER, customer_id, Event.ABUSIVE_LANGUAGE,
                        {"text": m.get("text")})
    t.updated_at = now


def record_edits(uow: UnitOfWork, ticket_id: int, customer_id: int, answers: dict[str, Any],
                 now: datetime) -> None:
    """Put the edits the customer made before the ticket existed on its history."""
    for e in answers.get("edits") or []:
        uow.repos.tickets.record(ticket_id, now, CUSTOMER, customer_id, Event.CUSTOMER_EDITED,
                                 {**e, "before_filing": True})


async def foreign_button(uow: UnitOfWork, ticket_id: int, presser_id: int, action: str,
                         now: datetime) -> None:
    """A customer pressed a button naming a ticket that is not theirs: refused, and recorded
    on that ticket (if it exists) with who pressed what; nothing they wrote is stored."""
    t = await uow.repos.tickets.get(ticket_id)
    if t is not None and t.customer_id != presser_id:
        uow.repos.tickets.record(t.id, now, CUSTOMER, presser_id, Event.FOREIGN_BUTTON,
                                 {"action": action})


def message_of(m: Inbound) -> dict[str, Any]:
    """What of a customer's message is kept on a ticket."""
    return {"kind": m.kind if m.kind in ("photo", "document", "voice") else "text",
            "text": m.text, "file_id": m.file_id, "mid": m.message_id, "reply_to": m.reply_to}
