"""Group incidents (群体性投诉, PROCESS.md §4): many complaints on one matter in a short time.

The rule: when a ticket is filed and, counting it, at least `threshold` tickets of one category
(and one area, when the ticket names one) were filed within `window`, they make an incident.
While the incident is open, a later ticket of the same category and area joins it if it comes
within `window` of the incident's newest ticket — a storm that goes on stays one incident (one
crisis alert, one answer for all) instead of opening a new one every two hours.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

# A single complaint is not a group: below this the rule would fire on every ticket.
MIN_THRESHOLD = 2


@dataclass(frozen=True)
class Rule:
    """How many tickets within how long make an incident; threshold 0 turns detection off."""

    threshold: int = 5
    window: timedelta = timedelta(hours=2)
    by_area: bool = True  # False: one category is one matter whatever area the tickets name

    def __post_init__(self) -> None:
        """A threshold of one would make every ticket an incident."""
        if self.threshold and self.threshold < MIN_THRESHOLD:
            raise ValueError(f"threshold must be 0 (off) or at least {MIN_THRESHOLD}")
        if self.window <= timedelta(0):
            raise ValueError("window must be longer than zero")

    def key(self, category: str, area: str | None) -> tuple[str, str | None]:
        """What two tickets must share to be about one matter."""
        return category, area_key(area) if self.by_area else None


def area_key(area: str | None) -> str | None:
    """An area as compared: spacing and case do not make two areas different."""
    if area is None:
        return None
    folded = " ".join(area.split()).casefold()
    return folded or None


@dataclass(frozen=True)
class Filed:
    """A ticket as the rule sees it: which matter and when it was filed."""

    ticket_id: int
    category: str
    area: str | None
    at: datetime


@dataclass(frozen=True)
class OpenIncident:
    """An incident still open: its matter and when its newest ticket was filed."""

    incident_id: int
    category: str
    area: str | None
    last_at: datetime


@dataclass(frozen=True)
class Outcome:
    """What a new ticket does: join an open incident, open one with these tickets, or neither."""

    joins: int | None = None
    opens_with: tuple[int, ...] = ()


NOTHING = Outcome()


def joins(rule: Rule, new: Filed, incident: OpenIncident) -> bool:
    """Whether a new ticket belongs to an open incident: same matter, within the window of
    its newest ticket."""
    return (rule.key(new.category, new.area) == rule.key(incident.category, incident.area)
            and timedelta(0) <= new.at - incident.last_at <= rule.window)


def cluster(rule: Rule, new: Filed, unlinked: Sequence[Filed]) -> tuple[int, ...]:
    """The tickets (oldest first, `new` last) that make an incident with `new`: those of its
    matter filed within the window up to it, when they are at least `threshold`; () else.

    `unlinked` are recent tickets in no incident yet (`new` among them or not); the window's
    start is inclusive: a ticket filed exactly `window` before counts.
    """
    if not rule.threshold:
        return ()
    key = rule.key(new.category, new.area)
    since = new.at - rule.window
    ids = [f.ticket_id for f in sorted(unlinked, key=lambda f: (f.at, f.ticket_id))
           if f.ticket_id != new.ticket_id and rule.key(f.category, f.area) == key
           and since <= f.at <= new.at]
    ids.append(new.ticket_id)
    return tuple(ids) if len(ids) >= rule.threshold else ()


def decide(rule: Rule, new: Filed, open_incidents: Sequence[OpenIncident],
           unlinked: Sequence[Filed]) -> Outcome:
    """What a newly filed ticket does: join the open incident of its matter (the most recent
    one, should there be several), else open one if it completes a cluster, else nothing."""
    if not rule.threshold:
        return NOTHING
    fitting = [i for i in open_incidents if joins(rule, new, i)]
    if fitting:
        return Outcome(joins=max(fitting, key=lambda i: (i.last_at, i.incident_id)).incident_id)
    return Outcome(opens_with=cluster(rule, new, unlinked))
