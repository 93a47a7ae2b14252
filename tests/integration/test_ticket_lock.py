"""A ticket read for a change waits for a concurrent claim (PostgreSQL, several instances)."""

from __future__ import annotations

import asyncio

import pytest

from bot.clock import Clock
from bot.domain import lifecycle
from bot.domain.lifecycle import Transition
from bot.domain.vocabulary import Status
from bot.services import roster
from storage.db import create_engine, session_factory
from storage.migrate import upgrade_async
from storage.uow import Database
from tests.integration.test_history_append_only import _one_ticket_with_history


@pytest.mark.postgres
async def test_a_locked_read_sees_a_claim_committing_on_another_instance(pg_url: str) -> None:
    # The card's message id is recorded by one instance while a steward's claim from that
    # card commits on another: the recorder must see the claim, or the card stays unedited.
    await upgrade_async(pg_url)
    await _one_ticket_with_history(pg_url)
    engine = create_engine(pg_url)
    db = Database(session_factory(engine), serialize_writes=False)
    try:
        async with db.uow() as uow:
            await roster.add(uow, Clock(), 1001, "王管家")
            await uow.commit()
        async with db.uow() as claiming:
            assert await claiming.repos.handoff.claim(
                1, 1001, Clock().now(), from_statuses=lifecycle.allowed_from(Transition.CLAIM),
                to_status=Status.ASSIGNED)

            async def record_card() -> str:
                async with db.uow() as recording:
                    t = await recording.repos.tickets.get_locked(1)
                    assert t is not None
                    return t.status

            reader = asyncio.create_task(record_card())
            await asyncio.sleep(0.5)  # the reader has asked by now; the claim is not committed
            await claiming.commit()
        assert await reader == "assigned"
    finally:
        await engine.dispose()
