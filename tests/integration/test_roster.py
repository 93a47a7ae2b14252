"""The staff roster: TOML bootstrap and the `complaint-bot staff` command."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main

ROSTER = """
[[staff]]
telegram_id = 1001
name = "王管家"
role = "steward"
supervisor = 1002
categories = ["housing"]
[[staff]]
telegram_id = 1002
name = "李经理"
role = "supervisor"
"""


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cfg = tmp_path / "desk.toml"
    cfg.write_text(ROSTER, encoding="utf-8")
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'r.db'}")
    monkeypatch.setenv("COMPLAINT_BOT_CONFIG", str(cfg))
    return cfg


def _table(capsys: pytest.CaptureFixture[str]) -> list[list[str]]:
    lines = capsys.readouterr().out.strip().splitlines()[1:]
    return [line.split() for line in lines]


def _name(row: list[str]) -> str:
    return next(row[i - 1] for i, tok in enumerate(row) if tok.startswith("["))


def test_bootstrap_then_manage(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["staff", "list"]) == 0
    rows = _table(capsys)
    # Supervisor listed after the steward (order by id) and inserted first (FK holds).
    assert [(r[0], r[1], _name(r)) for r in rows] == [("1001", "steward", "王管家"),
                                                   ("1002", "supervisor", "李经理")]
    assert "[housing" in " ".join(rows[0])

    assert main(["staff", "add", "1003", "赵管家", "--supervisor", "1002",
                 "--categories", "equipment, safety"]) == 0
    assert "[equipment,safety" in " ".join(_table(capsys)[0])
    assert main(["staff", "set-role", "1001", "manager"]) == 0
    assert _table(capsys)[0][1] == "manager"
    assert main(["staff", "remove", "1003"]) == 0
    capsys.readouterr()

    # A restart bootstraps again: changes made with the command are not undone.
    assert main(["staff", "list"]) == 0
    rows = {r[0]: r for r in _table(capsys)}
    assert rows["1001"][1] == "manager"
    assert rows["1003"][3] == "no"


@pytest.mark.parametrize(("argv", "message"), [
    (["staff", "set-role", "1001", "boss"], "unknown role 'boss'"),
    (["staff", "remove", "4242"], "4242 is not on the roster"),
    (["staff", "add", "1004", "X", "--supervisor", "4242"], "supervisor 4242 is not on the roster"),
    (["staff", "add", "1004", "X", "--supervisor", "1004"], "their own supervisor"),
])
def test_mistakes_are_refused_with_a_reason(env: Path, capsys: pytest.CaptureFixture[str],
                                            argv: list[str], message: str) -> None:
    assert main(argv) == 1
    assert message in capsys.readouterr().err
