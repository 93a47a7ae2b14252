"""Several instances on one database: each stored update is processed once, and an update a
dead instance stored is taken over by a live one (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from bot.clock import Clock, FrozenClock
from bot.emulator import Emulator
from bot.inbox import store, to_stored
from tests.integration.test_crash_safety import _wait_until, greetings
from tests.integration.test_inbox_intake import _inbox, _start, webhook_config


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest, db_url: str) -> str:
    """A SQLite file or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return db_url
    return str(request.getfixturevalue("pg_url"))


async def test_an_update_held_by_two_instances_is_processed_once(
        emu: Emulator, url: str, desk_factory: Any) -> None:
    # A restarted instance recovers every pending row, including those a live one holds: both
    # queue the same updates, and each must still be processed exactly once.
    a = await desk_factory(webhook_config(url, emu))
    b = await desk_factory(webhook_config(url, emu))
    users = [(9301 + n, f"U{n}") for n in range(6)]
    for uid, name in users:
        emu.user(uid, first_name=name, language_code="en")
    async with a.db.uow() as uow:
        new = await uow.repos.inbox.store(
            to_stored([_start(600 + n, uid, name) for n, (uid, name) in enumerate(users)]),
            a.clock.now())
        await uow.commit()
    rows = [s for s in to_stored([_start(600 + n, uid, name)
                                  for n, (uid, name) in enumerate(users)])
            if s.update_id in new]
    a.worker.submit(rows)
    b.worker.submit(rows)
    for uid, _ in users:
        await emu.wait_for_sent(uid)

    async def all_done() -> bool:
        return {s for s, _ in (await _inbox(url)).values()} == {"done"}

    await _wait_until(all_done, within=20)
    await a.sender.drain()
    await b.sender.drain()
    await asyncio.sleep(0.3)
    for uid, name in users:
        assert len(greetings(emu, uid, "en", name)) == 1, uid


async def test_what_a_dead_instance_stored_is_taken_over(
        emu: Emulator, url: str, desk_factory: Any) -> None:
    live = await desk_factory(webhook_config(url, emu))
    emu.user(9311, first_name="Ode", language_code="en")
    # Stored a minute ago by an instance that died before processing it (its 200 was sent):
    # the live instance never had it in memory.
    past = FrozenClock(Clock().now() - timedelta(minutes=1))
    assert len(await store(live.db, past, [_start(700, 9311, "Ode")])) == 1
    await emu.wait_for_sent(9311, timeout=30)  # the sweep runs every few seconds
    await live.sender.drain()
    assert len(greetings(emu, 9311, "en", "Ode")) == 1
    assert (await _inbox(url))[700] == ("done", None)
