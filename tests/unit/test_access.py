"""The authorisation matrix: every staff action against every kind of actor."""

from __future__ import annotations

import pytest

from bot.domain.access import Action, Actor, TicketFacts, authorize

STEWARD, OTHER, SUPERVISOR, SUBJECT = 11, 12, 21, 13
ACTORS = {
    "customer": Actor(500, None),
    "unknown": Actor(999, None),
    "other_steward": Actor(OTHER, "steward"),
    "assignee": Actor(STEWARD, "steward"),
    "supervisor": Actor(SUPERVISOR, "supervisor"),
    "subject": Actor(SUBJECT, "steward"),
    "deactivated": Actor(14, "steward", active=False),
}
ASSIGNED = TicketFacts("assigned", assignee_id=STEWARD)
HANDLING = [Action.RELAY, Action.RELEASE, Action.TRANSFER, Action.ASK_CUSTOMER,
            Action.ESCALATE, Action.RESOLVE, Action.SHOW_PHONE]

# actor -> allowed on an assigned ticket that is about SUBJECT (a colleague)
EXPECTED = {
    "customer": set(),
    "unknown": set(),
    "deactivated": set(),
    "subject": set(),
    # Marking a ticket major is open to every colleague; unmarking it and VIP are seniors'.
    "other_steward": {Action.NOTE, Action.HISTORY, Action.FLAG_ABOUT_STAFF, Action.MARK_MAJOR},
    "assignee": {Action.NOTE, Action.HISTORY, Action.FLAG_ABOUT_STAFF, Action.MARK_MAJOR,
                 *HANDLING},
    "supervisor": {Action.NOTE, Action.HISTORY, Action.FLAG_ABOUT_STAFF, Action.MARK_MAJOR,
                   Action.UNMARK_MAJOR, Action.SET_VIP, *HANDLING},
}


@pytest.mark.parametrize("who", list(ACTORS))
@pytest.mark.parametrize("action", [a for a in Action if a is not Action.CLAIM])
def test_matrix_on_an_assigned_ticket_about_a_colleague(who: str, action: Action) -> None:
    ticket = TicketFacts("assigned", assignee_id=STEWARD, about_staff_id=SUBJECT)
    assert authorize(ACTORS[who], action, ticket).allowed == (action in EXPECTED[who])


@pytest.mark.parametrize(("who", "about", "level", "allowed", "reason"), [
    ("assignee", None, 0, True, ""),
    ("other_steward", None, 0, True, ""),
    ("subject", SUBJECT, 0, False, "about_you"),
    ("other_steward", SUBJECT, 0, False, "level_too_low"),
    ("supervisor", SUBJECT, 0, True, ""),
    ("other_steward", None, 1, False, "level_too_low"),
    ("supervisor", None, 1, True, ""),
    ("customer", None, 0, False, "not_staff"),
    ("deactivated", None, 0, False, "inactive"),
])
def test_claim(who: str, about: int | None, level: int, allowed: bool, reason: str) -> None:
    d = authorize(ACTORS[who], Action.CLAIM,
                  TicketFacts("open", None, escalation_level=level, about_staff_id=about))
    assert (d.allowed, d.reason) == (allowed, reason)


def test_claimed_ticket_cannot_be_claimed_again() -> None:
    d = authorize(ACTORS["other_steward"], Action.CLAIM, ASSIGNED)
    assert (d.allowed, d.reason) == (False, "already_claimed")


def test_a_supervisor_cannot_act_above_their_level() -> None:
    ticket = TicketFacts("assigned", assignee_id=STEWARD, escalation_level=2)
    assert not authorize(ACTORS["supervisor"], Action.RESOLVE, ticket).allowed
    assert authorize(Actor(31, "manager"), Action.RESOLVE, ticket).allowed
    assert authorize(ACTORS["assignee"], Action.RESOLVE, ticket).allowed


def test_finished_tickets_only_take_notes() -> None:
    closed = TicketFacts("closed", assignee_id=STEWARD)
    assert authorize(ACTORS["assignee"], Action.NOTE, closed).allowed
    assert authorize(ACTORS["assignee"], Action.RELAY, closed).reason == "finished"


def test_major_and_vip_on_finished_tickets_and_the_reason_of_a_refusal() -> None:
    closed = TicketFacts("closed", assignee_id=STEWARD)
    # VIP is about the customer: it can be set from a finished ticket's topic too.
    assert authorize(ACTORS["supervisor"], Action.SET_VIP, closed).allowed
    assert authorize(ACTORS["supervisor"], Action.MARK_MAJOR, closed).reason == "finished"
    assert authorize(ACTORS["supervisor"], Action.UNMARK_MAJOR, closed).reason == "finished"
    d = authorize(ACTORS["assignee"], Action.UNMARK_MAJOR, ASSIGNED)
    assert (d.allowed, d.reason) == (False, "senior_only")
    assert authorize(ACTORS["assignee"], Action.SET_VIP, closed).reason == "senior_only"
    assert authorize(Actor(31, "manager"), Action.UNMARK_MAJOR,
                     TicketFacts("open", None, escalation_level=2)).allowed


PROPOSED = TicketFacts("assigned", assignee_id=STEWARD, review_by=STEWARD)


@pytest.mark.parametrize(("actor", "facts", "reason"), [
    (ACTORS["supervisor"], PROPOSED, ""),
    (ACTORS["assignee"], PROPOSED, "own_resolution"),  # nobody approves their own work
    (Actor(STEWARD, "supervisor"), PROPOSED, "own_resolution"),  # not even once promoted
    (ACTORS["other_steward"], PROPOSED, "senior_only"),
    (ACTORS["supervisor"], TicketFacts("assigned", STEWARD, 2, review_by=STEWARD),
     "level_too_low"),
    (Actor(31, "manager"), TicketFacts("assigned", STEWARD, 2, review_by=STEWARD), ""),
    (ACTORS["supervisor"], ASSIGNED, "no_review"),  # decided already: a stale button
    (ACTORS["supervisor"], TicketFacts("assigned", STEWARD, review_by=STEWARD,
                                       about_staff_id=SUPERVISOR), "about_you"),
    (ACTORS["supervisor"], TicketFacts("withdrawn", STEWARD, review_by=STEWARD), "finished"),
])
@pytest.mark.parametrize("action", [Action.APPROVE_RESOLUTION, Action.SEND_BACK])
def test_who_decides_a_proposed_resolution(actor: Actor, facts: TicketFacts, reason: str,
                                           action: Action) -> None:
    d = authorize(actor, action, facts)
    assert (d.allowed, d.reason) == (not reason, reason)


def test_a_second_resolve_waits_for_the_review() -> None:
    for who in ("assignee", "supervisor"):
        d = authorize(ACTORS[who], Action.RESOLVE, PROPOSED)
        assert (d.allowed, d.reason) == (False, "awaiting_review")
    # Everything else goes on meanwhile: the steward still talks to the customer.
    assert authorize(ACTORS["assignee"], Action.RELAY, PROPOSED).allowed


@pytest.mark.parametrize(("policy", "major", "level", "reviewed"), [
    ("none", True, 0, False),
    ("major", False, 0, False),
    ("major", True, 0, True),
    ("all", False, 0, True),
    ("all", True, 1, False),  # a supervisor's own resolution is the review
    ("all", False, 4, False),
])
def test_which_resolutions_are_reviewed(policy: str, major: bool, level: int,
                                        reviewed: bool) -> None:
    from bot.domain.review import needs_review

    assert needs_review(policy, major, level) is reviewed
