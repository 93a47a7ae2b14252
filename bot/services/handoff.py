"""Dispatch: a filed ticket gets a forum topic and a card in the staff chat, and is routed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.domain.buttons import StaffAction
from bot.domain.lifecycle import ACTIVE, OPEN, Transition
from bot.domain.links import topic_link
from bot.domain.phone import mask_phone
from bot.domain.routing import RosterEntry, route
from bot.domain.vocabulary import LEVELS, ActorKind, Event, Purpose, Status
from bot.services import escalation, incidents, life, major, staff_group
from bot.services.desk import Desk
from bot.services.staff_out import Button, Call, Card, CardView, Copy, Effect, Say
from storage.models import Staff, Ticket
from storage.repositories import OutboxRow
from storage.uow import UnitOfWork

TOPIC, CARD, ANSWER = Purpose.TOPIC, Purpose.CARD, Purpose.ANSWER
TO_STAFF, TO_CUSTOMER = Purpose.TO_STAFF, Purpose.TO_CUSTOMER
# The card sent to a steward's private chat while the staff group cannot take it; a probe call.
DM_CARD, PROBE = Purpose.DM_CARD, Purpose.PROBE
# The one action a private card offers: talking needs the topic.
DM_CARD_ACTION = StaffAction.CLAIM
SYSTEM = ActorKind.SYSTEM
# Forum topic names are limited to 128 characters.
TOPIC_NAME_MAX = 128


def topic_name(t: Ticket, desk: Desk, first_name: str, assignee: str | None = None) -> str:
    """Reference, category, the customer's first name (and who has it)."""
    cat = desk.form.category(t.category)
    # A major complaint stands out in the group's list of topics too.
    parts = [("‼️ " if t.is_major else "") + t.ref,
             cat.names.get(desk.staff_lang, t.category) if cat else t.category,
             first_name or "—"]
    if assignee:
        parts.append(f"→ {assignee}")
    return " · ".join(parts)[:TOPIC_NAME_MAX]


async def card_view(uow: UnitOfWork, desk: Desk, t: Ticket,
                    mentions: tuple[tuple[int, str], ...] = ()) -> CardView:
    """What the ticket card shows, read from the database."""
    cat = desk.form.category(t.category)
    lang = desk.staff_lang
    fields = {f.key: f.names.get(lang, f.key) for f in (cat.fields if cat else ())}
    extra = {fields.get(k, k): str(v) for k, v in (t.extra or {}).items()}
    assignee = await uow.repos.staff.get(t.assignee_id) if t.assignee_id else None
    about = await uow.repos.staff.get(t.about_staff_id) if t.about_staff_id else None
    about_text = None if about else await _about_text(uow, t)
    prev = await uow.repos.tickets.get(t.previous_ticket_id) if t.previous_ticket_id else None
    customer = await uow.repos.customers.get(t.customer_id)
    proposer = await uow.repos.staff.get(t.review_by) if t.review_by else None
    return CardView(
        ticket_id=t.id, ref=t.ref,
        category=cat.names.get(lang, t.category) if cat else t.category,
        facts=t.facts, outcome=t.desired_outcome, extra=extra,
        first_response_due=desk.calendar.local(t.first_response_due)
        if t.first_response_due else None,
        reply_due=desk.calendar.local(t.reply_due) if t.reply_due else None,
        customer_name=t.contact_name, masked_phone=_masked(t.phone), status=t.status,
        level=t.escalation_level, previous_ref=prev.ref if prev else None,
        assignee=assignee.name if assignee else None, about=about.name if about else None,
        about_text=about_text,
        mentions=mentions, repeat_count=t.repeat_count, unreachable=t.unreachable,
        major=await major.reason_phrase(uow, desk, t) if t.is_major else None,
        vip=bool(customer and customer.vip), review_by=proposer.name if proposer else None,
        incident=t.incident_id)


async def _about_text(uow: UnitOfWork, t: Ticket) -> str | None:
    """The staff member the customer named at intake when nobody on the roster matched it."""
    for h in await uow.repos.tickets.history(t.id, frozenset({"filed"})):
        text = (h.details or {}).get("about_text")
        if text:
            return str(text)
    return None


def dm_card_buttons(ticket_id: int, status: str) -> tuple[tuple[Button, ...], ...]:
    """A card in a steward's private chat offers Claim only (while the ticket is open)."""
    rows = tuple(tuple(b for b in row if b.action == DM_CARD_ACTION)
                 for row in card_buttons(ticket_id, status))
    return tuple(row for row in rows if row)


def card_buttons(ticket_id: int, status: str) -> tuple[tuple[Button, ...], ...]:
    """Claim · Transfer · About a staff member before a claim; the handling actions after."""
    def b(action: StaffAction) -> Button:
        return Button(f"staff.btn.{action}", action, ticket_id)

    a = StaffAction
    if status == Status.OPEN:
        return ((b(a.CLAIM), b(a.TRANSFER), b(a.ABOUT)),)
    if status in ACTIVE:
        return ((b(a.ASK), b(a.RESOLVE)), (b(a.TRANSFER), b(a.ESCALATE), b(a.RELEASE)),
                (b(a.ABOUT), b(a.PHONE)))
    return ()


async def roster(uow: UnitOfWork) -> list[RosterEntry]:
    """The roster as routing sees it."""
    return [_entry(s) for s in await uow.repos.staff.all()]


def _entry(s: Staff) -> RosterEntry:
    return RosterEntry(s.id, s.role, s.active, s.supervisor_id, tuple(s.categories or ()),
                       tuple(s.areas or ()))


async def dispatch(uow: UnitOfWork, desk: Desk, t: Ticket, now: datetime) -> list[Effect]:
    """Open the ticket's topic in its staff chat (the card follows once the topic exists)."""
    configured = desk.staff_chat_for(t.category)
    if configured is None:
        uow.repos.tickets.record(t.id, now, SYSTEM, None, Event.NOT_DISPATCHED,
                                 {"why": "no staff group configured"})
        return await alerts_filed(uow, desk, t)  # the levels still hear of it
    chat_id = await staff_group.follow(uow, configured)  # the supergroup it became, if any
    t.staff_chat_id = chat_id
    r = route(t.category, area(t), t.about_staff_id, await roster(uow))
    t.escalation_level = max(t.escalation_level, r.level)
    await life.move(uow, desk, t, Transition.DISPATCH, SYSTEM, None, now,
                    chat_id=chat_id, notify=list(r.notify), level=r.level)
    chat = await uow.repos.handoff.chat(chat_id)
    if chat.problem is not None:
        # Known to be unreachable: straight to the stewards; the group's retry brings it back.
        return await to_dms(uow, desk, t, chat_id, chat.problem, now)
    return await open_in_group(uow, desk, t, chat_id, r.notify)


async def open_in_group(uow: UnitOfWork, desk: Desk, t: Ticket, chat_id: int,
                        notify: tuple[int, ...]) -> list[Effect]:
    """The topic (the card follows it), the card in the topic made before, or a bare card."""
    chat = await uow.repos.handoff.chat(chat_id)
    if t.topic_id is not None or not chat.topics:
        return await _post_card(uow, desk, t, chat_id, t.topic_id, notify)
    customer = await uow.repos.customers.get(t.customer_id)
    # Claimed from a private card while the group was down: the name says who has it.
    who = await uow.repos.staff.get(t.assignee_id) if t.assignee_id else None
    return [Call(chat_id, "createForumTopic",
                 {"chat_id": chat_id, "name": topic_name(t, desk, customer.first_name
                                                         if customer else "",
                                                         who.name if who else None)},
                 ticket_id=t.id, purpose=TOPIC)]


def area(t: Ticket) -> str | None:
    """The ticket's area for routing (a unit, location or area field), if it has one."""
    extra = t.extra or {}
    for key in ("area", "unit", "location"):
        if extra.get(key):
            return str(extra[key])
    return None


async def _post_card(uow: UnitOfWork, desk: Desk, t: Ticket, chat_id: int,
                     thread_id: int | None, notify: tuple[int, ...]) -> list[Effect]:
    """The card, the customer's photos and later messages, and a note to the routed staff."""
    staff = []
    for i in notify:
        s = await uow.repos.staff.get(i)
        if s is not None:
            staff.append(s)
    view = await card_view(uow, desk, t, tuple((s.id, s.name) for s in staff))
    out: list[Effect] = [Card(chat_id, view, desk.staff_lang, thread_id)]
    for m in await uow.repos.tickets.messages(t.id):
        # Texts told during intake are on the card; photos and later messages are copied.
        if m.direction == "in" and m.customer_message_id and (m.file_id or m.at > t.created_at):
            out.append(Copy(chat_id, t.customer_id, m.customer_message_id, thread_id, t.id,
                            TO_STAFF))
    link = topic_link(chat_id, thread_id)
    # Those who had the card by private message learn where the ticket is now.
    key = ("staff.dm.in_group_now" if await uow.repos.tickets.history(
        t.id, frozenset({Event.STAFF_DM_FALLBACK})) else "staff.dm.new_ticket")
    for s in staff:
        if LEVELS.get(s.role, 0) < t.escalation_level:
            continue  # a major ticket is not theirs to claim: the supervisors were told instead
        out.append(Say(s.id, key, {"ref": t.ref, "link": link or "",
                                   "due": desk.calendar.local(t.first_response_due)
                                   if t.first_response_due else ""},
                       desk.staff_lang, ticket_id=t.id))
    if key == "staff.dm.new_ticket":
        # The first card of a major ticket: its supervisors are told now, with the topic's link
        # (after a private-card fallback they were told then).
        out += await alerts_filed(uow, desk, t)
    return out


async def alerts_filed(uow: UnitOfWork, desk: Desk, t: Ticket) -> list[Effect]:
    """The alerts a new ticket's first card carries (or its private cards, or its filing when
    there is no staff group): the level of a ticket raised at filing (major, a repeat), and the
    crisis alert of the group incident it completed to the managers — each once."""
    return await escalation.alert_filed(uow, desk, t) + await incidents.alert_filed(uow, desk, t)


def no_topics(reason: str) -> bool:
    """Whether createForumTopic failed because the group has no topics (cards go bare)."""
    return "not a forum" in reason


async def on_sent(uow: UnitOfWork, desk: Desk, row: OutboxRow, result: Any) -> list[Effect]:
    """React to a delivered call: topic created → card; message ids recorded for replies."""
    if row.ticket_id is None or not row.purpose:
        return []
    mid = result.get("message_id") if isinstance(result, dict) else None
    kind, _, arg = row.purpose.partition(":")
    if kind == TOPIC:
        t = await uow.repos.tickets.get(row.ticket_id)
        if t is None or not isinstance(result, dict):
            return []
        t.topic_id = result.get("message_thread_id")
        r = route(t.category, area(t), t.about_staff_id, await roster(uow))
        return await _post_card(uow, desk, t, row.chat_id, t.topic_id, r.notify)
    if kind == CARD and mid:
        # Locked: a claim from this very card may be committing on another instance now.
        t = await uow.repos.tickets.get_locked(row.ticket_id)
        if t is not None and t.card_message_id is None:
            t.card_message_id = mid
            t.handoff_failed_at = None
            if t.status != OPEN:
                # Claimed (from this card) before its id was known here, so the claim could
                # not edit it: bring it up to date now, or it offers Claim for ever.
                view = await card_view(uow, desk, t)
                return [Card(row.chat_id, view, desk.staff_lang, t.topic_id, mid)]
    elif kind == TO_STAFF and mid:
        src = row.payload.get("message_id")
        m = await uow.repos.handoff.message_by_customer_mid(row.ticket_id, int(src or 0))
        if m is not None:
            m.staff_message_id = mid
    elif kind == TO_CUSTOMER and mid and arg.isdigit():
        m = await uow.repos.handoff.message_by_staff_mid(row.ticket_id, int(arg))
        if m is not None:
            m.customer_message_id = mid
    return []


async def on_answer_expired(uow: UnitOfWork, desk: Desk, row: OutboxRow) -> list[Effect]:
    """A button's answer came too late to show: the action stands, so say it in the topic."""
    text = row.payload.get("text")
    t = await uow.repos.tickets.get(row.ticket_id) if row.ticket_id else None
    if row.purpose != ANSWER or t is None or not text:
        return []
    return [Say(row.chat_id, "staff.answer_late", {"text": text}, desk.staff_lang,
                thread_id=t.topic_id, ticket_id=t.id)]


async def on_failed(uow: UnitOfWork, desk: Desk, row: OutboxRow, reason: str,
                    now: datetime) -> list[Effect]:
    """A call failed for good: a group without topics, or a customer who blocked the bot."""
    if row.purpose == TOPIC and row.ticket_id and no_topics(reason):
        chat = await uow.repos.handoff.chat(row.chat_id)
        chat.topics = False
        out: list[Effect] = []
        if not chat.notice_sent:  # said once per group, not once per ticket
            chat.notice_sent = True
            out.append(Say(row.chat_id, "staff.no_topics", {}, desk.staff_lang))
        t = await uow.repos.tickets.get(row.ticket_id)
        if t is not None:
            r = route(t.category, area(t), t.about_staff_id, await roster(uow))
            out += await _post_card(uow, desk, t, row.chat_id, None, r.notify)
        return out
    if row.chat_id > 0 and "forbidden" in reason:
        return await _unreachable(uow, desk, row.chat_id, reason, now)
    return []


async def _unreachable(uow: UnitOfWork, desk: Desk, customer_id: int, reason: str,
                       now: datetime) -> list[Effect]:
    customer = await uow.repos.customers.get(customer_id)
    if customer is None or customer.unreachable:
        return []  # staff are told once, not for every message that bounces
    customer.unreachable = True
    out: list[Effect] = []
    for t in await uow.repos.tickets.of_customer(customer_id, statuses=ACTIVE):
        t.unreachable = True
        uow.repos.tickets.record(t.id, now, SYSTEM, None, Event.CUSTOMER_UNREACHABLE,
                                 {"reason": reason[:120]})
        if t.staff_chat_id:
            out.append(Say(t.staff_chat_id, "staff.unreachable", {"ref": t.ref},
                           desk.staff_lang, thread_id=t.topic_id, ticket_id=t.id))
    return out


def _masked(phone: str) -> str:
    try:
        return mask_phone(phone)
    except ValueError:
        return "****"


async def to_dms(uow: UnitOfWork, desk: Desk, t: Ticket, chat_id: int, reason: str,
                 now: datetime) -> list[Effect]:
    """The staff group cannot take the ticket: its routed stewards and their supervisors get
    the card in a private message (once per ticket); it waits for the group's retry."""
    t.handoff_failed_at = now
    events = await uow.repos.tickets.history(t.id, frozenset({Event.STAFF_DM_FALLBACK}))
    if events:
        return []  # told already; a failed retry says nothing new
    people = await _fallback_people(uow, t)
    uow.repos.tickets.record(t.id, now, SYSTEM, None, Event.STAFF_DM_FALLBACK,
                             {"chat_id": chat_id, "reason": reason[:120],
                              "to": [s.id for s in people]})
    view = await card_view(uow, desk, t)
    out: list[Effect] = []
    for s in people:
        out.append(Say(s.id, "staff.dm.group_down", {"ref": t.ref, "chat": str(chat_id),
                                                     "reason": reason[:120]},
                       desk.staff_lang, ticket_id=t.id))
        out.append(Card(s.id, view, desk.staff_lang, purpose=DM_CARD))
    return out + await alerts_filed(uow, desk, t)


async def _fallback_people(uow: UnitOfWork, t: Ticket) -> list[Staff]:
    """The routed staff and the supervisor of each; every senior person if nobody is routed."""
    entries = await roster(uow)
    r = route(t.category, area(t), t.about_staff_id, entries)
    by_id = {e.id: e for e in entries}
    ids = list(r.notify)
    for i in r.notify:
        boss = by_id[i].supervisor_id if i in by_id else None
        if boss is not None and boss not in ids and boss != t.about_staff_id:
            ids.append(boss)
    if not ids:
        ids = [e.id for e in entries if e.active and LEVELS.get(e.role, 0) >= 1
               and e.id != t.about_staff_id]
    people = [await uow.repos.staff.get(i) for i in ids]
    return [s for s in people if s is not None and s.active]
