"""Staff-side rendering: ticket cards, relays, topic calls and alerts into outbox calls."""

from __future__ import annotations

import html
import re
from datetime import datetime
from typing import Any

from bot.i18n import t
from bot.services import handoff
from bot.services import staff_out as so
from handlers import callback_data as cb
from handlers.render import MAX_TEXT, clip, esc, send_text, thread_and_reply, visible_len
from storage.repositories import OutboxRepo

_TAG = re.compile(r"<[^>]+>")
STAFF_PREFIX = "s"
PATTERN = r"^s:"


def staff_data(action: str, ticket_id: int, arg: str = "") -> str:
    """Callback data of a staff button: "s:<action>:<ticket>[:<arg>]" (well under 64 bytes)."""
    return f"{STAFF_PREFIX}:{action}:{ticket_id}" + (f":{arg}" if arg else "")


def parse_staff_data(data: str | None) -> tuple[str, int, str] | None:
    """Decode a staff button; None when it is not one."""
    if not data or not data.startswith(STAFF_PREFIX + ":") or len(data.encode()) > 64:
        return None
    parts = data.split(":", 3)
    if len(parts) < 3 or not parts[2].isdigit():
        return None
    return parts[1], int(parts[2]), parts[3] if len(parts) > 3 else ""


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
                "text": _plain(t(e.lang, e.key, **_escaped(e.values)))[:200]})


def _escaped(values: Any) -> dict[str, Any]:
    return {k: esc(v) if isinstance(v, str) else v for k, v in dict(values).items()}


def _plain(text: str) -> str:
    # Alerts are plain text: our catalog HTML is only <b>/<i>, and values were escaped.
    return html.unescape(_TAG.sub("", text))


def _keyboard(e_lang: str, rows: tuple[tuple[so.Button, ...], ...]) -> list[list[dict[str, str]]]:
    kb = []
    for row in rows:
        line = []
        for b in row:
            label = b.label if b.label is not None else t(e_lang, b.label_key)
            data = (cb.make(b.action, b.ticket_id) if b.for_customer
                    else staff_data(b.action, b.ticket_id, b.arg))
            line.append({"text": label[:64], "callback_data": data})
        kb.append(line)
    return kb


def _say(out: OutboxRepo, e: so.Say) -> None:
    text = t(e.lang, e.key, **_escaped(e.values))
    if visible_len(text) > MAX_TEXT:
        text = esc(clip(_plain(text), MAX_TEXT - 50, e.lang))
    send_text(out, e.chat_id, text,
              keyboard=_keyboard(e.lang, e.buttons) if e.buttons else None,
              reply_markup={"force_reply": True, "selective": True} if e.force_reply else None,
              thread_id=e.thread_id, ticket_id=e.ticket_id, purpose=e.purpose,
              reply_to=e.reply_to)


def _relay(out: OutboxRepo, e: so.Relay) -> None:
    header = t(e.lang, "customer.relay_header", name=esc(e.author))
    body = esc(e.text) if e.text else ""
    p: dict[str, Any] = {"chat_id": e.chat_id, "parse_mode": "HTML"}
    thread_and_reply(p, None, e.reply_to)
    if e.kind == "text" or not e.file_id:
        p["text"] = header + "\n" + esc(clip(e.text or "", MAX_TEXT - 100, e.lang))
        method = "sendMessage"
    else:
        method = {"photo": "sendPhoto", "document": "sendDocument",
                  "voice": "sendVoice"}.get(e.kind, "sendDocument")
        p[{"sendPhoto": "photo", "sendDocument": "document", "sendVoice": "voice"}[method]] = \
            e.file_id
        p["caption"] = header + ("\n" + esc(clip(e.text or "", 900, e.lang)) if body else "")
    out.enqueue(e.chat_id, method, p, ticket_id=e.ticket_id, purpose=e.purpose)


_MARKS = {"note": "📝", "out": "→", "in": "←"}
_CHUNK = 3000  # characters of transcript per message, well under Telegram's 4096


def _transcript(out: OutboxRepo, e: so.Transcript) -> None:
    """The transcript in as many messages as it needs, oldest first."""
    customer = t(e.lang, "staff.history_customer")
    lines = [f"{x.at:%m-%d %H:%M} {_MARKS.get(x.direction, '·')} {x.author or customer}: "
             f"{x.text or '[' + x.kind + ']'}"[:_CHUNK] for x in e.lines] or ["—"]
    chunks, cur = [], ""
    for line in lines:
        if cur and len(cur) + len(line) > _CHUNK:
            chunks.append(cur)
            cur = ""
        cur += line + "\n"
    chunks.append(cur)
    for i, chunk in enumerate(chunks, 1):
        _say(out, so.Say(e.chat_id, "staff.history",
                         {"ref": e.ref, "part": i, "parts": len(chunks), "text": chunk.rstrip()},
                         e.lang, thread_id=e.thread_id, ticket_id=e.ticket_id))


def card_text(v: so.CardView, lang: str) -> str:
    """The ticket card: everything a steward needs, the customer's own words included."""
    def at(d: datetime | None) -> str:
        return d.strftime("%Y-%m-%d %H:%M") if d else "—"

    lines = [t(lang, "staff.card.title", ref=esc(v.ref), category=esc(v.category)),
             t(lang, "staff.card.state", status=t(lang, f"staff.status.{v.status}"),
               level=v.level, assignee=esc(v.assignee) if v.assignee
               else t(lang, "staff.card.unclaimed")),
             t(lang, "staff.card.customer", name=esc(v.customer_name), phone=esc(v.masked_phone)),
             t(lang, "staff.card.outcome", outcome=esc(v.outcome)),
             t(lang, "staff.card.deadlines", first=at(v.first_response_due), reply=at(v.reply_due))]
    lines += [f"{esc(k)}: {esc(x)}" for k, x in v.extra.items()]
    if v.about:
        lines.append(t(lang, "staff.card.about", name=esc(v.about)))
    elif v.about_text:
        lines.append(t(lang, "staff.card.about_unmatched", text=esc(v.about_text)))
    if v.previous_ref or v.repeat_count:
        lines.append(t(lang, "staff.card.repeat", ref=esc(v.previous_ref or "—"),
                       count=v.repeat_count))
    if v.unreachable:
        lines.append(t(lang, "staff.card.unreachable"))
    if v.mentions:
        lines.append(t(lang, "staff.card.routed") + " " + ", ".join(
            f'<a href="tg://user?id={i}">{esc(n)}</a>' for i, n in v.mentions))
    head = "\n".join(lines) + "\n" + t(lang, "staff.card.facts") + "\n"
    room = MAX_TEXT - visible_len(head) - 20
    return head + esc(clip(v.facts, max(room, 100), lang))


def _card(out: OutboxRepo, e: so.Card) -> None:
    buttons = (handoff.dm_card_buttons if e.purpose == handoff.DM_CARD
               else handoff.card_buttons)(e.view.ticket_id, e.view.status)
    p: dict[str, Any] = {"chat_id": e.chat_id, "text": card_text(e.view, e.lang),
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
