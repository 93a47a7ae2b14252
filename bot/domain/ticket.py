"""The ticket's status machine, its customer-typable reference, and what a customer may see."""

from __future__ import annotations

import secrets
from datetime import date

OPEN = "open"
ASSIGNED = "assigned"
WAITING_ON_CUSTOMER = "waiting_on_customer"
RESOLVED = "resolved"
CLOSED = "closed"
WITHDRAWN = "withdrawn"

STATUSES = (OPEN, ASSIGNED, WAITING_ON_CUSTOMER, RESOLVED, CLOSED, WITHDRAWN)

# The whole lifecycle in one table (DESIGN.md "Ticket status"): anything not listed is illegal.
TRANSITIONS: dict[str, frozenset[str]] = {
    OPEN: frozenset({ASSIGNED, WITHDRAWN}),
    ASSIGNED: frozenset({WAITING_ON_CUSTOMER, RESOLVED, OPEN, WITHDRAWN}),
    WAITING_ON_CUSTOMER: frozenset({ASSIGNED, RESOLVED, WITHDRAWN}),
    RESOLVED: frozenset({CLOSED, OPEN}),  # back to open = reopened as a repeat
    CLOSED: frozenset(),
    WITHDRAWN: frozenset(),
}

# Statuses in which the customer is still waiting for us: messages join the ticket, urging works.
ACTIVE = frozenset({OPEN, ASSIGNED, WAITING_ON_CUSTOMER})

# History events shown to the customer by /ticket; staff notes and routing stay internal.
CUSTOMER_VISIBLE_EVENTS = frozenset({
    "filed", "status_changed", "urged", "customer_message", "linked_previous", "reply_sent",
    "resolved", "closed", "withdrawn", "reopened",
})

# History events of this record-keeping (the older ones are still literals at their
# call sites). A customer changed the wording of a message (before and after kept), and a
# customer pressed a button for a ticket that is not theirs (who pressed, never what they wrote).
CUSTOMER_EDITED = "customer_edited"
FOREIGN_BUTTON = "foreign_button"

# No 0/O, 1/I/L, 2/Z, 5/S, 8/B: a reference read aloud over the phone must not be ambiguous.
_ALPHABET = "34679ACDEFGHJKMNPQRTUVWXY"
_RANDOM_CHARS = 5


class IllegalTransition(ValueError):
    """A status change the lifecycle does not allow."""


def transition(current: str, new: str) -> str:
    """Check a status change against the table; return the new status or raise."""
    if new not in TRANSITIONS.get(current, frozenset()):
        raise IllegalTransition(f"a ticket cannot go from {current!r} to {new!r}")
    return new


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
