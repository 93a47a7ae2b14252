"""Routing a new ticket to stewards, or past a colleague to their supervisor."""

from __future__ import annotations

import pytest

from bot.domain.routing import RosterEntry, match_staff, route

ROSTER = [
    RosterEntry(1, "steward", supervisor_id=10, categories=("housing",), areas=("A",)),
    RosterEntry(2, "steward", supervisor_id=10, categories=("housing", "safety")),
    RosterEntry(3, "steward", supervisor_id=10),  # serves everything
    RosterEntry(4, "steward", active=False),
    RosterEntry(10, "supervisor", supervisor_id=20),
    RosterEntry(20, "manager"),
]


def test_stewards_by_category_and_area() -> None:
    assert route("housing", "A", None, ROSTER).notify == (1, 2, 3)
    assert route("housing", "B", None, ROSTER).notify == (2, 3)
    assert route("safety", None, None, ROSTER).notify == (2, 3)
    assert route("environment", None, None, ROSTER).notify == (3,)


def test_complaint_about_a_steward_goes_to_their_supervisor_only() -> None:
    r = route("housing", "A", 1, ROSTER)
    assert r.notify == (10,) and r.level == 1


def test_complaint_about_the_supervisor_goes_one_higher() -> None:
    r = route("housing", None, 10, ROSTER)
    assert r.notify == (20,) and r.level == 2


def test_inactive_supervisor_is_skipped_and_top_of_tree_falls_back_to_seniors() -> None:
    roster = [RosterEntry(1, "steward", supervisor_id=10), RosterEntry(10, "supervisor",
              active=False, supervisor_id=20), RosterEntry(20, "manager")]
    assert route("x", None, 1, roster).notify == (20,)
    assert route("x", None, 20, ROSTER).notify == (10,)  # nobody above the manager


STAFF = [(1001, "王管家", True), (1003, "赵管家", True), (1005, "孙管家", False),
         (1006, "Wang Wei", True), (1007, "Wang Fang", True)]


@pytest.mark.parametrize(("typed", "expected"), [
    ("王管家", 1001),                 # exact
    ("  王管家 ", 1001),              # spacing ignored
    ("3栋的王管家,态度很差", 1001),   # the name inside a description
    ("王管", 1001),                   # part of exactly one name
    ("wang wei", 1006),               # case-insensitive
    ("WANG  WEI", 1006),
    ("Wang", None),                   # part of two names: ambiguous
    ("管家", None),                   # part of every steward's name
    ("王管家和赵管家", None),          # two people named
    ("孙管家", None),                 # deactivated: not on the active roster
    ("王", None),                     # one character names nobody
    ("the guard at the east gate", None),
    ("", None),
    (None, None),
])
def test_match_staff(typed: str | None, expected: int | None) -> None:
    assert match_staff(typed, STAFF) == expected
