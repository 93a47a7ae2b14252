"""What the customer-facing services need, built once from the configuration at start-up."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time, timedelta

from bot.clock import Clock
from bot.config import Config, EscalationSection, as_duration
from bot.domain.abuse import AbuseDetector
from bot.domain.calendar import BusinessCalendar, BusinessHours
from bot.domain.durations import Duration
from bot.domain.incidents import Rule as IncidentRule
from bot.domain.intake import Category, Field, IntakeForm
from bot.domain.triage import Keywords


@dataclass(frozen=True)
class Desk:
    """The injected clock, the calendar, the intake form and the configured windows."""

    clock: Clock
    form: IntakeForm
    calendar: BusinessCalendar
    first_response: Duration
    reply: Duration
    reminder_after: timedelta
    expire_after: timedelta
    listen_idle: timedelta
    listen_pause: timedelta
    abuse: AbuseDetector
    staff_group_id: int | None = None
    category_groups: tuple[tuple[str, int], ...] = ()
    staff_lang: str = "zh_CN"
    # Per-category windows (key, first response, reply), stored on each ticket at filing.
    category_windows: tuple[tuple[str, Duration | None, Duration | None], ...] = ()
    quiet: tuple[time, time] | None = None
    not_solved_within: timedelta = timedelta(hours=48)
    # The follow-up (回访): sent this long after resolution, reminded once, closed unanswered.
    follow_up_after: Duration = Duration(elapsed=timedelta(days=7))
    follow_up_reminder: Duration = Duration(elapsed=timedelta(days=2))
    follow_up_expiry: Duration = Duration(elapsed=timedelta(days=7))
    # How long after a ticket was dealt with a new complaint may still be its matter again.
    repeat_window: timedelta = timedelta(days=30)
    ladder: EscalationSection = EscalationSection()

    def windows_for(self, category: str) -> tuple[Duration, Duration]:
        """The (first response, reply) windows a ticket of this category is promised."""
        for key, first, reply in self.category_windows:
            if key == category:
                return first or self.first_response, reply or self.reply
        return self.first_response, self.reply
    # [email] is configured: escalations may queue e-mail (uow.repos.mail.add); off, they do not.
    mail_enabled: bool = False
    # Triage at filing (bot.domain.triage): the keywords and the categories that are major.
    major_keywords: Keywords = field(default_factory=Keywords)
    major_categories: frozenset[str] = frozenset()
    # Group incidents (群体性投诉): how many tickets on one matter within how long.
    incidents: IncidentRule = field(default_factory=IncidentRule)

    def staff_chat_for(self, category: str) -> int | None:
        """The staff group a category's tickets go to (its own, or the default)."""
        return dict(self.category_groups).get(category, self.staff_group_id)

    @classmethod
    def from_config(cls, config: Config, clock: Clock) -> Desk:
        """Build the desk (parsing categories and the calendar once, not per update)."""
        f = config.file
        categories = tuple(
            Category(key=c.key, names={"zh_CN": c.zh, "en": c.en}, keywords=tuple(c.keywords),
                     fields=tuple(
                Field(key=x.key, names={"zh_CN": x.zh, "en": x.en}, type=x.type,
                      options=tuple({"zh_CN": o.zh, "en": o.en} for o in x.options))
                for x in c.fields))
            for c in f.categories)
        start, end = f.calendar.hours()
        calendar = BusinessCalendar(
            tz=f.timezone, country=f.calendar.country, hours=BusinessHours(start, end),
            extra_holidays=[date.fromisoformat(d) for d in f.calendar.extra_holidays],
            extra_working_days=[date.fromisoformat(d) for d in f.calendar.extra_working_days])
        i = f.intake
        return cls(
            clock=clock,
            form=IntakeForm(categories, max_facts_length=i.max_facts_length,
                            phone_region=i.phone_region),
            calendar=calendar,
            first_response=as_duration(f.windows.first_response),
            reply=as_duration(f.windows.reply),
            reminder_after=as_duration(i.reminder_after).elapsed,
            expire_after=as_duration(i.expire_after).elapsed,
            listen_idle=as_duration(i.listen_idle).elapsed,
            listen_pause=as_duration(i.listen_pause).elapsed,
            abuse=AbuseDetector(i.abusive_words),
            staff_group_id=f.telegram.staff_group_id,
            category_groups=tuple((c.key, c.staff_group_id) for c in f.categories
                                  if c.staff_group_id is not None),
            staff_lang=f.default_language,
            category_windows=tuple(
                (c.key, as_duration(c.first_response) if c.first_response else None,
                 as_duration(c.reply) if c.reply else None)
                for c in f.categories if c.first_response or c.reply),
            quiet=f.windows.quiet(),
            not_solved_within=as_duration(f.windows.not_solved_within).elapsed,
            follow_up_after=as_duration(f.windows.follow_up_after),
            follow_up_reminder=as_duration(f.windows.follow_up_reminder),
            follow_up_expiry=as_duration(f.windows.follow_up_expiry),
            repeat_window=as_duration(i.repeat_window).elapsed,
            ladder=f.escalation,
            mail_enabled=f.email is not None,
            major_keywords=Keywords(f.triage.major_keywords),
            major_categories=frozenset(c.key for c in f.categories if c.major),
            incidents=IncidentRule(f.incidents.threshold, as_duration(f.incidents.window).elapsed,
                                   f.incidents.by_area),
        )
