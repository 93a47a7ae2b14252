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
