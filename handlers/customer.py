"""Customer-side handlers (private chat): parse the update, call the conversation, render."""

from __future__ import annotations

from dataclasses import replace

from telegram import Message, Update
from telegram.constants import ChatType
from telegram.ext import Application, CallbackQueryHandler, ContextTypes, MessageHandler, filters

from bot.domain import buttons
from bot.domain.vocabulary import TimerKind
from bot.i18n import language_for, t
from bot.scheduler import TimerHandler
from bot.scope import current_uow
from bot.services import conversation
from bot.services.desk import Desk
from bot.services.inbound import Inbound
from handlers import callback_data as cb
from handlers import render, staff_render
from handlers.deps import deps
from storage.models import Timer
from storage.uow import UnitOfWork

COMMANDS = frozenset({"start", "cancel", "language", "status", "ticket"})
_NAV = render.nav_labels()


def parse_message(update: Update) -> Inbound | None:
    """A private message as the conversation sees it."""
    msg, user = update.message, update.effective_user
    if msg is None or user is None:
        return None
    base = Inbound(chat_id=msg.chat_id, user_id=user.id, first_name=user.first_name,
                   username=user.username, language_code=user.language_code, kind="other",
                   message_id=msg.message_id,
                   reply_to=msg.reply_to_message.message_id if msg.reply_to_message else None)
    text = msg.text
    if text is not None:
        if text.startswith("/"):
            word, _, rest = text[1:].partition(" ")
            name = word.split("@", 1)[0].lower()
            return replace(base, kind="command", text=rest,
                           command=name if name in COMMANDS else "unknown")
        if text in _NAV:  # Back / Cancel typed on the phone step's reply keyboard
            return replace(base, kind="text", action=_NAV[text], text=text)
        return replace(base, kind="text", text=text)
    return _media(msg, base)


def _media(msg: Message, base: Inbound) -> Inbound:
    if msg.photo:
        return replace(base, kind="photo", file_id=msg.photo[-1].file_id, text=msg.caption)
    if msg.document:
        return replace(base, kind="document", file_id=msg.document.file_id, text=msg.caption)
    if msg.contact:
        return replace(base, kind="contact", phone=msg.contact.phone_number)
    media = msg.voice or msg.audio or msg.video_note
    if media:
        return replace(base, kind="voice", file_id=media.file_id)
    if msg.sticker:
        return replace(base, kind="sticker")
    return base


def parse_button(update: Update) -> Inbound | None:
    """A press of one of the customer's inline buttons."""
    q, user = update.callback_query, update.effective_user
    if q is None or user is None or q.message is None or q.message.chat.type != ChatType.PRIVATE:
        return None
    press = buttons.decode(q.data)
    ours = press is not None and press.side == buttons.Side.CUSTOMER
    action, arg = (str(press.action), press.arg) if ours and press else ("unknown", "")
    return Inbound(chat_id=q.message.chat.id, user_id=user.id, first_name=user.first_name,
                   username=user.username, language_code=user.language_code, kind="button",
                   action=action, arg=arg, query_id=q.id)


async def on_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Every private message: commands, answers, stories, photos, contacts."""
    m = parse_message(update)
    if m is not None:
        await _run(m, deps(context).desk)


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Every press of a customer button."""
    m = parse_button(update)
    if m is not None:
        await _run(m, deps(context).desk)


async def _run(m: Inbound, desk: Desk) -> None:
    uow = current_uow()
    result = await conversation.handle(uow, desk, m)
    render.reply(uow.repos.outbox, m.chat_id, result, desk.form)
    staff_render.render(uow.repos.outbox, result.staff)


def on_parked(uow: UnitOfWork, update: Update) -> None:
    """An update failed for good: tell the person it was kept, never leave them in silence."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None or chat.type != ChatType.PRIVATE:
        return
    lang = language_for(user.language_code if user else None)
    render.send_text(uow.repos.outbox, chat.id, t(lang, "common.failed"))


def timer_handlers(desk: Desk) -> dict[str, TimerHandler]:
    """The timers this side owns: intake reminder, expiry and listening."""

    async def intake_timer(uow: UnitOfWork, timer: Timer, _clock: object) -> None:
        result = await conversation.on_timer(uow, desk, timer)
        if result is not None:
            chat_id, r = result
            render.reply(uow.repos.outbox, chat_id, r, desk.form)
            staff_render.render(uow.repos.outbox, r.staff)

    return {TimerKind.INTAKE_REMINDER: intake_timer, TimerKind.INTAKE_EXPIRY: intake_timer,
            TimerKind.INTAKE_LISTEN: intake_timer}


async def on_edit(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An edited message: on a ticket both wordings are kept and staff see the new one; while
    filing, the draft takes the new wording and the ticket's history the edit."""
    msg = update.edited_message
    if msg is None or msg.from_user is None or not (msg.text or msg.caption):
        return
    uow = current_uow()
    effects = await conversation.edited(uow, deps(context).desk, msg.from_user.id, msg.chat_id,
                                        msg.message_id, msg.text or msg.caption or "")
    staff_render.render(uow.repos.outbox, effects)


def install(app: Application) -> None:  # type: ignore[type-arg]
    """Register the customer handlers."""
    private = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
    app.add_handler(CallbackQueryHandler(on_button, pattern=cb.CUSTOMER_PATTERN))
    app.add_handler(MessageHandler(private, on_message))
    app.add_handler(MessageHandler(filters.ChatType.PRIVATE & filters.UpdateType.EDITED_MESSAGE,
                                   on_edit))
