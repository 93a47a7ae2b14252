"""A staff member's update as the services see it: parsed once by the handler."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StaffInbound:
    """A message, command or button press in a staff chat (or a staff button anywhere)."""

    user_id: int
    name: str
    chat_id: int
    kind: str  # text | photo | document | voice | command | button | other
    thread_id: int | None = None
    message_id: int | None = None
    text: str | None = None  # text, caption, or a command's arguments
    file_id: str | None = None
    reply_to: int | None = None
    command: str | None = None
    action: str | None = None  # a button's action
    ticket_id: int | None = None  # named by the button: untrusted until checked
    arg: str = ""
    query_id: str | None = None
