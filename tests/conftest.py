"""Shared fixtures: the emulator, a configured desk on a real SQLite file, PostgreSQL if present."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from bot.app import App
from bot.clock import Clock
from bot.config import Config, EnvSettings, FileConfig
from bot.emulator import Emulator, Limits
from storage.db import create_engine, session_factory
from storage.migrate import upgrade_async
from storage.uow import Database

TOKEN = "123456:TEST-TOKEN"
PG_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    """A running emulator with limits off (rate limits get their own tests)."""
    e = Emulator(token=TOKEN, limits=Limits.off())
    await e.start()
    yield e
    await e.stop()


def make_config(db_url: str, api_url: str, **file: Any) -> Config:
    """A config pointing at the emulator; limits off unless a test sets them."""
    file.setdefault("telegram", {"limits": {"overall_per_second": 0, "per_chat_per_second": 0,
                                            "per_group_per_minute": 0}, "poll_timeout": 1})
    file.setdefault("web", {"port": 0})  # any free port: several desks may run at once
    # React to each message as soon as it is stored (the pause has its own test).
    file["intake"] = {"listen_pause": "0s", **file.get("intake", {})}
    return Config(
        env=EnvSettings(telegram_bot_token=TOKEN, telegram_api_url=api_url,
                        database_url=db_url),
        file=FileConfig.model_validate(file),
    )


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """A fresh SQLite file."""
    return f"sqlite+aiosqlite:///{tmp_path / 'desk.db'}"


@pytest.fixture
async def database(db_url: str) -> AsyncIterator[Database]:
    """A migrated SQLite file with no desk running on it."""
    await upgrade_async(db_url)
    engine = create_engine(db_url)
    yield Database(session_factory(engine), serialize_writes=True)
    await engine.dispose()


@pytest.fixture
def config(db_url: str, emu: Emulator) -> Config:
    """Default configuration against the emulator."""
    return make_config(db_url, emu.base_url)


@pytest.fixture
async def desk_factory() -> AsyncIterator[Callable[..., Any]]:
    """Start Apps; every one still running is stopped at the end."""
    apps: list[App] = []

    async def start(config: Config, clock: Clock | None = None, **kw: Any) -> App:
        app = App(config, clock=clock or Clock(), **kw)
        await app.start()
        apps.append(app)
        return app

    yield start
    for a in apps:
        await a.stop()  # a no-op for those a test stopped already


@pytest.fixture
async def desk(config: Config, desk_factory: Callable[..., Any]) -> App:
    """A running complaint desk talking to the emulator."""
    return await desk_factory(config)  # type: ignore[no-any-return]


async def _pg_reachable() -> str | None:
    import asyncpg

    dsn = PG_URL.replace("+asyncpg", "")
    try:
        conn = await asyncio.wait_for(asyncpg.connect(dsn), 3)
    except Exception as exc:  # noqa: BLE001 - any failure means "not here"
        return f"{type(exc).__name__}: {exc}"
    await conn.close()
    return None


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    """A fresh, empty PostgreSQL database; skips where no server is reachable."""
    import asyncpg

    problem = await _pg_reachable()
    if problem and os.environ.get("CI"):
        pytest.fail(f"CI provides PostgreSQL at {PG_URL} but it is not reachable: {problem}")
    if problem:
        pytest.skip(f"PostgreSQL not reachable at {PG_URL} ({problem}); "
                    "set TEST_POSTGRES_URL or start a server")
    name = f"cb_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(PG_URL.replace("+asyncpg", ""))
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
