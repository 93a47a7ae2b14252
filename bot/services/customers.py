"""Customer use cases: first contact and language."""

from __future__ import annotations

from bot.clock import Clock
from bot.i18n import language_for
from storage.models import Customer
from storage.uow import UnitOfWork


async def register(uow: UnitOfWork, clock: Clock, user_id: int, first_name: str,
                   username: str | None, language_code: str | None) -> Customer:
    """Record the customer on first contact (language from Telegram's language_code)."""
    c = await uow.repos.customers.upsert(user_id, first_name, username,
                                         language_for(language_code), clock.now())
    if c.unreachable:  # they wrote to us, so they unblocked the bot: staff are told again
        c.unreachable = False
    return c
