"""The ticket's life: every (status, transition) pair, allowed or refused, checked one by one."""

from __future__ import annotations

import itertools

import pytest

from bot.domain import lifecycle as lc
from bot.domain.lifecycle import IllegalTransition, Transition
from bot.domain.vocabulary import Event, Status, TimerKind

FR, RD, PN = TimerKind.FIRST_RESPONSE_DUE, TimerKind.REPLY_DUE, TimerKind.PROGRESS_NOTICE
OP, A, W = Status.OPEN, Status.ASSIGNED, Status.WAITING_ON_CUSTOMER
R, C, X = Status.RESOLVED, Status.CLOSED, Status.WITHDRAWN
FU, FUR, FUX = TimerKind.FOLLOW_UP, TimerKind.FOLLOW_UP_REMINDER, TimerKind.FOLLOW_UP_EXPIRY
HANDLING_TIMERS = (FR, RD, PN)
FOLLOW_UP_TIMERS = (FU, FUR, FUX)
ALL_TIMERS = HANDLING_TIMERS + FOLLOW_UP_TIMERS

# (transition, from) → (to, events, timers set, timers cancelled); every pair not listed raises.
# Written out by hand from PROCESS.md §3 rather than derived from lifecycle.RULES, so that a
# change to the rules has to be made twice, on purpose.
EXPECTED: dict[tuple[Transition, Status | None], tuple[Status, tuple[Event, ...],
                                                        tuple[TimerKind, ...],
                                                        tuple[TimerKind, ...]]] = {
    (Transition.FILE, None): (OP, (Event.FILED,), (FR, RD), ()),
    (Transition.DISPATCH, OP): (OP, (Event.DISPATCHED,), (), ()),
    (Transition.CLAIM, OP): (A, (Event.CLAIMED, Event.STATUS_CHANGED), (), (FR,)),
    (Transition.RELEASE, A): (OP, (Event.RELEASED,), (FR,), ()),
    (Transition.RELEASE, W): (OP, (Event.RELEASED,), (FR,), ()),
    (Transition.UNASSIGN, A): (OP, (), (FR,), ()),
    (Transition.UNASSIGN, W): (OP, (), (FR,), ()),
    (Transition.TRANSFER, OP): (A, (Event.TRANSFERRED,), (), (FR,)),
    (Transition.TRANSFER, A): (A, (Event.TRANSFERRED,), (), (FR,)),
    (Transition.TRANSFER, W): (W, (Event.TRANSFERRED,), (), (FR,)),
    (Transition.ASK, OP): (W, (Event.ASKED_CUSTOMER,), (), ()),
    (Transition.ASK, A): (W, (Event.ASKED_CUSTOMER,), (), ()),
    (Transition.ASK, W): (W, (Event.ASKED_CUSTOMER,), (), ()),
    (Transition.CUSTOMER_ANSWERED, W): (A, (Event.STATUS_CHANGED,), (), ()),
    **{(Transition.ESCALATE, s): (s, (Event.ESCALATED,), (), ()) for s in (OP, A, W)},
    **{(Transition.PROGRESS, s): (s, (Event.PROGRESS_SENT,), (RD,), ()) for s in (OP, A, W)},
    **{(Transition.RESOLVE, s): (R, (Event.RESOLVED,), (FU,), HANDLING_TIMERS)
       for s in (OP, A, W)},
    (Transition.REOPEN, R): (OP, (Event.REOPENED,), (FR, RD), FOLLOW_UP_TIMERS),
    (Transition.FOLLOW_UP_SENT, R): (R, (Event.FOLLOW_UP_SENT,), (FUR, FUX), ()),
    # A closed matter complained about again (the customer came back about it).
    (Transition.REOPEN, C): (OP, (Event.REOPENED,), (FR, RD), FOLLOW_UP_TIMERS),
    (Transition.CLOSE, R): (C, (Event.CLOSED,), (), ALL_TIMERS),
    **{(Transition.WITHDRAW, s): (X, (Event.WITHDRAWN,), (), ALL_TIMERS) for s in (OP, A, W)},
}

PAIRS = list(itertools.product(Transition, [None, *Status]))


@pytest.mark.parametrize(("transition", "status"), PAIRS,
                         ids=[f"{t}-{s}" for t, s in PAIRS])
def test_every_transition_from_every_status(transition: Transition,
                                            status: Status | None) -> None:
    expected = EXPECTED.get((transition, status))
    if expected is None:
        with pytest.raises(IllegalTransition):
            lc.apply(transition, status)
        return
    change = lc.apply(transition, status)
    assert (change.status, change.events, change.set_timers, change.cancel_timers) == expected


def test_every_transition_is_allowed_from_somewhere_and_the_table_covers_the_rules() -> None:
    assert {t for t, _ in EXPECTED} == set(Transition)
    assert {(t, s) for t in Transition for s in lc.RULES[t].moves} == set(EXPECTED)


def test_a_finished_ticket_allows_nothing_but_a_repeat_reopening_a_closed_one() -> None:
    for t in Transition:
        for s in lc.FINISHED:
            if (t, s) == (Transition.REOPEN, C):
                continue
            with pytest.raises(IllegalTransition, match=f"that is {s} cannot {t}"):
                lc.apply(t, s)
    assert lc.apply(Transition.REOPEN, C).status is OP


def test_statuses_from_the_database_are_accepted_as_strings() -> None:
    assert lc.apply(Transition.CLAIM, "open").status is Status.ASSIGNED
    with pytest.raises(ValueError):
        lc.apply(Transition.CLAIM, "nonsense")


def test_allowed_from_names_existing_statuses_only() -> None:
    assert lc.allowed_from(Transition.CLAIM) == {OP}
    assert lc.allowed_from(Transition.FILE) == frozenset()
