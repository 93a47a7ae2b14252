"""Staff are told in the ticket's topic when an e-mail could not reach everyone it was for."""

from __future__ import annotations

from bot.services.desk import Desk
from bot.services.staff_out import Effect, Say
from storage.uow import UnitOfWork

REASON_LIMIT = 300  # a server's answer can be long; staff need its gist


async def mail_problem(uow: UnitOfWork, desk: Desk, ticket_id: int | None, subject: str,
                       reason: str, delivered: bool) -> list[Effect]:
    """A Say for the ticket's topic (or its staff group, or the desk's) about a failed mail."""
    t = await uow.repos.tickets.get(ticket_id) if ticket_id is not None else None
    chat, thread = desk.staff_group_id, None
    if t is not None:
        chat = t.staff_chat_id or desk.staff_chat_for(t.category)
        thread = t.topic_id if t.staff_chat_id else None
    if chat is None:
        return []  # no staff group configured: the metric and the mail row still show it
    key = "staff.mail_refused" if delivered else "staff.mail_failed"
    return [Say(chat, key, {"subject": subject, "reason": reason[:REASON_LIMIT]},
                desk.staff_lang, thread_id=thread, ticket_id=t.id if t else None)]
