"""What a service decided to tell the customer; handlers/render.py turns these into messages.

Services choose *what* to say (a catalog key, a step to ask, a ticket to show); the texts and
keyboards live in render and the catalogs. Times are already in the configured local zone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.domain.vocabulary import Purpose


@dataclass(frozen=True)
class Note:
    """A catalog text; `values` are escaped when rendered (they may hold customer text)."""

    key: str
    values: dict[str, Any] = field(default_factory=dict)
    remove_keyboard: bool = False  # take away the phone step's reply keyboard


@dataclass(frozen=True)
class Menu:
    """The main menu: File a complaint · My tickets · Language."""

    key: str = "menu.prompt"


@dataclass(frozen=True)
class Greeting:
    """The /start greeting with the menu."""

    first_name: str
    resume: bool = False  # an unfinished complaint is waiting


@dataclass(frozen=True)
class Languages:
    """The language picker."""


@dataclass(frozen=True)
class EarlierTicket:
    """One of the customer's tickets, as a button label needs it."""

    id: int
    ref: str
    category: str


# The outbox purpose of the listening prompt: its "That's all" button moves to the newest one.
LISTEN_PROMPT = Purpose.LISTEN_PROMPT


@dataclass(frozen=True)
class Prompt:
    """Ask for a step of the intake (with a retry reason when the last answer was refused)."""

    step: str
    answers: dict[str, Any]
    error: str | None = None
    hints: dict[str, Any] = field(default_factory=dict)
    first_name: str = ""
    earlier: tuple[EarlierTicket, ...] = ()
    reaction: int = 0  # the n-th reaction while listening to the story (0: the first ask)
    # Said before the question in the same message (one message per turn).
    lead: Note | None = None


@dataclass(frozen=True)
class Typing:
    """Show "typing…" at once: the bot is listening, its reaction comes when they pause."""


@dataclass(frozen=True)
class DropButtons:
    """Take the buttons off one of the bot's earlier messages (the older listening prompt)."""

    message_id: int


@dataclass(frozen=True)
class Ack:
    """The acknowledgement: apology, thanks, reference and the promised times."""

    ref: str
    category: str
    first_response_due: datetime
    reply_due: datetime


@dataclass(frozen=True)
class TicketRow:
    """A ticket in the customer's list."""

    id: int
    ref: str
    category: str
    status: str
    next_due: datetime | None
    active: bool


@dataclass(frozen=True)
class TicketList:
    """/status and "My tickets"."""

    tickets: tuple[TicketRow, ...]


@dataclass(frozen=True)
class HistoryLine:
    """One event of a ticket's history as the customer may see it."""

    at: datetime
    event: str
    details: dict[str, Any]


@dataclass(frozen=True)
class TicketDetail:
    """/ticket REF: one ticket with its visible history."""

    row: TicketRow
    facts: str
    history: tuple[HistoryLine, ...]


@dataclass(frozen=True)
class ChooseTicket:
    """Several open tickets: which one does this message belong to?"""

    tickets: tuple[TicketRow, ...]


@dataclass(frozen=True)
class CallbackAnswer:
    """Answer a button press (always, so the client stops its spinner)."""

    query_id: str
    key: str | None = None


@dataclass(frozen=True)
class Withdrawal:
    """A step of withdrawing a ticket: ask why, ask for their words, or confirm."""

    step: str  # ask | ask_text | confirm
    ticket_id: int
    ref: str
    reason: str | None = None  # a WithdrawReason (confirm)
    text: str | None = None  # their own words (confirm, reason "other")


View = Note | Menu | Greeting | Languages | Prompt | Ack | TicketList | TicketDetail \
    | ChooseTicket | CallbackAnswer | DropButtons | Typing | Withdrawal


@dataclass
class Reply:
    """Everything to send for one update or timer, in order, in the customer's language."""

    lang: str
    views: list[View] = field(default_factory=list)
    # What the update causes on the staff side (topic, card, copies), rendered after the views.
    staff: list[Any] = field(default_factory=list)

    def add(self, *views: View) -> Reply:
        """Append views; returns self for chaining."""
        self.views.extend(views)
        return self
