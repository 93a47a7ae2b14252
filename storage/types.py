"""Column types shared by the models."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, String, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as UTC; always returns aware UTC (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        """Refuse naive datetimes: every stored time must say which zone it is in."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use timezone-aware UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        """Give back aware UTC whatever the backend returned."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class VerbatimText(TypeDecorator[str]):
    """Text kept as typed; PostgreSQL cannot store NUL, so only there it becomes U+FFFD."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        """Everything else verbatim (the record is evidence)."""
        if value is not None and dialect.name == "postgresql" and "\x00" in value:
            return str(value).replace("\x00", "\ufffd")
        return value  # type: ignore[no-any-return]


class VerbatimString(VerbatimText):
    """A length-limited VerbatimText (names)."""

    impl = String  # type: ignore[assignment]  # a String, not a Text, underneath
    cache_ok = True
