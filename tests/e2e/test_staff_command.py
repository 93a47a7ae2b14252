"""/staff in the staff group: admins manage the roster; everyone else is refused."""

from __future__ import annotations

from typing import Any

import pytest

from bot.app import App
from bot.emulator import Emulator
from tests.conftest import make_config
from tests.e2e.handoff_helpers import ADMIN, GROUP, STEWARD, file_config, settle, staff_users
from tests.e2e.intake_helpers import assert_no_rejections, plain

NEW = 1010


@pytest.fixture
async def staffdesk(emu: Emulator, db_url: str, desk_factory: Any) -> App:
    """A desk with a forum staff group and a roster."""
    staff_users(emu)
    return await desk_factory(make_config(db_url, emu.base_url, **file_config()))  # type: ignore[no-any-return]


async def _staff(desk: App, emu: Emulator, who: int, args: str) -> dict[str, Any]:
    """Send `/staff args` in the group as `who`; the bot's one reply."""
    before = len(emu.sent(GROUP))
    await emu.user(who).send_text(f"/staff {args}".strip(), chat_id=GROUP)
    await emu.wait_for_sent(GROUP, count=before + 1)
    await settle(desk, emu)
    [reply] = emu.sent(GROUP)[before:]
    return reply


async def _row(desk: App, staff_id: int) -> tuple[str, str, bool] | None:
    async with desk.db.uow() as uow:
        s = await uow.repos.staff.get(staff_id)
        return (s.name, s.role, s.active) if s else None


async def test_admin_adds_changes_removes_and_lists(emu: Emulator, staffdesk: App) -> None:
    reply = await _staff(staffdesk, emu, ADMIN, f"add {NEW} steward 周管家")
    assert reply["text"] == plain("zh_CN", "staff.roster", rows=f"{NEW} · 周管家 · steward")
    assert await _row(staffdesk, NEW) == ("周管家", "steward", True)

    reply = await _staff(staffdesk, emu, ADMIN, f"role {NEW} supervisor")
    assert reply["text"] == plain("zh_CN", "staff.roster", rows=f"{NEW} · 周管家 · supervisor")
    assert await _row(staffdesk, NEW) == ("周管家", "supervisor", True)

    reply = await _staff(staffdesk, emu, ADMIN, f"remove {NEW}")
    assert reply["text"] == plain("zh_CN", "staff.roster",
                                  rows=f"{NEW} · 周管家 · supervisor · ✗")
    assert await _row(staffdesk, NEW) == ("周管家", "supervisor", False)  # kept, inactive

    reply = await _staff(staffdesk, emu, ADMIN, "list")
    lines = reply["text"].splitlines()[1:]
    assert f"{STEWARD} · 王管家 · steward" in lines
    assert f"{ADMIN} · 管理员 · admin" in lines
    assert f"{NEW} · 周管家 · supervisor · ✗" in lines
    assert len(lines) == 7  # the six of the TOML roster and the new one

    # Mistakes are explained, and change nothing.
    reply = await _staff(staffdesk, emu, ADMIN, f"role {NEW} boss")
    assert reply["text"].startswith(plain("zh_CN", "staff.roster_error", error=""))
    assert "boss" in reply["text"]
    assert await _row(staffdesk, NEW) == ("周管家", "supervisor", False)
    reply = await _staff(staffdesk, emu, ADMIN, "promote everyone")
    assert reply["text"] == plain("zh_CN", "staff.usage.staff")
    assert_no_rejections(emu)


@pytest.mark.parametrize("args", ["list", f"add {NEW} admin 周管家", f"remove {ADMIN}"])
async def test_a_steward_is_refused(emu: Emulator, staffdesk: App, args: str) -> None:
    reply = await _staff(staffdesk, emu, STEWARD, args)
    assert reply["text"] == plain("zh_CN", "access.admin_only")
    assert await _row(staffdesk, NEW) is None
    assert await _row(staffdesk, ADMIN) == ("管理员", "admin", True)
    assert_no_rejections(emu)
