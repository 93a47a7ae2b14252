"""Group incidents (群体性投诉, PROCESS.md §4): many complaints on one matter in a short time.

At filing (`at_filing`) a ticket joins the open incident of its matter or, with the tickets
filed before it in the window, opens one (the rule is bot.domain.incidents). The crisis alert
goes once to the manager level through the escalation ladder — private messages, the level's
chats and e-mail — when the first card of the incident's newest ticket is posted
(`alert_filed`, beside the major alert), so every ticket in it has its link. Managers then
answer everyone at once (`/broadcast`, previewed and confirmed) and resolve them all at once
(`/incident N resolve`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from bot import i18n
from bot.domain import lifecycle
from bot.domain.access import Action, Actor, IncidentAction, TicketFacts, authorize_incident
from bot.domain.access import authorize as authorize_ticket
from bot.domain.buttons import CustomerAction, StaffAction
from bot.domain.incidents import Filed, OpenIncident, decide
from bot.domain.lifecycle import Transition
from bot.domain.vocabulary import (
    LEVELS,
    ActorKind,
    BroadcastStatus,
    Event,
    IncidentStatus,
    Role,
    Status,
)
from bot.services import escalation, handoff, life, staff_group
from bot.services.desk import Desk
from bot.services.mail_render import IncidentMail, incident_mail
from bot.services.staff_in import StaffInbound
from bot.services.staff_out import Alert, Button, Call, Effect, Phrase, Say
from storage.models import Incident, IncidentBroadcast, Staff, Ticket
from storage.uow import UnitOfWork

MANAGER_LEVEL = LEVELS[Role.MANAGER]
COMMANDS = frozenset({"incident", "broadcast"})
BUTTONS = frozenset({StaffAction.BROADCAST_SEND, StaffAction.BROADCAST_DROP})
RESOLVE_WORD = "resolve"
JOINED = "after_alert"  # in a ticket's incident_linked record: it joined after the alert
STAFF, SYSTEM = ActorKind.STAFF, ActorKind.SYSTEM
# Tickets that count towards an incident and hear its updates: all but those the customer
# withdrew or that are closed for good.
_LIVE = frozenset(Status) - lifecycle.FINISHED


# ---- at filing ------------------------------------------------------------------------------

async def at_filing(uow: UnitOfWork, desk: Desk, t: Ticket, now: datetime) -> list[Effect]:
    """A ticket just filed: link it to the open incident of its matter, or open one with the
    recent tickets it completes (their cards are edited to show it; the managers hear of it
    when this ticket's card is posted: `alert_filed`)."""
    rule = desk.incidents
    if not rule.threshold:
        return []
    repo = uow.repos.incidents
    # Locking the candidates first (PostgreSQL) makes a concurrent filing of the same matter
    # wait here, and then find the incident this one opens instead of opening another.
    recent = await repo.unlinked_since(t.category, now - rule.window, _LIVE)
    open_now = await repo.with_status(IncidentStatus.OPEN, t.category)
    outcome = decide(rule, _filed(t),
                     [OpenIncident(i.id, i.category, i.area, i.last_ticket_at) for i in open_now],
                     [_filed(x) for x in recent])
    if outcome.joins is not None:
        inc = next(i for i in open_now if i.id == outcome.joins)
        # Joining an incident the managers already know of: they hear of this one when its
        # card is posted (so the line has its link); before that, the alert will list it.
        _link(uow, inc, t, now, after_alert=inc.alert_sent_at is not None)
        return []
    if not outcome.opens_with:
        return []
    inc = repo.add(Incident(category=t.category, area=handoff.area(t), status=IncidentStatus.OPEN,
                            opened_at=now, last_ticket_at=t.created_at))
    await uow.flush()
    by_id = {x.id: x for x in recent} | {t.id: t}
    out: list[Effect] = []
    for tid in outcome.opens_with:
        member = by_id[tid]
        _link(uow, inc, member, now)
        if member.id != t.id:
            out += await escalation.refresh_card(uow, desk, member)  # the card shows it now
    return out


def _filed(t: Ticket) -> Filed:
    return Filed(t.id, t.category, handoff.area(t), t.created_at)


def _link(uow: UnitOfWork, inc: Incident, t: Ticket, now: datetime, *,
          after_alert: bool = False) -> None:
    t.incident_id, t.updated_at = inc.id, now
    inc.last_ticket_at = max(inc.last_ticket_at, t.created_at)
    uow.repos.tickets.record(t.id, now, SYSTEM, None, Event.INCIDENT_LINKED,
                             {"incident_id": inc.id, **({JOINED: True} if after_alert else {})})


async def _joined(uow: UnitOfWork, desk: Desk, inc: Incident, t: Ticket) -> list[Effect]:
    """One more ticket in an incident already alerted: a short line in the managers' chats,
    not a second alert."""
    count = len(await uow.repos.incidents.tickets(inc.id))
    values = {"id": inc.id, "ref": t.ref, "count": count, "link": _link_of(t) or ""}
    return [Say(chat, "staff.incident.joined", values, desk.staff_lang, ticket_id=t.id)
            for chat in desk.ladder.contacts(MANAGER_LEVEL).chat_ids]


# ---- the crisis alert -----------------------------------------------------------------------

async def alert_filed(uow: UnitOfWork, desk: Desk, t: Ticket) -> list[Effect]:
    """Called once per ticket, when its first card is posted (or would have been): the crisis
    alert of its incident if that has not gone yet — once per incident, to the manager level —
    or, for a ticket that joined after it, the short line to the managers' chats."""
    if t.incident_id is None:
        return []
    inc = await uow.repos.incidents.get(t.incident_id)
    if inc is None:
        return []
    if inc.alert_sent_at is None:
        inc.alert_sent_at = desk.clock.now()
        return await _crisis_alert(uow, desk, inc, t)
    linked = await uow.repos.tickets.history(t.id, frozenset({Event.INCIDENT_LINKED}))
    if linked and (linked[-1].details or {}).get(JOINED):
        return await _joined(uow, desk, inc, t)
    return []


async def _crisis_alert(uow: UnitOfWork, desk: Desk, inc: Incident, newest: Ticket
                        ) -> list[Effect]:
    """Tell the manager level, as an escalation to it would (bot.services.escalation): the
    managers above the tickets' handlers by private message, the level's chats and e-mail."""
    lang = desk.staff_lang
    members = await uow.repos.incidents.tickets(inc.id)
    people: dict[int, None] = {}
    for x in members:
        people.update(dict.fromkeys(await escalation.recipients(uow, x, MANAGER_LEVEL, None)))
    window = _window_phrase(desk.incidents.window)
    values = {"id": inc.id, "matter": _matter(desk, inc), "count": len(members),
              "window": window, "tickets": "\n".join(_line(desk, x) for x in members)}
    chats = (*people, *desk.ladder.contacts(MANAGER_LEVEL).chat_ids)
    out: list[Effect] = [Say(c, "staff.dm.incident", values, lang, ticket_id=newest.id)
                         for c in chats]
    mail = incident_mail(IncidentMail(
        inc.id, _matter(desk, inc), i18n.t(lang, window.key, **window.values),
        tuple((x.ref, _category(desk, x.category), x.contact_name, x.facts, _link_of(x))
              for x in members)), lang)
    await escalation.mail_level(uow, desk, MANAGER_LEVEL, tuple(people), mail, newest.id)
    return out


def _window_phrase(window: timedelta) -> Phrase:
    seconds = int(window.total_seconds())
    if seconds % 3600 == 0:
        return Phrase("staff.incident.hours", {"n": seconds // 3600})
    return Phrase("staff.incident.minutes", {"n": f"{seconds / 60:g}"})


def _category(desk: Desk, key: str) -> str:
    cat = desk.form.category(key)
    return cat.names.get(desk.staff_lang, key) if cat else key


def _matter(desk: Desk, inc: Incident) -> str:
    """The incident's matter as staff read it: category, and area when it has one."""
    return _category(desk, inc.category) + (f" · {inc.area}" if inc.area else "")


def _link_of(t: Ticket) -> str | None:
    return handoff.topic_link(t.staff_chat_id, t.topic_id) if t.staff_chat_id else None


def _line(desk: Desk, t: Ticket) -> str:
    """One ticket in a list for managers: reference, category, status, link."""
    status = i18n.t(desk.staff_lang, f"staff.status.{t.status}")
    parts = [t.ref, _category(desk, t.category), status, _link_of(t) or ""]
    return "• " + " · ".join(p for p in parts if p)


# ---- the staff commands ---------------------------------------------------------------------

async def command(uow: UnitOfWork, desk: Desk, m: StaffInbound) -> list[Effect]:
    """/incident · /incident N · /incident N resolve note · /broadcast N text, in a staff group
    (any topic or the general thread) or a chat of the escalation ladder; elsewhere nothing."""
    if m.chat_id not in await _desk_chats(uow, desk):
        return []
    me = await uow.repos.staff.get(m.user_id)
    actor = Actor(m.user_id, me.role if me else None, me.active if me else False)
    first, _, rest = (m.text or "").strip().partition(" ")
    number = first.removeprefix("#")
    usage = f"staff.usage.{m.command}"
    if m.command == "incident" and not first:
        refused = _refusal(desk, m, actor, IncidentAction.SHOW)
        return refused or await _list_open(uow, desk, m)
    if not number.isdigit():
        return [_reply(desk, m, usage)]
    word, _, note = rest.strip().partition(" ")
    if m.command == "broadcast":
        action = IncidentAction.BROADCAST
    elif not rest.strip():
        action = IncidentAction.SHOW
    elif word.casefold() == RESOLVE_WORD and note.strip():
        action = IncidentAction.RESOLVE
    else:
        return [_reply(desk, m, usage)]
    refused = _refusal(desk, m, actor, action)
    if refused:
        return refused
    inc = await uow.repos.incidents.get(int(number))
    if inc is None:
        return [_reply(desk, m, "staff.incident.unknown", id=int(number))]
    if action is IncidentAction.SHOW:
        return await _show(uow, desk, m, inc)
    if action is IncidentAction.RESOLVE:
        return await _resolve(uow, desk, m, actor, me, inc, note.strip())
    if not rest.strip():
        return [_reply(desk, m, usage)]
    return await _preview(uow, desk, m, inc, rest.strip())


def _refusal(desk: Desk, m: StaffInbound, actor: Actor, action: IncidentAction
             ) -> list[Effect]:
    """The refusal to say, or [] when the actor may."""
    d = authorize_incident(actor, action)
    return [] if d.allowed else [_reply(desk, m, f"access.{d.reason}")]


async def _desk_chats(uow: UnitOfWork, desk: Desk) -> set[int]:
    """The staff groups (as they are now, after an upgrade) and the ladder's chats."""
    configured = {desk.staff_group_id, *(g for _, g in desk.category_groups)} - {None}
    chats = {await staff_group.follow(uow, c) for c in configured if c is not None}
    for level in (1, 2, 3):
        chats.update(desk.ladder.contacts(level).chat_ids)
    return chats


def _reply(desk: Desk, m: StaffInbound, key: str, **values: object) -> Say:
    return Say(m.chat_id, key, values, desk.staff_lang, thread_id=m.thread_id,
               reply_to=m.message_id)


async def _list_open(uow: UnitOfWork, desk: Desk, m: StaffInbound) -> list[Effect]:
    repo = uow.repos.incidents
    rows = []
    for inc in await repo.with_status(IncidentStatus.OPEN):
        count = len(await repo.tickets(inc.id))
        rows.append(f"#{inc.id} · {_matter(desk, inc)} · {count} · "
                    f"{i18n.when(desk.staff_lang, desk.calendar.local(inc.opened_at))}")
    if not rows:
        return [_reply(desk, m, "staff.incident.none_open")]
    return [_reply(desk, m, "staff.incident.open_list", rows="\n".join(rows))]


async def _show(uow: UnitOfWork, desk: Desk, m: StaffInbound, inc: Incident) -> list[Effect]:
    members = await uow.repos.incidents.tickets(inc.id)
    sent = await uow.repos.incidents.broadcasts(inc.id, BroadcastStatus.SENT)
    return [_reply(desk, m, "staff.incident.show", id=inc.id, matter=_matter(desk, inc),
                   status=Phrase(f"staff.incident.status.{inc.status}"),
                   opened=desk.calendar.local(inc.opened_at), count=len(members),
                   customers=len(_audience(members)), broadcasts=len(sent),
                   tickets="\n".join(_line(desk, x) for x in members))]


def _audience(members: Iterable[Ticket]) -> dict[int, list[Ticket]]:
    """The customers to tell, each once, with their tickets in the incident still live."""
    by_customer: dict[int, list[Ticket]] = {}
    for x in members:
        if x.status in _LIVE:
            by_customer.setdefault(x.customer_id, []).append(x)
    return by_customer


def _refs(tickets: list[Ticket], lang: str) -> str:
    return ("、" if lang == "zh_CN" else ", ").join(x.ref for x in tickets)


# ---- /broadcast: preview, then Confirm or Cancel --------------------------------------------

async def _preview(uow: UnitOfWork, desk: Desk, m: StaffInbound, inc: Incident,
                   text: str) -> list[Effect]:
    """Hold the update and show it as customers will read it, with how many will get it."""
    members = await uow.repos.incidents.tickets(inc.id)
    audience = _audience(members)
    if not audience:
        return [_reply(desk, m, "staff.incident.nobody", id=inc.id)]
    now = desk.clock.now()
    b = uow.repos.incidents.add_broadcast(IncidentBroadcast(
        incident_id=inc.id, author_id=m.user_id, text=text, status=BroadcastStatus.DRAFT,
        customers=0, created_at=now))
    await uow.flush()
    sample = next(iter(audience.values()))
    buttons = ((Button("staff.btn.broadcast_send", StaffAction.BROADCAST_SEND, b.id),
                Button("staff.btn.broadcast_drop", StaffAction.BROADCAST_DROP, b.id)),)
    return [Say(m.chat_id, "staff.incident.preview",
                {"id": inc.id, "count": len(audience),
                 "tickets": sum(len(v) for v in audience.values()),
                 "text": Phrase("customer.incident_update", {"refs": _refs(sample, desk.staff_lang),
                                                             "text": text})},
                desk.staff_lang, thread_id=m.thread_id, reply_to=m.message_id,
                buttons=buttons)]


async def button(uow: UnitOfWork, desk: Desk, m: StaffInbound) -> list[Effect]:
    """Confirm or Cancel under a preview: authorised by the presser's role (managers and
    above), whoever wrote it; the customers hear it once however often Confirm is pressed."""
    lang = desk.staff_lang
    assert m.query_id is not None

    def answer(key: str, *, alert: bool = False, **values: object) -> Alert:
        return Alert(m.chat_id, m.query_id or "", key, values, lang, alert=alert)

    me = await uow.repos.staff.get(m.user_id)
    actor = Actor(m.user_id, me.role if me else None, me.active if me else False)
    d = authorize_incident(actor, IncidentAction.BROADCAST)
    if not d.allowed:
        return [answer(f"access.{d.reason}", alert=True)]
    b = await uow.repos.incidents.broadcast(m.ticket_id or 0)
    if b is None:
        return [answer("access.unknown_action", alert=True)]
    now = desk.clock.now()
    send = m.action == StaffAction.BROADCAST_SEND
    to = BroadcastStatus.SENT if send else BroadcastStatus.CANCELLED
    if not await uow.repos.incidents.decide_broadcast(b.id, BroadcastStatus.DRAFT, to,
                                                      m.user_id, now):
        return [answer("staff.incident.decided", alert=True)]
    # The preview's buttons go: it has been decided.
    out: list[Effect] = [Call(m.chat_id, "editMessageReplyMarkup",
                              {"chat_id": m.chat_id, "message_id": m.message_id})]
    if not send:
        return [*out, answer("staff.incident.dropped")]
    effects, tickets = await _send(uow, desk, b, m.user_id, now)
    return [*out, *effects, Say(m.chat_id, "staff.incident.sent",
                                {"count": b.customers, "tickets": tickets}, lang,
                                thread_id=m.thread_id, reply_to=m.message_id),
            answer("staff.incident.sent", count=b.customers, tickets=tickets)]


async def _send(uow: UnitOfWork, desk: Desk, b: IncidentBroadcast, confirmed_by: int,
                now: datetime) -> tuple[list[Effect], int]:
    """One message per customer (through the outbox, so the sender's rate limits apply), the
    update on every ticket's record and transcript, and a line in every ticket's topic; what
    to send, and on how many tickets it was recorded."""
    members = await uow.repos.incidents.tickets(b.incident_id)
    audience = _audience(members)
    author = await uow.repos.staff.get(b.author_id)
    name = author.name if author else str(b.author_id)
    out: list[Effect] = []
    for customer_id, tickets in audience.items():
        newest = tickets[-1]
        out.append(Say(customer_id, "customer.incident_update",
                       {"refs": _refs(tickets, newest.language), "text": b.text},
                       newest.language,
                       ticket_id=newest.id))
        for x in tickets:
            uow.repos.tickets.add_message(x.id, now, "out", b.author_id, "text", b.text)
            uow.repos.tickets.record(x.id, now, STAFF, b.author_id, Event.INCIDENT_UPDATE,
                                     {"incident_id": b.incident_id, "broadcast_id": b.id,
                                      "confirmed_by": confirmed_by})
            x.updated_at = now
            out += _in_topic(desk, x, "staff.incident.relayed",
                             id=b.incident_id, name=name, text=b.text)
    b.customers = len(audience)
    return out, sum(len(v) for v in audience.values())


def _in_topic(desk: Desk, t: Ticket, key: str, **values: object) -> list[Effect]:
    """A line in the ticket's topic (under its card in a group without topics)."""
    if t.staff_chat_id is None or not (t.topic_id or t.card_message_id):
        return []
    return [Say(t.staff_chat_id, key, values, desk.staff_lang, thread_id=t.topic_id,
                ticket_id=t.id, reply_to=None if t.topic_id else t.card_message_id)]


# ---- /incident N resolve note ---------------------------------------------------------------

async def _resolve(uow: UnitOfWork, desk: Desk, m: StaffInbound, actor: Actor, me: Staff | None,
                   inc: Incident, note: str) -> list[Effect]:
    """Resolve the incident and every ticket of it still being handled, through the ticket's
    lifecycle as a Resolve would; each customer gets the note once. A ticket the manager may
    not resolve (above their level, or about them) is left, and named."""
    if inc.status != IncidentStatus.OPEN:
        return [_reply(desk, m, "staff.incident.already_resolved", id=inc.id)]
    now = desk.clock.now()
    name = me.name if me else str(m.user_id)
    out: list[Effect] = []
    done: dict[int, list[Ticket]] = {}
    skipped: list[Ticket] = []
    for x in await uow.repos.incidents.tickets(inc.id):
        if x.status not in lifecycle.ACTIVE:
            continue
        facts = TicketFacts(x.status, x.assignee_id, x.escalation_level, x.about_staff_id)
        if not authorize_ticket(actor, Action.RESOLVE, facts).allowed:
            skipped.append(x)
            continue
        uow.repos.tickets.add_message(x.id, now, "out", m.user_id, "text", note)
        await life.move(uow, desk, x, Transition.RESOLVE, STAFF, m.user_id, now, note=note,
                        incident_id=inc.id)
        x.resolved_at = now
        done.setdefault(x.customer_id, []).append(x)
        out += await escalation.refresh_card(uow, desk, x)
        out += _in_topic(desk, x, "staff.incident.resolved_ticket", id=inc.id, name=name)
        if x.staff_chat_id is not None and x.topic_id:
            out.append(Call(x.staff_chat_id, "closeForumTopic",
                            {"chat_id": x.staff_chat_id, "message_thread_id": x.topic_id},
                            ticket_id=x.id))
    for customer_id, tickets in done.items():
        out.append(_resolved_to_customer(customer_id, tickets, note))
    inc.status, inc.resolved_at, inc.resolved_by, inc.resolution = (
        IncidentStatus.RESOLVED, now, m.user_id, note)
    out.append(_reply(desk, m, "staff.incident.resolved", id=inc.id,
                      tickets=sum(len(v) for v in done.values()), customers=len(done)))
    if skipped:
        out.append(_reply(desk, m, "staff.incident.skipped",
                          refs=_refs(skipped, desk.staff_lang)))
    return out


def _resolved_to_customer(customer_id: int, tickets: list[Ticket], note: str) -> Say:
    """The note once, with a "Not solved" button for each ticket (named when several)."""
    lang = tickets[-1].language
    many = len(tickets) > 1
    rows = tuple((Button("customer.btn.not_solved", CustomerAction.NOT_SOLVED, x.id,
                         label=i18n.t(lang, "customer.btn.not_solved_ref", ref=x.ref)
                         if many else None, for_customer=True),) for x in tickets)
    return Say(customer_id, "customer.incident_resolved", {"refs": _refs(tickets, lang),
                                                           "note": note},
               lang, ticket_id=tickets[-1].id, buttons=rows)
