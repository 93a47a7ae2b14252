"""The follow-up (回访, PROCESS.md §6): after resolution the customer is asked whether they are
satisfied, reminded once, and the ticket is closed or reopened by what they answer.

One follow-up per resolution, each named by the id of the timer row that sent it: its buttons
carry that id, so a press on an earlier resolution's follow-up is refused, and the timers are
durable rows finished in the same transaction as what they send, so a restart sends nothing
twice. Satisfied or mostly → closed with the rating, the topic told and closed. Not satisfied
or something left over → reopened as a repeat complaint (bot.services.repeat). No answer → one
reminder, then closed as "no response".
"""

from __future__ import annotations

from datetime import datetime

from bot.domain.buttons import CustomerAction
from bot.domain.follow_up import CLOSING, RATING, button_arg, parse
from bot.domain.lifecycle import Transition
from bot.domain.vocabulary import (
    ActorKind,
    Event,
    FollowUpAnswer,
    RepeatReason,
    Status,
)
from bot.services import escalation, handling, life, quiet, repeat, tickets
from bot.services.desk import Desk
from bot.services.intake import LEFT_OVER, Turn
from bot.services.staff_out import Button, Call, Effect, Phrase, Say
from bot.services.views import LeftOverPrompt, Note
from storage.models import IntakeDraft, Ticket, Timer
from storage.uow import UnitOfWork

SYSTEM, CUSTOMER = ActorKind.SYSTEM, ActorKind.CUSTOMER
A = FollowUpAnswer
# The resolution as the follow-up recalls it: its first line, this long at most.
SUMMARY_MAX = 120
# Why a ticket was closed (recorded with the CLOSED event).
NO_RESPONSE = "no_response"


# ---- the timers ----------------------------------------------------------------------------

async def send(uow: UnitOfWork, desk: Desk, timer: Timer, now: datetime) -> list[Effect]:
    """The follow-up is due: ask the customer whether they are satisfied."""
    t = await _resolved(uow, timer.ticket_id, timer)
    if t is None or quiet.held_for_morning(uow, desk, timer, now):
        return []
    await life.move(uow, desk, t, Transition.FOLLOW_UP_SENT, SYSTEM, None, now,
                    follow_up=timer.id)
    out = [_ask(t, await _lang(uow, t), timer.id, "follow_up.ask",
                summary=await _summary(uow, t))]
    return out + _topic(desk, t, "staff.follow_up_sent")


async def remind(uow: UnitOfWork, desk: Desk, timer: Timer, now: datetime) -> list[Effect]:
    """No answer yet: ask once more (the one reminder; its timer is not set again)."""
    draft = await _draft_of(uow, timer)
    t = await _resolved(uow, timer.ticket_id, timer)
    if t is None or quiet.held_for_morning(uow, desk, timer, now):
        return []
    sent = await current(uow, t)
    if sent is None or _left_over_pending(draft, t):
        return []  # they answered already: they are telling us what is left over
    uow.repos.tickets.record(t.id, now, SYSTEM, None, Event.FOLLOW_UP_REMINDED,
                             {"follow_up": sent})
    return [_ask(t, await _lang(uow, t), sent, "follow_up.reminder")]


async def expire(uow: UnitOfWork, desk: Desk, timer: Timer, now: datetime) -> list[Effect]:
    """Still no answer: closed as "no response" — unless they said something is left over and
    never wrote what, which reopens it: they did say it is not settled."""
    draft = await _draft_of(uow, timer)
    t = await _resolved(uow, timer.ticket_id, timer)
    if t is None or quiet.held_for_morning(uow, desk, timer, now):
        return []
    sent = await current(uow, t)
    lang = await _lang(uow, t)
    if draft is not None and sent is not None and _left_over_pending(draft, t):
        await uow.repos.drafts.delete(draft)
        key, values, out = await answer(uow, desk, t, sent, A.LEFT_OVER, SYSTEM, None, now,
                                        lang)
        return [Say(t.customer_id, key, values, lang, ticket_id=t.id), *out]
    t.rating, t.rating_label = None, None  # no answer is no rating
    out = await _close(uow, desk, t, now, SYSTEM, None, NO_RESPONSE)
    return [Say(t.customer_id, "follow_up.closed_no_response", {"ref": t.ref}, lang,
                ticket_id=t.id), *out]


# ---- the customer's answer -----------------------------------------------------------------

async def pressed(c: Turn, arg: str) -> None:
    """A follow-up button: close, reopen, or ask what is left over; an earlier resolution's
    follow-up, or one already answered, is refused politely."""
    p = parse(arg)
    t = await c.uow.repos.tickets.get_locked(p.ticket_id) if p else None
    if p is None or t is None or t.customer_id != c.customer.id:
        c.callback_note = "tickets.not_yours"
        if p is not None:
            await tickets.foreign_button(c.uow, p.ticket_id, c.customer.id,
                                         CustomerAction.FOLLOW_UP, c.now)
        return
    if t.status != Status.RESOLVED or await current(c.uow, t) != p.follow_up:
        c.reply.add(Note("follow_up.stale", {"ref": t.ref}))
        return
    if p.answer == A.LEFT_OVER:
        if c.draft is not None and c.draft.step != LEFT_OVER:
            # Filing another complaint, or a message waiting for its ticket: finish that first.
            c.reply.add(Note("follow_up.busy"))
            return
        state = {"ticket": t.id, "follow_up": p.follow_up, "ref": t.ref}
        if c.draft is None:
            c.draft = c.uow.repos.drafts.add(c.m.chat_id, c.customer.id, LEFT_OVER, state, c.now)
        else:
            c.uow.repos.drafts.save(c.draft, LEFT_OVER, state, c.now)
        c.reply.add(LeftOverPrompt(t.ref))
        return
    key, values, out = await answer(c.uow, c.desk, t, p.follow_up, p.answer, CUSTOMER,
                                    c.customer.id, c.now, c.customer.language)
    c.reply.add(Note(key, values))
    c.reply.staff += out


async def left_over(c: Turn) -> bool:
    """The customer's message while we wait to hear what is left over: it goes on the ticket
    and into its topic, and the ticket is reopened. False when the wait is over (the ticket
    moved on meanwhile): the message is then handled as any other."""
    draft = c.draft
    assert draft is not None and draft.step == LEFT_OVER
    m = c.m
    if m.kind in ("sticker", "other", "contact"):
        c.reply.add(LeftOverPrompt(draft.answers.get("ref", ""), again=True))
        return True
    t = await c.uow.repos.tickets.get_locked(int(draft.answers.get("ticket", 0)))
    await c.uow.repos.drafts.delete(draft)
    c.draft = None
    if (t is None or t.customer_id != c.customer.id or t.status != Status.RESOLVED
            or await current(c.uow, t) != draft.answers.get("follow_up")):
        return False
    tickets.add_message(c.uow, c.desk, t, [tickets.message_of(m)], c.customer.id)
    key, values, out = await answer(c.uow, c.desk, t, int(draft.answers["follow_up"]),
                                    A.LEFT_OVER, CUSTOMER, c.customer.id, c.now,
                                    c.customer.language, message_id=m.message_id)
    c.reply.add(Note(key, values))
    # After the reopening notice: the customer's own words, relayed into the topic.
    c.reply.staff += out + await handling.customer_wrote(
        c.uow, c.desk, t, [(m.message_id, None)] if m.message_id else [], c.now)
    return True


async def cancel_left_over(c: Turn) -> None:
    """/cancel or Cancel while we wait to hear what is left over: nothing changes; the
    follow-up's buttons still work."""
    assert c.draft is not None
    await c.uow.repos.drafts.delete(c.draft)
    c.draft = None
    c.reply.add(Note("follow_up.left_over_cancelled"))


async def answer(uow: UnitOfWork, desk: Desk, t: Ticket, follow_up: int, given: FollowUpAnswer,
                 actor: ActorKind, actor_id: int | None, now: datetime, lang: str,
                 **details: object) -> tuple[str, dict[str, object], list[Effect]]:
    """Record the answer to the follow-up and act on it: the customer's reply (catalog key and
    values) and what staff are told."""
    rating = RATING.get(given)
    t.rating, t.rating_label = rating, str(given)
    uow.repos.tickets.record(t.id, now, actor, actor_id, Event.FOLLOW_UP_ANSWERED,
                             {"follow_up": follow_up, "answer": str(given), "rating": rating,
                              **details})
    if given in CLOSING:
        out = await _close(uow, desk, t, now, actor, actor_id, str(given))
        return "follow_up.thanks", {"ref": t.ref}, out
    out = await repeat.reopen(uow, desk, t, actor, actor_id, now, RepeatReason(str(given)),
                              follow_up=follow_up)
    return "customer.reopened", repeat.told(desk, t, lang), out


async def current(uow: UnitOfWork, t: Ticket) -> int | None:
    """The follow-up sent for the ticket's present resolution (its id), None if none was."""
    events = await uow.repos.tickets.history(
        t.id, frozenset({Event.RESOLVED, Event.FOLLOW_UP_SENT}))
    if not events or events[-1].event != Event.FOLLOW_UP_SENT:
        return None  # never sent, or sent for an earlier resolution
    value = events[-1].details.get("follow_up")
    return int(value) if value is not None else None


# ---- helpers -------------------------------------------------------------------------------

async def _close(uow: UnitOfWork, desk: Desk, t: Ticket, now: datetime, actor: ActorKind,
                 actor_id: int | None, reason: str) -> list[Effect]:
    """Close the ticket: recorded with why and the rating, the topic told and closed."""
    await life.move(uow, desk, t, Transition.CLOSE, actor, actor_id, now, reason=reason,
                    rating=t.rating)
    t.closed_at = now
    key = "staff.closed_no_response" if reason == NO_RESPONSE else "staff.closed_rated"
    out = _topic(desk, t, key, answer=Phrase(f"follow_up.btn.{t.rating_label}"),
                 rating=t.rating) if t.rating_label else _topic(desk, t, key)
    out += await escalation.refresh_card(uow, desk, t)
    if t.staff_chat_id is not None and t.topic_id:
        out.append(Call(t.staff_chat_id, "closeForumTopic",
                        {"chat_id": t.staff_chat_id, "message_thread_id": t.topic_id},
                        ticket_id=t.id))
    return out


def _ask(t: Ticket, lang: str, follow_up: int, key: str, **values: object) -> Say:
    """The follow-up's question with its four answers (the reminder repeats the same ones)."""
    def b(a: FollowUpAnswer) -> Button:
        return Button(f"follow_up.btn.{a}", CustomerAction.FOLLOW_UP, t.id,
                      button_arg(follow_up, a), for_customer=True)

    return Say(t.customer_id, key, {"ref": t.ref, **values}, lang, ticket_id=t.id,
               buttons=((b(A.SATISFIED), b(A.MOSTLY), b(A.NOT_SATISFIED)), (b(A.LEFT_OVER),)))


def _topic(desk: Desk, t: Ticket, key: str, **values: object) -> list[Effect]:
    if t.staff_chat_id is None or not (t.topic_id or t.card_message_id):
        return []
    return [Say(t.staff_chat_id, key, {"ref": t.ref, **values}, desk.staff_lang,
                thread_id=t.topic_id, ticket_id=t.id)]


async def _summary(uow: UnitOfWork, t: Ticket) -> str:
    """The resolution in one line: the first line of the note it was resolved with."""
    resolved = await uow.repos.tickets.history(t.id, frozenset({Event.RESOLVED}))
    note = str(resolved[-1].details.get("note") or "") if resolved else ""
    note = note or await uow.repos.tickets.latest_public_reply(t.id) or ""
    line = note.strip().splitlines()[0] if note.strip() else ""
    return line if len(line) <= SUMMARY_MAX else line[:SUMMARY_MAX - 1] + "…"


async def _resolved(uow: UnitOfWork, ticket_id: int | None, timer: Timer) -> Ticket | None:
    """The timer's ticket, locked, if it is still in the resolution the timer was set for."""
    t = await uow.repos.tickets.get_locked(ticket_id) if ticket_id else None
    if t is None or t.status != Status.RESOLVED or t.resolved_at is None:
        return None
    # Reopened and resolved again after this timer was set: the new resolution has its own.
    return t if t.resolved_at <= timer.created_at else None


async def _draft_of(uow: UnitOfWork, timer: Timer) -> IntakeDraft | None:
    """The customer's draft, read (and on PostgreSQL locked) before their ticket, in the
    order the customer's own updates take them, so the two never wait on each other."""
    t = await uow.repos.tickets.get(timer.ticket_id) if timer.ticket_id else None
    return await uow.repos.drafts.get(t.customer_id) if t is not None else None


async def _lang(uow: UnitOfWork, t: Ticket) -> str:
    """The customer's language now (they may have changed it since filing)."""
    customer = await uow.repos.customers.get(t.customer_id)
    return customer.language if customer else t.language


def _left_over_pending(draft: IntakeDraft | None, t: Ticket) -> bool:
    return (draft is not None and draft.step == LEFT_OVER
            and draft.answers.get("ticket") == t.id)
