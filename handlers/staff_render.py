"""Staff-side rendering: ticket cards, relays, topic calls and alerts into outbox calls."""

from __future__ import annotations

import html
import re
from datetime import datetime
from typing import Any

from bot.domain import buttons
from bot.domain.buttons import CustomerAction, StaffAction
from bot.i18n import t, when
from bot.services import handoff
from bot.services import staff_out as so
from handlers.render import clip, esc, send_media, send_text, thread_and_reply
from handlers.split import TEXT_LIMIT, split_html, visible_len
from storage.repositories import OutboxRepo

_TAG = re.compile(r"<[^>]+>")
def render(out: OutboxRepo, effects: list[so.Effect]) -> None:
    """Queue every effect, in order."""
    for e in effects:
        if isinstance(e, so.Say):
            _say(out, e)
        elif isinstance(e, so.Card):
            _card(out, e)
        elif isinstance(e, so.Relay):
            _relay(out, e)
        elif isinstance(e, so.Copy):
            p: dict[str, Any] = {"chat_id": e.chat_id, "from_chat_id": e.from_chat_id,
                                 "message_id": e.message_id}
            thread_and_reply(p, e.thread_id, e.reply_to)
            out.enqueue(e.chat_id, "copyMessage", p, ticket_id=e.ticket_id, purpose=e.purpose)
        elif isinstance(e, so.Call):
            out.enqueue(e.chat_id, e.method, dict(e.params), ticket_id=e.ticket_id,
                        purpose=e.purpose)
        elif isinstance(e, so.Transcript):
            _transcript(out, e)
        elif isinstance(e, so.Alert):
            out.enqueue(e.chat_id, "answerCallbackQuery", {
                "callback_query_id": e.query_id, "show_alert": e.alert,
                "text": _plain(t(e.lang, e.key, **_escaped(e.values, e.lang)))[:200]},
                ticket_id=e.ticket_id, purpose=handoff.ANSWER if e.ticket_id else None)


def _escaped(values: Any, lang: str) -> dict[str, Any]:
    # A moment is shown as people read it, in the reader's language; a catalog phrase in it.
    return {k: _phrase(v, lang) if isinstance(v, so.Phrase) else esc(v) if isinstance(v, str)
            else when(lang, v) if isinstance(v, datetime) else v
            for k, v in dict(values).items()}


def _phrase(p: so.Phrase, lang: str) -> str:
    """A catalog text given as a value: rendered (its values escaped) in the outer language."""
    return t(lang, p.key, **_escaped(p.values, lang))


def _plain(text: str) -> str:
    # Alerts are plain text: our catalog HTML is only <b>/<i>, and values were escaped.
    return html.unescape(_TAG.sub("", text))


def _keyboard(e_lang: str, rows: tuple[tuple[so.Button, ...], ...]) -> list[list[dict[str, str]]]:
    kb = []
    for row in rows:
        line = []
        for b in row:
            label = b.label if b.label is not None else t(e_lang, b.label_key)
            data = (buttons.customer(CustomerAction(b.action),
                                     f"{b.ticket_id}:{b.arg}" if b.arg else b.ticket_id)
                    if b.for_customer else buttons.staff(StaffAction(b.action), b.ticket_id,
                                                         b.arg))
            line.append({"text": label[:64], "callback_data": data})
        kb.append(line)
    return kb


def _say(out: OutboxRepo, e: so.Say) -> None:
    send_text(out, e.chat_id, t(e.lang, e.key, **_escaped(e.values, e.lang)),
              keyboard=_keyboard(e.lang, e.buttons) if e.buttons else None,
              reply_markup={"force_reply": True, "selective": True} if e.force_reply else None,
              thread_id=e.thread_id, ticket_id=e.ticket_id, purpose=e.purpose,
              reply_to=e.reply_to)


def _relay(out: OutboxRepo, e: so.Relay) -> None:
    """A steward's message to the customer, whole: long texts in several messages."""
    header = t(e.lang, "customer.relay_header", name=esc(e.author))
    text = header + ("\n" + esc(e.text) if e.text else "")
    if e.kind == "text" or not e.file_id:
        send_text(out, e.chat_id, text, ticket_id=e.ticket_id, purpose=e.purpose,
                  reply_to=e.reply_to)
        return
    method = {"photo": "sendPhoto", "document": "sendDocument",
              "voice": "sendVoice"}.get(e.kind, "sendDocument")
    send_media(out, e.chat_id, method, e.file_id, text, header, ticket_id=e.ticket_id,
               purpose=e.purpose, reply_to=e.reply_to)


_MARKS = {"note": "📝", "out": "→", "in": "←"}


def _transcript(out: OutboxRepo, e: so.Transcript) -> None:
    """The whole transcript, every line in full, in as many messages as it needs, oldest first."""
    customer = t(e.lang, "staff.history_customer")
    body = "\n".join(f"{x.at:%m-%d %H:%M} {_MARKS.get(x.direction, '·')} {x.author or customer}: "
                     f"{x.text or '[' + x.kind + ']'}" for x in e.lines) or "—"
    frame = t(e.lang, "staff.history", ref=esc(e.ref), part=999, parts=999, text="")
    chunks = split_html(esc(body), TEXT_LIMIT - visible_len(frame))
    for i, chunk in enumerate(chunks, 1):
        # Say escapes its values: hand it the chunk as raw text (a cut never splits an entity).
        _say(out, so.Say(e.chat_id, "staff.history",
                         {"ref": e.ref, "part": i, "parts": len(chunks),
                          "text": html.unescape(chunk).strip("\n")},
                         e.lang, thread_id=e.thread_id, ticket_id=e.ticket_id))


def card_text(v: so.CardView, lang: str) -> tuple[str, bool]:
    """The ticket card: everything a steward needs, the customer's own words included.

    Also says whether the story had to be clipped to keep the card one message.
    """
    def at(d: datetime | None) -> str:
        return d.strftime("%Y-%m-%d %H:%M") if d else "—"

    # A major complaint says so before anything else: a supervisor scans cards for this line.
    lines = [t(lang, "staff.card.major", reason=_phrase(v.major, lang))] if v.major else []
    if v.incident:  # one of many on one matter: managers answer them together
        lines.append(t(lang, "staff.card.incident", id=v.incident))
    lines += [t(lang, "staff.card.title", ref=esc(v.ref), category=esc(v.category)),
             t(lang, "staff.card.state", status=t(lang, f"staff.status.{v.status}"),
               level=v.level, assignee=esc(v.assignee) if v.assignee
               else t(lang, "staff.card.unclaimed")),
             t(lang, "staff.card.customer", name=esc(v.customer_name), phone=esc(v.masked_phone))
             + (" · " + t(lang, "staff.card.vip") if v.vip else ""),
             t(lang, "staff.card.outcome", outcome=esc(v.outcome)),
             t(lang, "staff.card.deadlines", first=at(v.first_response_due), reply=at(v.reply_due))]
    lines += [f"{esc(k)}: {esc(x)}" for k, x in v.extra.items()]
    if v.about:
        lines.append(t(lang, "staff.card.about", name=esc(v.about)))
    elif v.about_text:
        lines.append(t(lang, "staff.card.about_unmatched", text=esc(v.about_text)))
    if v.previous_ref or v.repeat_count:
        lines.append(t(lang, "staff.card.repeat", ref=esc(v.previous_ref or "—"),
                       nth=v.repeat_count + 1))
    if v.unreachable:
        lines.append(t(lang, "staff.card.unreachable"))
    if v.review_by:
        lines.append(t(lang, "staff.card.review", name=esc(v.review_by)))
    if v.mentions:
        lines.append(t(lang, "staff.card.routed") + " " + ", ".join(
            f'<a href="tg://user?id={i}">{esc(n)}</a>' for i, n in v.mentions))
    head = "\n".join(lines) + "\n" + t(lang, "staff.card.facts") + "\n"
    # The card is edited as the ticket moves, so it stays one message; a story too long for it
    # is clipped there and posted whole right after the card.
    room = TEXT_LIMIT - visible_len(head) - 20
    facts, clipped = clip(v.facts, max(room, 100), t(lang, "staff.card.facts_more", n="{n}"))
    return head + esc(facts), clipped


def _card(out: OutboxRepo, e: so.Card) -> None:
    buttons = (handoff.dm_card_buttons if e.purpose == handoff.DM_CARD
               else handoff.card_buttons)(e.view.ticket_id, e.view.status)
    text, clipped = card_text(e.view, e.lang)
    p: dict[str, Any] = {"chat_id": e.chat_id, "text": text,
                         "parse_mode": "HTML",
                         "reply_markup": {"inline_keyboard": _keyboard(e.lang, buttons)}}
    if e.message_id:
        p["message_id"] = e.message_id
        out.enqueue(e.chat_id, "editMessageText", p, ticket_id=e.view.ticket_id)
        return
    if e.thread_id:
        p["message_thread_id"] = e.thread_id
    out.enqueue(e.chat_id, "sendMessage", p, ticket_id=e.view.ticket_id,
                purpose=e.purpose or handoff.CARD)
    if clipped:
        send_text(out, e.chat_id, t(e.lang, "staff.card.facts_full", ref=esc(e.view.ref),
                                    text=esc(e.view.facts)),
                  thread_id=e.thread_id, ticket_id=e.view.ticket_id)
