"""Quiet hours for what a timer sends customers unasked (PROCESS.md §5: no messages at night)."""

from __future__ import annotations

from datetime import datetime

from bot.services.desk import Desk
from storage.models import Timer
from storage.uow import UnitOfWork


def held_for_morning(uow: UnitOfWork, desk: Desk, timer: Timer, now: datetime) -> bool:
    """True when `now` is in the desk's quiet hours: the same timer is set again for when they
    end, and the caller sends nothing now (staff alerts never ask this)."""
    morning = desk.calendar.after_quiet(now, desk.quiet)
    if morning <= now:
        return False
    uow.repos.timers.again(timer, morning, now)
    return True
