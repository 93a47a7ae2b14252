"""The ticket's customer-typable reference and what of its history a customer may see.

Its status machine is bot.domain.lifecycle."""

from __future__ import annotations

import secrets
from datetime import date

from bot.domain.vocabulary import Event

# History events shown to the customer by /ticket; staff notes and routing stay internal.
CUSTOMER_VISIBLE_EVENTS = frozenset({
    Event.FILED, Event.STATUS_CHANGED, Event.URGED, Event.CUSTOMER_MESSAGE,
    Event.LINKED_PREVIOUS, Event.REPLY_SENT, Event.RESOLVED, Event.CLOSED, Event.WITHDRAWN,
    Event.REOPENED, Event.PROGRESS_SENT, Event.ESCALATED, Event.FOLLOW_UP_SENT,
    Event.FOLLOW_UP_ANSWERED, Event.REPEAT_JOINED,
})

# No 0/O, 1/I/L, 2/Z, 5/S, 8/B: a reference read aloud over the phone must not be ambiguous.
_ALPHABET = "34679ACDEFGHJKMNPQRTUVWXY"
_RANDOM_CHARS = 5


def new_ref(day: date, token: str | None = None) -> str:
    """A short reference such as "260312-K7Q3M": the local filing date plus random characters."""
    # Random rather than sequential so references do not reveal volumes; 25**5 ≈ 9.8 million
    # per day makes a collision rare, and the unique column turns one into a retried update.
    token = token or "".join(secrets.choice(_ALPHABET) for _ in range(_RANDOM_CHARS))
    return f"{day:%y%m%d}-{token}"


def normalise_ref(text: str) -> str:
    """A reference as typed ("260312 k7q3m", "#260312-K7Q3M") in its stored form."""
    s = "".join(ch for ch in text.strip().upper() if ch.isalnum() and ch.isascii())
    return f"{s[:6]}-{s[6:]}" if len(s) > 6 else s
