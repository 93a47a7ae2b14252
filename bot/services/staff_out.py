"""What staff-side services ask to be sent: plain data the handlers render (no Telegram types)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Button:
    """An inline button: a catalog label and the staff action it triggers on a ticket."""

    label_key: str
    action: str
    ticket_id: int
    arg: str = ""
    label: str | None = None  # a literal label (a person's name) instead of the catalog one
    for_customer: bool = False  # a button in the customer's chat (customer callback data)


@dataclass(frozen=True)
class Phrase:
    """A catalog text used as the value of another, rendered in that text's language (a reason
    such as "the customer mentions 媒体" inside an alert); its own values are escaped too."""

    key: str
    values: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Say:
    """A catalog text to a chat; `values` are raw text, escaped when rendered."""

    chat_id: int
    key: str
    values: Mapping[str, Any] = field(default_factory=dict)
    lang: str = "zh_CN"
    thread_id: int | None = None
    buttons: tuple[tuple[Button, ...], ...] = ()
    ticket_id: int | None = None
    purpose: str | None = None
    reply_to: int | None = None
    force_reply: bool = False


@dataclass(frozen=True)
class Copy:
    """Copy a message from one chat to another (the customer's words into the topic)."""

    chat_id: int
    from_chat_id: int
    message_id: int
    thread_id: int | None = None
    ticket_id: int | None = None
    purpose: str | None = None
    reply_to: int | None = None


@dataclass(frozen=True)
class Relay:
    """A steward's message to the customer, under the steward's display name."""

    chat_id: int
    author: str
    kind: str  # text | photo | document | voice
    text: str | None
    file_id: str | None
    lang: str
    ticket_id: int
    purpose: str
    reply_to: int | None = None


@dataclass(frozen=True)
class CardView:
    """Everything the ticket card in the staff chat shows."""

    ticket_id: int
    ref: str
    category: str
    facts: str
    outcome: str
    extra: Mapping[str, str]
    first_response_due: datetime | None
    reply_due: datetime | None
    customer_name: str
    masked_phone: str
    status: str
    level: int
    previous_ref: str | None = None
    assignee: str | None = None
    about: str | None = None
    about_text: str | None = None  # named by the customer, matching nobody on the roster
    mentions: tuple[tuple[int, str], ...] = ()
    repeat_count: int = 0
    unreachable: bool = False
    major: Phrase | None = None  # why the ticket is major (重大投诉); None: it is not
    vip: bool = False  # the customer is marked VIP
    review_by: str | None = None  # the steward whose resolution awaits review (审核)


@dataclass(frozen=True)
class Card:
    """Post (or, with message_id, edit) a ticket card."""

    chat_id: int
    view: CardView
    lang: str
    thread_id: int | None = None
    message_id: int | None = None
    purpose: str | None = None  # None: the ticket's card in its staff chat


@dataclass(frozen=True)
class Call:
    """A Bot API call with ready parameters (forum topics)."""

    chat_id: int
    method: str
    params: Mapping[str, Any]
    ticket_id: int | None = None
    purpose: str | None = None


@dataclass(frozen=True)
class Alert:
    """The answer to a button press (an alert when refused)."""

    chat_id: int
    query_id: str
    key: str
    values: Mapping[str, Any] = field(default_factory=dict)
    lang: str = "zh_CN"
    alert: bool = False
    ticket_id: int | None = None  # where to say it if the answer comes too late


@dataclass(frozen=True)
class TranscriptLine:
    """One line of a ticket's transcript; `author` None is the customer."""

    at: datetime
    direction: str  # in | out | note
    author: str | None
    text: str | None
    kind: str


@dataclass(frozen=True)
class Transcript:
    """The whole transcript of a ticket, shown in its topic (/history)."""

    chat_id: int
    ref: str
    lines: tuple[TranscriptLine, ...]
    lang: str
    thread_id: int | None = None
    ticket_id: int | None = None


Effect = Say | Copy | Relay | Card | Call | Alert | Transcript
