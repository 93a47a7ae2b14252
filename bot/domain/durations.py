"""Durations as written in configuration: "5s", "30m", "1h30m", "7d", "2 working days"."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_ELAPSED = re.compile(r"^(?:\s*(\d+)\s*([smhdw]))+\s*$")
_PART = re.compile(r"(\d+)\s*([smhdw])")
_WORKING = re.compile(r"^\s*(\d+)\s+working\s+(day|days|hour|hours)\s*$")


@dataclass(frozen=True)
class Duration:
    """A span of either elapsed time or business time (working days/hours)."""

    elapsed: timedelta = timedelta(0)
    working_days: int = 0
    working_hours: int = 0

    @property
    def is_working(self) -> bool:
        """True when the span counts only business time on working days."""
        return bool(self.working_days or self.working_hours)

    def __str__(self) -> str:
        if self.working_days:
            return f"{self.working_days} working day{'s' if self.working_days != 1 else ''}"
        if self.working_hours:
            return f"{self.working_hours} working hour{'s' if self.working_hours != 1 else ''}"
        return f"{int(self.elapsed.total_seconds())}s"


def parse_duration(text: str) -> Duration:
    """Parse a configured duration; raise ValueError with an example when it is not one."""
    s = str(text).strip().lower()
    m = _WORKING.match(s)
    if m:
        n, unit = int(m.group(1)), m.group(2)
        if n <= 0:
            raise ValueError(f"{text!r} must be more than zero")
        return Duration(working_days=n) if unit.startswith("day") else Duration(working_hours=n)
    if _ELAPSED.match(s):
        seconds = sum(int(n) * _UNITS[u] for n, u in _PART.findall(s))
        if seconds <= 0:
            raise ValueError(f"{text!r} must be more than zero")
        return Duration(elapsed=timedelta(seconds=seconds))
    raise ValueError(
        f"{text!r} is not a duration; "
        'write e.g. "5s", "30m", "1h30m", "7d" or "2 working days"'
    )
