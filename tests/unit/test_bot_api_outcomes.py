"""How failed calls are classified: what repeats harmlessly and what may have been delivered."""

from __future__ import annotations

import pytest

from bot.bot_api import (
    QUERY_EXPIRED,
    ApiError,
    ApiUnavailable,
    Outcome,
    classify,
    maybe_delivered,
    repeats_harmlessly,
)


@pytest.mark.parametrize(("method", "harmless"), [
    ("sendMessage", False), ("sendPhoto", False), ("copyMessage", False),
    ("forwardMessage", False), ("createForumTopic", False),
    ("editMessageText", True), ("answerCallbackQuery", True), ("editForumTopic", True),
    ("closeForumTopic", True), ("deleteMessage", True), ("sendChatAction", True),
])
def test_only_posting_calls_can_duplicate(method: str, harmless: bool) -> None:
    assert repeats_harmlessly(method) is harmless


@pytest.mark.parametrize(("exc", "cause"), [
    (ApiUnavailable("TimeoutError"), "timeout"),
    (ApiUnavailable("ServerDisconnectedError"), "timeout"),
    (ApiUnavailable("ClientConnectorError"), None),  # never reached Telegram
    (ApiError(502, "Bad Gateway"), "server_error"),
    (ApiError(429, "Too Many Requests", 3), None),
    (ApiError(400, "Bad Request: chat not found"), None),
])
def test_what_may_have_been_delivered(exc: Exception, cause: str | None) -> None:
    assert maybe_delivered(exc) == cause


def test_a_too_late_answer_is_done_not_failed() -> None:
    exc = ApiError(400, "Bad Request: query is too old and response timeout expired or "
                        "query ID is invalid")
    assert classify(exc) == (Outcome.DONE, QUERY_EXPIRED)
    assert classify(ApiError(400, "Bad Request: message to delete not found"))[0] is Outcome.DONE
