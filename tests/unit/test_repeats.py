"""Repeat complaints: which earlier tickets may be the same matter, the level a repeat count
gives, and where "the same matter?" sits in the intake form."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain import intake as steps
from bot.domain.intake import Category, IntakeForm
from bot.domain.repeats import (
    MAX_OFFERED,
    Earlier,
    count_for_new,
    finished_at,
    level_for,
    same_matter,
)
from bot.domain.vocabulary import Status

NOW = datetime(2026, 3, 16, 2, 0, tzinfo=UTC)
WINDOW = timedelta(days=30)


def _t(i: int, status: Status, category: str = "housing", days_ago: float = 1,
       finished_days_ago: float | None = None) -> Earlier:
    done = NOW - timedelta(days=finished_days_ago) if finished_days_ago is not None else None
    return Earlier(i, category, status, NOW - timedelta(days=days_ago), done)


def _ids(found: list[Earlier]) -> list[int]:
    return [e.id for e in found]


def test_open_tickets_of_the_category_match_and_others_do_not() -> None:
    mine = [_t(1, Status.OPEN, days_ago=3), _t(2, Status.ASSIGNED, "equipment"),
            _t(3, Status.WAITING_ON_CUSTOMER, days_ago=2)]
    assert _ids(same_matter(mine, NOW, WINDOW, "housing")) == [3, 1]
    assert _ids(same_matter(mine, NOW, WINDOW, "equipment")) == [2]
    assert same_matter(mine, NOW, WINDOW, "parking") == []
    # With no category yet, every one of them may be it.
    assert set(_ids(same_matter(mine, NOW, WINDOW))) == {1, 2, 3}


def test_finished_tickets_match_within_the_window_only_and_withdrawn_never() -> None:
    mine = [_t(1, Status.RESOLVED, days_ago=40, finished_days_ago=29),
            _t(2, Status.CLOSED, days_ago=40, finished_days_ago=30),
            _t(3, Status.CLOSED, days_ago=40, finished_days_ago=31),
            _t(4, Status.WITHDRAWN, days_ago=2, finished_days_ago=1),
            _t(5, Status.RESOLVED, days_ago=2, finished_days_ago=None)]  # no time: no match
    assert sorted(_ids(same_matter(mine, NOW, WINDOW, "housing"))) == [1, 2]
    assert same_matter(mine, NOW, timedelta(0), "housing") == []


def test_newest_first_at_most_three_and_never_one_they_declined() -> None:
    mine = [_t(i, Status.OPEN, days_ago=10 - i) for i in range(1, 6)]
    assert _ids(same_matter(mine, NOW, WINDOW, "housing")) == [5, 4, 3]
    assert MAX_OFFERED == 3
    assert _ids(same_matter(mine, NOW, WINDOW, "housing", declined={5, 3})) == [4, 2, 1]


def test_when_a_ticket_was_dealt_with() -> None:
    a, b, c = (NOW - timedelta(days=n) for n in (1, 2, 3))
    assert finished_at(Status.CLOSED, b, a, c) == a
    assert finished_at(Status.CLOSED, b, None, c) == b
    assert finished_at(Status.CLOSED, None, None, c) == c
    assert finished_at(Status.RESOLVED, b, None, c) == b
    assert finished_at("resolved", None, None, c) == c
    for active in (Status.OPEN, Status.ASSIGNED, Status.WAITING_ON_CUSTOMER, Status.WITHDRAWN):
        assert finished_at(active, b, a, c) is None


@pytest.mark.parametrize(("count", "level"), [(0, 0), (1, 2), (2, 3), (3, 3), (9, 3)])
def test_the_second_complaint_goes_to_the_manager_the_third_to_the_committee(
        count: int, level: int) -> None:
    assert level_for(count) == level


def test_the_repeat_count_of_a_new_ticket() -> None:
    assert count_for_new(None, ignored=False) == 0
    assert count_for_new(None, ignored=True) == 1
    assert count_for_new(0, ignored=False) == 1
    assert count_for_new(1, ignored=False) == 2


FORM = IntakeForm((Category("housing", {"zh_CN": "房屋", "en": "Housing"}),))
OFFER = [{"id": 7, "ref": "260301-AAAAA", "status": "closed"}]


def test_the_same_matter_question_follows_the_category_while_it_is_offered() -> None:
    a = {"facts": [{"text": "x"}], "facts_done": True, "category": "housing",
         steps.SAME_OFFER: OFFER}
    assert FORM.sequence(a)[:4] == [steps.FACTS, steps.CATEGORY, steps.SAME, steps.OUTCOME]
    assert FORM.next_step(a, steps.CATEGORY) == steps.SAME
    assert FORM.previous_step(a, steps.SAME) == steps.CATEGORY
    assert not FORM.is_answered(a, steps.SAME)
    assert steps.SAME not in FORM.changeable(a)
    # "Something new": the offer goes, and the form carries on after the category.
    del a[steps.SAME_OFFER]
    assert steps.SAME not in FORM.sequence(a)
    assert FORM.next_step(a, steps.SAME) == steps.OUTCOME


def test_asked_before_the_story_when_there_is_no_category_yet() -> None:
    a = {"facts": [{"text": "x"}], steps.SAME_OFFER: OFFER}
    assert FORM.sequence(a)[:3] == [steps.SAME, steps.FACTS, steps.CATEGORY]
    assert FORM.previous_step(a, steps.SAME) is None  # Back leads out, to the menu
    del a[steps.SAME_OFFER]
    assert FORM.next_step(a, steps.SAME) == steps.FACTS


def test_changing_the_category_from_the_read_back_asks_again_when_it_matches() -> None:
    a = {"facts": [{"text": "x"}], "facts_done": True, "category": "housing",
         "outcome": "repair", "about": "no", "name": "Lei", "phone": "+8613812345678",
         "previous": "no", "editing": True, steps.SAME_OFFER: OFFER}
    assert FORM.next_step(a, steps.CATEGORY) == steps.SAME
    del a[steps.SAME_OFFER]
    assert FORM.next_step(a, steps.SAME) == steps.CONFIRM
