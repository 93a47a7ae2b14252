"""Raw Bot API calls through python-telegram-bot, and how their errors are classified."""

from __future__ import annotations

import warnings
from enum import Enum
from typing import Any

from telegram import Bot
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.warnings import PTBDeprecationWarning, PTBUserWarning

# We call methods by name with JSON-ready payloads from the outbox; PTB nudges towards its typed
# wrappers on every such call, which would only fill the logs.
warnings.filterwarnings("ignore", message=r"Please use 'Bot\.", category=PTBUserWarning)
# retry_after becomes a timedelta in PTB 23; _seconds() reads either form.
warnings.filterwarnings("ignore", message=r".*retry_after", category=PTBDeprecationWarning)


async def call(bot: Bot, method: str, params: dict[str, Any], *,
               read_timeout: float | None = None) -> Any:
    """Call a Bot API method with plain JSON parameters and return the raw result."""
    kwargs = {k: v for k, v in params.items() if v is not None}
    if read_timeout is None:
        return await bot.do_api_request(method, api_kwargs=kwargs)
    return await bot.do_api_request(method, api_kwargs=kwargs, read_timeout=read_timeout)


class Outcome(Enum):
    """What the sender does after a failed call."""

    RATE_LIMITED = "rate_limited"  # wait retry_after, then try again; not an attempt
    TRANSIENT = "transient"  # network error, timeout or 5xx: back off and retry
    DONE = "done"  # nothing to do: e.g. "message is not modified"
    PERMANENT = "permanent"  # blocked, chat not found, bad request: never retried


def classify(exc: BaseException) -> tuple[Outcome, str]:
    """Map a PTB exception to what the sender does, with a short reason safe to store."""
    if isinstance(exc, RetryAfter):
        return Outcome.RATE_LIMITED, f"retry_after {_seconds(exc.retry_after)}"
    if isinstance(exc, Forbidden):
        return Outcome.PERMANENT, f"forbidden: {exc.message}"
    if isinstance(exc, BadRequest):
        if "not modified" in exc.message.lower() or "not_modified" in exc.message.lower():
            return Outcome.DONE, exc.message
        return Outcome.PERMANENT, f"bad request: {exc.message}"
    if isinstance(exc, (TimedOut, NetworkError)):
        return Outcome.TRANSIENT, f"{type(exc).__name__}: {exc.message}"
    return Outcome.TRANSIENT, type(exc).__name__


def retry_after_seconds(exc: BaseException) -> float:
    """The wait Telegram asked for, in seconds."""
    return _seconds(exc.retry_after) if isinstance(exc, RetryAfter) else 0.0


def _seconds(v: Any) -> float:
    return float(v.total_seconds()) if hasattr(v, "total_seconds") else float(v)
