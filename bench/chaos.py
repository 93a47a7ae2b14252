"""Chaos run: customers file complaints and stewards answer while the bot is killed and the
Bot API fails.

Simulated customers go through the whole intake to the acknowledgement (several complaints
each), stewards claim every card and answer in its topic, and meanwhile the bot processes are
killed with SIGKILL or SIGTERM at random moments and restarted, and the emulator injects 429s,
5xx, timeouts and delivered-but-unanswered sends on a share of all calls. Then the faults stop,
the desk settles and the database and the emulator are checked: no ticket lost or filed twice,
every customer acknowledged, every card posted, every answer relayed, every outbox row
delivered or visibly failed, every inbox row processed or visibly parked.

One instance polls (SQLite); several instances (PostgreSQL) receive by webhook through a small
round-robin proxy, as they would behind a load balancer. `tests/integration/test_chaos.py` runs
a small one; `python bench/chaos.py --help` the large one (results in bench/RESULTS.md).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import html
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from sqlalchemy import func, select

from bot.emulator import Emulator, Limits
from bot.i18n import t
from storage.db import create_engine, session_factory
from storage.models import InboxUpdate, OutboxMessage, Ticket

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "424242:CHAOS-TOKEN"
GROUP = -1009000000001
SUPERVISOR = 9100
STEWARDS = (9101, 9102, 9103)
SECRET = "chaos-secret"
REF = re.compile(r"\b\d{6}-[A-Z0-9]{5}\b")
STORIES = ["楼上漏水,已经三天了", "电梯又坏了,老人上下楼很困难", "垃圾没人清理,味道很大",
           "停车位被占了好几天", "晚上装修噪音太大,睡不着"]
FAULT_KINDS = ("429", "5xx", "timeout", "delivered_timeout")


@dataclass
class Spec:
    """What one chaos run does."""

    customers: int = 10
    complaints_each: int = 5
    instances: int = 1
    db_url: str = ""  # empty: a SQLite file in the work directory
    fault_rate: float = 0.05
    fault_kinds: tuple[str, ...] = FAULT_KINDS
    kill_every: tuple[float, float] = (2.0, 6.0)  # seconds between kills, uniform
    sigterm_share: float = 0.5
    step_patience: float = 45.0  # a customer who hears nothing for this long presses again
    deadline: float = 600.0
    seed: int = 1
    workdir: Path | None = None


@dataclass
class Report:
    """What a chaos run found; `problems()` is empty when nothing was lost or doubled."""

    complaints_wanted: int = 0
    acknowledged: int = 0
    tickets: int = 0
    lost: list[str] = field(default_factory=list)
    duplicate_tickets: int = 0
    cards_missing: list[str] = field(default_factory=list)
    answers_missing: list[str] = field(default_factory=list)
    outbox: dict[str, int] = field(default_factory=dict)
    outbox_failed: list[str] = field(default_factory=list)
    inbox: dict[str, int] = field(default_factory=dict)
    kills: Counter[str] = field(default_factory=Counter)
    sigterm_exit_codes: Counter[int] = field(default_factory=Counter)
    faults_injected: Counter[str] = field(default_factory=Counter)
    api_calls: int = 0
    duplicate_sends_seen: int = 0  # the same text twice in one chat, as the emulator saw it
    duplicates_at_risk: float = 0.0  # what the bots counted (surviving processes only)
    double_presses: int = 0
    stale_presses: int = 0  # a button the bot had just taken away (refused, nothing sent)
    seconds: float = 0.0
    filing_seconds: float = 0.0  # until every customer was acknowledged (the chaos phase)
    stuck: list[str] = field(default_factory=list)
    workdir: str = ""

    def problems(self) -> list[str]:
        """Every broken promise, one line each."""
        out = [f"lost: {x}" for x in self.lost]
        if self.tickets < self.acknowledged:
            out.append(f"{self.acknowledged} acknowledged but {self.tickets} tickets")
        if self.duplicate_tickets:
            out.append(f"{self.duplicate_tickets} duplicate tickets")
        if self.acknowledged < self.complaints_wanted:
            out.append(f"acknowledged {self.acknowledged} of {self.complaints_wanted}")
        out += [f"no card: {x}" for x in self.cards_missing]
        out += [f"answer not relayed: {x}" for x in self.answers_missing]
        if self.outbox.get("pending"):
            out.append(f"{self.outbox['pending']} outbox rows still pending")
        if self.inbox.get("pending"):
            out.append(f"{self.inbox['pending']} inbox rows still pending")
        out += [f"stuck: {x}" for x in self.stuck]
        return out

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly figures."""
        d = dict(self.__dict__)
        for k in ("kills", "sigterm_exit_codes", "faults_injected"):
            d[k] = dict(d[k])
        d["problems"] = self.problems()
        return d


# ---- the bot processes ---------------------------------------------------------------------

def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _config(path: Path, web_port: int, webhook_url: str | None) -> None:
    roster = [f'[[staff]]\ntelegram_id = {SUPERVISOR}\nname = "值班经理"\nrole = "supervisor"\n']
    roster += [f'[[staff]]\ntelegram_id = {sid}\nname = "管家{n}"\nrole = "steward"\n'
               f'supervisor = {SUPERVISOR}\ncategories = ["housing"]\n'
               for n, sid in enumerate(STEWARDS, 1)]
    hook = (f'webhook_url = "{webhook_url}"\nwebhook_secret = "{SECRET}"\n'
            if webhook_url else "")
    path.write_text(
        f"[telegram]\nstaff_group_id = {GROUP}\npoll_timeout = 1\n{hook}"
        "[telegram.limits]\noverall_per_second = 0\nper_chat_per_second = 0\n"
        f"per_group_per_minute = 0\n[web]\nport = {web_port}\n" + "".join(roster),
        encoding="utf-8")


class Instance:
    """One bot process, restartable."""

    def __init__(self, name: str, workdir: Path, api_url: str, db_url: str,
                 webhook_url: str | None) -> None:
        self.name = name
        self.port = _free_port()
        self.cfg = workdir / f"{name}.toml"
        self.log = workdir / f"{name}.log"
        _config(self.cfg, self.port, webhook_url)
        self.env = {**os.environ, "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": api_url,
                    "DATABASE_URL": db_url, "COMPLAINT_BOT_CONFIG": str(self.cfg),
                    "PYTHONPATH": str(ROOT)}
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the process (its output appended to its log)."""
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "bot", "run"], env=self.env,
                                         stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)

    @property
    def alive(self) -> bool:
        """True while the process runs."""
        return self.proc is not None and self.proc.poll() is None

    async def kill(self, sig: int, grace: float = 20.0) -> int | None:
        """Send `sig` and wait for the exit; SIGKILL after `grace`. The exit code (or None)."""
        if not self.alive:
            return None
        assert self.proc is not None
        self.proc.send_signal(sig)
        end = time.monotonic() + grace
        while self.proc.poll() is None and time.monotonic() < end:  # noqa: ASYNC110 - a process
            await asyncio.sleep(0.05)
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
            return None
        return self.proc.returncode

    async def metric(self, name: str) -> float:
        """A counter from this process's /metrics (0 when absent or unreachable)."""
        try:
            async with aiohttp.ClientSession() as http, http.get(
                    f"http://127.0.0.1:{self.port}/metrics",
                    timeout=aiohttp.ClientTimeout(total=5)) as r:
                text = await r.text()
        except (aiohttp.ClientError, TimeoutError):
            return 0.0
        total = 0.0
        for line in text.splitlines():
            if line.startswith(name) and not line.startswith("#"):
                total += float(line.rsplit(" ", 1)[1])
        return total


class Proxy:
    """Round-robin webhook proxy in front of several instances (a load balancer's part)."""

    def __init__(self, instances: list[Instance], rng: random.Random) -> None:
        self.instances, self.rng = instances, rng
        self.port = _free_port()
        self._runner: web.AppRunner | None = None
        self._http: aiohttp.ClientSession | None = None

    async def start(self) -> str:
        """Serve; returns the webhook URL."""
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15))
        app = web.Application()
        app.router.add_post("/hook", self._forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return f"http://127.0.0.1:{self.port}/hook"

    async def _forward(self, request: web.Request) -> web.Response:
        body = await request.read()
        assert self._http is not None
        for inst in self.rng.sample(self.instances, len(self.instances)):
            try:
                async with self._http.post(
                        f"http://127.0.0.1:{inst.port}/telegram/webhook", data=body,
                        headers={"X-Telegram-Bot-Api-Secret-Token": SECRET,
                                 "Content-Type": "application/json"}) as r:
                    if r.status == 200:
                        return web.Response(text="ok")
            except (aiohttp.ClientError, TimeoutError):
                continue
        return web.Response(status=502, text="no instance answered")

    async def stop(self) -> None:
        """Stop serving."""
        if self._http is not None:
            await self._http.close()
        if self._runner is not None:
            await self._runner.cleanup()


# ---- the people ----------------------------------------------------------------------------

def _plain(html_text: str) -> str:
    """A catalog text as the customer sees it (markup turned into entities)."""
    return html.unescape(re.sub(r"<[^>]+>", "", html_text))


def _buttons(msg: dict[str, Any]) -> list[str]:
    return [b["callback_data"] for row in msg.get("reply_markup", {}).get("inline_keyboard", [])
            for b in row if "callback_data" in b]


class Customer:
    """Files complaints by reacting to the bot's newest prompt, whatever came in between."""

    def __init__(self, emu: Emulator, uid: int, complaints: int, rng: random.Random,
                 report: Report, patience: float) -> None:
        self.emu, self.id, self.rng, self.report = emu, uid, rng, report
        self.user = emu.user(uid, first_name=f"客户{uid}", language_code="zh-hans")
        self.wanted = complaints
        self.refs: list[str] = []
        self.patience = patience
        self.messages: dict[int, dict[str, Any]] = {}  # the bot's messages as now (edits too)
        self.started, self.story = 0, ""
        self.confirmed: set[str] = set()  # stories whose read-back was confirmed
        self.changed = asyncio.Event()
        self._handled = 0  # newest bot message id acted upon
        self._texts = {_plain(t("zh_CN", "intake.facts.ask")): "story",
                       _plain(t("zh_CN", "intake.phone.ask")): "phone",
                       _plain(t("zh_CN", "intake.field.ask_text", field="楼栋及房号")): "unit"}

    def on_event(self, ev: dict[str, Any]) -> None:
        """A message or an edit in this customer's chat."""
        if ev["kind"] in ("message", "edit") and ev.get("message_id") is not None:
            self.messages[ev["message_id"]] = ev
            self.changed.set()

    def texts(self) -> list[str]:
        """Every text the bot has shown this customer."""
        return [m.get("text") or "" for m in self.messages.values()]

    def _prompt(self, msg: dict[str, Any]) -> tuple[str, str] | None:
        """What to do about a bot message: (kind, value) or None when it asks nothing."""
        text, data = msg.get("text") or "", _buttons(msg)
        # Questions that want words first: "tell me what happened" also has a Done button.
        for question, kind in self._texts.items():
            if question in text:
                return kind, ""
        # The category comes after the story: housing when offered, else the full list.
        # Every story is a new matter: "the same matter as ticket X?" is answered "no, new".
        for button in ("c:ok", "c:prev:no", "c:same:new", "c:pname", "c:abt:no",
                       "c:out:repair", "c:cat:housing", "c:cats", "c:done", "c:file"):
            if button in data:
                return "press", button
        return None

    def _ack(self, msg: dict[str, Any]) -> str | None:
        text = msg.get("text") or ""
        if "非常抱歉" in text and "感谢" in text and (m := REF.search(text)):
            return m.group(0)
        return None

    async def run(self) -> None:
        """File `wanted` complaints, one after the other."""
        await self.user.send_text("/start")
        last_action: tuple[str, str, int] | None = None
        while len(self.refs) < self.wanted:
            try:
                await asyncio.wait_for(self.changed.wait(), self.patience)
            except TimeoutError:
                # Nothing for a long while: a real customer presses again (never retypes).
                if last_action is not None and last_action[0] == "press":
                    self.report.double_presses += 1
                    await self._press(last_action[2], last_action[1])
                continue
            self.changed.clear()
            new = [self.messages[i] for i in sorted(self.messages) if i > self._handled]
            acks = [(m, ref) for m in new if (ref := self._ack(m)) and ref not in self.refs]
            if acks:
                msg, ref = acks[0]
                self.refs.append(ref)
                self.report.acknowledged += 1
                self._handled, last_action = msg["message_id"], None
                if len(self.refs) < self.wanted:
                    await self.user.send_text("/start")
                continue
            prompts = [(m, p) for m in new if (p := self._prompt(m)) is not None]
            if prompts:
                msg, (kind, value) = prompts[-1]  # only the newest question counts
                self._handled = msg["message_id"]
                last_action = (kind, value, msg["message_id"])
                await self._do(kind, value, msg["message_id"])
            elif new:
                self._handled = new[-1]["message_id"]

    async def _press(self, mid: int, value: str) -> None:
        try:
            await self.user.press(mid, value)
        except ValueError:
            # The bot took the button away (an older prompt's "That's all") between our seeing
            # it and pressing: nothing was sent; the next prompt will come.
            self.report.stale_presses += 1

    async def _do(self, kind: str, value: str, mid: int) -> None:
        if kind == "press":
            if value == "c:ok" and self.story in (self.messages[mid].get("text") or ""):
                self.confirmed.add(self.story)  # the read-back of this story, confirmed
            await self._press(mid, value)
            if value == "c:ok" and self.rng.random() < 0.1:  # an impatient double tap
                self.report.double_presses += 1
                await self._press(mid, value)
        elif kind == "story":
            # A mark of its own, so a ticket can be told from a copy of the same complaint.
            self.started += 1
            self.story = f"{self.rng.choice(STORIES)}({self.id}-{self.started})"
            await self.user.send_text(self.story)
        elif kind == "unit":
            await self.user.send_text(f"{1 + self.id % 30}栋 {1 + self.id % 2000}")
        elif kind == "phone":
            await self.user.send_contact(f"+86138{self.id % 100_000_000:08d}")


class Stewards:
    """Claim every card in the staff group and answer in its topic."""

    def __init__(self, emu: Emulator, rng: random.Random) -> None:
        self.emu, self.rng = emu, rng
        self.claimed: dict[str, tuple[int, int]] = {}  # ref -> (steward, topic)
        self.answered: set[str] = set()
        self.events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    def answer_text(self, ref: str) -> str:
        """What the steward writes for a ticket (unique, so the relay can be found)."""
        return f"您好,工单 {ref} 已安排维修师傅明天上午上门。"

    async def run(self, stop: asyncio.Event) -> None:
        """Claim and answer, card by card as they appear or change, until stopped."""
        while not stop.is_set():
            try:
                msg = await asyncio.wait_for(self.events.get(), 0.5)
            except TimeoutError:
                continue
            ref_match = REF.search(msg.get("text") or "")
            if msg["kind"] not in ("message", "edit") or ref_match is None:
                continue
            ref, data = ref_match.group(0), _buttons(msg)
            claim = next((d for d in data if d.startswith("s:claim:")), None)
            if claim and ref not in self.claimed and msg.get("message_thread_id"):
                sid = self.rng.choice(STEWARDS)
                with contextlib.suppress(ValueError):  # the card changed meanwhile: next event
                    await self.emu.user(sid).press(msg["message_id"], claim, chat_id=GROUP)
                    self.claimed[ref] = (sid, msg["message_thread_id"])
            elif ref in self.claimed and ref not in self.answered and data and not claim:
                # The card was edited once claimed: the Claim button is gone.
                sid, topic = self.claimed[ref]
                self.answered.add(ref)
                await self.emu.user(sid).send_text(self.answer_text(ref), chat_id=GROUP,
                                                   message_thread_id=topic)


async def _pump(emu: Emulator, customers: dict[int, Customer], stewards: Stewards,
                stop: asyncio.Event) -> None:
    """Hand each of the bot's actions to the customer or the stewards whose chat it is in."""
    after = emu.last_event_seq
    while not stop.is_set():
        for ev in await emu.wait_events(after, timeout=0.5):
            after = ev["seq"]
            if ev["chat_id"] == GROUP:
                stewards.events.put_nowait(ev)
            elif (c := customers.get(ev["chat_id"])) is not None:
                c.on_event(ev)


# ---- the run -------------------------------------------------------------------------------

class RandomFaults:
    """Fails a share of all Bot API calls, each with a kind chosen at random."""

    def __init__(self, emu: Emulator, spec: Spec, rng: random.Random, report: Report) -> None:
        self.emu, self.spec, self.rng, self.report = emu, spec, rng, report

    def install(self) -> None:
        """Faults from now on."""
        if not self.spec.fault_rate:
            return
        for kind in self.spec.fault_kinds:
            self.emu.add_fault(kind=kind, times=None, retry_after=1, delay=3.0,
                               probability=self.spec.fault_rate / len(self.spec.fault_kinds))

    def remove(self) -> None:
        """No more faults."""
        self.emu.clear_faults()


async def _killer(instances: list[Instance], spec: Spec, rng: random.Random, report: Report,
                  stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), rng.uniform(*spec.kill_every))
            return
        except TimeoutError:
            pass
        inst = rng.choice(instances)
        if rng.random() < spec.sigterm_share:
            code = await inst.kill(signal.SIGTERM)
            report.kills["SIGTERM"] += 1
            report.sigterm_exit_codes[-1 if code is None else code] += 1
        else:
            await inst.kill(signal.SIGKILL)
            report.kills["SIGKILL"] += 1
        await asyncio.sleep(rng.uniform(0.2, 1.0))
        inst.start()


async def _wait(cond: Any, within: float, step: float = 0.2) -> bool:
    end = time.monotonic() + within
    while time.monotonic() < end:
        if await cond():
            return True
        await asyncio.sleep(step)
    return False


async def run_chaos(spec: Spec) -> Report:
    """Run one chaos run and check what it left behind."""
    rng = random.Random(spec.seed)
    report = Report(complaints_wanted=spec.customers * spec.complaints_each)
    workdir = spec.workdir or Path(tempfile.mkdtemp(prefix="chaos-"))
    db_url = spec.db_url or f"sqlite+aiosqlite:///{workdir / 'desk.db'}"
    emu = Emulator(token=TOKEN, limits=Limits.off(), seed=spec.seed)
    await emu.start()
    emu.create_group(GROUP, title="管家群", is_forum=True)
    emu.user(SUPERVISOR, first_name="值班经理", language_code="zh")
    for sid in STEWARDS:
        emu.user(sid, first_name=f"管家{sid}", language_code="zh")
    proxy: Proxy | None = None
    instances: list[Instance] = []
    hook = None
    if spec.instances > 1:
        proxy = Proxy(instances, rng)
        hook = await proxy.start()
    for n in range(spec.instances):
        instances.append(Instance(f"bot{n}", workdir, emu.base_url, db_url, hook))
    started = time.monotonic()
    faults = RandomFaults(emu, spec, rng, report)
    stop_staff, stop_killer = asyncio.Event(), asyncio.Event()
    try:
        instances[0].start()
        await asyncio.sleep(1.0)  # the first one migrates the database alone
        for inst in instances[1:]:
            inst.start()
        faults.install()
        customers = [Customer(emu, 700_000 + n, spec.complaints_each, rng, report,
                              spec.step_patience) for n in range(spec.customers)]
        stewards = Stewards(emu, rng)
        pump = asyncio.create_task(_pump(emu, {c.id: c for c in customers}, stewards,
                                         stop_staff))
        staff_task = asyncio.create_task(stewards.run(stop_staff))
        killer = asyncio.create_task(_killer(instances, spec, rng, report, stop_killer))
        filing = asyncio.gather(*(c.run() for c in customers))
        try:
            await asyncio.wait_for(filing, spec.deadline)
        except TimeoutError:
            report.stuck += [f"customer {c.id}: {len(c.refs)} of {c.wanted} acknowledged"
                             for c in customers if len(c.refs) < c.wanted]
        report.filing_seconds = round(time.monotonic() - started, 1)
        # The chaos ends; everything promised must now arrive.
        stop_killer.set()
        await killer
        faults.remove()
        for inst in instances:
            if not inst.alive:
                inst.start()
        refs = {r for c in customers for r in c.refs}

        async def all_answered() -> bool:
            return all(_relayed(c, stewards) for c in customers)

        await _wait(all_answered, min(180.0, spec.deadline))
        stop_staff.set()
        await staff_task
        await pump
        await _wait(lambda: _settled(db_url), 60.0)
        report.duplicates_at_risk = sum(
            [await i.metric("complaint_bot_outbox_duplicates_at_risk_total") for i in instances])
        for inst in instances:
            code = await inst.kill(signal.SIGTERM)
            report.sigterm_exit_codes[-1 if code is None else code] += 1
        await _check(report, db_url, emu, customers, stewards, refs)
        report.faults_injected = Counter(
            str(c.status) for c in emu.calls if c.status != 200)
        report.api_calls = len(emu.calls)
    finally:
        stop_killer.set()
        stop_staff.set()
        for inst in instances:
            if inst.alive:
                await inst.kill(signal.SIGKILL)
        if proxy is not None:
            await proxy.stop()
        await emu.stop()
    report.seconds = round(time.monotonic() - started, 1)
    report.workdir = str(workdir)
    return report


def _relayed(c: Customer, stewards: Stewards, refs: list[str] | None = None) -> bool:
    texts = c.texts()
    return all(any(stewards.answer_text(ref) in x for x in texts) for ref in refs or c.refs)


async def _settled(db_url: str) -> bool:
    engine = create_engine(db_url)
    try:
        async with session_factory(engine)() as s:
            inbox = await s.scalar(select(func.count()).select_from(InboxUpdate)
                                   .where(InboxUpdate.status == "pending"))
            outbox = await s.scalar(select(func.count()).select_from(OutboxMessage)
                                    .where(OutboxMessage.status == "pending"))
        return inbox == 0 and outbox == 0
    except Exception:  # noqa: BLE001 - mid-restart
        return False
    finally:
        await engine.dispose()


async def _check(report: Report, db_url: str, emu: Emulator, customers: list[Customer],
                 stewards: Stewards, refs: set[str]) -> None:
    engine = create_engine(db_url)
    try:
        async with session_factory(engine)() as s:
            tickets = list((await s.scalars(select(Ticket))).all())
            outbox = list((await s.scalars(select(OutboxMessage))).all())
            inbox = Counter((await s.scalars(select(InboxUpdate.status))).all())
    finally:
        await engine.dispose()
    report.tickets = len(tickets)
    by_ref = {tk.ref: tk for tk in tickets}
    # Every confirmed complaint has exactly one ticket (its story carries a mark of its own);
    # every acknowledged reference is a ticket. A customer who answered a late repeat of an
    # earlier question with the story finds it where that answer goes (the desired outcome, a
    # field, or their name — read back to them and confirmed so): stored all the same, so every
    # field a customer fills is searched.
    per_story = Counter(tk.facts for tk in tickets)
    stored = [" ".join((tk.facts or "", tk.desired_outcome or "", tk.contact_name or "",
                        json.dumps(tk.extra or {}, ensure_ascii=False))) for tk in tickets]
    confirmed = {story for c in customers for story in c.confirmed}
    report.lost = sorted(refs - set(by_ref)) + sorted(
        story for story in confirmed if not any(story in x for x in stored))
    report.duplicate_tickets = sum(n - 1 for n in per_story.values() if n > 1)
    report.cards_missing = sorted(tk.ref for tk in tickets
                                  if not (tk.topic_id and tk.card_message_id))
    report.answers_missing = sorted(
        f"{ref} ({by_ref[ref].status}, assignee {by_ref[ref].assignee_id}, "
        f"claimed by {stewards.claimed.get(ref)})" if ref in by_ref else ref
        for c in customers for ref in c.refs if not _relayed(c, stewards, [ref]))
    report.outbox = dict(Counter(r.status for r in outbox))
    report.outbox_failed = sorted(f"{r.method} to {r.chat_id}: {r.error}"
                                  for r in outbox if r.status == "failed")
    report.inbox = dict(inbox)
    # A message sent twice shows as two identical messages in a row (legitimate repeats of a
    # prompt have the customer's words in between).
    for chat_id in [c.id for c in customers] + [GROUP]:
        shown = [(m.get("text"), m.get("message_thread_id"), _buttons(m))
                 for m in emu.sent(chat_id)]
        report.duplicate_sends_seen += sum(a == b for a, b in zip(shown, shown[1:], strict=False))


def main(argv: list[str] | None = None) -> int:
    """`python bench/chaos.py`: the large chaos run, figures as JSON."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--customers", type=int, default=200)
    p.add_argument("--complaints-each", type=int, default=10)
    p.add_argument("--instances", type=int, default=1)
    p.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    p.add_argument("--fault-rate", type=float, default=0.05)
    p.add_argument("--kill-every", type=float, nargs=2, default=(2.0, 6.0), metavar=("MIN", "MAX"),
                   help="seconds between kills, uniform (default 2 6)")
    p.add_argument("--deadline", type=float, default=1800.0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--keep", action="store_true",
                   help="keep the work directory (logs, SQLite file) and the PostgreSQL database")
    args = p.parse_args(argv)
    return asyncio.run(_amain(args))


async def _amain(args: argparse.Namespace) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="chaos-"))
    db_url, pg_name = "", None
    if args.db == "postgres":
        from bench.run import create_pg_database, drop_pg_database

        db_url, pg_name = await create_pg_database()
    spec = Spec(customers=args.customers, complaints_each=args.complaints_each,
                instances=args.instances, db_url=db_url, fault_rate=args.fault_rate,
                kill_every=tuple(args.kill_every),
                deadline=args.deadline, seed=args.seed, workdir=workdir)
    try:
        report = await run_chaos(spec)
    finally:
        if pg_name and not args.keep:
            await drop_pg_database(pg_name)
    print(json.dumps({"spec": {k: v for k, v in spec.__dict__.items() if k != "workdir"},
                      "report": report.as_dict()}, ensure_ascii=False, indent=1, default=str))
    if args.keep:
        print(f"work directory: {workdir}", file=sys.stderr)
    return 1 if report.problems() else 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
