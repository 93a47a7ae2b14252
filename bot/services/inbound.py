"""A customer's update as the services see it: parsed once by the handler, no Telegram types."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Inbound:
    """One message, command or button press from a customer in their private chat."""

    chat_id: int
    user_id: int
    first_name: str
    username: str | None
    language_code: str | None
    # text | photo | document | contact | sticker | voice | other | command | button
    kind: str
    text: str | None = None  # the text, a caption, or a command's arguments
    file_id: str | None = None
    phone: str | None = None
    message_id: int | None = None
    command: str | None = None  # start | cancel | language | status | ticket
    action: str | None = None  # a button's action (or "back"/"cancel" typed on a keyboard)
    arg: str = ""
    query_id: str | None = None
    reply_to: int | None = None  # the message (in the customer's chat) this one answers

    @property
    def is_button(self) -> bool:
        """True for an inline button press."""
        return self.query_id is not None
