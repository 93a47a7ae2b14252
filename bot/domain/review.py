"""Review before the customer hears it (审核, PROCESS.md §3 "handle → audit → reply")."""

from __future__ import annotations

from bot.domain.vocabulary import Review


def needs_review(policy: Review | str, is_major: bool, resolver_level: int) -> bool:
    """Whether a resolution goes to a supervisor first instead of straight to the customer.

    Only a steward's resolution is reviewed: a supervisor (or above) resolving is the review.
    """
    if resolver_level >= 1:
        return False
    return policy == Review.ALL or (policy == Review.MAJOR and is_major)
