"""The staff roster: TOML bootstrap and the `complaint-bot staff` command."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from bot.domain.chain import ChainError
from bot.emulator import Emulator
from tests.conftest import make_config

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


def _entry(tid: int, boss: int | None) -> str:
    line = f'[[staff]]\ntelegram_id = {tid}\nname = "P{tid}"\nrole = "steward"\n'
    return line + (f"supervisor = {boss}\n" if boss is not None else "")


# A chain three levels deep (steward → supervisor → manager → committee), stewards first:
# the order a desk is naturally written in, which stopped `run` with a foreign key error.
CHAIN = [(1001, 1002), (1002, 1003), (1003, 1004), (1004, None)]


@pytest.mark.parametrize("order", [[0, 1, 2, 3], [3, 2, 1, 0], [1, 3, 0, 2], [2, 0, 3, 1]])
def test_a_deep_chain_in_any_file_order_through_the_command(
        env: Path, capsys: pytest.CaptureFixture[str], order: list[int]) -> None:
    env.write_text("".join(_entry(*CHAIN[i]) for i in order), encoding="utf-8")
    assert main(["staff", "add", "1005", "新管家", "--supervisor", "1001"]) == 0
    capsys.readouterr()
    assert main(["staff", "list"]) == 0
    rows = {r[0]: r for r in _table(capsys)}
    assert {tid: rows[str(tid)][2] for tid, _ in CHAIN} == {
        tid: str(boss) if boss else "yes" for tid, boss in CHAIN}  # no supervisor: "active"


def test_a_supervisor_already_on_the_roster_needs_no_entry(
        env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    env.write_text(_entry(2001, None), encoding="utf-8")
    assert main(["staff", "list"]) == 0
    env.write_text(_entry(2002, 2001), encoding="utf-8")  # 2001 is only in the database now
    assert main(["staff", "list"]) == 0
    assert "2001" in capsys.readouterr().out


@pytest.mark.parametrize(("entries", "message"), [
    ([(1001, 1002), (1002, 4242)],
     "staff: staff[1] (1002): supervisor 4242 names nobody on the roster or in the file"),
    ([(1001, 1002), (1002, 1003), (1003, 1001)],
     "staff: supervisors form a cycle: staff[0] (1001) → staff[1] (1002) → staff[2] (1003) → "
     "staff[0] (1001)"),
])
@pytest.mark.parametrize("argv", [["staff", "list"], ["staff", "add", "1009", "X"]])
def test_roster_mistakes_are_config_errors(env: Path, capsys: pytest.CaptureFixture[str],
                                           entries: list[tuple[int, int | None]], message: str,
                                           argv: list[str]) -> None:
    env.write_text("".join(_entry(*e) for e in entries), encoding="utf-8")
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"complaint-bot: config error: {env}: ") and message in err
    assert err.count("\n") == 1


def test_the_command_refuses_a_cycle(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The file's 1001 reports to 1002; making 1002 report to 1001 would close a loop.
    assert main(["staff", "add", "1002", "李经理", "--supervisor", "1001"]) == 1
    assert "1001 already reports to 1002" in capsys.readouterr().err


async def test_the_desk_starts_with_a_deep_chain_written_stewards_first(
        emu: Emulator, db_url: str, desk_factory: Callable[..., Any]) -> None:
    staff = [{"telegram_id": t, "name": f"P{t}", "supervisor": b} for t, b in CHAIN]
    desk = await desk_factory(make_config(db_url, emu.base_url, staff=staff))
    async with desk.db.uow() as uow:
        assert {(s.id, s.supervisor_id) for s in await uow.repos.staff.all()} == set(CHAIN)


async def test_the_desk_refuses_an_unknown_supervisor(
        emu: Emulator, db_url: str, desk_factory: Callable[..., Any]) -> None:
    staff = [{"telegram_id": 1001, "name": "王管家", "supervisor": 4242}]
    with pytest.raises(ChainError, match=r"staff\[0\] \(1001\): supervisor 4242 names nobody"):
        await desk_factory(make_config(db_url, emu.base_url, staff=staff))
