"""Major complaints (重大投诉, PROCESS.md §4): triage at filing, /major and /vip, the alert.

A major ticket is at level 1 or above from the moment it is marked, and the supervisors of the
people handling it are told at once by private message (`alert_major` for /major; a ticket
triage marks at filing is told by `escalation.alert_filed` once its card exists). Why it is
major is the newest `marked_major` row of its history: the card shows it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot import i18n
from bot.domain.access import Action
from bot.domain.triage import MajorReason, MajorRule, assess
from bot.domain.vocabulary import ActorKind, EscalationCause, Event
from bot.services import escalation
from bot.services.desk import Desk
from bot.services.staff_in import StaffInbound
from bot.services.staff_out import Effect, Phrase, Say
from storage.models import Customer, Ticket
from storage.uow import UnitOfWork

BY_TRIAGE, BY_STAFF = "triage", "staff"
OFF = "off"
# The commands this module answers, and the action each needs when its first word is "off"
# (marking up is open to all staff; taking a ticket off the supervisors' list is not).
COMMANDS = {"major": Action.MARK_MAJOR, "vip": Action.SET_VIP}
_OFF_ACTIONS = {"major": Action.UNMARK_MAJOR, "vip": Action.SET_VIP}


async def triage_at_filing(uow: UnitOfWork, desk: Desk, customer: Customer, t: Ticket,
                           answers: dict[str, Any], now: datetime) -> MajorReason | None:
    """Triage a ticket being filed: mark it major (level ≥ 1, recorded) and return why, or None."""
    texts = [t.facts, t.desired_outcome, *(str(v) for v in (t.extra or {}).values())]
    reason = assess(texts, category_is_major=t.category in desk.major_categories,
                    customer_vip=bool(customer.vip), abusive=bool(answers.get("abuse")),
                    keywords=desk.major_keywords)
    if reason is not None:
        await mark(uow, desk, t, reason, now)
    return reason


async def mark(uow: UnitOfWork, desk: Desk, t: Ticket, reason: MajorReason, now: datetime,
               actor_id: int | None = None) -> None:
    """Make the ticket major: the reason on its history (who, why), and up to level 1 through
    the escalation ladder (told by the caller, once there is somewhere to link to)."""
    t.is_major = True
    t.updated_at = now
    by_staff = actor_id is not None
    actor = ActorKind.STAFF if by_staff else ActorKind.SYSTEM
    uow.repos.tickets.record(
        t.id, now, actor, actor_id, Event.MARKED_MAJOR,
        {"by": BY_STAFF if by_staff else BY_TRIAGE, **reason.details(),
         "level": max(t.escalation_level, 1)})
    text = await _text(uow, desk, t, reason, actor_id)
    await escalation.raise_level(uow, desk, t, 1, EscalationCause.MAJOR, text, actor, actor_id,
                                 now)


async def _text(uow: UnitOfWork, desk: Desk, t: Ticket, reason: MajorReason,
                actor_id: int | None) -> str:
    """Why it is major, as plain text in the staff language (the history and the e-mail)."""
    p = await _phrase(uow, desk, t, reason, actor_id)
    return i18n.t(desk.staff_lang, p.key, **p.values)


async def reason_phrase(uow: UnitOfWork, desk: Desk, t: Ticket) -> Phrase | None:
    """Why the ticket is major, as the card and the alert say it (None: never marked)."""
    rows = await uow.repos.tickets.history(t.id, frozenset({Event.MARKED_MAJOR}))
    if not rows:
        return None
    newest = rows[-1]
    return await _phrase(uow, desk, t, MajorReason.from_details(newest.details or {}),
                         newest.actor_id)


async def _phrase(uow: UnitOfWork, desk: Desk, t: Ticket, reason: MajorReason,
                  actor_id: int | None) -> Phrase:
    key = f"staff.major_reason.{reason.rule}"
    if reason.rule is MajorRule.KEYWORD:
        return Phrase(key, {"keyword": reason.keyword or ""})
    if reason.rule is MajorRule.CATEGORY:
        cat = desk.form.category(t.category)
        return Phrase(key, {"category": cat.names.get(desk.staff_lang, t.category)
                            if cat else t.category})
    if reason.rule is MajorRule.STAFF:
        who = await uow.repos.staff.get(actor_id) if actor_id is not None else None
        return Phrase(key, {"name": who.name if who else "—", "reason": reason.text or ""})
    return Phrase(key)


async def alert_major(uow: UnitOfWork, desk: Desk, t: Ticket, reason: MajorReason, *,
                      actor_id: int | None = None) -> list[Effect]:
    """Tell the level of a major ticket through the ladder: the supervisors of the people
    handling it in their private chats (reference, why, the topic's link), the topic, the card
    and the level's e-mail. Whoever marked it (`actor_id`) is not told."""
    text = await _text(uow, desk, t, reason, actor_id)
    return await escalation.notify_level(uow, desk, t, max(t.escalation_level, 1), text,
                                         actor_id, key="staff.dm.major")


# ---- the staff commands (authorised by the caller: see command_action) ----------------------

def command_action(command: str, text: str | None) -> Action:
    """The access action a /major or /vip command needs: "off" may need more."""
    return _OFF_ACTIONS[command] if _split(text)[0] else COMMANDS[command]


def _split(text: str | None) -> tuple[bool, str]:
    """("off" given, the rest of the text)."""
    first, _, rest = (text or "").strip().partition(" ")
    if first.casefold() == OFF:
        return True, rest.strip()
    return False, (text or "").strip()


async def command(uow: UnitOfWork, desk: Desk, t: Ticket, m: StaffInbound,
                  now: datetime) -> tuple[list[Effect], bool]:
    """/major reason · /major off reason · /vip · /vip off, already authorised: what to send,
    and whether the ticket or its customer changed (the card then needs refreshing)."""
    if m.command == "vip":
        return await _vip(uow, desk, t, m, now)
    off, text = _split(m.text)
    if not text:
        return [_reply(desk, t, m, "staff.usage.major")], False
    if off:
        if not t.is_major:
            return [_reply(desk, t, m, "staff.major.not_major")], False
        t.is_major, t.updated_at = False, now
        # The level stays: coming down the ladder is a decision of its own, not this command's.
        uow.repos.tickets.record(t.id, now, ActorKind.STAFF, m.user_id, Event.UNMARKED_MAJOR,
                                 {"reason": text})
        return [_reply(desk, t, m, "staff.major.unmarked", reason=text)], True
    if t.is_major:
        return [_reply(desk, t, m, "staff.major.already")], False
    reason = MajorReason(MajorRule.STAFF, text=text)
    await mark(uow, desk, t, reason, now, actor_id=m.user_id)
    out = await alert_major(uow, desk, t, reason, actor_id=m.user_id)
    return [*out, _reply(desk, t, m, "staff.major.marked", reason=text)], True


async def _vip(uow: UnitOfWork, desk: Desk, t: Ticket, m: StaffInbound,
               now: datetime) -> tuple[list[Effect], bool]:
    arg = (m.text or "").strip().casefold()
    customer = await uow.repos.customers.get(t.customer_id)
    if arg not in ("", "on", OFF) or customer is None:
        return [_reply(desk, t, m, "staff.usage.vip")], False
    want = arg != OFF
    if bool(customer.vip) == want:
        return [_reply(desk, t, m, "staff.vip.already" if want else "staff.vip.not_vip")], False
    customer.vip, customer.updated_at = want, now
    uow.repos.tickets.record(t.id, now, ActorKind.STAFF, m.user_id,
                             Event.VIP_SET if want else Event.VIP_CLEARED,
                             {"customer_id": customer.id})
    return [_reply(desk, t, m, "staff.vip.set" if want else "staff.vip.cleared",
                   name=t.contact_name)], True


def _reply(desk: Desk, t: Ticket, m: StaffInbound, key: str, **values: object) -> Say:
    return Say(m.chat_id, key, values, desk.staff_lang, thread_id=m.thread_id, ticket_id=t.id,
               reply_to=m.message_id)
