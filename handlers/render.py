"""All texts and keyboards: turns service results into outbox calls (never sends directly)."""

from __future__ import annotations

import html
import re
from datetime import datetime
from typing import Any

from bot.domain import buttons
from bot.domain import intake as steps
from bot.domain.buttons import CustomerAction as CA
from bot.domain.intake import IntakeForm
from bot.domain.phone import format_phone
from bot.domain.vocabulary import WithdrawReason
from bot.i18n import LANGUAGES, t, when
from bot.services import views as v
from bot.services.tickets import facts_text
from handlers.split import CAPTION_LIMIT, TEXT_LIMIT, split_html, utf16_len, visible_len
from storage.repositories import OutboxRepo

Keyboard = list[list[dict[str, Any]]]

_TAG = re.compile(r"<[^>]+>")
# C0 controls other than tab and newline (NUL among them) have no business in a chat bubble.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
# Stands for the long text while the rest is measured; esc() turns NUL in customer text into
# U+FFFD, so no customer text can contain it.
_SLOT = "\x00slot\x00"


def esc(text: str | None) -> str:
    """Escape text a person typed for parse_mode=HTML (stored verbatim, shown safely)."""
    return html.escape(_CONTROL.sub("\ufffd", text or ""), quote=False)


def clip(text: str, limit: int, note: str) -> tuple[str, bool]:
    """The head of raw text within `limit` UTF-16 units, and whether anything was left out.

    Only for a text that must stay one message (a card that is edited later); whatever is
    clipped is sent in full elsewhere. `note` is the catalog text saying so, with {n}.
    """
    if utf16_len(text) <= limit:
        return text, False
    budget = max(limit - utf16_len(note) - 8, 0)
    out, used = [], 0
    for ch in text:
        used += 2 if ord(ch) > 0xFFFF else 1
        if used > budget:
            break
        out.append(ch)
    kept = "".join(out)
    return kept + note.format(n=len(text) - len(kept)), True


def _parts(text: str, limit: int) -> list[str]:
    """`text` cut to the limit; parts with nothing visible (Telegram refuses them) left out."""
    parts = [p for p in split_html(text, limit) if html.unescape(_TAG.sub("", p)).strip()]
    return parts or [text]


def send_text(out: OutboxRepo, chat_id: int, text: str, *,
              keyboard: Keyboard | None = None, reply_markup: dict[str, Any] | None = None,
              thread_id: int | None = None, ticket_id: int | None = None,
              purpose: str | None = None, reply_to: int | None = None) -> None:
    """Queue an HTML message (several, in order, when it is longer than Telegram allows).

    The first part is the reply and carries the purpose (its message id is the one recorded);
    the keyboard (or other reply_markup) goes on the last, under the end of the text.
    """
    parts = _parts(text, TEXT_LIMIT)
    for i, part in enumerate(parts):
        payload: dict[str, Any] = {"chat_id": chat_id, "text": part, "parse_mode": "HTML"}
        last = i == len(parts) - 1
        if keyboard and last:
            payload["reply_markup"] = {"inline_keyboard": keyboard}
        elif reply_markup and last:
            payload["reply_markup"] = reply_markup
        thread_and_reply(payload, thread_id, reply_to if i == 0 else None)
        out.enqueue(chat_id, "sendMessage", payload, ticket_id=ticket_id,
                    purpose=purpose if i == 0 else None)


MEDIA_FIELD = {"sendPhoto": "photo", "sendDocument": "document", "sendVoice": "voice"}


def send_media(out: OutboxRepo, chat_id: int, method: str, file_id: str, caption: str,
               short_caption: str, *, ticket_id: int | None = None, purpose: str | None = None,
               reply_to: int | None = None) -> None:
    """Queue a photo/document/voice; a caption over Telegram's limit follows as text message(s)."""
    fits = visible_len(caption) <= CAPTION_LIMIT
    p: dict[str, Any] = {"chat_id": chat_id, MEDIA_FIELD[method]: file_id, "parse_mode": "HTML",
                         "caption": caption if fits else short_caption}
    thread_and_reply(p, None, reply_to)
    out.enqueue(chat_id, method, p, ticket_id=ticket_id, purpose=purpose)
    if not fits:
        send_text(out, chat_id, caption, ticket_id=ticket_id)


def thread_and_reply(p: dict[str, Any], thread_id: int | None, reply_to: int | None) -> None:
    """Place a call in a forum topic and/or as a reply (kept if the original is gone)."""
    if thread_id:
        p["message_thread_id"] = thread_id
    if reply_to:
        p["reply_parameters"] = {"message_id": reply_to, "allow_sending_without_reply": True}


def greeting(out: OutboxRepo, chat_id: int, lang: str, first_name: str,
             resume: bool = False) -> None:
    """The /start greeting: it invites them to just write (or to carry on where they were)."""
    key = "start.greeting_resume" if resume else "start.greeting"
    send_text(out, chat_id, t(lang, key, name=esc(first_name)), keyboard=menu_keyboard(lang))


def not_understood(out: OutboxRepo, chat_id: int, lang: str) -> None:
    """A friendly answer to anything the bot cannot place."""
    send_text(out, chat_id, t(lang, "common.not_understood"))


# -- keyboards ----------------------------------------------------------------------------

def button(text: str, action: str, arg: str | int = "") -> dict[str, Any]:
    """One inline button."""
    return {"text": text, "callback_data": buttons.customer(CA(action), arg)}


def menu_keyboard(lang: str) -> Keyboard:
    """File a complaint · My tickets · Language."""
    return [[button(t(lang, "menu.file"), CA.FILE)],
            [button(t(lang, "menu.my_tickets"), CA.MINE), button(t(lang, "menu.language"),
                                                                 CA.LANG)]]


def _nav(lang: str) -> list[dict[str, Any]]:
    return [button(t(lang, "button.back"), CA.BACK), button(t(lang, "button.cancel"), CA.CANCEL)]


def _pairs(buttons: list[dict[str, Any]]) -> Keyboard:
    return [buttons[i:i + 2] for i in range(0, len(buttons), 2)]


def nav_labels() -> dict[str, str]:
    """Typed text of the phone step's reply keyboard → action (in every language)."""
    return {t(lang, f"button.{a}"): a for lang in LANGUAGES for a in ("back", "cancel")}


# -- views --------------------------------------------------------------------------------

def reply(out: OutboxRepo, chat_id: int, r: v.Reply, form: IntakeForm) -> None:
    """Queue every view of a service reply, in order."""
    lang = r.lang
    for view in r.views:
        if isinstance(view, v.CallbackAnswer):
            payload: dict[str, Any] = {"callback_query_id": view.query_id}
            if view.key:
                payload["text"] = t(lang, view.key)
            out.enqueue(chat_id, "answerCallbackQuery", payload)
        elif isinstance(view, v.Note):
            markup = {"remove_keyboard": True} if view.remove_keyboard else None
            send_text(out, chat_id, _note(lang, view), reply_markup=markup)
        elif isinstance(view, v.Typing):
            out.enqueue(chat_id, "sendChatAction", {"chat_id": chat_id, "action": "typing"})
        elif isinstance(view, v.DropButtons):
            out.enqueue(chat_id, "editMessageReplyMarkup", {
                "chat_id": chat_id, "message_id": view.message_id,
                "reply_markup": {"inline_keyboard": []}})
        elif isinstance(view, v.Menu):
            send_text(out, chat_id, t(lang, view.key), keyboard=menu_keyboard(lang))
        elif isinstance(view, v.Greeting):
            greeting(out, chat_id, lang, view.first_name, view.resume)
        elif isinstance(view, v.Languages):
            send_text(out, chat_id, t(lang, "language.ask"), keyboard=[
                [button(t(code, "language.name"), CA.SET_LANG, code) for code in LANGUAGES]])
        elif isinstance(view, v.Prompt):
            text, markup = prompt(lang, view, form)
            # The listening prompt is remembered so its button can move to the next one.
            send_text(out, chat_id, text, reply_markup=markup,
                      purpose=v.LISTEN_PROMPT if view.step == steps.FACTS else None)
        elif isinstance(view, v.Ack):
            send_text(out, chat_id, t(lang, "ack.text", ref=esc(view.ref),
                                      category=esc(category_name(form, view.category, lang)),
                                      first_response=when(lang, view.first_response_due),
                                      reply=when(lang, view.reply_due)),
                      keyboard=menu_keyboard(lang))
        elif isinstance(view, v.TicketList):
            _ticket_list(out, chat_id, lang, view, form)
        elif isinstance(view, v.TicketDetail):
            _ticket_detail(out, chat_id, lang, view, form)
        elif isinstance(view, v.Withdrawal):
            _withdrawal(out, chat_id, lang, view)
        elif isinstance(view, v.LeftOverPrompt):
            key = "follow_up.left_over_again" if view.again else "follow_up.left_over_ask"
            send_text(out, chat_id, t(lang, key, ref=esc(view.ref)),
                      keyboard=[[button(t(lang, "button.cancel"), CA.CANCEL)]])
        elif isinstance(view, v.ChooseTicket):
            send_text(out, chat_id, t(lang, "tickets.choose"), keyboard=[
                [button(_row_label(lang, row, form), CA.ATTACH, row.id)]
                for row in view.tickets[:10]])


def _note(lang: str, n: v.Note) -> str:
    return t(lang, n.key, **{k: _value(lang, x) for k, x in n.values.items()})


def _value(lang: str, x: Any) -> str:
    if isinstance(x, datetime):
        return when(lang, x)
    return esc(str(x))


def category_name(form: IntakeForm, key: str | None, lang: str) -> str:
    """A category's name in the customer's language (the key if it left the configuration)."""
    cat = form.category(key)
    return cat.names.get(lang, cat.key) if cat else (key or "")


def _row_label(lang: str, row: v.TicketRow, form: IntakeForm) -> str:
    return f"{row.ref} · {category_name(form, row.category, lang)}"


# -- prompts ------------------------------------------------------------------------------

def prompt(lang: str, p: v.Prompt, form: IntakeForm) -> tuple[str, dict[str, Any] | None]:
    """The question of a step, its buttons, and the retry reason before it if any."""
    text, keyboard = _question(lang, p, form)
    if p.error:
        hints = {k: esc(str(x)) for k, x in p.hints.items()}
        text = t(lang, f"intake.error.{p.error}", **hints) + "\n\n" + text
    if p.lead is not None:  # one message per turn: what we say, then the question
        text = _note(lang, p.lead) + "\n\n" + text
    if p.step == steps.PHONE:
        # A reply keyboard is the only way to offer "share my number"; Back and Cancel go on
        # it as typed buttons, which handlers map back to actions.
        return text, {"keyboard": [
            [{"text": t(lang, "intake.phone.share"), "request_contact": True}],
            [{"text": t(lang, "button.back")}, {"text": t(lang, "button.cancel")}]],
            "resize_keyboard": True, "is_persistent": True,
            "input_field_placeholder": t(lang, "intake.phone.placeholder")}
    return text, {"inline_keyboard": keyboard}


def _question(lang: str, p: v.Prompt, form: IntakeForm) -> tuple[str, Keyboard]:
    a, step, nav = p.answers, p.step, _nav(lang)
    if step == steps.CATEGORY:
        return _category_question(lang, a, form, nav)
    if step == steps.FACTS:
        return t(lang, _listening_key(p)), [[button(t(lang, "intake.facts.done"), CA.DONE)], nav]
    if step == steps.OUTCOME:
        return t(lang, "intake.outcome.ask"), [*_pairs(
            [button(t(lang, f"outcome.{o}"), CA.OUTCOME, o) for o in steps.OUTCOMES]), nav]
    if step == steps.OUTCOME_TEXT:
        return t(lang, "intake.outcome.ask_text"), [nav]
    if step == steps.ABOUT:
        return t(lang, "intake.about.ask"), [
            [button(t(lang, f"intake.about.{x}"), CA.ABOUT, x) for x in steps.ABOUT_CHOICES], nav]
    if step == steps.ABOUT_TEXT:
        return t(lang, "intake.about.ask_text"), [nav]
    if step == steps.NAME:
        rows = [[button(t(lang, "intake.name.use_profile", name=p.first_name[:40]),
                        CA.PROFILE_NAME)]] if p.first_name.strip() else []
        return t(lang, "intake.name.ask"), [*rows, nav]
    if step == steps.PHONE:
        return t(lang, "intake.phone.ask"), []
    if step == steps.PREVIOUS:
        rows = [[button(_row_label(lang, v.TicketRow(e.id, e.ref, e.category, "", None, False),
                                   form), CA.PREVIOUS, e.id)] for e in p.earlier]
        rows.append([button(t(lang, "intake.previous.ignored"), CA.PREVIOUS, steps.IGNORED)])
        rows.append([button(t(lang, "intake.previous.else"), CA.PREVIOUS, "else"),
                     button(t(lang, "intake.previous.no"), CA.PREVIOUS, "no")])
        key = "intake.previous.ask_pick" if p.earlier else "intake.previous.ask"
        return t(lang, key), [*rows, nav]
    if step == steps.SAME:
        return _same_question(lang, a, nav)
    if step == steps.CONFIRM:
        return summary(lang, a, form), [
            [button(t(lang, "intake.confirm.ok"), CA.CONFIRM)],
            [button(t(lang, "intake.confirm.change"), CA.CHANGE),
             button(t(lang, "button.cancel"), CA.CANCEL)]]
    if step == steps.CHANGE:
        return t(lang, "intake.change.ask"), [
            *_pairs([button(field_label(lang, s, a, form), CA.FIELD, s)
                     for s in form.changeable(a)]), [_nav(lang)[0]]]
    f = form.field(a, step)
    if f is None:  # a step the configuration no longer has: start the form over
        return t(lang, "intake.category.ask"), [nav]
    name = esc(f.names.get(lang, f.key))
    if f.type == "choice":
        return t(lang, "intake.field.ask_choice", field=name), [
            *_pairs([button(o.get(lang, "?"), CA.OPTION, i) for i, o in enumerate(f.options)]),
            nav]
    return t(lang, f"intake.field.ask_{f.type}", field=name), [nav]


# Reactions while the customer tells the story: varied, never the same sentence every time.
LISTEN_REACTIONS = 4


def _listening_key(p: v.Prompt) -> str:
    if p.reaction:
        return f"intake.facts.heard_{(p.reaction - 1) % LISTEN_REACTIONS + 1}"
    return "intake.facts.ask_again" if p.answers.get("facts_rewrite") else "intake.facts.ask"


def _category_question(lang: str, a: dict[str, Any], form: IntakeForm,
                       nav: list[dict[str, Any]]) -> tuple[str, Keyboard]:
    """After the story: the one category it points to, or every category, likely ones first."""
    story = facts_text(a)
    suggested = None if a.get("all_categories") else form.suggestion(story)
    if suggested is not None:
        name = suggested.names.get(lang, suggested.key)
        return t(lang, "intake.category.suggest", category=esc(name)), [
            [button(t(lang, "intake.category.yes", category=name[:40]), CA.CATEGORY,
                    suggested.key)],
            [button(t(lang, "intake.category.others"), CA.CATEGORIES)], nav]
    likely = form.likely(story)
    ordered = [*likely, *(c for c in form.categories if c not in likely)]
    return t(lang, "intake.category.ask"), [*_pairs(
        [button(c.names.get(lang, c.key), CA.CATEGORY, c.key) for c in ordered]), nav]


def _same_question(lang: str, a: dict[str, Any], nav: list[dict[str, Any]]
                   ) -> tuple[str, Keyboard]:
    """Their tickets this may be the same matter as, one "yes" button each, and "No"."""
    offer = a.get(steps.SAME_OFFER) or []
    lines = "\n".join(t(lang, "intake.same.line", ref=esc(o["ref"]),
                         status=t(lang, f"status.{o['status']}")) for o in offer)
    # With a category they chose it just now; without one, they have only started writing.
    key = "intake.same.ask" if a.get("category") else "intake.same.ask_finished"
    rows = [[button(t(lang, "intake.same.yes", ref=o["ref"]), CA.SAME, o["id"])] for o in offer]
    rows.append([button(t(lang, "intake.same.no"), CA.SAME, steps.SAME_NEW)])
    return t(lang, key, tickets=lines), [*rows, nav]


def field_label(lang: str, step: str, a: dict[str, Any], form: IntakeForm) -> str:
    """The name of a step as the read-back and "Change a field" show it."""
    f = form.field(a, step)
    if f is not None:
        return f.names.get(lang, f.key)
    return t(lang, f"field.{step}")


def _answer(lang: str, step: str, a: dict[str, Any], form: IntakeForm) -> str:
    if step == steps.CATEGORY:
        return esc(category_name(form, a.get("category"), lang))
    if step == steps.OUTCOME:
        label = t(lang, f"outcome.{a.get('outcome', 'other')}")
        extra = a.get("outcome_text")
        return esc(f"{label}: {extra}" if extra else label)
    if step == steps.PHONE:
        return esc(format_phone(a[steps.PHONE])) if a.get(steps.PHONE) else ""
    if step == steps.ABOUT:
        return esc(a.get(steps.ABOUT_TEXT)) if a.get(steps.ABOUT) == "yes" else t(
            lang, "intake.about.answer_no")
    if step == steps.PREVIOUS:
        prev = a.get(steps.PREVIOUS)
        return t(lang, "intake.previous.linked") if isinstance(prev, int) else t(
            lang, f"intake.previous.answer_{prev if prev in steps.PREVIOUS_CHOICES else 'no'}")
    f = form.field(a, step)
    if f is not None:
        value = (a.get("extra") or {}).get(f.key)
        if f.type == "photo":
            return t(lang, "intake.field.photo_received")
        if f.type == "choice" and isinstance(value, int) and value < len(f.options):
            return esc(f.options[value].get(lang, ""))
        if f.type == "phone" and value:
            return esc(format_phone(value))
        return esc(str(value or ""))
    return esc(str(a.get(step) or ""))


def summary(lang: str, a: dict[str, Any], form: IntakeForm) -> str:
    """The read-back in the closed-question form: "您刚才说的情况是……,是这样的吗?"."""
    photos = sum(1 for f in a.get("facts") or [] if f.get("file_id"))
    lines = [f"<b>{esc(field_label(lang, s, a, form))}</b>: {_answer(lang, s, a, form)}"
             for s in form.changeable(a) if s != steps.FACTS]
    if photos:
        lines.append(t(lang, "intake.confirm.photos", n=photos))
    frame = t(lang, "intake.confirm.summary", facts=_SLOT, details="\n".join(lines))
    # The story is the long part: give it whatever room the rest leaves.
    return _fill(frame, facts_text(a))


def _fill(frame: str, text: str) -> str:
    # The whole story, however long: send_text cuts it into as many messages as it needs.
    return frame.replace(_SLOT, esc(text))


# -- tickets ------------------------------------------------------------------------------

def _status_line(lang: str, row: v.TicketRow, form: IntakeForm) -> str:
    line = t(lang, "tickets.line", ref=esc(row.ref),
             category=esc(category_name(form, row.category, lang)),
             status=t(lang, f"status.{row.status}"))
    if row.next_due is not None:
        line += t(lang, "tickets.next_due", due=when(lang, row.next_due))
    return line


def _ticket_list(out: OutboxRepo, chat_id: int, lang: str, view: v.TicketList,
                 form: IntakeForm) -> None:
    if not view.tickets:
        send_text(out, chat_id, t(lang, "tickets.none"), keyboard=menu_keyboard(lang))
        return
    rows = view.tickets[:10]
    body = "\n\n".join(_status_line(lang, r, form) for r in rows)
    keyboard: Keyboard = []
    for r in rows:
        line = [button(t(lang, "tickets.show", ref=r.ref), CA.SHOW, r.id)]
        if r.active:
            line.append(button(t(lang, "tickets.urge"), CA.URGE, r.id))
        keyboard.append(line)
    send_text(out, chat_id, t(lang, "tickets.list", body=body), keyboard=keyboard)


def _ticket_detail(out: OutboxRepo, chat_id: int, lang: str, view: v.TicketDetail,
                   form: IntakeForm) -> None:
    history = "\n".join(
        f"{when(lang, h.at)} · {t(lang, f'history.{h.event}', **h.details)}"
        for h in view.history[-30:])
    frame = t(lang, "tickets.detail", line=_status_line(lang, view.row, form), facts=_SLOT,
              history=history)
    text = _fill(frame, view.facts)
    keyboard = [[button(t(lang, "tickets.urge"), CA.URGE, view.row.id),
                 button(t(lang, "withdraw.button"), CA.WITHDRAW, view.row.id)]] \
        if view.row.active else None
    send_text(out, chat_id, text, keyboard=keyboard)


def _withdrawal(out: OutboxRepo, chat_id: int, lang: str, view: v.Withdrawal) -> None:
    """Withdrawing a ticket: why (choices), their words, or the confirmation; "Keep my
    complaint" on every step."""
    tid, ref = view.ticket_id, esc(view.ref)
    keep = [button(t(lang, "withdraw.keep"), CA.WITHDRAW_KEEP, tid)]
    if view.step == "ask":
        send_text(out, chat_id, t(lang, "withdraw.ask", ref=ref), keyboard=[
            *([button(t(lang, f"withdraw.reason.{r}"), CA.WITHDRAW_REASON, f"{tid}:{r}")]
              for r in WithdrawReason), keep])
    elif view.step == "ask_text":
        send_text(out, chat_id, t(lang, "withdraw.ask_text", ref=ref), keyboard=[keep])
    else:
        reason = esc(view.text) if view.text else t(lang, f"withdraw.reason.{view.reason}")
        send_text(out, chat_id, t(lang, "withdraw.confirm", ref=ref, reason=reason), keyboard=[
            [button(t(lang, "withdraw.yes"), CA.WITHDRAW_CONFIRM, f"{tid}:{view.reason}")],
            keep])
