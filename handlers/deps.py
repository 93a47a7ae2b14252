"""What handlers may reach: the wired services' dependencies, set once by bot/app.py."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from telegram.ext import CallbackContext

from bot.clock import Clock
from bot.config import Config


@dataclass(frozen=True)
class Deps:
    """Dependencies handed to handlers through bot_data."""

    config: Config
    clock: Clock


def deps(context: CallbackContext[Any, Any, Any, Any]) -> Deps:
    """The application's dependencies."""
    return context.application.bot_data["deps"]  # type: ignore[no-any-return]
