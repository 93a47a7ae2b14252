"""Withdrawing a complaint (撤诉): the customer's choice, recorded with their reason.

From the ticket's detail: Withdraw → why (a choice, or their own words) → confirm → the
lifecycle's WITHDRAW (its deadlines cancelled), the topic told and closed, the card refreshed.
"Keep my complaint" is one tap at every step. Later messages start a new conversation, as
after any finished ticket.
"""

from __future__ import annotations

from datetime import datetime

from bot.domain.buttons import CustomerAction as CA
from bot.domain.lifecycle import ACTIVE, Transition
from bot.domain.vocabulary import ActorKind, WithdrawReason
from bot.services import escalation, handoff, life, tickets
from bot.services.desk import Desk
from bot.services.inbound import Inbound
from bot.services.intake import Turn
from bot.services.staff_out import Call, Effect, Phrase, Say
from bot.services.views import Note, Withdrawal
from storage.models import Ticket
from storage.uow import UnitOfWork

# A draft step outside the intake form: the customer's next text is their reason. It lasts
# one update: anything else they do drops it.
REASON_STEP = "withdraw"
ACTIONS = frozenset({CA.WITHDRAW, CA.WITHDRAW_REASON, CA.WITHDRAW_CONFIRM, CA.WITHDRAW_KEEP})
NOT_YOURS = "tickets.not_yours"


def keeps_draft(m: Inbound) -> bool:
    """Whether this update continues a withdrawal waiting for the customer's words."""
    if m.action:
        return m.action in ACTIONS
    return m.kind == "text" and not m.command


async def withdraw(uow: UnitOfWork, desk: Desk, t: Ticket, customer_id: int,
                   reason: WithdrawReason, text: str | None, now: datetime) -> list[Effect]:
    """Withdraw an open ticket, recorded with the reason (and their words); what staff see."""
    await life.move(uow, desk, t, Transition.WITHDRAW, ActorKind.CUSTOMER, customer_id, now,
                    reason=str(reason), **({"text": text} if text else {}))
    t.review_by = None  # a resolution awaiting review has nobody left to go to
    said: str | Phrase = text or Phrase(f"withdraw.reason.{reason}")
    link = (handoff.topic_link(t.staff_chat_id, t.topic_id) if t.staff_chat_id else None) or ""
    values = {"ref": t.ref, "reason": said, "link": link}
    out: list[Effect] = []
    if t.assignee_id is not None:
        out.append(Say(t.assignee_id, "staff.dm.withdrawn", values, desk.staff_lang,
                       ticket_id=t.id))
    if t.staff_chat_id is None or not (t.topic_id or t.card_message_id):
        return out
    out.append(Say(t.staff_chat_id, "staff.withdrawn", values, desk.staff_lang,
                   thread_id=t.topic_id, ticket_id=t.id,
                   reply_to=None if t.topic_id else t.card_message_id))
    out += await escalation.refresh_card(uow, desk, t)
    if t.topic_id:
        out.append(Call(t.staff_chat_id, "closeForumTopic",
                        {"chat_id": t.staff_chat_id, "message_thread_id": t.topic_id},
                        ticket_id=t.id))
    return out


async def on_button(c: Turn) -> None:
    """Withdraw · a reason · Yes, withdraw · Keep my complaint (arg "<ticket>[:<reason>]")."""
    ticket_arg, _, code = c.m.arg.partition(":")
    t = (await c.uow.repos.tickets.get_for_customer(int(ticket_arg), c.customer.id)
         if ticket_arg.isdigit() else None)
    if t is None:
        # The same answer whether it is someone else's or does not exist; recorded on it.
        c.callback_note = NOT_YOURS
        if ticket_arg.isdigit():
            await tickets.foreign_button(c.uow, int(ticket_arg), c.customer.id,
                                         c.m.action or "", c.now)
        return
    action = c.m.action
    reason = WithdrawReason(code) if code in WithdrawReason.__members__.values() else None
    waiting = c.draft is not None and c.draft.step == REASON_STEP
    if (t.status in ACTIVE and action == CA.WITHDRAW_REASON
            and reason is WithdrawReason.OTHER and (c.draft is None or waiting)):
        if c.draft is None:
            c.draft = c.uow.repos.drafts.add(c.m.chat_id, c.m.user_id, REASON_STEP,
                                             {"ticket": t.id}, c.now)
        else:
            c.uow.repos.drafts.save(c.draft, REASON_STEP, {"ticket": t.id}, c.now)
        c.reply.add(Withdrawal("ask_text", t.id, t.ref))
        return
    words = c.draft.answers.get("text") if waiting and c.draft is not None \
        and c.draft.answers.get("ticket") == t.id else None
    await _drop(c)  # any other step ends the wait for their words
    if t.status not in ACTIVE:  # withdrawn, resolved or closed since the button was shown
        c.reply.add(Note("withdraw.not_active", {"ref": t.ref}))
    elif action == CA.WITHDRAW:
        c.reply.add(Withdrawal("ask", t.id, t.ref))
    elif action == CA.WITHDRAW_KEEP:
        c.reply.add(Note("withdraw.kept", {"ref": t.ref}))
    elif action == CA.WITHDRAW_REASON and reason is not None:
        # ("Another reason" while a new complaint is being filed: its draft stays, no words.)
        c.reply.add(Withdrawal("confirm", t.id, t.ref, reason))
    elif action == CA.WITHDRAW_CONFIRM and reason is not None:
        text = str(words) if words and reason is WithdrawReason.OTHER else None
        c.reply.staff += await withdraw(c.uow, c.desk, t, c.customer.id, reason, text, c.now)
        c.reply.add(Note("withdraw.done", {"ref": t.ref}))
    else:
        c.callback_note = "intake.stale"


async def on_text(c: Turn) -> None:
    """Their own words for withdrawing: kept for the confirmation."""
    assert c.draft is not None and c.m.text is not None
    t = await c.uow.repos.tickets.get_for_customer(int(c.draft.answers.get("ticket", 0)),
                                                   c.customer.id)
    if t is None or t.status not in ACTIVE:
        await _drop(c)
        c.reply.add(Note("withdraw.not_active", {"ref": t.ref if t else ""}))
        return
    c.uow.repos.drafts.save(c.draft, REASON_STEP, {"ticket": t.id, "text": c.m.text}, c.now)
    c.reply.add(Withdrawal("confirm", t.id, t.ref, WithdrawReason.OTHER, c.m.text))


async def _drop(c: Turn) -> None:
    if c.draft is not None and c.draft.step == REASON_STEP:
        await c.uow.repos.drafts.delete(c.draft)
        c.draft = None
