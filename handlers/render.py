"""All texts and keyboards: turns service results into outbox calls (never sends directly)."""

from __future__ import annotations

import html
from typing import Any

from bot.i18n import t
from storage.repositories import OutboxRepo


def esc(text: str | None) -> str:
    """Escape text a person typed for parse_mode=HTML."""
    return html.escape(text or "", quote=False)


def send_text(out: OutboxRepo, chat_id: int, text: str, *,
              keyboard: list[list[dict[str, Any]]] | None = None,
              thread_id: int | None = None, ticket_id: int | None = None,
              purpose: str | None = None) -> None:
    """Queue an HTML message, with an inline keyboard if given."""
    payload: dict[str, Any] = {"chat_id": chat_id, "text": text, "parse_mode": "HTML"}
    if keyboard:
        payload["reply_markup"] = {"inline_keyboard": keyboard}
    if thread_id:
        payload["message_thread_id"] = thread_id
    out.enqueue(chat_id, "sendMessage", payload, ticket_id=ticket_id, purpose=purpose)


def greeting(out: OutboxRepo, chat_id: int, lang: str, first_name: str) -> None:
    """The /start greeting."""
    send_text(out, chat_id, t(lang, "start.greeting", name=esc(first_name)))


def not_understood(out: OutboxRepo, chat_id: int, lang: str) -> None:
    """A friendly answer to anything the bot cannot place."""
    send_text(out, chat_id, t(lang, "common.not_understood"))
