"""Fixtures of the end-to-end tests."""

from __future__ import annotations

from typing import Any

import pytest

from bot.app import App
from bot.emulator import Emulator
from tests.conftest import make_config
from tests.e2e.handoff_helpers import file_config, staff_users


@pytest.fixture
async def staffdesk(emu: Emulator, db_url: str, desk_factory: Any) -> App:
    """A desk with a forum staff group and a roster."""
    staff_users(emu)
    return await desk_factory(make_config(db_url, emu.base_url, **file_config()))  # type: ignore[no-any-return]
