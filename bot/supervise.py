"""One supervisor for every long-running loop: restart on a crash with capped backoff, heartbeats.

A loop that raises is restarted after 1 s, 2 s, 4 s … (at most `max_backoff`); a loop that has
not called `beat()` within its `stall_after` counts as stalled. `/healthz` reports both.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import traceback
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from bot.metrics import Metrics

log = logging.getLogger(__name__)

LoopFactory = Callable[[], Coroutine[Any, Any, None]]

_PROJECT = str(Path(__file__).resolve().parents[1])

# A loop that ran this long before crashing starts its backoff from the beginning again.
HEALTHY_RUN_S = 60.0


class LoopState(StrEnum):
    """What /healthz says about one supervised loop."""

    OK = "ok"
    CRASHED = "crashed"  # raised; waiting to be restarted, or restarted but not beating yet
    STALLED = "stalled"  # running but silent for longer than its stall_after
    STOPPED = "stopped"  # ended (shutdown)


@dataclass
class _Loop:
    name: str
    factory: LoopFactory
    stall_after: float
    task: asyncio.Task[None] | None = None
    last_beat: float = 0.0
    error: str | None = None  # type name of the last crash, until the loop beats again
    restarts: int = 0


class Supervisor:
    """Starts named loops, restarts crashed ones, and tells which are unhealthy."""

    def __init__(self, metrics: Metrics | None = None, *, max_backoff: float = 30.0) -> None:
        self.metrics = metrics or Metrics()
        self.max_backoff = max_backoff
        self._loops: dict[str, _Loop] = {}

    def start(self, name: str, factory: LoopFactory, *, stall_after: float = 60.0) -> None:
        """Run `factory()` as a supervised task named `name`."""
        loop = _Loop(name, factory, stall_after, last_beat=time.monotonic())
        self._loops[name] = loop
        loop.task = asyncio.create_task(self._guard(loop), name=name)

    def beat(self, name: str) -> None:
        """The loop `name` is alive and making progress."""
        loop = self._loops.get(name)
        if loop is not None:
            loop.last_beat = time.monotonic()
            loop.error = None

    def heartbeat(self, name: str) -> Callable[[], None]:
        """A no-argument beat for one loop (handed to the loop's object)."""
        return lambda: self.beat(name)

    def states(self) -> dict[str, LoopState]:
        """The state of every loop started."""
        now = time.monotonic()
        out: dict[str, LoopState] = {}
        for name, loop in self._loops.items():
            if loop.task is None or loop.task.done():
                out[name] = LoopState.STOPPED
            elif loop.error is not None:
                out[name] = LoopState.CRASHED
            elif now - loop.last_beat > loop.stall_after:
                out[name] = LoopState.STALLED
            else:
                out[name] = LoopState.OK
        return out

    def problems(self) -> dict[str, str]:
        """Loops that are not healthy: name → state (and the last error's type)."""
        out = {}
        for name, state in self.states().items():
            if state is not LoopState.OK:
                err = self._loops[name].error
                out[name] = f"{state.value}: {err}" if err else state.value
        return out

    def running(self, name: str) -> bool:
        """True while the loop `name` has a live task."""
        loop = self._loops.get(name)
        return loop is not None and loop.task is not None and not loop.task.done()

    async def wait(self, name: str, within: float) -> None:
        """Let the loop end by itself (it was asked to), cancelling it after `within` seconds."""
        loop = self._loops.get(name)
        if loop is None or loop.task is None:
            return
        done, _ = await asyncio.wait({loop.task}, timeout=within)
        if not done:
            log.warning("%s did not stop within %.0fs; cancelled", name, within)
            await self.cancel(name)

    async def cancel(self, name: str) -> None:
        """Cancel one loop and wait for it to end."""
        loop = self._loops.get(name)
        if loop is None or loop.task is None:
            return
        loop.task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await loop.task

    async def cancel_all(self) -> None:
        """Cancel every loop still running."""
        for name in list(self._loops):
            await self.cancel(name)

    async def _guard(self, loop: _Loop) -> None:
        backoff = 1.0
        while True:
            started = time.monotonic()
            try:
                await loop.factory()
                return  # the loop ended by itself: it was asked to stop
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a crash must not end the desk: restart it
                if time.monotonic() - started > HEALTHY_RUN_S:
                    backoff = 1.0
                loop.error = type(exc).__name__
                loop.restarts += 1
                self.metrics.loop_restarts.labels(loop.name).inc()
                # The type and where, never the message: it may quote SQL parameters.
                log.error("%s crashed (%s at %s); restarting in %.0fs", loop.name,
                          loop.error, _where(exc), backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff)


class PollingLoop:
    """A supervised loop that makes a pass, then waits `poll_seconds` or until woken."""

    def __init__(self, poll_seconds: float) -> None:
        self.poll_seconds = poll_seconds
        self._wake = asyncio.Event()
        self._stopping = False
        self.heartbeat: Callable[[], None] = lambda: None  # set by the supervisor

    def wake(self) -> None:
        """New work was committed: look now."""
        self._wake.set()

    def stop(self) -> None:
        """End run() after the pass in hand (a pass cancelled mid-transaction leaves a
        connection half rolled back, which the pool then reports as an error)."""
        self._stopping = True
        self._wake.set()

    async def run_due(self) -> int:
        """One pass over the work due now; returns how much was done."""
        raise NotImplementedError

    async def run(self) -> None:
        """Make passes until stopped (a database error ends it; the supervisor restarts it)."""
        while not self._stopping:
            await self.run_due()
            if self._stopping:
                return
            self.heartbeat()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll_seconds):
                    await self._wake.wait()
            self._wake.clear()


def _where(exc: BaseException) -> str:
    """The deepest line of our own code the exception passed through (file:line)."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if f.filename.startswith(_PROJECT) and "/.venv/" not in f.filename]
    f = (ours or frames)[-1]
    return f"{f.filename.removeprefix(_PROJECT).lstrip('/')}:{f.lineno}"
