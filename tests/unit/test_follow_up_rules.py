"""The follow-up's pure rules: the ladder of repeat complaints and the follow-up's buttons
(the services are in tests/unit/test_services.py, over HTTP in tests/e2e/test_follow_up.py)."""

from __future__ import annotations

from bot.domain.follow_up import Press, parse, repeat_level
from bot.domain.vocabulary import FollowUpAnswer


def test_repeat_complaints_climb_the_ladder() -> None:
    # The 2nd complaint on one matter goes to the manager, the 3rd and later to the committee.
    assert [repeat_level(n) for n in range(5)] == [0, 2, 3, 3, 3]


def test_a_follow_up_button_says_ticket_follow_up_and_answer() -> None:
    assert parse("12:345:mostly") == Press(12, 345, FollowUpAnswer.MOSTLY)
    for bad in ("12:345", "12:x:mostly", "12:345:happy", "", "12:345:mostly:1"):
        assert parse(bad) is None
