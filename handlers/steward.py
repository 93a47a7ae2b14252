"""Staff-side handlers: messages and commands in staff chats, and staff buttons anywhere."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from telegram import Message, Update
from telegram.ext import Application, CallbackQueryHandler, ContextTypes, MessageHandler, filters

from bot import bot_api
from bot.domain import buttons
from bot.domain.vocabulary import TimerKind
from bot.mailer import MailHook, MailProblem
from bot.outbox import SentHook
from bot.scheduler import TimerHandler
from bot.scope import current_uow
from bot.services import (
    deadlines,
    follow_up,
    group_recovery,
    handling,
    handoff,
    incidents,
    mail_notice,
    roster,
)
from bot.services.desk import Desk
from bot.services.staff_in import StaffInbound
from bot.services.staff_out import Effect, Say
from handlers import callback_data as cb
from handlers import staff_render
from handlers.deps import deps
from storage.models import Timer
from storage.repositories import MailRow, OutboxRow
from storage.uow import UnitOfWork

DeadlineService = Callable[[UnitOfWork, Desk, Timer, datetime], Awaitable[list[Effect]]]
TICKET_COMMANDS = frozenset({"note", "history", "claim", "release", "transfer", "ask",
                             "escalate", "resolve", "cancel", "major", "vip"})


def parse_message(msg: Message) -> StaffInbound | None:
    """A message in a staff chat as the services see it."""
    user = msg.from_user
    if user is None or user.is_bot:
        return None
    base = dict(user_id=user.id, name=user.full_name, chat_id=msg.chat_id,
                thread_id=msg.message_thread_id if msg.is_topic_message else None,
                message_id=msg.message_id,
                reply_to=msg.reply_to_message.message_id if msg.reply_to_message else None)
    if msg.text is not None:
        if msg.text.startswith("/"):
            word, _, rest = msg.text[1:].partition(" ")
            return StaffInbound(kind="command", command=word.split("@", 1)[0].lower(),
                                text=rest, **base)  # type: ignore[arg-type]
        return StaffInbound(kind="text", text=msg.text, **base)  # type: ignore[arg-type]
    if msg.photo:
        return StaffInbound(kind="photo", file_id=msg.photo[-1].file_id, text=msg.caption,
                            **base)  # type: ignore[arg-type]
    if msg.document:
        return StaffInbound(kind="document", file_id=msg.document.file_id, text=msg.caption,
                            **base)  # type: ignore[arg-type]
    if msg.voice:
        return StaffInbound(kind="voice", file_id=msg.voice.file_id, **base)  # type: ignore[arg-type]
    return None


async def on_group_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Relays, notes and ticket commands in a staff chat; /staff for admins; /incident and
    /broadcast for group incidents."""
    msg = update.effective_message
    m = parse_message(msg) if msg else None
    if m is None:
        return
    uow, desk = current_uow(), deps(context).desk
    if m.kind == "command" and m.command == "staff":
        effects = await _staff_command(m, context)
    elif m.kind == "command" and m.command in incidents.COMMANDS:
        effects = await incidents.command(uow, desk, m)
    elif m.kind == "command" and m.command in TICKET_COMMANDS:
        effects = await handling.handle(uow, desk, m)
    elif m.kind == "command":
        return  # other bots' and people's commands are not ours to answer
    else:
        effects = await handling.message(uow, desk, m)
    staff_render.render(uow.repos.outbox, effects)


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A staff button, wherever it was pressed (authorised by the presser's id)."""
    q = update.callback_query
    if q is None or q.message is None:
        return
    press = buttons.decode(q.data)
    ours = press is not None and press.side == buttons.Side.STAFF
    action, ticket_id, arg = ((str(press.action or "?"), press.ticket_id or 0, press.arg)
                              if ours and press else ("?", 0, ""))
    m = StaffInbound(user_id=q.from_user.id, name=q.from_user.full_name,
                     chat_id=q.message.chat.id, kind="button", action=action,
                     ticket_id=ticket_id, arg=arg, query_id=q.id,
                     thread_id=getattr(q.message, "message_thread_id", None),
                     message_id=q.message.message_id)
    uow, desk = current_uow(), deps(context).desk
    # An incident's preview buttons carry a broadcast, not a ticket: not handling's to decide.
    service = incidents.button if ours and action in incidents.BUTTONS else handling.handle
    staff_render.render(uow.repos.outbox, await service(uow, desk, m))


async def _staff_command(m: StaffInbound, context: ContextTypes.DEFAULT_TYPE) -> list[Effect]:
    """/staff list | add ID ROLE NAME | remove ID | role ID ROLE — admins only."""
    uow, d = current_uow(), deps(context)
    lang = d.desk.staff_lang
    me = await uow.repos.staff.get(m.user_id)
    if me is None or not me.active or me.role != "admin":
        return [Say(m.chat_id, "access.admin_only", {}, lang, thread_id=m.thread_id,
                    reply_to=m.message_id)]
    args = (m.text or "").split()
    try:
        if args[:1] == ["add"] and len(args) >= 4 and args[1].isdigit():
            rows = [await roster.add(uow, d.clock, int(args[1]), " ".join(args[3:]), args[2])]
        elif args[:1] == ["remove"] and len(args) == 2 and args[1].isdigit():
            rows = [await roster.remove(uow, int(args[1]))]
        elif args[:1] == ["role"] and len(args) == 3 and args[1].isdigit():
            rows = [await roster.set_role(uow, int(args[1]), args[2])]
        elif not args or args[:1] == ["list"]:
            rows = await roster.listing(uow)
        else:
            return [Say(m.chat_id, "staff.usage.staff", {}, lang, thread_id=m.thread_id,
                        reply_to=m.message_id)]
    except roster.RosterError as err:
        return [Say(m.chat_id, "staff.roster_error", {"error": str(err)}, lang,
                    thread_id=m.thread_id, reply_to=m.message_id)]
    text = "\n".join(f"{r.telegram_id} · {r.name} · {r.role}"
                     + ("" if r.active else " · ✗") for r in rows)
    return [Say(m.chat_id, "staff.roster", {"rows": text}, lang, thread_id=m.thread_id)]


def sender_hooks(desk: Desk) -> dict[str, list[SentHook]]:
    """What the outbox sender does after a staff-side call: card after topic, id mapping,
    fallback without topics, unreachable customers, failing staff groups."""

    async def sent(uow: UnitOfWork, row: OutboxRow, result: Any, reason: str | None) -> None:
        if reason == bot_api.QUERY_EXPIRED:
            staff_render.render(uow.repos.outbox, await handoff.on_answer_expired(uow, desk, row))
            return
        staff_render.render(uow.repos.outbox,
                            await group_recovery.on_sent(uow, desk, row, result))

    async def failed(uow: UnitOfWork, row: OutboxRow, _result: Any, reason: str | None) -> None:
        effects = await group_recovery.on_failed(uow, desk, row, reason or "", desk.clock.now())
        staff_render.render(uow.repos.outbox, effects)

    return {"on_sent": [sent], "on_failed": [failed]}


def mail_hooks(desk: Desk) -> list[MailHook]:
    """What the mailer does when an e-mail fails: say so in the ticket's topic."""

    async def problem(uow: UnitOfWork, row: MailRow, p: MailProblem) -> None:
        staff_render.render(uow.repos.outbox, await mail_notice.mail_problem(
            uow, desk, row.ticket_id, row.subject, p.reason, p.delivered))

    return [problem]


def timer_handlers(desk: Desk) -> dict[str, TimerHandler]:
    """The timers this side owns: retrying a staff group the bot could not post in; the
    ticket's deadlines; the follow-up after resolution, its reminder and its expiry."""

    async def retry(uow: UnitOfWork, timer: Timer, _clock: object) -> None:
        if timer.chat_id is not None:
            staff_render.render(uow.repos.outbox, await group_recovery.retry_group(
                uow, desk, timer.chat_id, desk.clock.now()))

    def run(service: DeadlineService) -> TimerHandler:
        async def handler(uow: UnitOfWork, timer: Timer, _clock: object) -> None:
            staff_render.render(uow.repos.outbox,
                                await service(uow, desk, timer, desk.clock.now()))
        return handler

    return {TimerKind.STAFF_GROUP_RETRY: retry,
            TimerKind.FIRST_RESPONSE_DUE: run(deadlines.first_response_missed),
            TimerKind.REPLY_DUE: run(deadlines.reply_due),
            TimerKind.PROGRESS_NOTICE: run(deadlines.progress_notice),
            TimerKind.FOLLOW_UP: run(follow_up.send),
            TimerKind.FOLLOW_UP_REMINDER: run(follow_up.remind),
            TimerKind.FOLLOW_UP_EXPIRY: run(follow_up.expire)}


def install(app: Application) -> None:  # type: ignore[type-arg]
    """Register the staff handlers (group chats; staff buttons)."""
    app.add_handler(CallbackQueryHandler(on_button, pattern=cb.STAFF_PATTERN))
    app.add_handler(MessageHandler(filters.ChatType.GROUPS & filters.UpdateType.MESSAGE,
                                   on_group_message))
