""""When did it happen?": the date/time forms customers actually type, in the local zone."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timedelta

# A few minutes of slack: the customer's phone clock and ours need not agree.
_FUTURE_SLACK = timedelta(minutes=10)
_RELATIVE = {"今天": 0, "today": 0, "昨天": 1, "yesterday": 1, "前天": 2}
_DATE = re.compile(r"^(?:(\d{4})[-/.年])?(\d{1,2})[-/.月](\d{1,2})[日号]?$")
_ISO_T = re.compile(r"(\d)t(\d)")
_TIME = re.compile(r"^(\d{1,2})(?:[:：点时](\d{1,2})?分?)?$")


class WhenError(ValueError):
    """Not a moment we can read; `reason` is "datetime" (unreadable) or "future"."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def parse_when(text: str, now_local: datetime) -> datetime:
    """Read "2026-03-01 14:30", "3月1日 14点", "昨天 20:00", "today"; naive local time."""
    # NFKC folds the full-width digits and colons Chinese IMEs produce.
    s = unicodedata.normalize("NFKC", text).strip().lower()
    if not s or len(s) > 40:
        raise WhenError("datetime")
    day_part, _, time_part = _ISO_T.sub(r"\1 \2", s).partition(" ")
    day_part, time_part = day_part.strip(), time_part.strip()
    for word in _RELATIVE:
        if day_part.startswith(word) and not time_part:
            day_part, time_part = word, day_part[len(word):].strip()
    day = _day(day_part, now_local)
    hour, minute = _time(time_part) if time_part else (0, 0)
    try:
        at = day.replace(hour=hour, minute=minute, second=0, microsecond=0)
    except ValueError:
        raise WhenError("datetime") from None
    if at > now_local.replace(tzinfo=None) + _FUTURE_SLACK:
        raise WhenError("future")
    return at


def _day(s: str, now_local: datetime) -> datetime:
    today = now_local.replace(tzinfo=None, hour=0, minute=0, second=0, microsecond=0)
    if s in _RELATIVE:
        return today - timedelta(days=_RELATIVE[s])
    m = _DATE.match(s)
    if not m:
        raise WhenError("datetime")
    year = int(m.group(1)) if m.group(1) else today.year
    try:
        day = today.replace(year=year, month=int(m.group(2)), day=int(m.group(3)))
    except ValueError:
        raise WhenError("datetime") from None
    if not m.group(1) and day > today:
        # "12-30" typed in January means last December, not a date still to come.
        day = day.replace(year=year - 1)
    return day


def _time(s: str) -> tuple[int, int]:
    for prefix, shift in (("上午", 0), ("早上", 0), ("下午", 12), ("晚上", 12)):
        if s.startswith(prefix):
            h, mins = _time(s[len(prefix):])
            return (h + shift if h < 12 else h), mins
    m = _TIME.match(s)
    if not m:
        raise WhenError("datetime")
    hour, minute = int(m.group(1)), int(m.group(2) or 0)
    if hour > 23 or minute > 59:
        raise WhenError("datetime")
    return hour, minute
