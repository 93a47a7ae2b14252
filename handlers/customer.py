"""Customer-side handlers (private chat)."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CommandHandler, ContextTypes, MessageHandler, filters

from bot.scope import current_uow
from bot.services import customers
from handlers import render
from handlers.deps import deps


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/start: greet the customer."""
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    uow = current_uow()
    c = await customers.register(uow, deps(context).clock, user.id, user.first_name,
                                 user.username, user.language_code)
    render.greeting(uow.repos.outbox, chat.id, c.language, user.first_name)


async def fallback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Anything unplaced in a private chat gets a way back, never silence."""
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    uow = current_uow()
    c = await customers.register(uow, deps(context).clock, user.id, user.first_name,
                                 user.username, user.language_code)
    render.not_understood(uow.repos.outbox, chat.id, c.language)


def install(app: Application) -> None:  # type: ignore[type-arg]
    """Register the customer handlers."""
    private = filters.ChatType.PRIVATE
    app.add_handler(CommandHandler("start", start, filters=private))
    app.add_handler(MessageHandler(private, fallback))  # last: first match wins
