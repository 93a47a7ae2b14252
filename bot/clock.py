"""Time is injected: services take a Clock so tests and the sandbox can move it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


class Clock:
    """The real clock; `FrozenClock` in tests."""

    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        return utcnow()


class FrozenClock(Clock):
    """A clock that moves only when told to."""

    def __init__(self, at: datetime) -> None:
        self._at = at

    def now(self) -> datetime:
        """The frozen time."""
        return self._at

    def advance(self, delta: timedelta) -> None:
        """Move the clock forward."""
        self._at += delta
