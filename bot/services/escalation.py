"""The escalation ladder: every escalation — by timer, by a steward, by urging, by triage — is
carried out here, recorded with its cause, shown on the card and sent to that level.

Levels (PROCESS.md §4): 1 supervisor (值班经理), 2 manager (管理中心总经理),
3 committee (决策委员会). Each level reaches the people above the ticket's handlers on the
roster and the chats and e-mail addresses configured for it in [escalation].
"""

from __future__ import annotations

from datetime import datetime

from bot.domain.buttons import StaffAction
from bot.domain.lifecycle import Transition
from bot.domain.routing import escalation_targets, route
from bot.domain.vocabulary import TOP_LEVEL, ActorKind, EscalationCause, Event, Status
from bot.i18n import t as text
from bot.services import handoff, life
from bot.services.desk import Desk
from bot.services.mail_render import EscalationMail, escalation_mail
from bot.services.staff_out import Button, Call, Card, Effect, Say
from storage.models import Staff, Ticket
from storage.uow import UnitOfWork


def level_name(level: int, lang: str) -> str:
    """A level as staff call it ("1 · 值班经理")."""
    return f"{level} · {text(lang, f'levels.l{level}')}"


def cause_text(cause: EscalationCause, lang: str, **values: object) -> str:
    """Why a ticket went up, in the staff language (a staff member's own words for BY_STAFF)."""
    return text(lang, f"escalation.cause.{cause}", **values)


async def escalate(uow: UnitOfWork, desk: Desk, t: Ticket, level: int, cause: EscalationCause,
                   reason: str, actor: ActorKind, actor_id: int | None, now: datetime, *,
                   refresh: bool = True) -> list[Effect]:
    """Take the ticket up to `level` (capped at the committee), tell that level and show the
    level on the card (`refresh` False: the caller edits the card itself right after).

    [] when the ticket is already there: a level is told once, not once per cause.
    """
    if not await raise_level(uow, desk, t, level, cause, reason, actor, actor_id, now):
        return []
    level = t.escalation_level
    # A customer's id is not a staff id (they share Telegram's id space): only staff are left
    # out of their own escalation.
    out = await notify_level(uow, desk, t, level, reason,
                             actor_id if actor == ActorKind.STAFF else None)
    return out + (await refresh_card(uow, desk, t) if refresh else [])


async def raise_level(uow: UnitOfWork, desk: Desk, t: Ticket, level: int,
                      cause: EscalationCause, reason: str, actor: ActorKind,
                      actor_id: int | None, now: datetime) -> bool:
    """Record the ticket going up to `level` (capped at the committee), without telling anyone
    yet (triage at filing tells the level once the topic exists); False when already there."""
    level = min(level, TOP_LEVEL)
    if level <= t.escalation_level:
        return False
    before = t.escalation_level
    await life.move(uow, desk, t, Transition.ESCALATE, actor, actor_id, now,
                    level=level, **{"from": before}, cause=str(cause), reason=reason)
    t.escalation_level = level
    return True


async def notify_level(uow: UnitOfWork, desk: Desk, t: Ticket, level: int, reason: str,
                       actor_id: int | None = None, key: str = "staff.dm.escalated"
                       ) -> list[Effect]:
    """Tell a level about the ticket: the people above its handlers (by private message `key`),
    the level's chats, the topic (with a Take over button while nobody has it) and the level's
    e-mail. The card is the caller's to refresh."""
    lang = desk.staff_lang
    link = handoff.topic_link(t.staff_chat_id, t.topic_id) if t.staff_chat_id else None
    values = {"ref": t.ref, "level": level_name(level, lang), "reason": reason,
              "link": link or ""}
    out: list[Effect] = []
    people = await recipients(uow, t, level, actor_id)
    for chat_id in people + tuple(desk.ladder.contacts(level).chat_ids):
        out.append(Say(chat_id, key, values, lang, ticket_id=t.id))
    if t.staff_chat_id is not None and (t.topic_id or t.card_message_id):
        buttons = ((Button("staff.btn.take_over", StaffAction.CLAIM, t.id),),) \
            if t.status == Status.OPEN else ()
        out.append(Say(t.staff_chat_id, "staff.escalated", values, lang, thread_id=t.topic_id,
                       ticket_id=t.id, buttons=buttons))
    if desk.mail_enabled:
        await _mail(uow, desk, t, level, reason, people, link)
    return out


async def alert_filed(uow: UnitOfWork, desk: Desk, t: Ticket) -> list[Effect]:
    """Tell the level a ticket went up to while it was being filed (major by triage, a repeat
    complaint, or both), once it has a card to link to: one alert with every reason; [] for a
    ticket filed at level 0."""
    raised: list[str] = []
    for h in await uow.repos.tickets.history(
            t.id, frozenset({Event.ESCALATED, Event.DISPATCHED, Event.NOT_DISPATCHED})):
        if h.event != Event.ESCALATED:
            break  # later escalations told their level when they happened
        raised.append(str((h.details or {}).get("reason") or ""))
    if not raised:
        return []
    key = "staff.dm.major" if t.is_major else "staff.dm.escalated"
    return await notify_level(uow, desk, t, max(t.escalation_level, 1),
                              "; ".join(dict.fromkeys(r for r in raised if r)), key=key)


async def _mail(uow: UnitOfWork, desk: Desk, t: Ticket, level: int, reason: str,
                people: tuple[int, ...], link: str | None) -> None:
    """Queue the level's e-mail: the configured To and CC plus the roster addresses of the
    people told; sent durably by the mailer after this transaction commits."""
    staff = {s.id: s for s in await uow.repos.staff.all()}
    to, cc = _addresses(desk, level, people, staff)
    if not to:
        return
    lang, cal = desk.staff_lang, desk.calendar
    who = {"customer": t.contact_name, "system": text(lang, "mail.system")}
    history = tuple(
        (cal.local(h.at), staff[h.actor_id].name if h.actor_id in staff else who.get(
            h.actor_kind, str(h.actor_id or "")), h.event.replace("_", " "))
        for h in await uow.repos.tickets.history(t.id))
    cat = desk.form.category(t.category)
    subject, plain, html = escalation_mail(EscalationMail(
        ref=t.ref, level=level, level_name=text(lang, f"levels.l{level}"), reason=reason,
        category=cat.names.get(lang, t.category) if cat else t.category,
        contact_name=t.contact_name, facts=t.facts, desired_outcome=t.desired_outcome,
        first_response_due=cal.local(t.first_response_due) if t.first_response_due else None,
        reply_due=cal.local(t.reply_due) if t.reply_due else None, card_link=link,
        history=history), lang)
    uow.repos.mail.add(to, cc, subject, plain, html, desk.clock.now(), ticket_id=t.id)


def _addresses(desk: Desk, level: int, people: tuple[int, ...], staff: dict[int, Staff]
               ) -> tuple[list[str], list[str]]:
    """A level's e-mail To (configured, plus the roster addresses of the people told) and CC."""
    contacts = desk.ladder.contacts(level)
    to = [*contacts.email_to, *(e for i in people if i in staff and (e := staff[i].email))]
    return to, list(contacts.email_cc)


async def mail_level(uow: UnitOfWork, desk: Desk, level: int, people: tuple[int, ...],
                     mail: tuple[str, str, str], ticket_id: int | None) -> None:
    """Queue an e-mail (subject, plain, HTML) to a level as an escalation's would go (the same
    To and CC); nothing without [email] or an address. A failure is said in `ticket_id`'s
    topic."""
    if not desk.mail_enabled:
        return
    to, cc = _addresses(desk, level, people,
                        {s.id: s for s in await uow.repos.staff.all()})
    if to:
        uow.repos.mail.add(to, cc, *mail, desk.clock.now(), ticket_id=ticket_id)


async def recipients(uow: UnitOfWork, t: Ticket, level: int, actor_id: int | None
                     ) -> tuple[int, ...]:
    """Who on the roster an escalation to `level` goes to (never the staff member who
    escalated): above the assignee, else above the stewards the ticket was routed to."""
    roster = await handoff.roster(uow)
    handlers = ((t.assignee_id,) if t.assignee_id is not None
                else route(t.category, handoff.area(t), None, roster).notify)
    return tuple(i for i in escalation_targets(level, handlers, t.about_staff_id, roster)
                 if i != actor_id)


async def refresh_card(uow: UnitOfWork, desk: Desk, t: Ticket, rename: bool = False
                       ) -> list[Effect]:
    """Edit the card (and, when the assignee changed, the topic name) to the ticket's state."""
    if t.staff_chat_id is None:
        return []
    out: list[Effect] = []
    if t.card_message_id:
        view = await handoff.card_view(uow, desk, t)
        out.append(Card(t.staff_chat_id, view, desk.staff_lang, t.topic_id, t.card_message_id))
    if t.topic_id and rename:
        customer = await uow.repos.customers.get(t.customer_id)
        who = await uow.repos.staff.get(t.assignee_id) if t.assignee_id else None
        name = handoff.topic_name(t, desk, customer.first_name if customer else "",
                                  who.name if who else None)
        out.append(Call(t.staff_chat_id, "editForumTopic",
                        {"chat_id": t.staff_chat_id, "message_thread_id": t.topic_id,
                         "name": name}, ticket_id=t.id))
    return out
