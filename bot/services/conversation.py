"""The customer's private chat: one entry point per update, one per timer.

Per update: one read of the customer, one of the draft, then whatever the step needs; the
writes go out with the inbox batch's transaction.
"""

from __future__ import annotations

import copy

from bot.domain import lifecycle
from bot.domain import ticket as tk
from bot.domain.buttons import CustomerAction as CA
from bot.domain.intake import CONFIRM, FACTS, PHONE, record_edit
from bot.i18n import LANGUAGES
from bot.i18n import t as text
from bot.services import (
    customers,
    follow_up,
    handling,
    intake,
    quiet,
    repeats,
    tickets,
    withdrawal,
)
from bot.services.desk import Desk
from bot.services.inbound import Inbound
from bot.services.intake import ATTACH, LEFT_OVER, OUTSIDE_FORM, Turn
from bot.services.staff_out import Effect
from bot.services.views import (
    CallbackAnswer,
    ChooseTicket,
    Greeting,
    Languages,
    Menu,
    Note,
    Prompt,
    Reply,
    TicketList,
)
from storage.models import IntakeDraft, Timer
from storage.uow import UnitOfWork

NOT_YOURS = "tickets.not_yours"
_INTAKE_ACTIONS = frozenset({CA.BACK, CA.CATEGORY, CA.CATEGORIES, CA.DONE, CA.OUTCOME, CA.OPTION,
                             CA.ABOUT, CA.PROFILE_NAME, CA.PREVIOUS, CA.CONFIRM, CA.CHANGE,
                             CA.FIELD, CA.SAME})


async def handle(uow: UnitOfWork, desk: Desk, m: Inbound) -> Reply:
    """Everything a customer sends in private: commands, buttons, messages."""
    now = desk.clock.now()
    customer = await customers.register(uow, desk.clock, m.user_id, m.first_name, m.username,
                                        m.language_code)
    draft = await uow.repos.drafts.get(m.chat_id)
    if draft is not None and draft.step == withdrawal.REASON_STEP and not withdrawal.keeps_draft(m):
        # Waiting for their words on withdrawing, they did something else: that wait is over.
        await uow.repos.drafts.delete(draft)
        draft = None
    c = Turn(uow, desk, m, customer, draft, now, Reply(customer.language))
    if m.command:
        await _command(c)
    elif m.action:
        await _button(c)
    else:
        await _message(c)
    if m.query_id:
        c.reply.views.insert(0, CallbackAnswer(m.query_id, c.callback_note))
    return c.reply


def _in_intake(d: IntakeDraft | None) -> bool:
    return d is not None and d.step not in (*OUTSIDE_FORM, withdrawal.REASON_STEP)


def _left_over(d: IntakeDraft | None) -> bool:
    return d is not None and d.step == LEFT_OVER


async def _command(c: Turn) -> None:
    cmd = c.m.command
    if cmd == "start":
        c.reply.add(Greeting(c.m.first_name, resume=_in_intake(c.draft)))
    elif cmd == "cancel" and _left_over(c.draft):
        await follow_up.cancel_left_over(c)
    elif cmd == "cancel":
        await intake.cancel(c)
    elif cmd == "language":
        c.reply.add(Languages())
    elif cmd == "status":
        c.reply.add(TicketList(await tickets.list_for(c.uow, c.desk, c.customer.id)))
    elif cmd == "ticket":
        await _show_ref(c, c.m.text or "")
    else:
        c.reply.add(Note("common.unknown_command"), Menu())


async def _show_ref(c: Turn, typed: str) -> None:
    ref = tk.normalise_ref(typed)
    if not ref:
        c.reply.add(Note("tickets.ref_usage"))
        return
    t = await c.uow.repos.tickets.by_ref_for_customer(ref, c.customer.id)
    # The same answer whether the reference is someone else's or does not exist at all.
    if t is None:
        c.reply.add(Note("tickets.not_found", {"ref": typed.strip()[:40]}))
        return
    c.reply.add(await tickets.detail(c.uow, c.desk, t))


async def _button(c: Turn) -> None:
    action, arg = c.m.action, c.m.arg
    if action == CA.FILE:
        await intake.begin(c)
    elif action == CA.MINE:
        c.reply.add(TicketList(await tickets.list_for(c.uow, c.desk, c.customer.id)))
    elif action == CA.LANG:
        c.reply.add(Languages())
    elif action == CA.SET_LANG and arg in LANGUAGES:
        await _set_language(c, arg)
    elif action in (CA.SHOW, CA.URGE) and arg.isdigit():
        await _ticket_button(c, action, int(arg))
    elif action == CA.ATTACH and arg.isdigit() and c.draft is not None and c.draft.step == ATTACH:
        await _attach_to(c, int(arg))
    elif action == CA.NOT_SOLVED and arg.isdigit():
        key, values, effects = await handling.not_solved(c.uow, c.desk, c.customer.id, int(arg),
                                                         c.customer.language)
        if key == NOT_YOURS:
            await tickets.foreign_button(c.uow, int(arg), c.customer.id, action, c.now)
        c.reply.add(Note(key, values))
        c.reply.staff += effects
    elif action in withdrawal.ACTIONS:
        await withdrawal.on_button(c)
    elif action == CA.FOLLOW_UP:
        await follow_up.pressed(c, arg)
    elif action == CA.CANCEL and _left_over(c.draft):
        await follow_up.cancel_left_over(c)
    elif action == CA.CANCEL:
        await intake.cancel(c)
    elif action in _INTAKE_ACTIONS and _in_intake(c.draft):
        await intake.on_button(c)
    else:
        c.callback_note = "intake.stale"
        c.reply.add(Menu())


async def _set_language(c: Turn, lang: str) -> None:
    c.customer.language, c.customer.updated_at = lang, c.now
    c.reply.lang = lang
    if _in_intake(c.draft):
        assert c.draft is not None
        c.answers = copy.deepcopy(c.draft.answers)
        await intake.prompt(c, c.draft.step, lead=Note("language.set"))
    else:
        c.reply.add(Menu("language.set_menu"))


async def _ticket_button(c: Turn, action: str, ticket_id: int) -> None:
    t = await c.uow.repos.tickets.get_for_customer(ticket_id, c.customer.id)
    if t is None:
        await _not_yours(c, action, ticket_id)
        return
    if action == CA.SHOW:
        c.reply.add(await tickets.detail(c.uow, c.desk, t))
    elif t.status not in lifecycle.ACTIVE:
        c.reply.add(Note("urge.not_active", {"ref": t.ref}))
    else:
        u = await tickets.urge(c.uow, c.desk, t, c.customer.id)
        c.reply.staff += u.staff
        if u.escalated_to is not None:
            level = text(c.customer.language, f"levels.l{u.escalated_to}")
            c.reply.add(Note("urge.escalated", {"ref": t.ref, "level": level, "due": u.due}))
        else:
            c.reply.add(Note("urge.recorded" if u.who else "urge.recorded_team",
                             {"ref": t.ref, "who": u.who or "", "due": u.due}))


async def _attach_to(c: Turn, ticket_id: int) -> None:
    assert c.draft is not None
    t = await c.uow.repos.tickets.get_for_customer(ticket_id, c.customer.id)
    if t is None or t.status not in lifecycle.ACTIVE:
        await _not_yours(c, CA.ATTACH, ticket_id)
        return
    pending = c.draft.answers.get("pending") or []
    tickets.add_message(c.uow, c.desk, t, pending, c.customer.id)
    tickets.record_edits(c.uow, t.id, c.customer.id, c.draft.answers, c.now)
    c.reply.staff += await handling.customer_wrote(
        c.uow, c.desk, t, [(p["mid"], p.get("reply_to")) for p in pending if p.get("mid")],
        c.now)
    await c.uow.repos.drafts.delete(c.draft)
    c.reply.add(Note("tickets.message_added", {"ref": t.ref}))


async def _not_yours(c: Turn, action: str, ticket_id: int) -> None:
    # The same answer whether the ticket is someone else's or does not exist; a forged press
    # goes on the record of the ticket it named.
    c.callback_note = NOT_YOURS
    await tickets.foreign_button(c.uow, ticket_id, c.customer.id, action, c.now)


async def edited(uow: UnitOfWork, desk: Desk, user_id: int, chat_id: int, message_id: int,
                 text: str) -> list[Effect]:
    """An edited private message: on a ticket both wordings are kept; while filing, the draft
    takes the new wording and keeps the edit for the ticket's history."""
    effects = await handling.customer_edited(uow, desk, user_id, message_id, text)
    if effects is not None:
        return effects
    draft = await uow.repos.drafts.get(chat_id)
    if draft is not None:
        now = desk.clock.now()
        uow.repos.drafts.save(draft, draft.step, record_edit(draft.answers, message_id, text, now),
                              now)
    return []


async def _message(c: Turn) -> None:
    m = c.m
    if c.draft is not None and c.draft.step == withdrawal.REASON_STEP:
        await withdrawal.on_text(c)  # their words on withdrawing (handle() made sure: text)
        return
    if _left_over(c.draft) and await follow_up.left_over(c):
        return  # what is still left over after the follow-up: on its ticket, reopened
    if _in_intake(c.draft):
        await intake.on_message(c)
        return
    msg = tickets.message_of(m)
    abusive = m.kind == "text" and c.desk.abuse.is_abusive(m.text)
    if abusive:
        msg["abusive"] = True
        c.reply.add(Note("abuse.reply"))
    if m.kind in ("sticker", "other", "contact"):
        c.reply.add(Menu("common.not_understood"))
        return
    active = await c.uow.repos.tickets.of_customer(c.customer.id, statuses=lifecycle.ACTIVE)
    if not active:
        # Nothing open to add it to: they are telling us a problem. Listen (PROCESS.md §1) —
        # after asking whether it is the same matter as a ticket dealt with lately, if any.
        # (A leftover choice between tickets that have since closed becomes the story's start.)
        await intake.listen(c, await repeats.offer(c.uow, c.desk, c.customer.id, c.now))
    elif len(active) == 1:
        tickets.add_message(c.uow, c.desk, active[0], [msg], c.customer.id)
        c.reply.staff += await handling.customer_wrote(
            c.uow, c.desk, active[0], [(m.message_id, m.reply_to)] if m.message_id else [],
            c.now)
        c.reply.add(Note("tickets.message_added", {"ref": active[0].ref}))
    else:
        if c.draft is None:
            c.draft = c.uow.repos.drafts.add(m.chat_id, m.user_id, ATTACH, {"pending": [msg]},
                                             c.now)
        else:
            pending = [*c.draft.answers.get("pending", []), msg]
            c.uow.repos.drafts.save(c.draft, ATTACH, {"pending": pending}, c.now)
        c.reply.add(ChooseTicket(tuple(tickets.row(t, c.desk, c.now) for t in active)))


async def on_timer(uow: UnitOfWork, desk: Desk, timer: Timer) -> tuple[int, Reply] | None:
    """An intake timer: reminder, expiry or "they stopped writing"; None when it is stale."""
    if timer.chat_id is None:
        return None
    draft = await uow.repos.drafts.get(timer.chat_id)
    if draft is None or draft.answers.get("token") != timer.payload.get("token"):
        return None  # filed, cancelled or replaced since
    customer = await uow.repos.customers.get(draft.user_id)
    lang = customer.language if customer else "zh_CN"
    now = desk.clock.now()
    idle = now - draft.updated_at
    chat = timer.chat_id
    reply = Reply(lang)
    if timer.kind == intake.EXPIRY:
        if idle < desk.expire_after:
            uow.repos.timers.again(timer, draft.updated_at + desk.expire_after, now)
            return None
        if quiet.held_for_morning(uow, desk, timer, now):
            return None
        await uow.repos.drafts.delete(draft)
        await uow.repos.timers.cancel(chat_id=chat, kinds=intake.TIMER_KINDS)
        return chat, reply.add(Note("intake.expired", remove_keyboard=draft.step == PHONE),
                               Menu())
    if timer.kind == intake.REMINDER:
        if draft.reminded_at is not None:
            return None  # one gentle reminder, never a second
        if idle < desk.reminder_after:
            uow.repos.timers.again(timer, draft.updated_at + desk.reminder_after, now)
            return None
        if quiet.held_for_morning(uow, desk, timer, now):
            return None
        draft.reminded_at = now
        return chat, reply.add(Prompt(draft.step, draft.answers, lead=Note("intake.reminder"),
                                      first_name=customer.first_name if customer else ""))
    return await _listening(uow, desk, timer, draft, reply, customer.first_name if customer
                            else "")


async def _listening(uow: UnitOfWork, desk: Desk, timer: Timer, draft: IntakeDraft,
                     reply: Reply, first_name: str) -> tuple[int, Reply] | None:
    """LISTEN: react once when they pause; move on once they have been quiet for a while."""
    answers = copy.deepcopy(draft.answers)
    if timer.payload.get("seq") != answers.get("listen_seq"):
        return None  # a newer timer looks after this draft
    now, chat, idle = desk.clock.now(), draft.chat_id, desk.clock.now() - draft.updated_at
    answers.pop("listen_due", None)
    if draft.step != FACTS or not answers.get("facts"):
        answers.pop("unheard", None)
        uow.repos.drafts.save(draft, draft.step, answers, draft.updated_at)
        return None
    if answers.get("unheard"):
        if idle < desk.listen_pause:
            intake.listen_at(uow, answers, chat, draft.updated_at + desk.listen_pause, now)
            uow.repos.drafts.save(draft, draft.step, answers, draft.updated_at)
            return None
        # They paused: one reaction for everything since the last one, on one prompt.
        answers["unheard"] = 0
        answers["reactions"] = answers.get("reactions", 0) + 1
        intake.listen_at(uow, answers, chat, draft.updated_at + desk.listen_idle, now)
        uow.repos.drafts.save(draft, draft.step, answers, draft.updated_at)
        await intake.drop_listen_buttons(uow, reply, chat)
        return chat, reply.add(Prompt(FACTS, answers, first_name=first_name,
                                      reaction=answers["reactions"]))
    if idle < desk.listen_idle:
        intake.listen_at(uow, answers, chat, draft.updated_at + desk.listen_idle, now)
        uow.repos.drafts.save(draft, draft.step, answers, draft.updated_at)
        return None
    answers["facts_done"] = True
    answers.pop("unheard", None)
    nxt = desk.form.next_step(answers, FACTS)
    if nxt == CONFIRM:
        answers.pop("editing", None)
    uow.repos.drafts.save(draft, nxt, answers, now)
    return chat, reply.add(Prompt(nxt, answers, first_name=first_name,
                                  lead=Note("intake.moving_on")))
