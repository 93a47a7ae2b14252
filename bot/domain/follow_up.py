"""The follow-up's rules (回访, PROCESS.md §6) and the ladder of repeat complaints (§4).

Pure: what an answer is worth, whether it closes the ticket, and where a repeat goes.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.vocabulary import TOP_LEVEL, FollowUpAnswer

# The satisfaction level on a 1-5 scale, so reports can average it: the three buttons are
# "satisfied", "mostly" and "not satisfied", read as 5, 4 and 2 (not 1: "not satisfied" is
# the customer's mildest way of saying no, and there is no worse button to keep 1 for).
# Something left over is not a rating.
RATING: dict[FollowUpAnswer, int] = {FollowUpAnswer.SATISFIED: 5, FollowUpAnswer.MOSTLY: 4,
                                     FollowUpAnswer.NOT_SATISFIED: 2}
# Answers that close the ticket; every other answer reopens it as a repeat complaint.
CLOSING = frozenset({FollowUpAnswer.SATISFIED, FollowUpAnswer.MOSTLY})
# The manager level: where the second complaint on one matter goes (the third: the committee).
MANAGER_LEVEL = 2


def repeat_level(repeat_count: int) -> int:
    """The escalation level a ticket reopened `repeat_count` times belongs at: its 2nd complaint
    (one reopening) goes to the manager, the 3rd and later to the committee (PROCESS.md §4)."""
    if repeat_count <= 0:
        return 0
    return MANAGER_LEVEL if repeat_count == 1 else TOP_LEVEL


@dataclass(frozen=True)
class Press:
    """A follow-up button: which ticket, which follow-up (the timer row that sent it), what."""

    ticket_id: int
    follow_up: int
    answer: FollowUpAnswer


def button_arg(follow_up: int, answer: FollowUpAnswer) -> str:
    """What a follow-up button carries after the ticket id: the follow-up and the answer."""
    return f"{follow_up}:{answer}"


def parse(arg: str) -> Press | None:
    """A follow-up button's argument ("<ticket>:<follow-up>:<answer>"); None if it is not one."""
    parts = arg.split(":")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit():
        return None
    if parts[2] not in FollowUpAnswer.__members__.values():
        return None
    return Press(int(parts[0]), int(parts[1]), FollowUpAnswer(parts[2]))
