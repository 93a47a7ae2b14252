"""What handlers may reach: the wired services' dependencies, set once by bot/app.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from telegram.ext import CallbackContext

from bot.clock import Clock
from bot.config import Config
from bot.services.desk import Desk


@dataclass(frozen=True)
class Deps:
    """Dependencies handed to handlers through bot_data."""

    config: Config
    clock: Clock
    # Built once from the configuration (categories, calendar, windows), never per update.
    desk: Desk = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "desk", Desk.from_config(self.config, self.clock))


def deps(context: CallbackContext[Any, Any, Any, Any]) -> Deps:
    """The application's dependencies."""
    return context.application.bot_data["deps"]  # type: ignore[no-any-return]
