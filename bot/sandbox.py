"""`complaint-bot sandbox`: the emulator and the bot together, chatting in this terminal."""

from __future__ import annotations

import asyncio
import contextlib
import html
import os
import re
import sys
from pathlib import Path
from typing import Any

from bot.app import App
from bot.config import Config, EnvSettings
from bot.emulator import Emulator, EmuUser

SANDBOX_TOKEN = "100000:SANDBOX"
_TAG = re.compile(r"<[^>]+>")
HELP = ("Type to chat as a customer. A number picks a button; /photo PATH sends a picture; "
        "/quit leaves.")


def plain(text: str) -> str:
    """Telegram HTML as terminal text."""
    return html.unescape(_TAG.sub("", text))


def choices(msg: dict[str, Any]) -> list[dict[str, Any]]:
    """The buttons of a message, inline or reply keyboard, in reading order."""
    markup = msg.get("reply_markup") or {}
    rows = markup.get("inline_keyboard") or markup.get("keyboard") or []
    return [b if isinstance(b, dict) else {"text": b} for row in rows for b in row]


def render(msg: dict[str, Any], edited: bool) -> str:
    """One bot message for the terminal, its buttons numbered."""
    body = plain(msg.get("text") or msg.get("caption") or "[" + ", ".join(
        k for k in ("photo", "document", "voice") if k in msg) + "]")
    lines = [("bot (edited): " if edited else "bot: ") + body]
    buttons = choices(msg)
    if buttons:
        lines.append("   " + "  ".join(f"[{i}] {b['text']}" for i, b in enumerate(buttons, 1)))
    return "\n".join(lines)


class Terminal:
    """Shows what the bot sends and turns typed lines into customer actions."""

    def __init__(self, emu: Emulator, user: EmuUser) -> None:
        self.emu, self.user = emu, user
        self._seen: dict[int, str] = {}  # message id -> what it looked like when shown
        self.last_buttons: tuple[dict[str, Any], list[dict[str, Any]]] | None = None

    def refresh(self) -> list[str]:
        """New or edited bot messages since the last call, rendered."""
        out = []
        for msg in self.emu.sent(self.user.id):
            look = repr((msg.get("text"), msg.get("caption"), msg.get("reply_markup")))
            before = self._seen.get(msg["message_id"])
            if before != look:
                self._seen[msg["message_id"]] = look
                out.append(render(msg, edited=before is not None))
                if choices(msg):
                    self.last_buttons = (msg, choices(msg))
        return out

    async def act(self, line: str) -> bool:
        """Carry out one typed line; False when the person wants to leave."""
        line = line.strip()
        if line in ("/quit", "/exit"):
            return False
        if line.startswith("/photo "):
            try:
                data = await asyncio.to_thread(_read, line[7:].strip())
            except OSError as err:
                print(f"cannot read {line[7:].strip()}: {err.strerror}", flush=True)
                return True
            await self.user.send_photo(data)
        elif line.isdigit() and self.last_buttons and 0 < int(line) <= len(self.last_buttons[1]):
            msg, buttons = self.last_buttons
            b = buttons[int(line) - 1]
            if "callback_data" in b:
                await self.user.press(msg["message_id"], b["callback_data"])
            elif b.get("request_contact"):
                await self.user.send_contact("+8613812345678")
            else:
                await self.user.send_text(b["text"])
        elif line:
            await self.user.send_text(line)
        return True


async def run_sandbox(config: Config, *, port: int = 0, user_id: int = 5001,
                      language_code: str = "zh-hans") -> None:
    """Run emulator + bot on SQLite and chat from stdin until /quit or end of input."""
    emu = Emulator(token=SANDBOX_TOKEN)
    await emu.start(port=port)
    env = config.env
    # A database the person chose is used; otherwise the sandbox keeps to its own file.
    chosen = any(k.upper() == "DATABASE_URL" for k in os.environ)
    db_url = env.database_url if chosen else "sqlite+aiosqlite:///sandbox.db"
    cfg = config.model_copy(update={
        "env": EnvSettings(telegram_bot_token=SANDBOX_TOKEN, telegram_api_url=emu.base_url,
                           database_url=db_url),
        # Any free port: a sandbox must start even where 8080 is taken.
        "file": config.file.model_copy(update={
            "web": config.file.web.model_copy(update={"port": 0})})})
    if cfg.file.telegram.staff_group_id:
        emu.create_group(cfg.file.telegram.staff_group_id, title="Staff", is_forum=True)
    app = App(cfg)
    await app.start()
    user = emu.user(user_id, first_name="Sandbox", language_code=language_code)
    term = Terminal(emu, user)
    print(f"sandbox: emulator at {emu.base_url}, database {db_url}\n{HELP}", flush=True)
    loop = asyncio.get_running_loop()
    try:
        await user.send_text("/start")
        while True:
            with contextlib.suppress(TimeoutError):  # show what arrived; the rest comes later
                await settle(emu, app)
            for text in term.refresh():
                print(text, flush=True)
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line or not await term.act(line):
                break
        # The bot reacts to a story once the customer pauses: show that before leaving.
        await asyncio.sleep(app.deps.desk.listen_pause.total_seconds() + 0.5)
        with contextlib.suppress(TimeoutError):
            await settle(emu, app)
        for text in term.refresh():
            print(text, flush=True)
    finally:
        await app.stop()
        await emu.stop()


def _read(path: str) -> bytes:
    return Path(path).expanduser().read_bytes()


async def settle(emu: Emulator, app: App, within: float = 15.0) -> None:
    """Wait until the bot has handled every injected update and sent every reply.

    The worker must have been handed the newest update, not just the poller have received it;
    raises TimeoutError when that takes longer than `within` seconds.
    """
    loop = asyncio.get_running_loop()
    end = loop.time() + within
    # Polls two independent parts (emulator queue, worker): no single event covers both.
    while app.worker.last_update_id < emu.last_update_id or not app.worker.idle:  # noqa: ASYNC110
        if loop.time() > end:
            raise TimeoutError("the bot did not take the updates in time")
        await asyncio.sleep(0.01)
    await app.sender.drain(within=max(0.1, end - loop.time()))
