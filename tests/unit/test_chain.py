"""The supervisor chain: insertion order at any depth and in any file order, and its mistakes."""

from __future__ import annotations

from itertools import permutations
from pathlib import Path

import pytest

from bot.config import ConfigError, load_config
from bot.domain.chain import ChainError, Link, insertion_order


def _chain(depth: int) -> list[Link]:
    """depth + 1 people: 1000 reports to 1001, ... up to the top, who reports to nobody."""
    ids = [1000 + k for k in range(depth + 1)]
    return [(tid, ids[k + 1] if k + 1 < len(ids) else None) for k, tid in enumerate(ids)]


def _every_order(depth: int) -> list[list[Link]]:
    return [list(p) for p in permutations(_chain(depth))]


@pytest.mark.parametrize("links", [links for d in range(1, 5) for links in _every_order(d)],
                         ids=lambda links: "-".join(str(t) for t, _ in links))
def test_supervisors_come_first_at_any_depth_in_any_order(links: list[Link]) -> None:
    order = insertion_order(links)
    assert sorted(order) == list(range(len(links)))
    position = {links[i][0]: n for n, i in enumerate(order)}
    for tid, boss in links:
        if boss is not None:
            assert position[boss] < position[tid], (tid, boss, order)


def test_file_order_is_kept_where_the_chain_allows() -> None:
    links: list[Link] = [(1, None), (2, None), (3, 1), (4, None)]
    assert insertion_order(links) == [0, 1, 2, 3]


def test_a_supervisor_already_on_the_roster_is_fine() -> None:
    assert insertion_order([(1001, 1002)], known={1002}) == [0]


def test_an_unknown_supervisor_names_the_entry() -> None:
    with pytest.raises(ChainError) as err:
        insertion_order([(1001, 1002), (1003, 4242)], known={1002})
    assert str(err.value) == ("staff[1] (1003): supervisor 4242 names nobody on the roster "
                              "or in the file")


@pytest.mark.parametrize(("links", "message"), [
    ([(1, 2), (2, 1)], "supervisors form a cycle: staff[0] (1) → staff[1] (2) → staff[0] (1)"),
    ([(9, None), (1, 2), (2, 3), (3, 1)],
     "supervisors form a cycle: staff[1] (1) → staff[2] (2) → staff[3] (3) → staff[1] (1)"),
    ([(5, 5)], "staff[0] (5) cannot be their own supervisor"),
])
def test_a_cycle_names_its_entries(links: list[Link], message: str) -> None:
    with pytest.raises(ChainError) as err:
        insertion_order(links)
    assert str(err.value) == message


def test_a_cycle_in_the_file_is_a_one_line_config_error(tmp_path: Path) -> None:
    cfg = tmp_path / "desk.toml"
    cfg.write_text('[[staff]]\ntelegram_id = 1\nname = "A"\nsupervisor = 2\n'
                   '[[staff]]\ntelegram_id = 2\nname = "B"\nsupervisor = 1\n', encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(cfg, environ={"DATABASE_URL": "sqlite+aiosqlite:///x.db"})
    assert str(err.value) == (f"{cfg}: staff: supervisors form a cycle: staff[0] (1) → "
                              "staff[1] (2) → staff[0] (1)")
