"""Routing: which staff a new ticket goes to (PROCESS.md §3)."""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from bot.domain.access import LEVELS


@dataclass(frozen=True)
class RosterEntry:
    """A staff member as routing sees them."""

    id: int
    role: str
    active: bool = True
    supervisor_id: int | None = None
    categories: tuple[str, ...] = ()
    areas: tuple[str, ...] = ()


@dataclass(frozen=True)
class Route:
    """Who is told about a ticket and the level it starts at."""

    notify: tuple[int, ...]
    level: int = 0


def route(category: str, area: str | None, about_staff_id: int | None,
          roster: Sequence[RosterEntry]) -> Route:
    """Stewards for the category/area; for a complaint about a colleague, their supervisor."""
    active = [s for s in roster if s.active]
    if about_staff_id is not None:
        boss = _supervisor_of(about_staff_id, roster)
        if boss is not None:
            return Route((boss.id,), level=max(1, LEVELS.get(boss.role, 1)))
        # Nobody is named above them: every active supervisor or higher (never the subject).
        seniors = tuple(s.id for s in active if LEVELS.get(s.role, 0) >= 1
                        and s.id != about_staff_id)
        return Route(seniors, level=1)
    stewards = [s for s in active if s.role == "steward" and _serves(s, category, area)]
    return Route(tuple(s.id for s in stewards), level=0)


def seniors_of(ids: Sequence[int], roster: Sequence[RosterEntry],
               never: Collection[int] = ()) -> tuple[int, ...]:
    """The supervisors of the people handling a ticket: each one's nearest active supervisor (a
    senior person stands for themselves); if that finds nobody, the desk's lowest senior level.

    `never` (the person a complaint is about) is left out, also from that fallback.
    """
    by_id = {s.id: s for s in roster}
    out: list[int] = []
    for i in ids:
        s = by_id.get(i)
        if s is None:
            continue
        boss = s if s.active and LEVELS.get(s.role, 0) >= 1 else _supervisor_of(i, roster)
        if boss is not None and boss.id not in never and boss.id not in out:
            out.append(boss.id)
    if out:
        return tuple(out)
    seniors = [s for s in roster if s.active and LEVELS.get(s.role, 0) >= 1
               and s.id not in never]
    lowest = min((LEVELS[s.role] for s in seniors), default=None)
    return tuple(s.id for s in seniors if LEVELS[s.role] == lowest)


def _serves(s: RosterEntry, category: str, area: str | None) -> bool:
    # An empty list means "all": a small desk need not list anything.
    if s.categories and category not in s.categories:
        return False
    return not (area and s.areas and area not in s.areas)


def _supervisor_of(staff_id: int, roster: Sequence[RosterEntry]) -> RosterEntry | None:
    """The nearest active person above `staff_id` (skipping deactivated ones)."""
    by_id = {s.id: s for s in roster}
    seen = {staff_id}
    cur = by_id.get(staff_id)
    while cur is not None and cur.supervisor_id is not None and cur.supervisor_id not in seen:
        seen.add(cur.supervisor_id)
        cur = by_id.get(cur.supervisor_id)
        if cur is not None and cur.active:
            return cur
    return None


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().casefold()


def match_staff(text: str | None, roster: Sequence[tuple[int, str, bool]]) -> int | None:
    """The active staff member a customer named at intake, or None when unsure.

    `roster` holds (id, name, active). A name typed exactly (ignoring case and spacing) wins;
    otherwise a roster name contained in the text ("王管家 in building 3") or the text contained
    in a roster name ("王管") — both at least two characters, so "王" names nobody. Two or more
    candidates mean the text is ambiguous: no match, and a supervisor flags it by hand.
    """
    typed = _norm(text or "")
    if not typed:
        return None
    people = [(i, _norm(name)) for i, name, active in roster if active and _norm(name)]
    exact = {i for i, name in people if name == typed}
    if exact:
        return exact.pop() if len(exact) == 1 else None
    contained = {i for i, name in people
                 if (len(name) >= 2 and name in typed) or (len(typed) >= 2 and typed in name)}
    return contained.pop() if len(contained) == 1 else None
