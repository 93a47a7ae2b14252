"""Staff groups the bot cannot post in: upgrades followed, problems recorded, retries timed."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from bot.domain.vocabulary import TimerKind
from storage.models import StaffChat
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)

RETRY_TIMER = TimerKind.STAFF_GROUP_RETRY
# A group may be upgraded once, but an operator may chain ids by hand: never loop for ever.
MAX_HOPS = 5
FIRST_RETRY_S, MAX_RETRY_S = 60, 1800


async def follow(uow: UnitOfWork, chat_id: int) -> int:
    """The id a staff group has now: the configured one, or the supergroup it became."""
    for _ in range(MAX_HOPS):
        chat = await uow.repos.handoff.known_chat(chat_id)
        if chat is None or chat.migrated_to is None:
            break
        chat_id = chat.migrated_to
    return chat_id


async def migrated(uow: UnitOfWork, old_id: int, new_id: int) -> bool:
    """Remember that Telegram upgraded `old_id` to `new_id` and move its tickets there;
    True the first time (so it is logged once)."""
    # Every time: a ticket dispatched while another transaction learnt the new id still
    # names the old one.
    await uow.repos.handoff.move_chat(old_id, new_id)
    chat = await uow.repos.handoff.chat(old_id)
    if chat.migrated_to == new_id:
        return False
    chat.migrated_to = new_id
    chat.problem = chat.problem_since = None  # the old id's troubles end with it
    await uow.repos.timers.cancel(chat_id=old_id, kinds=(RETRY_TIMER,))
    log.warning("staff group %s was upgraded to a supergroup; following it to %s",
                old_id, new_id)
    return True


async def mark_down(uow: UnitOfWork, chat_id: int, reason: str, now: datetime) -> bool:
    """Record that the bot cannot post in this staff group and time a retry; True when it was
    fine until now (so it is logged once per outage, not once per ticket)."""
    chat = await uow.repos.handoff.chat(chat_id)
    if chat.problem is not None:
        return False
    chat.problem, chat.problem_since = reason[:256], now
    # A group that failed again soon after a retry went through keeps its longer wait: a
    # probe can pass (getChat) while the posts still fail, and that must not spin every minute.
    uow.repos.timers.add(RETRY_TIMER, now + retry_delay(chat.retries), now, chat_id=chat_id)
    log.warning("staff group %s cannot be reached (%s); stewards are told by private "
                "message until it can", chat_id, reason)
    return True


async def mark_up(uow: UnitOfWork, chat_id: int) -> datetime | None:
    """A call to this group went through: clear its problem; when it had one, since when."""
    chat = await uow.repos.handoff.known_chat(chat_id)
    if chat is None or chat.problem is None:
        return None
    since = chat.problem_since
    chat.problem = chat.problem_since = None
    await uow.repos.timers.cancel(chat_id=chat_id, kinds=(RETRY_TIMER,))
    log.warning("staff group %s can be reached again", chat_id)
    return since


async def proven(uow: UnitOfWork, chat_id: int) -> None:
    """A ticket's card was posted in this group: the next outage starts with a short wait."""
    chat = await uow.repos.handoff.known_chat(chat_id)
    if chat is not None and chat.retries:
        chat.retries = 0


def retry_delay(retries: int) -> timedelta:
    """How long to wait before trying a failed group again: 1 min, doubling, at most 30 min."""
    return timedelta(seconds=min(FIRST_RETRY_S * 2 ** min(retries, 10), MAX_RETRY_S))


async def problems(uow: UnitOfWork) -> list[StaffChat]:
    """The staff groups the bot cannot post in now."""
    return await uow.repos.handoff.unreachable_chats()
