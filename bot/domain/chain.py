"""The supervisor chain of a roster: an order to insert it in, and the mistakes that forbid one.

A person's `supervisor` must exist before they do (a foreign key), whatever order the
`[[staff]]` entries are written in and however deep the chain (steward → supervisor →
manager → committee). Entries are named as the operator wrote them: `staff[i] (telegram_id)`.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

# (telegram_id, supervisor's telegram_id or None), in file order.
Link = tuple[int, int | None]


class ChainError(ValueError):
    """A supervisor that names nobody, or supervisors that form a cycle."""


def _name(links: Sequence[Link], i: int) -> str:
    return f"staff[{i}] ({links[i][0]})"


def find_cycle(links: Sequence[Link]) -> list[int] | None:
    """The entries (file indexes) of one supervisor cycle, first repeated at the end; or None."""
    index = {tid: i for i, (tid, _) in enumerate(links)}
    done: set[int] = set()
    for start in range(len(links)):
        path: list[int] = []
        on_path: set[int] = set()
        i: int | None = start
        while i is not None and i not in done:
            if i in on_path:
                return path[path.index(i):] + [i]
            path.append(i)
            on_path.add(i)
            boss = links[i][1]
            i = index.get(boss) if boss is not None else None
        done.update(path)
    return None


def check_cycles(links: Sequence[Link]) -> None:
    """Raise ChainError naming the entries when the supervisors form a cycle (A → B → A)."""
    cycle = find_cycle(links)
    if cycle is not None:
        if len(cycle) == 2:  # A → A
            raise ChainError(f"{_name(links, cycle[0])} cannot be their own supervisor")
        chain = " → ".join(_name(links, i) for i in cycle)
        raise ChainError(f"supervisors form a cycle: {chain}")


def insertion_order(links: Sequence[Link], known: Collection[int] = ()) -> list[int]:
    """File indexes in an order where each supervisor comes before the people under them.

    `known` are the people already on the roster (their rows exist). A supervisor that is
    neither in `links` nor in `known`, or a cycle, raises ChainError naming the entries.
    """
    check_cycles(links)
    index = {tid: i for i, (tid, _) in enumerate(links)}
    for i, (_, boss) in enumerate(links):
        if boss is not None and boss not in index and boss not in known:
            raise ChainError(f"{_name(links, i)}: supervisor {boss} names nobody on the roster "
                             "or in the file")
    order: list[int] = []
    placed: set[int] = set()
    for start in range(len(links)):
        # Walk up to the first placed (or external) supervisor, then place top-down.
        up: list[int] = []
        at: int | None = start
        while at is not None and at not in placed:
            up.append(at)
            boss = links[at][1]
            at = index.get(boss) if boss is not None else None
        for j in reversed(up):
            order.append(j)
            placed.add(j)
    return order
