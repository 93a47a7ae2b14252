"""The sandbox: emulator + bot in one process, a customer typing in the terminal."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bot.i18n import t
from bot.sandbox import choices, plain, render


def test_sandbox_chats_from_stdin_without_a_token(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items()
           if k not in ("TELEGRAM_BOT_TOKEN", "DATABASE_URL", "COMPLAINT_BOT_CONFIG")}
    proc = subprocess.run([sys.executable, "-m", "bot", "run"], input="电梯坏了三天了\n/quit\n",
                          capture_output=True, text=True, timeout=90, cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert plain(t("zh_CN", "start.greeting", name="Sandbox")) in out
    # The first words start a complaint: the bot listens and reacts once they pause.
    assert plain(t("zh_CN", "intake.facts.heard_1")) in out
    assert (tmp_path / "sandbox.db").exists()  # a real SQLite file, not memory


def test_buttons_are_numbered_choices() -> None:
    msg = {"message_id": 3, "text": "<b>Pick</b> &amp; go", "reply_markup": {"inline_keyboard": [
        [{"text": "A", "callback_data": "a"}, {"text": "B", "callback_data": "b"}],
        [{"text": "C", "callback_data": "c"}]]}}
    assert [b["text"] for b in choices(msg)] == ["A", "B", "C"]
    assert render(msg, edited=False) == "bot: Pick & go\n   [1] A  [2] B  [3] C"
