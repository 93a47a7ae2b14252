"""Staff use cases on a ticket: claim, relay, note, transfer, ask, escalate, resolve, release.

Every action is authorised here against the database by the acting user's id (bot.domain.access),
whatever chat the button was pressed in and whatever its callback data says.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime

from bot.domain import lifecycle
from bot.domain.access import LEVELS, Action, Actor, Decision, TicketFacts, authorize
from bot.domain.buttons import CustomerAction, StaffAction
from bot.domain.lifecycle import IllegalTransition, Transition
from bot.domain.phone import format_phone
from bot.domain.vocabulary import TOP_LEVEL, ActorKind, EscalationCause, Event, Status
from bot.services import escalation, handoff, life, major, review
from bot.services.desk import Desk
from bot.services.staff_in import StaffInbound
from bot.services.staff_out import (
    Alert,
    Button,
    Call,
    Copy,
    Effect,
    Relay,
    Say,
    Transcript,
    TranscriptLine,
)
from storage.models import Staff, Ticket
from storage.uow import UnitOfWork

STAFF, SYSTEM = ActorKind.STAFF, ActorKind.SYSTEM
TEXT_ACTIONS = {"ask": Action.ASK_CUSTOMER, "escalate": Action.ESCALATE,
                "resolve": Action.RESOLVE, "transfer": Action.TRANSFER}
SA = StaffAction
# Keyed by the button's action as it arrives (a StrEnum member is its string).
BUTTONS: dict[str, Action] = {
           SA.CLAIM: Action.CLAIM, SA.RELEASE: Action.RELEASE, SA.TRANSFER: Action.TRANSFER,
           SA.TRANSFER_TO: Action.TRANSFER, SA.ABOUT: Action.FLAG_ABOUT_STAFF,
           SA.ABOUT_WHO: Action.FLAG_ABOUT_STAFF, SA.PHONE: Action.SHOW_PHONE,
           SA.ASK: Action.ASK_CUSTOMER, SA.ESCALATE: Action.ESCALATE, SA.RESOLVE: Action.RESOLVE,
           SA.APPROVE: Action.APPROVE_RESOLUTION, SA.SEND_BACK: Action.SEND_BACK}
# Actions whose text a staff member is asked for (staff_pending.action → what it needs).
SEND_BACK = "sendback"
PENDING_ACTIONS = {**TEXT_ACTIONS, SEND_BACK: Action.SEND_BACK}
# Buttons that also work in the presser's private chat (a review put to them there).
PRIVATE_BUTTONS = frozenset({SA.APPROVE, SA.SEND_BACK})
COMMANDS = {"note": Action.NOTE, "history": Action.HISTORY, "claim": Action.CLAIM,
            "release": Action.RELEASE, **TEXT_ACTIONS, **major.COMMANDS}


class Ctx:
    """One staff update being handled."""

    def __init__(self, uow: UnitOfWork, desk: Desk, m: StaffInbound, staff: Staff | None,
                 t: Ticket) -> None:
        self.uow, self.desk, self.m, self.staff, self.t = uow, desk, m, staff, t
        self.now = desk.clock.now()
        self.lang = desk.staff_lang
        self.out: list[Effect] = []

    @property
    def actor(self) -> Actor:
        s = self.staff
        return Actor(self.m.user_id, s.role if s else None, s.active if s else False)

    def record(self, event: Event, **details: object) -> None:
        self.uow.repos.tickets.record(self.t.id, self.now, STAFF, self.m.user_id, event,
                                      dict(details))

    async def move(self, transition: Transition, **details: object) -> None:
        """Carry out a transition of the ticket, done by this staff member."""
        await life.move(self.uow, self.desk, self.t, transition, STAFF, self.m.user_id,
                        self.now, **details)

    def topic(self, key: str, reply: bool = False, **values: object) -> None:
        """Say something in the ticket's topic (or reply to the staff member's message)."""
        self.out.append(Say(self.m.chat_id, key, values, self.lang, thread_id=self.m.thread_id,
                            ticket_id=self.t.id,
                            reply_to=self.m.message_id if reply else None))

    def done(self, key: str, **values: object) -> None:
        """Acknowledge: an answer to a button, or a line in the topic for a message."""
        if self.m.query_id:
            self.out.append(Alert(self.m.chat_id, self.m.query_id, key, values, self.lang,
                                  ticket_id=self.t.id))
        else:
            self.topic(key, reply=True, **values)


async def handle(uow: UnitOfWork, desk: Desk, m: StaffInbound) -> list[Effect]:
    """Route one staff update to its action; [] when it is not about a ticket."""
    t = await _ticket_of(uow, m)
    if t is None:
        if m.query_id:  # a button naming no ticket we know
            return [Alert(m.chat_id, m.query_id, "access.unknown_ticket", {}, desk.staff_lang,
                          alert=True)]
        return []
    c = Ctx(uow, desk, m, await uow.repos.staff.get(m.user_id), t)
    if m.query_id and not _pressed_where_shown(t, m):
        # The button names a ticket that is not this chat's or topic's: forged or stale data.
        return await _deny(c, Action(BUTTONS.get(m.action or "", Action.HISTORY)),
                           Decision(False, "wrong_chat"))
    action, run = _choose(c)
    if action is None:
        return []
    decision = authorize(c.actor, action, _facts(t))
    if not decision.allowed:
        return await _deny(c, action, decision)
    await run(c)
    return c.out


def _pressed_where_shown(t: Ticket, m: StaffInbound) -> bool:
    """The button is in the ticket's staff chat and topic — or it is Claim on the card sent to
    the presser's own private chat while the staff group could not take the ticket."""
    if m.chat_id == m.user_id and m.action in PRIVATE_BUTTONS:
        return True
    if m.chat_id == m.user_id and t.card_message_id is None:
        return m.action == handoff.DM_CARD_ACTION
    return t.staff_chat_id == m.chat_id and (t.topic_id is None or m.thread_id == t.topic_id)


async def _ticket_of(uow: UnitOfWork, m: StaffInbound) -> Ticket | None:
    if m.query_id:
        return await uow.repos.tickets.get(m.ticket_id) if m.ticket_id else None
    if m.thread_id:
        t = await uow.repos.handoff.by_topic(m.chat_id, m.thread_id)
        if t is not None:
            return t
    if m.reply_to:  # groups without topics: a reply to the card or a relayed message
        return await uow.repos.handoff.by_staff_message(m.chat_id, m.reply_to)
    return None


def _facts(t: Ticket) -> TicketFacts:
    return TicketFacts(t.status, t.assignee_id, t.escalation_level, t.about_staff_id,
                       t.review_by)


def _choose(c: Ctx):  # type: ignore[no-untyped-def]
    """Which action the update asks for, and the function that carries it out."""
    m = c.m
    if m.query_id:
        a = m.action or ""
        if a not in BUTTONS:
            return Action.HISTORY, _unknown_button
        return BUTTONS[a], _BUTTON_RUN[a]
    if m.kind == "command":
        if m.command == "cancel":
            return Action.NOTE, _cancel_pending
        if m.command in major.COMMANDS:  # "/major off" needs more than "/major"
            return major.command_action(m.command, m.text), _major_or_vip
        if m.command in COMMANDS:
            return COMMANDS[m.command], _COMMAND_RUN[m.command]
        return None, None
    return None, None  # plain messages are decided in _message (needs the pending row)


async def message(uow: UnitOfWork, desk: Desk, m: StaffInbound) -> list[Effect]:
    """A plain message in a ticket's topic: a pending action's text, a relay or a note."""
    t = await _ticket_of(uow, m)
    if t is None:
        return []
    c = Ctx(uow, desk, m, await uow.repos.staff.get(m.user_id), t)
    pending = await uow.repos.handoff.pending(m.user_id)
    if pending is not None and pending.ticket_id == t.id and m.kind == "text" and m.text:
        action = PENDING_ACTIONS[pending.action]
        decision = authorize(c.actor, action, _facts(t))
        await uow.repos.handoff.clear_pending(m.user_id)
        if not decision.allowed:
            return await _deny(c, action, decision)
        await _TEXT_RUN[pending.action](c, m.text, pending.target_id)
        return c.out
    relay = authorize(c.actor, Action.RELAY, _facts(t))
    if relay.allowed and t.assignee_id == m.user_id:
        await _relay(c)
        return c.out
    note = authorize(c.actor, Action.NOTE, _facts(t))
    if not note.allowed:
        return await _deny(c, Action.NOTE, note)
    await _note(c, m.text)
    return c.out


async def _deny(c: Ctx, action: Action, d: Decision) -> list[Effect]:
    c.record(Event.DENIED, action=str(action), reason=d.reason)
    values: dict[str, object] = {}
    if d.reason == "already_claimed" and c.t.assignee_id:
        holder = await c.uow.repos.staff.get(c.t.assignee_id)
        values["name"] = holder.name if holder else "?"
    key = f"access.{d.reason}"
    if c.m.query_id:
        c.out.append(Alert(c.m.chat_id, c.m.query_id, key, values, c.lang, alert=True,
                           ticket_id=c.t.id))
    elif c.m.chat_id < 0:
        c.topic(key, reply=True, **values)
    return c.out


# ---- the actions ---------------------------------------------------------------------------

async def _claim(c: Ctx) -> None:
    try:
        change = lifecycle.apply(Transition.CLAIM, c.t.status)
    except IllegalTransition:
        change = None
    # A conditional update, so that of two stewards pressing at once exactly one wins.
    if change is None or not await c.uow.repos.handoff.claim(
            c.t.id, c.m.user_id, c.now, from_statuses=lifecycle.allowed_from(Transition.CLAIM),
            to_status=change.status):
        await _deny(c, Action.CLAIM, Decision(False, "already_claimed"))
        return
    await c.uow.session.refresh(c.t)
    await life.carry_out(c.uow, c.desk, c.t, change, STAFF, c.m.user_id, c.now)
    name = c.staff.name if c.staff else ""
    _tell_customer(c, "customer.claimed", name=name, ref=c.t.ref)
    await _refresh_card(c, rename=True)
    c.done("staff.claimed", name=name)


async def _release(c: Ctx) -> None:
    await c.move(Transition.RELEASE)
    c.t.assignee_id = None
    await _refresh_card(c, rename=True)
    c.done("staff.released")


async def _transfer_menu(c: Ctx) -> None:
    people = [s for s in await c.uow.repos.staff.all()
              if s.active and s.id not in (c.m.user_id, c.t.about_staff_id)
              and LEVELS.get(s.role, 0) <= 3][:20]
    rows = tuple((Button("", SA.TRANSFER_TO, c.t.id, str(s.id), label=f"{s.name} ({s.role})"),)
                 for s in people)
    c.out.append(Say(c.m.chat_id, "staff.pick_transfer", {"ref": c.t.ref}, c.lang,
                     thread_id=c.m.thread_id, buttons=rows, ticket_id=c.t.id))
    c.done("staff.pick_shown")


async def _transfer_target(c: Ctx) -> None:
    target = await c.uow.repos.staff.get(int(c.m.arg)) if c.m.arg.isdigit() else None
    if target is None or not target.active or target.id == c.t.about_staff_id:
        await _deny(c, Action.TRANSFER, Decision(False, "bad_target"))
        return
    await _ask_for_text(c, "transfer", target.id, "staff.prompt.transfer_reason",
                        name=target.name)


async def _ask_for_text(c: Ctx, action: str, target: int | None, key: str,
                        **values: object) -> None:
    await c.uow.repos.handoff.set_pending(c.m.user_id, c.t.id, action, target, c.now)
    c.out.append(Say(c.m.chat_id, key, {"ref": c.t.ref, **values}, c.lang,
                     thread_id=c.m.thread_id, ticket_id=c.t.id))
    c.done("staff.prompt.shown")


async def _prompt(c: Ctx) -> None:
    action = c.m.action or ""
    await _ask_for_text(c, action, None, f"staff.prompt.{action}")


async def _text_command(c: Ctx) -> None:
    """/ask, /escalate, /resolve with their text; /transfer ID reason."""
    cmd, text = c.m.command or "", (c.m.text or "").strip()
    target = None
    if cmd == "transfer":
        first, _, text = text.partition(" ")
        target = int(first) if first.lstrip("-").isdigit() else None
        if target is None:
            c.topic("staff.usage.transfer", reply=True)
            return
    if not text:
        c.topic(f"staff.usage.{cmd}", reply=True)
        return
    await _TEXT_RUN[cmd](c, text, target)


async def _do_transfer(c: Ctx, reason: str, target_id: int | None) -> None:
    target = await c.uow.repos.staff.get(target_id) if target_id else None
    if target is None or not target.active or target.id == c.t.about_staff_id:
        await _deny(c, Action.TRANSFER, Decision(False, "bad_target"))
        return
    before = c.t.assignee_id
    await c.move(Transition.TRANSFER, **{"from": before, "to": target.id, "reason": reason})
    c.t.assignee_id = target.id
    _tell_customer(c, "customer.transferred", name=target.name, ref=c.t.ref)
    link = handoff.topic_link(c.m.chat_id, c.t.topic_id) or ""
    c.out.append(Say(target.id, "staff.dm.transferred", {"ref": c.t.ref, "reason": reason,
                                                          "link": link}, c.lang,
                     ticket_id=c.t.id))
    await _refresh_card(c, rename=True)
    c.topic("staff.transferred", name=target.name, reason=reason)


async def _do_ask(c: Ctx, question: str, _target: int | None) -> None:
    c.uow.repos.tickets.add_message(c.t.id, c.now, "out", c.m.user_id, "text", question)
    await c.move(Transition.ASK, question=question)
    _tell_customer(c, "customer.question", name=c.staff.name if c.staff else "",
                   ref=c.t.ref, question=question)
    await _refresh_card(c)
    c.topic("staff.asked")


async def _do_escalate(c: Ctx, reason: str, _target: int | None) -> None:
    if c.t.escalation_level >= TOP_LEVEL:
        c.topic("staff.escalate_top", reply=True)
        return
    c.out.extend(await escalation.escalate(
        c.uow, c.desk, c.t, c.t.escalation_level + 1, EscalationCause.BY_STAFF, reason, STAFF,
        c.m.user_id, c.now))


async def _do_resolve(c: Ctx, note: str, _target: int | None, *, reviewed: bool = False
                      ) -> None:
    if not reviewed and c.staff is not None and review.needed(c.desk, c.t, c.staff):
        c.out += await review.propose(c.uow, c.desk, c.t, c.staff, note, c.now)
        return
    c.uow.repos.tickets.add_message(c.t.id, c.now, "out", c.m.user_id, "text", note)
    await c.move(Transition.RESOLVE, note=note)
    c.t.resolved_at = c.now
    c.out.append(Say(c.t.customer_id, "customer.resolved",
                     {"ref": c.t.ref, "note": note}, c.t.language, ticket_id=c.t.id,
                     buttons=((Button("customer.btn.not_solved", CustomerAction.NOT_SOLVED, c.t.id,
                                       for_customer=True),),)))
    await _refresh_card(c)
    if c.t.topic_id:
        c.out.append(Call(c.m.chat_id, "closeForumTopic",
                          {"chat_id": c.m.chat_id, "message_thread_id": c.t.topic_id},
                          ticket_id=c.t.id))
    c.topic("staff.resolved", hours=f"{c.desk.not_solved_within.total_seconds() / 3600:g}")


async def _approve(c: Ctx) -> None:
    """A supervisor approves a proposed resolution: it is carried out as any resolution, in the
    ticket's topic wherever the button was pressed."""
    proposal = await review.current(c.uow, c.t, c.m.arg)
    if proposal is None or c.staff is None:
        await _deny(c, Action.APPROVE_RESOLUTION, Decision(False, "no_review"))
        return
    c.out += await review.approve(c.uow, c.desk, c.t, c.staff, proposal, c.now)
    placed = _in_topic(c)
    await _do_resolve(placed, review.note_of(proposal), None, reviewed=True)
    if placed is not c:
        c.out += placed.out
    c.done("staff.review.approved_done")


async def _send_back_prompt(c: Ctx) -> None:
    """Send back: the reason is asked for in the ticket's topic (a private chat with the bot is
    the customer side), remembered against this very proposal."""
    proposal = await review.current(c.uow, c.t, c.m.arg)
    if proposal is None:
        await _deny(c, Action.SEND_BACK, Decision(False, "no_review"))
        return
    placed = _in_topic(c)
    await c.uow.repos.handoff.set_pending(c.m.user_id, c.t.id, SEND_BACK, proposal.id, c.now)
    placed.topic("staff.prompt.sendback", ref=c.t.ref)
    if placed is not c:
        c.out += placed.out
    c.done("staff.prompt.shown" if placed is c else "staff.review.reason_in_topic")


async def _do_send_back(c: Ctx, reason: str, proposal_id: int | None) -> None:
    proposal = await review.current(c.uow, c.t, str(proposal_id or ""))
    if proposal is None or c.staff is None:
        await _deny(c, Action.SEND_BACK, Decision(False, "no_review"))
        return
    c.out += await review.send_back(c.uow, c.desk, c.t, c.staff, proposal, reason, c.now)


def _in_topic(c: Ctx) -> Ctx:
    """The same update as if it came from the ticket's topic (or card, without topics): what
    a review button pressed in a private chat says and does belongs there."""
    if c.t.staff_chat_id is None or c.m.chat_id == c.t.staff_chat_id:
        return c
    placed = Ctx(c.uow, c.desk, replace(c.m, chat_id=c.t.staff_chat_id, thread_id=c.t.topic_id,
                                        message_id=None, query_id=None), c.staff, c.t)
    placed.now = c.now
    return placed


async def _about_menu(c: Ctx) -> None:
    people = [s for s in await c.uow.repos.staff.all() if s.active][:20]
    rows = tuple((Button("", SA.ABOUT_WHO, c.t.id, str(s.id), label=s.name),) for s in people)
    c.out.append(Say(c.m.chat_id, "staff.pick_about", {"ref": c.t.ref}, c.lang,
                     thread_id=c.m.thread_id, buttons=rows, ticket_id=c.t.id))
    c.done("staff.pick_shown")


async def _about_target(c: Ctx) -> None:
    subject = await c.uow.repos.staff.get(int(c.m.arg)) if c.m.arg.isdigit() else None
    if subject is None:
        await _deny(c, Action.FLAG_ABOUT_STAFF, Decision(False, "bad_target"))
        return
    c.t.about_staff_id, c.t.updated_at = subject.id, c.now
    unassign = c.t.assignee_id == subject.id
    if unassign:  # nobody handles a complaint about themselves
        await c.move(Transition.UNASSIGN)
        c.t.assignee_id = None
    r = handoff.route(c.t.category, None, subject.id, await handoff.roster(c.uow))
    c.t.escalation_level = max(c.t.escalation_level, r.level)
    c.record(Event.FLAGGED_ABOUT_STAFF, staff_id=subject.id, notify=list(r.notify))
    link = handoff.topic_link(c.m.chat_id, c.t.topic_id) or ""
    for sid in r.notify:
        c.out.append(Say(sid, "staff.dm.about_staff", {"ref": c.t.ref, "link": link},
                         c.lang, ticket_id=c.t.id))
    await _refresh_card(c, rename=unassign)
    c.done("staff.flagged")


async def _relay(c: Ctx) -> None:
    m = c.m
    reply_to = None
    if m.reply_to:
        line = await c.uow.repos.handoff.message_by_staff_mid(c.t.id, m.reply_to)
        reply_to = line.customer_message_id if line else None
    c.uow.repos.tickets.add_message(c.t.id, c.now, "out", m.user_id, m.kind, m.text, m.file_id,
                                    staff_message_id=m.message_id)
    c.record(Event.REPLY_SENT, kind=m.kind)
    c.t.updated_at = c.now
    c.out.append(Relay(c.t.customer_id, c.staff.name if c.staff else "", m.kind, m.text,
                       m.file_id, c.t.language, c.t.id,
                       f"{handoff.TO_CUSTOMER}:{m.message_id}", reply_to))


async def _note(c: Ctx, text: str | None) -> None:
    c.uow.repos.tickets.add_message(c.t.id, c.now, "note", c.m.user_id, c.m.kind, text,
                                    c.m.file_id, staff_message_id=c.m.message_id)
    c.record(Event.NOTE, kind=c.m.kind)
    c.topic("staff.note_recorded", reply=True)


async def _note_command(c: Ctx) -> None:
    text = (c.m.text or "").strip()
    if not text:
        c.topic("staff.usage.note", reply=True)
        return
    await _note(c, text)


async def _history(c: Ctx) -> None:
    names = {s.id: s.name for s in await c.uow.repos.staff.all()}
    lines = tuple(TranscriptLine(c.desk.calendar.local(m.at), m.direction,
                                 None if m.direction == "in"
                                 else names.get(m.author_id or 0, str(m.author_id)),
                                 m.text, m.kind)
                  for m in await c.uow.repos.tickets.messages(c.t.id))
    c.out.append(Transcript(c.m.chat_id, c.t.ref, lines, c.lang, c.m.thread_id, c.t.id))


async def _cancel_pending(c: Ctx) -> None:
    await c.uow.repos.handoff.clear_pending(c.m.user_id)
    c.topic("staff.pending_cancelled", reply=True)


async def _unknown_button(c: Ctx) -> None:
    await _deny(c, Action.HISTORY, Decision(False, "unknown_action"))


def _tell_customer(c: Ctx, key: str, **values: object) -> None:
    c.out.append(Say(c.t.customer_id, key, values, c.t.language, ticket_id=c.t.id))


async def _refresh_card(c: Ctx, rename: bool = False) -> None:
    """Edit the card (and, when the assignee changed, the topic name) to the current state."""
    c.out.extend(await escalation.refresh_card(c.uow, c.desk, c.t, rename))


async def _show_phone(c: Ctx) -> None:
    """The customer's number, to the presser's private chat only, never the group; who saw it
    and when goes on the ticket's record (PROCESS.md §8)."""
    c.record(Event.PHONE_SHOWN)
    c.out.append(Say(c.m.user_id, "staff.phone_dm",
                     {"ref": c.t.ref, "name": c.t.contact_name, "phone": format_phone(c.t.phone)},
                     c.lang))
    c.done("staff.phone_sent")


async def _major_or_vip(c: Ctx) -> None:
    """/major, /major off, /vip, /vip off (bot.services.major); the card shows the change."""
    effects, changed = await major.command(c.uow, c.desk, c.t, c.m, c.now)
    c.out += effects
    if changed:
        await _refresh_card(c, rename=c.m.command == "major")  # the topic name carries ‼️


_BUTTON_RUN: dict[str, Callable[[Ctx], Awaitable[None]]] = {
               SA.CLAIM: _claim, SA.RELEASE: _release, SA.TRANSFER: _transfer_menu,
               SA.TRANSFER_TO: _transfer_target, SA.ABOUT: _about_menu,
               SA.ABOUT_WHO: _about_target, SA.ASK: _prompt, SA.ESCALATE: _prompt,
               SA.RESOLVE: _prompt, SA.PHONE: _show_phone, SA.APPROVE: _approve,
               SA.SEND_BACK: _send_back_prompt}
_COMMAND_RUN = {"note": _note_command, "history": _history, "claim": _claim,
                "release": _release, "ask": _text_command, "escalate": _text_command,
                "resolve": _text_command, "transfer": _text_command,
                "major": _major_or_vip, "vip": _major_or_vip}
_TEXT_RUN = {"transfer": _do_transfer, "ask": _do_ask, "escalate": _do_escalate,
             "resolve": _do_resolve, SEND_BACK: _do_send_back}


# ---- the customer's side of handling ----------------------------------------------------------

async def customer_wrote(uow: UnitOfWork, desk: Desk, t: Ticket,
                         messages: list[tuple[int, int | None]], now: datetime) -> list[Effect]:
    """The customer sent messages on a ticket: copy them into the topic; answer a question."""
    out: list[Effect] = []
    if t.status == Status.WAITING_ON_CUSTOMER:
        await life.move(uow, desk, t, Transition.CUSTOMER_ANSWERED, ActorKind.CUSTOMER,
                        t.customer_id, now)
    if t.staff_chat_id and (t.topic_id or t.card_message_id):
        for mid, answers in messages:
            # A reply to a steward's message stays a reply on the staff side too.
            line = (await uow.repos.handoff.message_by_customer_mid(t.id, answers)
                    if answers else None)
            reply_to = line.staff_message_id if line else None
            out.append(Copy(t.staff_chat_id, t.customer_id, mid, t.topic_id, t.id,
                            handoff.TO_STAFF,
                            reply_to=reply_to or (None if t.topic_id else t.card_message_id)))
    return out


async def customer_edited(uow: UnitOfWork, desk: Desk, customer_id: int, message_id: int,
                          text: str) -> list[Effect] | None:
    """The customer edited a message on a ticket: keep both versions (the record is evidence).

    None when the message is on no ticket.
    """
    found = await uow.repos.handoff.line_of_customer_message(customer_id, message_id)
    if found is None:
        return None
    t, line = found
    now = desk.clock.now()
    # The original line stays as it was; the new wording is added beside it.
    uow.repos.tickets.add_message(t.id, now, "in", customer_id, "edit", text)
    uow.repos.tickets.record(t.id, now, ActorKind.CUSTOMER, customer_id, Event.CUSTOMER_EDITED,
                             {"message_id": message_id, "before": line.text, "after": text})
    if t.staff_chat_id and (t.topic_id or t.card_message_id):
        return [Say(t.staff_chat_id, "staff.customer_edited", {"text": text}, desk.staff_lang,
                    thread_id=t.topic_id, ticket_id=t.id, reply_to=line.staff_message_id)]
    return []


async def not_solved(uow: UnitOfWork, desk: Desk, customer_id: int, ticket_id: int
                     ) -> tuple[str, dict[str, object], list[Effect]]:
    """The customer pressed "Not solved": the ticket goes back to the stewards with its history.

    Never a deadline on the customer: a press after the 48 hours reopens it just the same
    (recorded as late), so nobody is asked to tell the story again.
    """
    now = desk.clock.now()
    t = await uow.repos.tickets.get_for_customer(ticket_id, customer_id)
    if t is None:
        return "tickets.not_yours", {}, []
    if t.status in lifecycle.ACTIVE:
        return "customer.not_solved_inactive", {"ref": t.ref}, []
    if t.status != Status.RESOLVED or t.resolved_at is None:
        return "customer.not_solved_closed", {"ref": t.ref}, []
    late = now - t.resolved_at > desk.not_solved_within
    t.repeat_count += 1
    out = await reopen(uow, desk, t, customer_id, now, "staff.reopened",
                       count=t.repeat_count, **({"late": True} if late else {}))
    return ("customer.not_solved_expired" if late else "customer.reopened"), {"ref": t.ref}, out


async def reopen(uow: UnitOfWork, desk: Desk, t: Ticket, customer_id: int, now: datetime,
                 key: str, **details: object) -> list[Effect]:
    """The customer's resolved or closed ticket goes back to the stewards with its history:
    nobody has it, its topic is reopened and `key` says so there, with the claim buttons."""
    await life.move(uow, desk, t, Transition.REOPEN, ActorKind.CUSTOMER, customer_id, now,
                    **details)
    t.assignee_id, t.resolved_at, t.closed_at = None, None, None
    out: list[Effect] = []
    if t.staff_chat_id:
        if t.topic_id:
            out.append(Call(t.staff_chat_id, "reopenForumTopic",
                            {"chat_id": t.staff_chat_id, "message_thread_id": t.topic_id},
                            ticket_id=t.id))
        out.append(Say(t.staff_chat_id, key, {"ref": t.ref, "nth": t.repeat_count + 1},
                       desk.staff_lang, thread_id=t.topic_id, ticket_id=t.id,
                       buttons=handoff.card_buttons(t.id, t.status)))
    return out
