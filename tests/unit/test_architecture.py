"""Architecture rules that are easy to break without noticing."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN_IN_DOMAIN = ("telegram", "sqlalchemy", "aiohttp", "storage", "handlers", "httpx")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_domain_is_pure() -> None:
    files = sorted((ROOT / "bot" / "domain").glob("*.py"))
    assert files, "bot/domain has no modules"
    for f in files:
        bad = {m for m in _imports(f) if m.split(".")[0] in FORBIDDEN_IN_DOMAIN}
        assert not bad, f"{f.name} imports {bad}"


def test_handlers_hold_no_sql_and_no_wall_clock() -> None:
    for f in sorted((ROOT / "handlers").glob("*.py")):
        src = f.read_text(encoding="utf-8")
        assert not {m for m in _imports(f) if m.split(".")[0] == "sqlalchemy"}, f.name
        assert "datetime.now(" not in src and "utcnow(" not in src, f.name


def test_no_status_is_written_as_a_literal_outside_the_domain() -> None:
    # The ticket's life has one owner (bot/domain/lifecycle.py): a service, handler or
    # repository that spells a status itself would bypass its checks.
    from bot.domain.vocabulary import Status

    statuses = {s.value for s in Status}
    files = [*sorted((ROOT / "bot" / "services").glob("*.py")),
             *sorted((ROOT / "handlers").glob("*.py")), ROOT / "storage" / "repositories.py"]
    for f in files:
        tree = ast.parse(f.read_text(encoding="utf-8"))
        found = {n.value for n in ast.walk(tree)
                 if isinstance(n, ast.Constant) and n.value in statuses}
        assert not found, f"{f.name} spells the status {found}"
