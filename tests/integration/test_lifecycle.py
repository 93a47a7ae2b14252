"""The process lifecycle: loops that survive errors, /healthz, SIGTERM, start-up failures."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.app import App, TokenRejected
from bot.config import Config
from bot.emulator import Emulator, Limits
from storage.models import OutboxMessage
from tests.conftest import TOKEN, make_config
from tests.integration.test_crash_safety import _rows, _wait_until, greetings


async def _health(app: App) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as http, http.get(
            f"http://127.0.0.1:{app.web_port}/healthz") as r:
        return r.status, await r.json()


async def _crashed(app: App, loop: str) -> bool:
    return loop in app.supervisor.problems()


def _sqlite_path(db_url: str) -> str:
    return db_url.split(":///", 1)[1]


async def test_a_database_lock_does_not_kill_the_poller(
        emu: Emulator, config: Config, db_url: str, desk_factory: Any) -> None:
    """Another connection holds the SQLite write lock longer than the busy timeout while a
    customer writes: /healthz names the crashed poller (503); once the lock is gone the poller
    is back, the customer is answered and /healthz is 200 again."""
    app = await desk_factory(config)
    assert (await _health(app))[0] == 200
    holder = sqlite3.connect(_sqlite_path(db_url), timeout=10, isolation_level=None,
                             check_same_thread=False)
    try:
        await asyncio.to_thread(holder.execute, "BEGIN IMMEDIATE")
        await emu.user(7301, first_name="Ada", language_code="en").send_text("/start")

        await _wait_until(lambda: _crashed(app, "poller"), within=40)
        # Asked while the lock is still held (so the poller cannot have recovered meanwhile).
        status, body = await _health(app)
        assert status == 503
        assert body["problems"]["poller"] == "crashed: OperationalError"
    finally:
        holder.rollback()
        holder.close()
    await emu.wait_for_sent(7301, timeout=40)
    assert len(greetings(emu, 7301, "en", "Ada")) == 1

    async def healthy() -> bool:
        return (await _health(app))[0] == 200

    await _wait_until(healthy, within=40)
    assert app.metrics.loop_restarts.labels("poller")._value.get() >= 1


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_start_with_telegram_unreachable_waits_then_serves(
        db_url: str, caplog: pytest.LogCaptureFixture) -> None:
    """Bot API down at start: the desk starts anyway (healthz says telegram unreachable), retries
    with one log line per attempt and no traceback, and serves once Telegram is up."""
    caplog.set_level(logging.INFO)
    port = _free_port()
    app = App(make_config(db_url, f"http://127.0.0.1:{port}"))
    emu = Emulator(token=TOKEN, limits=Limits.off())
    try:
        await app.start()
        status, body = await _health(app)
        assert status == 503 and body["problems"] == {"telegram": "unreachable"}

        async def retried() -> bool:
            return sum("Telegram unreachable" in r.getMessage() for r in caplog.records) >= 2

        await _wait_until(retried, within=20)
        await emu.start(port=port)
        await emu.user(7302, first_name="Bea", language_code="en").send_text("/start")
        await emu.wait_for_sent(7302, timeout=90)
        assert len(greetings(emu, 7302, "en", "Bea")) == 1
        assert (await _health(app))[0] == 200
    finally:
        await app.stop()
        await emu.stop()
    assert not [r for r in caplog.records if r.exc_info]  # no traceback anywhere


async def test_webhook_is_set_once_telegram_is_reachable(db_url: str) -> None:
    """Webhook mode, Bot API down at start: setWebhook is retried with getMe, then updates flow."""
    from tests.integration.test_inbox_intake import _post, _start, webhook_config

    port = _free_port()
    app = App(webhook_config(db_url, f"http://127.0.0.1:{port}"))
    emu = Emulator(token=TOKEN, limits=Limits.off())
    try:
        await app.start()
        assert (await _health(app))[1]["problems"] == {"telegram": "unreachable"}
        await emu.start(port=port)

        async def webhook_set() -> bool:
            return any(c.method == "setWebhook" and c.status == 200 for c in emu.calls)

        await _wait_until(webhook_set, within=90)
        emu.user(7303, first_name="Cid", language_code="en")
        assert await _post(app, _start(700, 7303, "Cid")) == 200
        await emu.wait_for_sent(7303, timeout=30)
        assert len(greetings(emu, 7303, "en", "Cid")) == 1
    finally:
        await app.stop()
        await emu.stop()


async def test_a_token_rejected_once_telegram_is_back_stops_the_desk(db_url: str) -> None:
    """Down at start, then up but refusing the token: run_forever ends with the config error."""
    port = _free_port()
    app = App(make_config(db_url, f"http://127.0.0.1:{port}"))
    emu = Emulator(token="654321:ANOTHER-BOT", limits=Limits.off())
    runner = asyncio.create_task(app.run_forever(asyncio.Event()))
    try:
        async def started() -> bool:
            return app.web_port is not None

        await _wait_until(started, within=30)
        await emu.start(port=port)
        with pytest.raises(TokenRejected):
            async with asyncio.timeout(90):
                await runner
    finally:
        runner.cancel()
        await emu.stop()


def _bot_env(emu_url: str, db_url: str, cfg: Path, token: str = TOKEN) -> dict[str, str]:
    return {**os.environ, "TELEGRAM_BOT_TOKEN": token, "TELEGRAM_API_URL": emu_url,
            "DATABASE_URL": db_url, "COMPLAINT_BOT_CONFIG": str(cfg)}


def _config_file(tmp_path: Path, extra: str = "[web]\nport = 0\n") -> Path:
    cfg = tmp_path / "desk.toml"
    cfg.write_text("[telegram]\npoll_timeout = 1\n[telegram.limits]\noverall_per_second = 0\n"
                   "per_chat_per_second = 0\nper_group_per_minute = 0\n" + extra)
    return cfg


def _spawn(env: dict[str, str], *, capture: bool = False) -> subprocess.Popen[bytes]:
    """`complaint-bot run` as a real process; its stderr kept when `capture`."""
    out = subprocess.PIPE if capture else subprocess.DEVNULL
    return subprocess.Popen([sys.executable, "-m", "bot", "run"], env=env, stdout=out,
                            stderr=out)


async def _exit_of(proc: subprocess.Popen[bytes], within: float = 60) -> int:
    """The exit code, waited for without blocking the event loop (the emulator runs in it)."""
    return await asyncio.to_thread(proc.wait, within)


async def _config_error_of(proc: subprocess.Popen[bytes]) -> tuple[str, list[str]]:
    """Wait for exit code 2; its stderr and the `complaint-bot:` lines in it."""
    try:
        assert await _exit_of(proc) == 2
    finally:
        proc.kill()
    err = proc.stderr.read().decode() if proc.stderr else ""
    return err, [ln for ln in err.splitlines() if ln.startswith("complaint-bot:")]


async def test_a_rejected_token_is_a_config_error(
        emu: Emulator, db_url: str, tmp_path: Path) -> None:
    """A token Telegram answers 401 to: one line naming it, exit 2, no traceback."""
    proc = _spawn(_bot_env(emu.base_url, db_url, _config_file(tmp_path), token="123456:WRONG"),
                  capture=True)
    err, lines = await _config_error_of(proc)
    assert lines == ["complaint-bot: config error: TELEGRAM_BOT_TOKEN: "
                     "Telegram rejected the token (401 Unauthorized)"]
    assert "Traceback" not in err and "WRONG" not in err


async def test_a_web_port_in_use_is_a_config_error(
        emu: Emulator, db_url: str, tmp_path: Path) -> None:
    """[web] port taken by another program: one line naming [web] port, exit 2."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        cfg = _config_file(tmp_path, f"[web]\nhost = \"127.0.0.1\"\nport = {port}\n")
        proc = _spawn(_bot_env(emu.base_url, db_url, cfg), capture=True)
        err, lines = await _config_error_of(proc)
    assert lines == [f"complaint-bot: config error: [web] port: 127.0.0.1:{port} is already "
                     "in use (choose a free port)"]
    assert "Traceback" not in err


async def test_sigterm_lets_sends_in_flight_finish_and_nothing_is_sent_twice(
        emu: Emulator, db_url: str, tmp_path: Path) -> None:
    """SIGTERM while replies are in flight: they complete and are recorded, the process exits 0,
    and after a restart nobody gets their reply twice."""
    env = _bot_env(emu.base_url, db_url, _config_file(tmp_path))

    users = [(7310 + n, f"U{n}") for n in range(5)]
    proc = _spawn(env)
    try:
        async def polling() -> bool:
            return any(c.method == "getUpdates" for c in emu.calls)

        await _wait_until(polling, within=30)
        emu.latency = 1.5  # every Bot API call is held this long, then done: sends in flight
        for uid, name in users:
            await emu.user(uid, first_name=name, language_code="en").send_text("/start")

        async def leased() -> bool:  # the sender holds them: their calls start right away
            rows = await _rows(db_url, OutboxMessage)
            return len(rows) == len(users) and all(r.lease_until is not None or r.status == "sent"
                                                   for r in rows)

        await _wait_until(leased, within=30)
        await asyncio.sleep(0.3)  # their calls are being held by the emulator now
        proc.send_signal(signal.SIGTERM)
        assert await _exit_of(proc, 30) == 0
        emu.latency = 0.0
        rows = await _rows(db_url, OutboxMessage)
        assert {r.status for r in rows} == {"sent"}  # recorded before the exit
        proc = _spawn(env)
        for uid, _ in users:
            await emu.wait_for_sent(uid, timeout=30)
        await asyncio.sleep(1.0)  # room for a duplicate to show up, if one were coming
        for uid, name in users:
            assert len(greetings(emu, uid, "en", name)) == 1
    finally:
        proc.kill()
        await _exit_of(proc, 10)
