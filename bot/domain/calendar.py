"""The business calendar: which days are working days and when a promised deadline falls.

Deadlines are promises made to customers ("we will answer within 2 working days"), so they are
computed here, in pure code, from the configured zone, business hours and holiday calendar.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import chinese_calendar
import holidays

from bot.domain.durations import Duration

_log = logging.getLogger(__name__)

# Saturday and Sunday; used for CN and whenever a library has no data for a year.
_DEFAULT_WEEKEND = frozenset({5, 6})
# More consecutive non-working days than this means the configuration can never reach a
# working day (e.g. every day listed as an extra holiday); fail instead of looping forever.
_MAX_NON_WORKING_RUN = 366


@dataclass(frozen=True)
class BusinessHours:
    """The daily window, in the calendar's local zone, in which business time runs."""

    start: time = time(9, 0)
    end: time = time(18, 0)

    def __post_init__(self) -> None:
        # Overnight windows would make a "business day" span two dates; nobody asked for it
        # and it would complicate every computation below, so refuse it at start-up.
        if self.start >= self.end:
            raise ValueError(
                f"business hours must start before they end, got {self.start:%H:%M}"
                f"–{self.end:%H:%M}"
            )
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("business hours are local wall-clock times; give them without a zone")

    @property
    def length(self) -> timedelta:
        """How much business time one working day holds."""
        return datetime.combine(date.min, self.end) - datetime.combine(date.min, self.start)


class BusinessCalendar:
    """Working days, business hours and deadline arithmetic for one zone and country."""

    def __init__(
        self,
        tz: str = "Asia/Shanghai",
        country: str = "CN",
        hours: BusinessHours = BusinessHours(),  # noqa: B008 - frozen, so sharing it is safe
        extra_holidays: Iterable[date] = (),
        extra_working_days: Iterable[date] = (),
        warn: Callable[[str], None] | None = None,
    ) -> None:
        try:
            self.tz = ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {tz!r}") from exc
        self.country = country.strip().upper()
        self.hours = hours
        self._extra_holidays = frozenset(extra_holidays)
        self._extra_working_days = frozenset(extra_working_days)
        both = self._extra_holidays & self._extra_working_days
        if both:
            listed = ", ".join(sorted(d.isoformat() for d in both))
            raise ValueError(f"dates listed both as extra holiday and extra working day: {listed}")
        self._warn = warn if warn is not None else _log.warning
        self._warned_years: set[int] = set()
        self._cache: dict[date, bool] = {}
        self._holidays: holidays.HolidayBase | None = None
        self._weekend = _DEFAULT_WEEKEND
        if self.country != "CN":
            # "GB-ENG" style codes select a subdivision (England's bank holidays differ from
            # Scotland's); a bare code gives the holidays the whole country shares.
            code, _, subdiv = self.country.partition("-")
            try:
                self._holidays = holidays.country_holidays(code, subdiv=subdiv or None)
            except NotImplementedError as exc:
                raise ValueError(f"no holiday calendar for country {country!r}") from exc
            # Some countries rest on Friday/Saturday; the library knows which.
            self._weekend = frozenset(getattr(self._holidays, "weekend", _DEFAULT_WEEKEND))

    # -- days -----------------------------------------------------------------------------

    def is_working_day(self, d: date) -> bool:
        """True when `d` is a working day (config overrides first, then the country calendar)."""
        if d in self._extra_working_days:
            return True
        if d in self._extra_holidays:
            return False
        cached = self._cache.get(d)
        if cached is None:
            cached = self._cache[d] = self._library_working_day(d)
        return cached

    def _library_working_day(self, d: date) -> bool:
        if self._holidays is None:
            try:
                # chinesecalendar encodes the State Council notices, including 调休 make-up
                # working days on weekends, which no rule-based library can derive.
                return bool(chinese_calendar.is_workday(d))
            except NotImplementedError:
                return self._fallback(d, "chinesecalendar")
        start = getattr(self._holidays, "start_year", None)
        end = getattr(self._holidays, "end_year", None)
        if (start is not None and d.year < start) or (end is not None and d.year > end):
            return self._fallback(d, "holidays")
        return d.weekday() not in self._weekend and d not in self._holidays

    def _fallback(self, d: date, library: str) -> bool:
        # A deadline must still be computable when the library is out of date (a new year's
        # notice not yet packaged), so count weekdays only, and say so once per year rather
        # than on every lookup.
        if d.year not in self._warned_years:
            self._warned_years.add(d.year)
            self._warn(
                f"{library} has no {self.country} holiday data for {d.year}; counting Monday to"
                f" Friday as working days that year (add extra_holidays / extra_working_days to"
                f" the calendar configuration, or upgrade {library})"
            )
        return d.weekday() not in self._weekend

    def _next_working_day(self, d: date) -> date:
        """The first working day strictly after `d`."""
        for offset in range(1, _MAX_NON_WORKING_RUN + 1):
            candidate = d + timedelta(days=offset)
            if self.is_working_day(candidate):
                return candidate
        raise ValueError(f"no working day within {_MAX_NON_WORKING_RUN} days after {d}")

    # -- moments --------------------------------------------------------------------------

    def local(self, at: datetime) -> datetime:
        """Convert an aware datetime to the configured zone (for display and day boundaries)."""
        _require_aware(at)
        return at.astimezone(self.tz)

    def _next_working_wall(self, wall: datetime) -> datetime:
        """First naive local moment at or after `wall` that lies inside business hours."""
        d, t = wall.date(), wall.time()
        if self.is_working_day(d):
            if t < self.hours.start:
                return datetime.combine(d, self.hours.start)
            if t < self.hours.end:
                return wall
        return datetime.combine(self._next_working_day(d), self.hours.start)

    def next_working_moment(self, at: datetime) -> datetime:
        """The first moment at or after `at` inside business hours on a working day (UTC)."""
        wall = self.local(at).replace(tzinfo=None)
        return self._to_utc(self._next_working_wall(wall))

    def add(self, start: datetime, duration: Duration) -> datetime:
        """The deadline `duration` after `start` (aware, any zone), as an aware UTC datetime."""
        _require_aware(start)
        if not duration.is_working:
            # Elapsed windows ("30m", "7d") are real time: nights, weekends and DST shifts count.
            return start.astimezone(UTC) + duration.elapsed
        if duration.elapsed:
            raise ValueError(f"{duration!r} mixes elapsed and working time; use one or the other")
        if duration.working_days < 0 or duration.working_hours < 0:
            raise ValueError(f"{duration!r} must not be negative")
        # A working day is a business day's worth of business time, not "same time N days
        # later": that is what makes Friday 17:50 + 2 working days land on Tuesday 17:50.
        remaining = duration.working_days * self.hours.length + timedelta(
            hours=duration.working_hours
        )
        # Work on the local wall clock so business hours mean 09:00–18:00 on every day,
        # including DST change days; convert to UTC only at the end.
        cursor = self._next_working_wall(self.local(start).replace(tzinfo=None))
        while True:
            day_end = datetime.combine(cursor.date(), self.hours.end)
            available = day_end - cursor
            # `<=` puts a deadline that uses up a day exactly at 18:00 that day (not 09:00 the
            # next), so Wednesday 23:00 + 2 working days is Friday 18:00.
            if remaining <= available:
                return self._to_utc(cursor + remaining)
            remaining -= available
            # Skip straight to the next working day's opening: whole days, never minutes.
            cursor = datetime.combine(self._next_working_day(cursor.date()), self.hours.start)

    def after_quiet(self, at: datetime, quiet: tuple[time, time] | None) -> datetime:
        """`at`, or the end of the quiet hours (desk time) it falls in, as aware UTC.

        Quiet hours may run past midnight ("21:00-08:00"): 23:30 and 06:00 both move to 08:00.
        """
        _require_aware(at)
        if quiet is None:
            return at.astimezone(UTC)
        start, end = quiet
        wall = self.local(at).replace(tzinfo=None)
        t = wall.time()
        if start < end:
            inside, day = start <= t < end, wall.date()
        else:
            inside = t >= start or t < end
            day = wall.date() + timedelta(days=1) if t >= start else wall.date()
        return self._to_utc(datetime.combine(day, end)) if inside else at.astimezone(UTC)

    def _to_utc(self, wall: datetime) -> datetime:
        # fold=0: an ambiguous or skipped wall time takes the earlier offset; business hours
        # rarely touch a DST switch, and when they do this is the conventional reading.
        return wall.replace(tzinfo=self.tz).astimezone(UTC)


def _require_aware(at: datetime) -> None:
    # A naive datetime would silently be read in the machine's zone; the design keeps all
    # datetimes aware, so a naive one is a bug at the caller.
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{at!r} has no time zone; pass an aware datetime")
