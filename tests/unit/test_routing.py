"""Routing a new ticket to stewards, or past a colleague to their supervisor."""

from __future__ import annotations

from bot.domain.routing import RosterEntry, route

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
