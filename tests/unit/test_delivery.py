"""What a failed call means for its chat: Telegram's errors as the sender stores them."""

from __future__ import annotations

import pytest

from bot.bot_api import ApiError, Outcome, classify
from bot.domain.delivery import chat_unreachable, migrated_to
from bot.services.staff_group import MAX_RETRY_S, retry_delay


def test_an_upgraded_group_is_permanent_and_names_its_new_id() -> None:
    err = ApiError(400, "Bad Request: group chat was upgraded to a supergroup chat",
                   migrate_to_chat_id=-1009876543210)
    outcome, reason = classify(err)
    assert outcome is Outcome.PERMANENT and migrated_to(reason) == -1009876543210
    assert not chat_unreachable(reason)  # followed, not a group that is down


@pytest.mark.parametrize(("status", "description"), [
    (400, "Bad Request: chat not found"),
    (403, "Forbidden: bot was kicked from the supergroup chat"),
    (400, "Bad Request: not enough rights to create a topic"),
    (403, "Forbidden: bot is not a member of the supergroup chat"),
])
def test_group_failures_mean_the_bot_cannot_post_there(status: int, description: str) -> None:
    outcome, reason = classify(ApiError(status, description))
    assert outcome is Outcome.PERMANENT and chat_unreachable(reason)
    assert migrated_to(reason) is None


@pytest.mark.parametrize("description", [
    "Bad Request: message is too long", "Bad Request: can't parse entities",
    "Bad Request: the chat is not a forum"])
def test_a_bad_message_is_not_a_bad_group(description: str) -> None:
    _, reason = classify(ApiError(400, description))
    assert not chat_unreachable(reason)


def test_retries_back_off_to_half_an_hour() -> None:
    waits = [retry_delay(n).total_seconds() for n in range(8)]
    assert waits[:4] == [60, 120, 240, 480] and waits[-1] == MAX_RETRY_S
    assert waits == sorted(waits)
