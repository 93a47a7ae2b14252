"""Repeat complaints (重复投诉, PROCESS.md §4): which earlier tickets a complaint may be the same
matter as, how many times a matter has been complained about, and the level that sends it to.

`repeat_count` on a ticket counts the times the customer came back about its matter: 0 for a
first complaint, 1 for the second (the manager's level), 2 or more for the third and later (the
committee's).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain.follow_up import repeat_level
from bot.domain.lifecycle import ACTIVE, CLOSED, RESOLVED
from bot.domain.vocabulary import Status

# Dealt with, but the matter may come back: offered within the configured window.
RECENTLY_FINISHED = frozenset({RESOLVED, CLOSED})
# The statuses a ticket may be in to be the same matter as a new complaint (a withdrawn one is
# the customer's own decision to stop: it is linked at the "complained before?" step instead).
SAME_MATTER_STATUSES = ACTIVE | RECENTLY_FINISHED
MAX_OFFERED = 3  # buttons in one question: more is a list to read, not a choice


@dataclass(frozen=True)
class Earlier:
    """One of the customer's tickets, as the repeat rules need it."""

    id: int
    category: str
    status: Status
    created_at: datetime
    finished_at: datetime | None  # when it was resolved or closed; None while active


def finished_at(status: Status | str, resolved_at: datetime | None, closed_at: datetime | None,
                updated_at: datetime) -> datetime | None:
    """When a resolved or closed ticket was dealt with (None for any other status); the last
    change stands in for a time that was not recorded."""
    if status == CLOSED:
        return closed_at or resolved_at or updated_at
    if status == RESOLVED:
        return resolved_at or updated_at
    return None


def same_matter(tickets: Iterable[Earlier], now: datetime, window: timedelta,
                category: str | None = None, declined: Collection[int] = ()) -> list[Earlier]:
    """The tickets a new complaint may be the same matter as, newest first, at most
    MAX_OFFERED: active ones, and resolved or closed ones dealt with within `window`; of
    `category` when it is known; never one the customer already said is something else."""
    def fits(e: Earlier) -> bool:
        if e.id in declined or (category is not None and e.category != category):
            return False
        if e.status in ACTIVE:
            return True
        return (e.status in RECENTLY_FINISHED and e.finished_at is not None
                and now - e.finished_at <= window)

    found = sorted((e for e in tickets if fits(e)), key=lambda e: (e.created_at, e.id),
                   reverse=True)
    return found[:MAX_OFFERED]


def level_for(repeat_count: int) -> int:
    """The ladder level a matter complained about `repeat_count` times before goes to: the 2nd
    complaint to the manager (2), the 3rd and later to the committee (3); a first, 0."""
    return repeat_level(repeat_count)  # one rule, whichever way the customer came back


def count_for_new(earlier_count: int | None, ignored: bool) -> int:
    """The repeat count of a new ticket: one more than the earlier ticket the customer picked
    (`earlier_count`, None when they picked none), 1 when they say an earlier complaint was
    never handled, else 0."""
    if earlier_count is not None:
        return earlier_count + 1
    return 1 if ignored else 0
