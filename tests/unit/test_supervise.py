"""The supervisor restarts crashed loops and tells which are unhealthy."""

from __future__ import annotations

import asyncio

from bot.supervise import LoopState, Supervisor


async def _until(cond: object, within: float = 10.0) -> None:
    async with asyncio.timeout(within):
        while not cond():  # type: ignore[operator]  # noqa: ASYNC110 - polls a plain predicate
            await asyncio.sleep(0.01)


async def test_a_crashing_loop_is_restarted_and_reported_until_it_beats() -> None:
    sup = Supervisor(max_backoff=1.0)
    runs: list[int] = []
    release = asyncio.Event()

    async def flaky() -> None:
        runs.append(1)
        if len(runs) < 3:
            raise OSError("database is locked")
        await release.wait()  # the third run is healthy: it beats, then keeps running
        sup.beat("flaky")
        await asyncio.Event().wait()

    sup.start("flaky", flaky)
    await _until(lambda: len(runs) >= 2)
    assert sup.problems() == {"flaky": "crashed: OSError"}
    await _until(lambda: len(runs) == 3)
    release.set()
    await _until(lambda: sup.states()["flaky"] is LoopState.OK)
    assert sup.problems() == {}
    assert sup.metrics.loop_restarts.labels("flaky")._value.get() == 2
    await sup.cancel_all()
    assert sup.states() == {"flaky": LoopState.STOPPED}


async def test_a_loop_that_stops_beating_is_stalled() -> None:
    sup = Supervisor()

    async def silent() -> None:
        await asyncio.Event().wait()

    sup.start("silent", silent, stall_after=0.05)
    await _until(lambda: sup.states()["silent"] is LoopState.STALLED)
    assert sup.problems() == {"silent": "stalled"}
    await sup.cancel_all()


async def test_wait_cancels_a_loop_that_does_not_end_in_time() -> None:
    sup = Supervisor()

    async def stubborn() -> None:
        await asyncio.Event().wait()

    sup.start("stubborn", stubborn)
    await sup.wait("stubborn", within=0.05)
    assert not sup.running("stubborn")
