"""Repeat complaints (重复投诉, PROCESS.md §4): a resolved ticket the customer says is not
settled — "Not solved", not satisfied at the follow-up, something left over — is reopened with
its history, promised a new reply time, and taken up the ladder: the 2nd complaint on one matter
to the manager level (e-mailed with operations in copy), the 3rd to the committee. It does not
go back to whoever had it when it was resolved, unless a supervisor transfers it to them.
"""

from __future__ import annotations

from datetime import datetime

from bot.domain.follow_up import repeat_level
from bot.domain.lifecycle import Transition
from bot.domain.vocabulary import ActorKind, EscalationCause, Event, RepeatReason, Status
from bot.i18n import t as text
from bot.services import escalation, handoff, life
from bot.services.desk import Desk
from bot.services.staff_out import Call, Effect, Phrase, Say
from storage.models import Ticket
from storage.uow import UnitOfWork


async def reopen(uow: UnitOfWork, desk: Desk, t: Ticket, actor: ActorKind,
                 actor_id: int | None, now: datetime, why: RepeatReason,
                 **details: object) -> list[Effect]:
    """Reopen a resolved ticket as a repeat complaint (`why`: what the customer said) and take
    it to its level; returns what staff are told. The customer's answer is the caller's to
    send, with `told(...)`: the new reply time is `t.reply_due` now."""
    resolver = t.assignee_id or await _last_resolver(uow, t)
    was_closed = t.status == Status.CLOSED
    t.repeat_count += 1
    await life.move(uow, desk, t, Transition.REOPEN, actor, actor_id, now,
                    count=t.repeat_count, why=str(why), resolver=resolver, **details)
    t.assignee_id, t.resolved_at, t.closed_at, t.resolver_id = None, None, None, resolver
    lang = desk.staff_lang
    out: list[Effect] = []
    if was_closed and t.staff_chat_id is not None and t.topic_id:
        # Closing closed its topic; the matter is back, and so is the conversation about it.
        out.append(Call(t.staff_chat_id, "reopenForumTopic",
                        {"chat_id": t.staff_chat_id, "message_thread_id": t.topic_id},
                        ticket_id=t.id))
    if t.staff_chat_id is not None and (t.topic_id or t.card_message_id):
        who = await uow.repos.staff.get(resolver) if resolver else None
        out.append(Say(t.staff_chat_id, "staff.reopened",
                       {"ref": t.ref, "n": t.repeat_count + 1,
                        "why": Phrase(f"staff.reopened_why.{why}"),
                        "resolver": who.name if who else "—"},
                       lang, thread_id=t.topic_id, ticket_id=t.id,
                       buttons=handoff.card_buttons(t.id, t.status)))
    # The n-th complaint on this matter: the reason every level told reads the same.
    reason = escalation.cause_text(EscalationCause.REPEAT, lang, nth=t.repeat_count + 1,
                                   why=text(lang, f"staff.reopened_why.{why}"))
    raised = await escalation.escalate(uow, desk, t, repeat_level(t.repeat_count),
                                       EscalationCause.REPEAT, reason, actor, actor_id, now,
                                       refresh=False)
    # Already at that level (a missed deadline took it there): the level still hears it is back.
    out += raised or await _tell_level(uow, desk, t, reason)
    # The topic's name loses the previous assignee; the card shows the level and repeat count.
    return out + await escalation.refresh_card(uow, desk, t, rename=True)


def told(desk: Desk, t: Ticket, lang: str) -> dict[str, object]:
    """What the customer's apology names: the ticket, who follows it up now, the new time."""
    return {"ref": t.ref, "level": text(lang, f"levels.l{t.escalation_level}"),
            "due": desk.calendar.local(t.reply_due) if t.reply_due else ""}


async def _tell_level(uow: UnitOfWork, desk: Desk, t: Ticket, reason: str) -> list[Effect]:
    """Private messages to the people at the ticket's level above its stewards, and the
    level's chats: the repeat complaint is theirs again."""
    link = handoff.topic_link(t.staff_chat_id, t.topic_id) if t.staff_chat_id else None
    level = t.escalation_level
    people = await escalation.recipients(uow, t, level, None) if level else ()
    chats = tuple(desk.ladder.contacts(level).chat_ids) if level else ()
    return [Say(chat_id, "staff.dm.repeat", {"ref": t.ref, "reason": reason, "link": link or ""},
                desk.staff_lang, ticket_id=t.id) for chat_id in people + chats]


async def _last_resolver(uow: UnitOfWork, t: Ticket) -> int | None:
    """The staff member who last resolved the ticket (when nobody was assigned to it)."""
    for h in reversed(await uow.repos.tickets.history(t.id, frozenset({Event.RESOLVED}))):
        if h.actor_kind == ActorKind.STAFF:
            return h.actor_id
    return None
