"""Configuration: environment variables (pydantic-settings) plus an optional TOML file."""

from __future__ import annotations

import tomllib
from datetime import time
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.domain.chain import check_cycles
from bot.domain.durations import Duration, parse_duration
from bot.domain.mail import address
from bot.domain.triage import DEFAULT_KEYWORDS, MAX_KEYWORD_LENGTH, MAX_KEYWORDS
from bot.domain.vocabulary import Review, Role

ROLES = tuple(r.value for r in Role)


class ConfigError(Exception):
    """A configuration problem, worded as one line naming the key."""


def as_duration(v: Any) -> Duration:
    """A configured duration (defaults stay strings where a section does not validate them)."""
    return _duration(v)


def _duration(v: Any) -> Duration:
    if isinstance(v, Duration):
        return v
    if not isinstance(v, str):
        raise ValueError(f"{v!r} is not a duration; write it as a string such as \"30m\"")
    return parse_duration(v)


DurationField = Annotated[Any, AfterValidator(_duration)]
# An e-mail address in the configuration (also for the ladder's To and CC lists).
EmailAddress = Annotated[str, AfterValidator(address)]


def _pause(v: Any) -> Duration:
    # Zero is a valid pause (react as soon as each message is stored): tests use it.
    if isinstance(v, str) and v.strip() in ("0", "0s"):
        return Duration()
    return _duration(v)


PauseField = Annotated[Any, AfterValidator(_pause)]


def _elapsed_only(v: Duration) -> Duration:
    # About attention or patience, not office hours: real time whatever the calendar says.
    if v.is_working:
        raise ValueError(f"{v} must be elapsed time such as \"30m\", not working time")
    return v


def _no_duplicates(what: str, values: list[Any]) -> None:
    dup = sorted({x for x in values if values.count(x) > 1})
    if dup:
        shown = repr(dup[0]) if isinstance(dup[0], str) else str(dup[0])
        raise ValueError(f"{what} {shown} appears more than once")


def _keyword_list(v: list[str], at_most: int) -> list[str]:
    """Keywords as configured: each 1-40 characters (spaces around them dropped)."""
    if len(v) > at_most:
        raise ValueError(f"at most {at_most} keywords")
    bad = [k for k in v if not k.strip() or len(k.strip()) > MAX_KEYWORD_LENGTH]
    if bad:
        raise ValueError(f"keywords must be 1-{MAX_KEYWORD_LENGTH} characters, not {bad[0]!r}")
    return [k.strip() for k in v]


class _Strict(BaseModel):
    # Unknown keys are typos: say so instead of silently ignoring them.
    model_config = ConfigDict(extra="forbid", frozen=True)


class Limits(_Strict):
    """Send limits; Telegram's own as defaults, 0 turns one off."""

    overall_per_second: float = Field(30, ge=0)
    per_chat_per_second: float = Field(1, ge=0)
    # A private chat may take this many messages at once (Telegram tolerates short bursts),
    # then per_chat_per_second: a turn never waits a second for its own second message.
    per_chat_burst: int = Field(3, ge=1, le=20)
    per_group_per_minute: float = Field(20, ge=0)


class TelegramSection(_Strict):
    """[telegram]"""

    staff_group_id: int | None = None
    poll_timeout: int = Field(25, ge=0, le=50)
    # With a webhook_url Telegram pushes updates to [web] webhook_path instead of us polling.
    webhook_url: str | None = None
    webhook_secret: str | None = Field(None, pattern=r"^[A-Za-z0-9_-]{1,256}$")
    limits: Limits = Limits()
    # How long the sender's claim on the rows it holds lasts (renewed every quarter of it):
    # after a crash its rows are sent again once it has run out.
    outbox_lease_seconds: int = Field(60, ge=5, le=3600)


class WebSection(_Strict):
    """[web] the HTTP server: webhook endpoint, /healthz, /metrics."""

    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    webhook_path: str = "/telegram/webhook"


class EmailSection(_Strict):
    """[email] the SMTP server escalation e-mail goes through; without it e-mail is off."""

    host: str = Field(min_length=1)
    port: int = Field(587, ge=1, le=65535)
    # starttls: plain connect, then upgrade (port 587); tls: TLS from the start (port 465);
    # none: unencrypted (a relay on this machine, and tests).
    security: Literal["starttls", "tls", "none"] = "starttls"
    from_address: EmailAddress
    timeout: float = Field(30, gt=0, le=600)  # seconds for each step of a send


class StaffEntry(_Strict):
    """One [[staff]] roster entry."""

    telegram_id: int
    name: str = Field(min_length=1)
    role: Role = Role.STEWARD
    supervisor: int | None = None
    categories: list[str] = []
    areas: list[str] = []
    email: EmailAddress | None = None


def _hour_range(v: str) -> str:
    try:
        a, b = (time.fromisoformat(p.strip()) for p in v.split("-"))
    except ValueError:
        raise ValueError(f"{v!r} is not a range of hours; write e.g. \"09:00-18:00\"") from None
    if a == b:
        raise ValueError(f"{v!r} starts and ends at the same time")
    return v


class Windows(_Strict):
    """[windows] response windows."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)
    first_response: DurationField = "30m"
    reply: DurationField = "2 working days"
    # The satisfaction check (回访) after resolution; its one reminder if unanswered, and how
    # long after it was sent an unanswered one is closed as "no response".
    follow_up_after: DurationField = "7d"
    follow_up_reminder: DurationField = "2d"
    follow_up_expiry: DurationField = "7d"
    # A "Not solved" press later than this after resolution still reopens, recorded as late.
    not_solved_within: DurationField = "48h"
    # Customer-facing messages a timer sends wait until the end of these hours (desk time);
    # staff alerts go at any hour. "" turns quiet hours off.
    quiet_hours: str = "21:00-08:00"

    _elapsed = field_validator("not_solved_within")(lambda cls, v: _elapsed_only(v))

    @field_validator("quiet_hours")
    @classmethod
    def _quiet(cls, v: str) -> str:
        return _hour_range(v) if v.strip() else ""

    def quiet(self) -> tuple[time, time] | None:
        """Quiet hours as (start, end), or None when off."""
        if not self.quiet_hours:
            return None
        a, b = self.quiet_hours.split("-")
        return time.fromisoformat(a.strip()), time.fromisoformat(b.strip())


class LevelContacts(_Strict):
    """Who an escalation to one level reaches besides the people with that role on the roster."""

    chat_ids: list[int] = []
    # PROCESS.md §4: the manager level is mailed with operations in copy.
    email_to: list[EmailAddress] = []
    email_cc: list[EmailAddress] = []


class EscalationSection(_Strict):
    """[escalation] the ladder: 1 supervisor, 2 manager, 3 committee (PROCESS.md §4)."""

    supervisor: LevelContacts = LevelContacts()
    manager: LevelContacts = LevelContacts()
    committee: LevelContacts = LevelContacts()
    # The urge that takes a still-open ticket one level up (PROCESS.md §4: coming back
    # several times without result); 0 turns it off.
    urges_to_escalate: int = Field(3, ge=0, le=20)
    # Review (审核): whose resolution a supervisor approves before the customer gets it —
    # "none", "major" (major complaints only) or "all".
    review: Review = Review.MAJOR

    def contacts(self, level: int) -> LevelContacts:
        """The configured contacts of a level (1-3)."""
        return (self.supervisor, self.manager, self.committee)[level - 1]


class CalendarSection(_Strict):
    """[calendar] working days and hours."""

    country: str = "CN"
    business_hours: str = "09:00-18:00"
    extra_holidays: list[str] = []
    extra_working_days: list[str] = []

    @field_validator("business_hours")
    @classmethod
    def _hours(cls, v: str) -> str:
        a, b = (time.fromisoformat(p.strip()) for p in _hour_range(v).split("-"))
        if a >= b:
            raise ValueError(f"{v!r} must start before it ends")
        return v

    def hours(self) -> tuple[time, time]:
        """Business hours as (start, end)."""
        a, b = self.business_hours.split("-")
        return time.fromisoformat(a.strip()), time.fromisoformat(b.strip())


FieldType = Literal["text", "phone", "datetime", "choice", "photo"]
# Keys end up in step names and callback data (both length-limited), so keep them short.
_KEY = r"^[a-z][a-z0-9_]{0,23}$"


class ChoiceOption(_Strict):
    """One option of a choice field, named in both languages."""

    zh: str = Field(min_length=1, max_length=40)
    en: str = Field(min_length=1, max_length=40)


class FieldEntry(_Strict):
    """An extra required element (受理要素) of a category."""

    key: str = Field(pattern=_KEY)
    zh: str = Field(min_length=1, max_length=60)
    en: str = Field(min_length=1, max_length=60)
    type: FieldType = "text"
    options: list[ChoiceOption] = []

    @field_validator("options")
    @classmethod
    def _options(cls, v: list[ChoiceOption]) -> list[ChoiceOption]:
        if len(v) > 20:
            raise ValueError("at most 20 options (they become buttons)")
        return v

    def model_post_init(self, _: Any) -> None:
        """A choice field without options could never be answered."""
        if self.type == "choice" and not self.options:
            raise ValueError(f"field {self.key!r} is a choice but lists no options")


class CategoryEntry(_Strict):
    """One [[categories]] entry: a branch of the category tree and its required fields."""

    key: str = Field(pattern=_KEY)
    zh: str = Field(min_length=1, max_length=40)
    en: str = Field(min_length=1, max_length=40)
    fields: list[FieldEntry] = []
    # Words (zh and en) that make this category the likely one: after the story the customer is
    # offered it first ("This sounds like 设备管理 — right?"); none means it is never suggested.
    keywords: list[str] = []
    # A busy desk splits by team: this category's tickets go to its own staff group.
    staff_group_id: int | None = None
    # This category's own response windows (else [windows]); kept on each ticket at filing.
    first_response: DurationField | None = None
    reply: DurationField | None = None
    # Every complaint of this category is major (重大投诉): level 1 and a supervisor told at once.
    major: bool = False

    @field_validator("keywords")
    @classmethod
    def _keywords(cls, v: list[str]) -> list[str]:
        return _keyword_list(v, 200)

    @field_validator("fields")
    @classmethod
    def _unique_fields(cls, v: list[FieldEntry]) -> list[FieldEntry]:
        _no_duplicates("field key", [f.key for f in v])
        return v


def _text_field(key: str, zh: str, en: str) -> FieldEntry:
    return FieldEntry(key=key, zh=zh, en=en, type="text")


_UNIT = ("unit", "楼栋及房号", "Building and unit number")
_PLACE = ("location", "具体位置", "Where exactly")
_WHEN = ("when", "发生时间", "When it happened")

# PROCESS.md §1: the default property-management tree with its required elements.
DEFAULT_CATEGORIES: list[CategoryEntry] = [
    CategoryEntry(key="housing", zh="房屋管理", en="Housing", fields=[_text_field(*_UNIT)],
                  keywords=["漏水", "渗水", "天花板", "墙", "裂缝", "门窗", "屋顶", "房屋",
                            "leak", "ceiling", "wall", "crack", "window", "roof"]),
    CategoryEntry(key="equipment", zh="设备管理", en="Equipment and facilities",
                  fields=[_text_field(*_PLACE)],
                  keywords=["电梯", "停电", "停水", "水压", "门禁", "路灯", "设备", "水泵", "空调",
                            "lift", "elevator", "power cut", "water pressure", "street light",
                            "pump"]),
    CategoryEntry(key="safety", zh="安全管理", en="Safety and security",
                  fields=[_text_field(*_PLACE), FieldEntry(key=_WHEN[0], zh=_WHEN[1],
                                                           en=_WHEN[2], type="datetime")],
                  keywords=["安全", "被偷", "被盗", "小偷", "失火", "消防", "陌生人", "监控",
                            "theft", "stolen", "fire", "security", "stranger", "cctv"]),
    CategoryEntry(key="environment", zh="环境管理", en="Environment and cleaning",
                  fields=[_text_field(*_PLACE)],
                  keywords=["垃圾", "卫生", "清洁", "绿化", "噪音", "异味", "臭", "老鼠", "蚊子",
                            "rubbish", "garbage", "trash", "dirty", "noise", "smell", "rats"]),
    CategoryEntry(key="service", zh="综合服务", en="General service",
                  keywords=["态度", "收费", "物业费", "服务", "attitude", "fees", "overcharged",
                            "service"]),
    CategoryEntry(key="dispute", zh="业户纠纷", en="Dispute between residents",
                  fields=[_text_field(*_UNIT)],
                  keywords=["邻居", "占用", "宠物", "狗", "车位被占", "neighbour", "neighbor",
                            "dog", "pets"]),
    CategoryEntry(key="developer", zh="地产相关", en="Developer-related",
                  fields=[_text_field(*_UNIT)],
                  keywords=["开发商", "交房", "产权", "房产证", "购房合同", "developer", "handover",
                            "title deed"]),
    CategoryEntry(key="other", zh="其他", en="Other"),
]


class IntakeSection(_Strict):
    """[intake] how the conversation behaves."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)
    max_facts_length: int = Field(50_000, ge=100, le=1_000_000)
    # Elapsed durations: these are about the customer's attention, not business time.
    reminder_after: DurationField = "30m"
    expire_after: DurationField = "24h"
    listen_idle: DurationField = "3m"
    # How long the customer is quiet before the bot reacts to what they told it: one reaction
    # per pause, not one per message.
    listen_pause: PauseField = "2s"
    phone_region: str = "CN"
    abusive_words: list[str] = []
    # A customer with a ticket in the same category still open, or dealt with (resolved or
    # closed) within this long, is asked whether a new complaint is the same matter.
    repeat_window: DurationField = "30d"

    _elapsed = field_validator("reminder_after", "expire_after", "listen_idle",
                               "listen_pause", "repeat_window")(lambda cls, v: _elapsed_only(v))

    @field_validator("phone_region")
    @classmethod
    def _region(cls, v: str) -> str:
        import phonenumbers

        if v.upper() not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"unknown phone region {v!r}; write e.g. \"CN\"")
        return v.upper()


class TriageSection(_Strict):
    """[triage] what makes a complaint major (重大投诉) from the start (PROCESS.md §4)."""

    # Found in what the customer wrote (story, desired outcome, fields): latin words as whole
    # words, ignoring case; Chinese anywhere. An empty list turns keyword triage off.
    major_keywords: list[str] = list(DEFAULT_KEYWORDS)

    @field_validator("major_keywords")
    @classmethod
    def _keywords(cls, v: list[str]) -> list[str]:
        return _keyword_list(v, MAX_KEYWORDS)


class IncidentsSection(_Strict):
    """[incidents] group incidents (群体性投诉, PROCESS.md §4): many complaints on one matter in
    a short time make one incident, with one crisis alert to the manager level."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)
    # This many tickets of one category (and area) within `window` make an incident; 0 = off.
    threshold: int = Field(5, ge=0, le=10_000)
    window: DurationField = "2h"
    # Tickets naming different areas (an area, unit or location field) are different matters.
    by_area: bool = True

    _elapsed = field_validator("window")(lambda cls, v: _elapsed_only(v))

    @field_validator("threshold")
    @classmethod
    def _threshold(cls, v: int) -> int:
        if v == 1:
            raise ValueError("one ticket is not a group: use 0 (off) or 2 or more")
        return v


class FileConfig(_Strict):
    """Everything the TOML file may hold; every section optional."""

    timezone: str = "Asia/Shanghai"
    default_language: Literal["zh_CN", "en"] = "zh_CN"
    telegram: TelegramSection = TelegramSection()
    web: WebSection = WebSection()
    staff: list[StaffEntry] = []
    windows: Windows = Windows()
    escalation: EscalationSection = EscalationSection()
    calendar: CalendarSection = CalendarSection()
    categories: list[CategoryEntry] = DEFAULT_CATEGORIES
    intake: IntakeSection = IntakeSection()
    email: EmailSection | None = None
    triage: TriageSection = TriageSection()
    incidents: IncidentsSection = IncidentsSection()

    @field_validator("categories")
    @classmethod
    def _tree(cls, v: list[CategoryEntry]) -> list[CategoryEntry]:
        if not v:
            raise ValueError("at least one category is needed")
        if len(v) > 40:
            raise ValueError("at most 40 categories (they become buttons)")
        _no_duplicates("category key", [c.key for c in v])
        return v

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r}; write e.g. \"Asia/Shanghai\"") from None
        return v

    @field_validator("staff")
    @classmethod
    def _roster(cls, v: list[StaffEntry]) -> list[StaffEntry]:
        _no_duplicates("telegram_id", [s.telegram_id for s in v])
        # A supervisor may also be someone already on the roster (the database), so an
        # unknown one is found at bootstrap; a cycle is wrong whatever the database holds.
        check_cycles([(s.telegram_id, s.supervisor) for s in v])
        return v


class EnvSettings(BaseSettings):
    """What comes from the environment (secrets and deployment)."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", case_sensitive=False)

    telegram_bot_token: str | None = None
    telegram_api_url: str = "https://api.telegram.org"
    database_url: str = "sqlite+aiosqlite:///complaints.db"
    complaint_bot_config: Path | None = None
    # SMTP login for [email]; never in the file, never logged (SecretStr hides it in reprs).
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None


class Config(BaseModel):
    """The whole configuration: environment plus file."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)
    env: EnvSettings
    file: FileConfig
    source: Path | None = None


def _one_line(err: ValidationError, source: str) -> str:
    e = err.errors()[0]
    loc = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in e["loc"]).replace(".[", "[")
    msg = str(e["msg"]).removeprefix("Value error, ")
    if e["type"] == "extra_forbidden":
        msg = "unknown key (check the spelling; `complaint-bot init` writes every key)"
    return f"{source}: {loc or '(top level)'}: {msg}"


def load_config(path: Path | str | None = None, environ: dict[str, str] | None = None) -> Config:
    """Read the environment (or `environ` instead) and the TOML file; one-line ConfigError."""
    try:
        given: dict[str, Any] = {k.lower(): v for k, v in (environ or {}).items()}
        env = EnvSettings.model_validate(given) if given else EnvSettings()
    except ValidationError as err:
        raise ConfigError(_one_line(err, "environment")) from None
    path = Path(path) if path else env.complaint_bot_config
    data: dict[str, Any] = {}
    if path is not None:
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{path}: config file not found") from None
        except tomllib.TOMLDecodeError as err:
            raise ConfigError(f"{path}: not valid TOML: {err}") from None
        except (OSError, UnicodeDecodeError) as err:
            raise ConfigError(f"{path}: cannot read: {err}") from None
    try:
        file = FileConfig.model_validate(data)
    except ValidationError as err:
        raise ConfigError(_one_line(err, str(path or "config"))) from None
    _check_smtp_login(env, file.email, str(path or "config"))
    return Config(env=env, file=file, source=path)


_LOOPBACK = ("localhost", "127.0.0.1", "::1")


def _check_smtp_login(env: EnvSettings, email: EmailSection | None, source: str) -> None:
    """The login is both variables or neither, and never sent in the clear off this machine."""
    if (env.smtp_user is None) != (env.smtp_password is None):
        raise ConfigError("environment: SMTP_USER and SMTP_PASSWORD go together; "
                          "set both or neither")
    if email is not None and env.smtp_user and email.security == "none" \
            and email.host not in _LOOPBACK:
        raise ConfigError(f"{source}: email.security: \"none\" would send SMTP_PASSWORD "
                          f"unencrypted to {email.host}; use \"starttls\" or \"tls\"")
