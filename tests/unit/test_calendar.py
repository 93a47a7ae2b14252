"""The business calendar against the real 2026 State Council notice (国办发明电, 2025-11-04).

chinesecalendar 1.11 encodes that notice; the facts these tests rely on:
- Spring Festival: Sun 15 Feb – Mon 23 Feb off; Sat 14 Feb and Sat 28 Feb are working days.
- Mid-Autumn: Fri 25 Sep – Sun 27 Sep off.
- National Day: Thu 1 Oct – Wed 7 Oct off; Sun 20 Sep and Sat 10 Oct are working days.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.calendar import BusinessCalendar, BusinessHours
from bot.domain.durations import Duration, parse_duration

SH = ZoneInfo("Asia/Shanghai")
LONDON = ZoneInfo("Europe/London")


def sh(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    """An aware datetime in Shanghai time."""
    return datetime(y, mo, d, h, mi, tzinfo=SH)


def deadline(cal: BusinessCalendar, start: datetime, text: str) -> datetime:
    """The deadline for a configured duration, shown in Shanghai time for readable asserts."""
    result = cal.add(start, parse_duration(text))
    assert result.tzinfo is UTC
    return result.astimezone(SH)


@pytest.fixture
def cal() -> BusinessCalendar:
    return BusinessCalendar()


# -- the library data the rest relies on -----------------------------------------------------


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2026, 2, 13), True),  # Friday before the Spring Festival
        (date(2026, 2, 14), True),  # make-up Saturday
        (date(2026, 2, 15), False),
        (date(2026, 2, 17), False),  # Chinese New Year's Day
        (date(2026, 2, 23), False),  # last day off, a Monday
        (date(2026, 2, 24), True),
        (date(2026, 2, 28), True),  # make-up Saturday
        (date(2026, 3, 1), False),  # ordinary Sunday
        (date(2026, 9, 20), True),  # make-up Sunday
        (date(2026, 9, 25), False),  # Mid-Autumn Festival, a Friday
        (date(2026, 10, 1), False),
        (date(2026, 10, 7), False),
        (date(2026, 10, 8), True),
        (date(2026, 10, 10), True),  # make-up Saturday
        (date(2026, 10, 11), False),
    ],
)
def test_2026_official_calendar(cal: BusinessCalendar, day: date, working: bool) -> None:
    assert cal.is_working_day(day) is working


# -- Spring Festival 2026 --------------------------------------------------------------------


def test_deadline_jumps_over_the_whole_spring_festival(cal: BusinessCalendar) -> None:
    # Fri 10:00: 8 h Friday + 9 h make-up Saturday, the last hour after the nine days off.
    assert deadline(cal, sh(2026, 2, 13, 10), "2 working days") == sh(2026, 2, 24, 10)


def test_filed_during_the_spring_festival_starts_on_the_first_working_day(
    cal: BusinessCalendar,
) -> None:
    assert deadline(cal, sh(2026, 2, 18, 11), "2 working days") == sh(2026, 2, 25, 18)
    assert cal.next_working_moment(sh(2026, 2, 18, 11)) == sh(2026, 2, 24, 9)


def test_filed_on_a_make_up_saturday_counts_that_saturday(cal: BusinessCalendar) -> None:
    # 1 h on Sat 14 Feb, then the holiday, then 8 h on Tue 24 Feb.
    assert deadline(cal, sh(2026, 2, 14, 17), "1 working day") == sh(2026, 2, 24, 17)
    assert cal.next_working_moment(sh(2026, 2, 14, 17)) == sh(2026, 2, 14, 17)


def test_deadline_lands_on_a_make_up_saturday(cal: BusinessCalendar) -> None:
    # Thu 14:00: 4 h Thursday, 9 h Friday, 5 h on the make-up Saturday 28 Feb.
    assert deadline(cal, sh(2026, 2, 26, 14), "2 working days") == sh(2026, 2, 28, 14)


# -- Mid-Autumn and National Day 2026 --------------------------------------------------------


def test_deadline_jumps_over_national_day_week(cal: BusinessCalendar) -> None:
    # Wed 30 Sep 15:00: 3 h, then 1–7 Oct off, 9 h Thu 8 Oct, 6 h Fri 9 Oct.
    assert deadline(cal, sh(2026, 9, 30, 15), "2 working days") == sh(2026, 10, 9, 15)


def test_deadline_after_national_day_lands_on_make_up_saturday(cal: BusinessCalendar) -> None:
    assert deadline(cal, sh(2026, 10, 9, 17), "1 working day") == sh(2026, 10, 10, 17)


def test_make_up_sunday_before_mid_autumn(cal: BusinessCalendar) -> None:
    # Filed on an ordinary Saturday: the next day is the make-up Sunday 20 Sep.
    assert deadline(cal, sh(2026, 9, 19, 10), "1 working day") == sh(2026, 9, 20, 18)
    # Thu 24 Sep 12:00: 6 h, Mid-Autumn Fri–Sun off, 9 h Mon, 3 h Tue.
    assert deadline(cal, sh(2026, 9, 24, 12), "2 working days") == sh(2026, 9, 29, 12)


# -- ordinary weeks --------------------------------------------------------------------------


def test_friday_evening_two_working_days(cal: BusinessCalendar) -> None:
    # 10 min Friday + 9 h Monday + 8 h 50 min Tuesday.
    assert deadline(cal, sh(2026, 3, 13, 17, 50), "2 working days") == sh(2026, 3, 17, 17, 50)


def test_start_in_another_zone_is_read_in_the_calendar_zone(cal: BusinessCalendar) -> None:
    start = datetime(2026, 3, 13, 9, 50, tzinfo=UTC)  # 17:50 in Shanghai
    assert deadline(cal, start, "2 working days") == sh(2026, 3, 17, 17, 50)


def test_filed_at_23_00_starts_counting_next_morning(cal: BusinessCalendar) -> None:
    assert deadline(cal, sh(2026, 3, 11, 23), "2 working days") == sh(2026, 3, 13, 18)
    assert cal.next_working_moment(sh(2026, 3, 11, 23)) == sh(2026, 3, 12, 9)


def test_filed_before_09_00_starts_counting_at_09_00(cal: BusinessCalendar) -> None:
    assert deadline(cal, sh(2026, 3, 11, 7, 30), "1 working day") == sh(2026, 3, 11, 18)
    assert deadline(cal, sh(2026, 3, 11, 7, 30), "2 working hours") == sh(2026, 3, 11, 11)


def test_filed_on_a_sunday(cal: BusinessCalendar) -> None:
    assert deadline(cal, sh(2026, 3, 15, 12), "1 working day") == sh(2026, 3, 16, 18)


def test_working_hours_carry_over_the_weekend(cal: BusinessCalendar) -> None:
    assert deadline(cal, sh(2026, 3, 13, 17), "3 working hours") == sh(2026, 3, 16, 11)


def test_custom_business_hours() -> None:
    cal = BusinessCalendar(hours=BusinessHours(time(8, 30), time(17, 30)))
    assert deadline(cal, sh(2026, 3, 13, 17), "1 working day") == sh(2026, 3, 16, 17)


# -- elapsed durations -----------------------------------------------------------------------


def test_elapsed_minutes_run_across_midnight(cal: BusinessCalendar) -> None:
    assert deadline(cal, sh(2026, 3, 11, 23, 45), "30m") == sh(2026, 3, 12, 0, 15)


def test_elapsed_time_ignores_holidays(cal: BusinessCalendar) -> None:
    assert deadline(cal, sh(2026, 2, 14, 20), "7d") == sh(2026, 2, 21, 20)
    assert deadline(cal, sh(2026, 2, 17, 3), "5s") == sh(2026, 2, 17, 3) + timedelta(seconds=5)


# -- configuration overrides -----------------------------------------------------------------


def test_extra_holiday_overrides_a_workday() -> None:
    cal = BusinessCalendar(extra_holidays=[date(2026, 3, 16)])
    assert not cal.is_working_day(date(2026, 3, 16))
    assert deadline(cal, sh(2026, 3, 13, 17, 50), "2 working days") == sh(2026, 3, 18, 17, 50)


def test_extra_holiday_overrides_a_make_up_saturday() -> None:
    cal = BusinessCalendar(extra_holidays=[date(2026, 2, 14)])
    assert deadline(cal, sh(2026, 2, 13, 17), "1 working day") == sh(2026, 2, 24, 17)


def test_extra_working_day_overrides_a_weekend() -> None:
    cal = BusinessCalendar(extra_working_days=[date(2026, 3, 15)])
    assert cal.is_working_day(date(2026, 3, 15))
    # 10 min Friday, 9 h on the extra Sunday, 8 h 50 min Monday.
    assert deadline(cal, sh(2026, 3, 13, 17, 50), "2 working days") == sh(2026, 3, 16, 17, 50)


def test_extra_working_day_overrides_a_public_holiday() -> None:
    cal = BusinessCalendar(extra_working_days=[date(2026, 2, 16)])
    assert deadline(cal, sh(2026, 2, 14, 17), "1 working day") == sh(2026, 2, 16, 17)


def test_a_date_cannot_be_both_extra_holiday_and_extra_working_day() -> None:
    with pytest.raises(ValueError, match="2026-03-16"):
        BusinessCalendar(extra_holidays=[date(2026, 3, 16)], extra_working_days=[date(2026, 3, 16)])


# -- years without library data --------------------------------------------------------------


def test_year_without_data_falls_back_to_weekends_and_warns_once() -> None:
    warnings: list[str] = []
    cal = BusinessCalendar(warn=warnings.append)
    # Fri 2 Jan 2099 17:00: 1 h Friday, weekend, 8 h Monday.
    assert deadline(cal, sh(2099, 1, 2, 17), "1 working day") == sh(2099, 1, 5, 17)
    assert cal.is_working_day(date(2099, 1, 1))  # New Year is unknown without data
    assert not cal.is_working_day(date(2099, 1, 3))
    for offset in range(365):
        cal.is_working_day(date(2099, 1, 1) + timedelta(days=offset))
    assert len(warnings) == 1
    assert "2099" in warnings[0]
    cal.is_working_day(date(2098, 6, 1))
    assert len(warnings) == 2 and "2098" in warnings[1]


def test_fallback_warning_goes_to_logging_by_default(caplog: pytest.LogCaptureFixture) -> None:
    cal = BusinessCalendar()
    with caplog.at_level("WARNING", logger="bot.domain.calendar"):
        cal.is_working_day(date(2099, 3, 2))
        cal.is_working_day(date(2099, 3, 3))
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 1
    assert "2099" in messages[0]


# -- other countries -------------------------------------------------------------------------


def test_gb_christmas_and_boxing_day_observed() -> None:
    cal = BusinessCalendar(tz="Europe/London", country="GB")
    assert not cal.is_working_day(date(2026, 12, 25))
    assert not cal.is_working_day(date(2026, 12, 28))  # Boxing Day (Saturday) observed Monday
    start = datetime(2026, 12, 24, 17, tzinfo=LONDON)
    # 1 h Thursday, Christmas to the observed Boxing Day off, 9 h Tuesday, 8 h Wednesday.
    assert cal.add(start, parse_duration("2 working days")) == datetime(
        2026, 12, 30, 17, tzinfo=UTC
    )


def test_business_hours_follow_the_local_clock_across_dst() -> None:
    cal = BusinessCalendar(tz="Europe/London", country="GB")
    # Clocks go forward on Sun 29 Mar 2026; Monday 17:00 is BST, i.e. 16:00 UTC.
    start = datetime(2026, 3, 27, 17, tzinfo=LONDON)
    result = cal.add(start, parse_duration("1 working day"))
    assert result == datetime(2026, 3, 30, 16, tzinfo=UTC)
    assert cal.local(result) == datetime(2026, 3, 30, 17, tzinfo=LONDON)


def test_elapsed_day_across_dst_is_24_real_hours() -> None:
    cal = BusinessCalendar(tz="Europe/London", country="GB")
    start = datetime(2026, 3, 28, 12, tzinfo=LONDON)
    result = cal.add(start, parse_duration("1d"))
    assert result - start == timedelta(hours=24)
    assert cal.local(result).hour == 13


def test_local_converts_to_the_configured_zone(cal: BusinessCalendar) -> None:
    local = cal.local(datetime(2026, 3, 13, 9, 50, tzinfo=UTC))
    assert local.tzinfo == SH
    assert (local.hour, local.minute) == (17, 50)


# -- refusals --------------------------------------------------------------------------------


def test_naive_datetimes_are_refused(cal: BusinessCalendar) -> None:
    with pytest.raises(ValueError, match="time zone"):
        cal.add(datetime(2026, 3, 13, 10), parse_duration("1 working day"))
    with pytest.raises(ValueError, match="time zone"):
        cal.next_working_moment(datetime(2026, 3, 13, 10))


def test_unknown_time_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="time zone"):
        BusinessCalendar(tz="Mars/Olympus")


def test_unknown_country_is_refused() -> None:
    with pytest.raises(ValueError, match="country"):
        BusinessCalendar(country="XX")


def test_business_hours_must_start_before_they_end() -> None:
    with pytest.raises(ValueError, match="start before"):
        BusinessHours(time(18), time(9))


def test_mixed_duration_is_refused(cal: BusinessCalendar) -> None:
    with pytest.raises(ValueError, match="mixes"):
        cal.add(sh(2026, 3, 13, 10), Duration(elapsed=timedelta(hours=1), working_days=1))


# -- properties ------------------------------------------------------------------------------

_QUIET_CN = BusinessCalendar(warn=lambda _msg: None)
_QUIET_GB = BusinessCalendar(tz="Europe/London", country="GB", warn=lambda _msg: None)

calendars = st.sampled_from([_QUIET_CN, _QUIET_GB])
starts = st.datetimes(
    min_value=datetime(2025, 1, 1),
    max_value=datetime(2026, 12, 31, 23, 59),
    timezones=st.sampled_from([UTC, SH, LONDON]),
)
working = st.one_of(
    st.builds(Duration, working_days=st.integers(1, 15)),
    st.builds(Duration, working_hours=st.integers(1, 60)),
)
elapsed = st.builds(Duration, elapsed=st.timedeltas(timedelta(seconds=1), timedelta(days=30)))


@settings(max_examples=300)
@given(cal=calendars, start=starts, duration=st.one_of(working, elapsed))
def test_deadline_is_never_before_the_start(
    cal: BusinessCalendar, start: datetime, duration: Duration
) -> None:
    assert cal.add(start, duration) >= start


@settings(max_examples=300)
@given(cal=calendars, start=starts, duration=working)
def test_working_deadline_falls_in_business_hours_on_a_working_day(
    cal: BusinessCalendar, start: datetime, duration: Duration
) -> None:
    local = cal.local(cal.add(start, duration))
    assert cal.is_working_day(local.date())
    # Closing time itself is a valid deadline: a deadline that uses up a whole day ends then.
    assert cal.hours.start < local.time() <= cal.hours.end


@settings(max_examples=300)
@given(cal=calendars, start=starts)
def test_one_working_day_twice_is_two_working_days(cal: BusinessCalendar, start: datetime) -> None:
    one = Duration(working_days=1)
    assert cal.add(cal.add(start, one), one) == cal.add(start, Duration(working_days=2))


@settings(max_examples=200)
@given(cal=calendars, start=starts)
def test_next_working_moment_is_inside_business_hours(
    cal: BusinessCalendar, start: datetime
) -> None:
    moment = cal.next_working_moment(start)
    local = cal.local(moment)
    assert moment >= start
    assert cal.is_working_day(local.date())
    assert cal.hours.start <= local.time() < cal.hours.end
