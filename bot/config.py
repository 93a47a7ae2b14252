"""Configuration: environment variables (pydantic-settings) plus an optional TOML file."""

from __future__ import annotations

import tomllib
from datetime import time
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.domain.durations import Duration, parse_duration

ROLES = ("steward", "supervisor", "manager", "committee", "admin")
Role = Literal["steward", "supervisor", "manager", "committee", "admin"]


class ConfigError(Exception):
    """A configuration problem, worded as one line naming the key."""


def _duration(v: Any) -> Duration:
    if isinstance(v, Duration):
        return v
    if not isinstance(v, str):
        raise ValueError(f"{v!r} is not a duration; write it as a string such as \"30m\"")
    return parse_duration(v)


DurationField = Annotated[Any, AfterValidator(_duration)]


class _Strict(BaseModel):
    # Unknown keys are typos: say so instead of silently ignoring them.
    model_config = ConfigDict(extra="forbid", frozen=True)


class Limits(_Strict):
    """Send limits; Telegram's own as defaults, 0 turns one off."""

    overall_per_second: float = Field(30, ge=0)
    per_chat_per_second: float = Field(1, ge=0)
    per_group_per_minute: float = Field(20, ge=0)


class TelegramSection(_Strict):
    """[telegram]"""

    staff_group_id: int | None = None
    poll_timeout: int = Field(25, ge=0, le=50)
    webhook_url: str | None = None
    webhook_secret: str | None = None
    limits: Limits = Limits()


class StaffEntry(_Strict):
    """One [[staff]] roster entry."""

    telegram_id: int
    name: str = Field(min_length=1)
    role: Role = "steward"
    supervisor: int | None = None
    categories: list[str] = []
    areas: list[str] = []
    email: str | None = None


class Windows(_Strict):
    """[windows] response windows."""

    first_response: DurationField = "30m"
    reply: DurationField = "2 working days"
    follow_up_after: DurationField = "7d"


class CalendarSection(_Strict):
    """[calendar] working days and hours."""

    country: str = "CN"
    business_hours: str = "09:00-18:00"
    extra_holidays: list[str] = []
    extra_working_days: list[str] = []

    @field_validator("business_hours")
    @classmethod
    def _hours(cls, v: str) -> str:
        try:
            a, b = (time.fromisoformat(p.strip()) for p in v.split("-"))
        except ValueError:
            raise ValueError(f"{v!r} is not a range of hours; write e.g. \"09:00-18:00\"") from None
        if a >= b:
            raise ValueError(f"{v!r} must start before it ends")
        return v

    def hours(self) -> tuple[time, time]:
        """Business hours as (start, end)."""
        a, b = self.business_hours.split("-")
        return time.fromisoformat(a.strip()), time.fromisoformat(b.strip())


class FileConfig(_Strict):
    """Everything the TOML file may hold; every section optional."""

    timezone: str = "Asia/Shanghai"
    default_language: Literal["zh_CN", "en"] = "zh_CN"
    telegram: TelegramSection = TelegramSection()
    staff: list[StaffEntry] = []
    windows: Windows = Windows()
    calendar: CalendarSection = CalendarSection()

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
        ids = [s.telegram_id for s in v]
        dup = {i for i in ids if ids.count(i) > 1}
        if dup:
            raise ValueError(f"telegram_id {sorted(dup)[0]} appears more than once")
        for s in v:
            if s.supervisor is not None and s.supervisor not in ids:
                raise ValueError(f"supervisor {s.supervisor} of {s.telegram_id} is not in the roster")
            if s.supervisor == s.telegram_id:
                raise ValueError(f"{s.telegram_id} cannot be their own supervisor")
        return v


class EnvSettings(BaseSettings):
    """What comes from the environment (secrets and deployment)."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", case_sensitive=False)

    telegram_bot_token: str | None = None
    telegram_api_url: str = "https://api.telegram.org"
    database_url: str = "sqlite+aiosqlite:///complaints.db"
    complaint_bot_config: Path | None = None


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
    """Read the environment and the TOML file; raise ConfigError with one clear line."""
    try:
        env = EnvSettings(**({k.lower(): v for k, v in environ.items()} if environ else {}))
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
    return Config(env=env, file=file, source=path)
