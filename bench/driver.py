"""The load driver: simulated users talking to the bot through the emulator's control API.

One aiohttp session, two long-lived loops: an :class:`Injector` that coalesces the users'
injections of one event-loop turn into one ``POST /_emu/inject``, and an :class:`EventPump`
that long-polls ``GET /_emu/events`` and hands each of the bot's actions to the user whose chat
it is. Injection and reply times both come from the emulator's clock.
"""

from __future__ import annotations

import asyncio
import random
from collections import deque
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from bench.scenarios import Event, Scenario, ScenarioError, SimUserInfo, Step


class Control:
    """Thin JSON client for the emulator's ``/_emu/`` API."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=16),
            timeout=aiohttp.ClientTimeout(total=120))

    async def close(self) -> None:
        """Close the HTTP session."""
        await self.http.close()

    async def _call(self, method: str, path: str, body: Any = None,
                    params: dict[str, Any] | None = None) -> Any:
        async with self.http.request(method, f"{self.base_url}/_emu/{path}", json=body,
                                     params=params) as r:
            data = await r.json()
        if not data.get("ok"):
            raise RuntimeError(f"emulator {method} {path}: {data.get('error')}")
        return data["result"]

    async def inject(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Inject user actions; returns ``{"at", ...}`` or ``{"error"}`` per item."""
        return await self._call("POST", "inject", {"items": items})  # type: ignore[no-any-return]

    async def events(self, after: int, wait_s: float) -> dict[str, Any]:
        """The bot's actions after seq ``after`` (long poll up to ``wait_s``)."""
        return await self._call(  # type: ignore[no-any-return]
            "GET", "events", params={"after": after, "timeout": wait_s})

    async def stats(self) -> dict[str, Any]:
        """Call counts by method and status, pending updates, newest event seq, emulator now."""
        return await self._call("GET", "stats")  # type: ignore[no-any-return]

    async def reset_stats(self) -> None:
        """Zero the call counts."""
        await self._call("DELETE", "stats")


class Injector:
    """Coalesces concurrent injections into one request (one in flight at a time)."""

    def __init__(self, control: Control, max_batch: int = 500) -> None:
        self.control = control
        self.max_batch = max_batch
        self._queue: list[tuple[dict[str, Any], asyncio.Future[dict[str, Any]]]] = []
        self._task: asyncio.Task[None] | None = None
        self.requests = 0

    async def send(self, item: dict[str, Any]) -> dict[str, Any]:
        """Inject one item; returns the emulator's answer for it."""
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._queue.append((item, fut))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._flush())
        return await fut

    async def _flush(self) -> None:
        await asyncio.sleep(0)  # let the other users of this loop turn queue theirs
        while self._queue:
            batch, self._queue = self._queue[:self.max_batch], self._queue[self.max_batch:]
            self.requests += 1
            try:
                results = await self.control.inject([item for item, _ in batch])
            except Exception as exc:  # noqa: BLE001 - every waiter hears about it
                for _, fut in batch:
                    if not fut.done():
                        fut.set_exception(exc)
                continue
            for (_, fut), res in zip(batch, results, strict=True):
                if not fut.done():
                    fut.set_result(res)


@dataclass
class StepResult:
    """One step of one user: when it was injected and when the bot's answer completed it."""

    user_id: int
    kind: str
    inject_at: float
    done_at: float | None  # None: timed out, or no answer expected
    expected: bool = True  # False: the bot is not meant to answer this step (it listens)

    @property
    def latency(self) -> float | None:
        """Seconds from injection to the answer (emulator clock)."""
        return None if self.done_at is None else self.done_at - self.inject_at


class SimUser:
    """A simulated customer running a scenario, one step at a time."""

    def __init__(self, info: SimUserInfo, scenario: Scenario, injector: Injector,
                 step_timeout: float) -> None:
        self.info, self.scenario, self.injector = info, scenario, injector
        self.step_timeout = step_timeout
        self._gen: Generator[Step, list[Event], None] | None = None
        self._answer: list[Event] = []
        self._pending: Step | None = None
        self._inject_at: float | None = None
        self._got: list[Event] = []
        self._done: asyncio.Future[float] | None = None
        self.stray = 0  # bot actions in this chat that no step was waiting for
        self.restarts = 0

    def next_step(self) -> Step:
        """The scenario's next step (restarting the scenario when it has ended)."""
        for _ in range(2):
            try:
                if self._gen is None:
                    self._gen = self.scenario(self.info)
                    return next(self._gen)
                return self._gen.send(self._answer)
            except StopIteration:
                self._gen = None
                self.restarts += 1
        raise ScenarioError("scenario yields no steps")

    def on_event(self, ev: Event) -> None:
        """An action of the bot in this user's chat."""
        if self._pending is None or self._done is None or self._done.done():
            self.stray += 1
            return
        self._got.append(ev)
        self._check()

    def _check(self) -> None:
        if self._inject_at is None or self._done is None or self._done.done():
            return
        step = self._pending
        assert step is not None and step.expect is not None
        got = [e for e in self._got if e["at"] >= self._inject_at]
        if step.expect(got):
            self._answer = got
            self._done.set_result(got[-1]["at"])

    async def perform(self, step: Step) -> StepResult:
        """Inject ``step`` and wait for the bot's answer to it."""
        self._pending, self._got, self._inject_at = step, [], None
        self._done = asyncio.get_running_loop().create_future() if step.expect else None
        try:
            res = await self.injector.send(step.item(self.info))
            if "error" in res:
                raise ScenarioError(f"user {self.info.id}: inject refused: {res['error']}")
            self._inject_at = float(res["at"])
            if self._done is None:
                self._answer = []
                return StepResult(self.info.id, step.kind, self._inject_at, None,
                                  expected=False)
            self._check()
            try:
                done_at = await asyncio.wait_for(asyncio.shield(self._done), self.step_timeout)
            except TimeoutError:
                self._answer = []
                return StepResult(self.info.id, step.kind, self._inject_at, None)
            return StepResult(self.info.id, step.kind, self._inject_at, done_at)
        finally:
            self._pending = None


class EventPump:
    """Long-polls the emulator's event log and routes each event to its chat's user."""

    def __init__(self, control: Control, users: dict[int, SimUser], after: int) -> None:
        self.control, self.users, self.after = control, users, after
        self.events = 0
        self.other_chats = 0

    async def run(self) -> None:
        """Route events until cancelled."""
        while True:
            got = await self.control.events(self.after, wait_s=1.0)
            for ev in got["events"]:
                self.after = ev["seq"]
                self.events += 1
                user = self.users.get(ev["chat_id"])
                if user is None:
                    self.other_chats += 1
                else:
                    user.on_event(ev)


@dataclass
class LoadResult:
    """What a load run observed (times on the emulator's clock)."""

    steps: list[StepResult] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    deferred: int = 0  # steady mode: arrivals that found no idle user and had to wait
    inject_requests: int = 0
    stray_events: int = 0
    scenario_restarts: int = 0
    wall_s: float = 0.0


def make_users(n: int, scenario: Scenario, injector: Injector, step_timeout: float,
               seed: int = 1, first_id: int = 100_001) -> dict[int, SimUser]:
    """``n`` users, two thirds Chinese-speaking, one third English."""
    users = {}
    for i in range(n):
        uid = first_id + i
        zh = i % 3 != 2
        info = SimUserInfo(uid, i, f"用户{i}" if zh else f"User{i}", "zh-hans" if zh else "en",
                           random.Random(seed * 1_000_003 + i))
        users[uid] = SimUser(info, scenario, injector, step_timeout)
    return users


async def run_load(control: Control, *, users: int, updates: int, scenario: Scenario,
                   rate: float | None, step_timeout: float = 30.0,
                   deadline_s: float = 600.0) -> LoadResult:
    """Drain mode (``rate=None``: every user as fast as its answers come) or steady mode."""
    injector = Injector(control)
    sim = make_users(users, scenario, injector, step_timeout)
    after = (await control.stats())["last_event"]
    pump = EventPump(control, sim, after)
    pump_task = asyncio.create_task(pump.run())
    result = LoadResult()
    loop = asyncio.get_running_loop()
    started = loop.time()

    async def one(u: SimUser) -> None:
        try:
            result.steps.append(await u.perform(u.next_step()))
        except ScenarioError as exc:
            result.errors.append(str(exc))
        except Exception as exc:  # noqa: BLE001 - a broken request is a reported error
            result.errors.append(f"user {u.info.id}: {type(exc).__name__}: {exc}")

    try:
        if rate is None:
            quota = [updates // users + (1 if i < updates % users else 0) for i in range(users)]

            async def user_loop(u: SimUser, n: int) -> None:
                for _ in range(n):
                    await one(u)

            await asyncio.wait_for(
                asyncio.gather(*(user_loop(u, n) for u, n in zip(sim.values(), quota,
                                                                 strict=True))),
                deadline_s)
        else:
            idle: deque[SimUser] = deque(sim.values())
            wake = asyncio.Event()
            tasks: set[asyncio.Task[None]] = set()

            async def step_then_idle(u: SimUser) -> None:
                await one(u)
                idle.append(u)
                wake.set()

            t0 = loop.time()
            for k in range(updates):
                target = t0 + k / rate
                if target > loop.time():
                    await asyncio.sleep(target - loop.time())
                if not idle:  # the bot is behind: this arrival waits for a user to be free
                    result.deferred += 1
                    while not idle:
                        wake.clear()
                        await asyncio.wait_for(wake.wait(), step_timeout + 5)
                t = asyncio.create_task(step_then_idle(idle.popleft()))
                tasks.add(t)
                t.add_done_callback(tasks.discard)
                if loop.time() - started > deadline_s:
                    raise TimeoutError("steady run over its deadline")
            if tasks:
                await asyncio.wait_for(asyncio.gather(*tasks), step_timeout + 10)
    except TimeoutError as exc:
        result.errors.append(f"run stopped at its deadline: {exc!r}")
    finally:
        pump_task.cancel()
        try:
            await pump_task
        except (asyncio.CancelledError, Exception):  # noqa: BLE001 - only ending it
            pass
    result.wall_s = loop.time() - started
    result.inject_requests = injector.requests
    result.stray_events = sum(u.stray for u in sim.values())
    result.scenario_restarts = sum(u.restarts for u in sim.values())
    return result


async def flood_start(control: Control, n: int, first_id: int = 900_001,
                      batch: int = 100) -> float:
    """Inject ``/start`` from ``n`` new users as fast as possible; returns the first ``at``."""
    first: float | None = None
    for i in range(0, n, batch):
        items = [{"user_id": first_id + j, "text": "/start", "first_name": f"U{j}",
                  "language_code": "zh-hans"} for j in range(i, min(n, i + batch))]
        res = await control.inject(items)
        bad = [r for r in res if "error" in r]
        if bad:
            raise ScenarioError(f"inject refused: {bad[0]['error']}")
        if first is None:
            first = res[0]["at"]
    assert first is not None
    return first


async def collect_sends(control: Control, after: int, chats: set[int], want: int,
                        deadline_s: float) -> list[Event]:
    """Gather new-message events to ``chats`` until ``want`` arrived or the deadline passed."""
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline_s
    out: list[Event] = []
    while len(out) < want and loop.time() < end:
        got = await control.events(after, wait_s=min(1.0, max(0.01, end - loop.time())))
        for ev in got["events"]:
            after = ev["seq"]
            if ev["kind"] == "message" and ev["chat_id"] in chats:
                out.append(ev)
    return out
