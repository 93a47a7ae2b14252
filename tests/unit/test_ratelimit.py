"""The sender's sliding windows: Telegram's limits, with 0 turning one off."""

from __future__ import annotations

from bot.ratelimit import RateLimiter, counts_for_chat


def test_a_private_chat_takes_a_short_burst_then_one_per_second() -> None:
    rl = RateLimiter(0, 1, 20, private_burst=3)
    for _ in range(3):  # a turn's messages go together, not a second apart
        assert rl.wait(5, "sendMessage", 100.0) == 0
        rl.record(5, "sendMessage", 100.0)
    assert 0.99 < rl.wait(5, "sendMessage", 100.0) <= 1.02
    assert rl.wait(6, "sendMessage", 100.0) == 0  # another chat has its own allowance
    assert rl.wait(5, "sendMessage", 101.03) == 0
    rl.record(5, "sendMessage", 101.03)
    assert rl.wait(5, "sendMessage", 101.03) > 0.99  # sustained: one per second


def test_a_private_chat_never_goes_over_the_sustained_rate() -> None:
    rl = RateLimiter(0, 1, 0, private_burst=3)
    now, sent = 0.0, []
    while now < 20:
        if rl.wait(5, "sendMessage", now) == 0:
            rl.record(5, "sendMessage", now)
            sent.append(now)
        now += 0.01
    # Telegram's bucket (burst 3, 1/s) accepts every one of them.
    tokens, at = 3.0, 0.0
    for s in sent:
        tokens = min(3.0, tokens + (s - at))
        at = s
        assert tokens >= 1, s
        tokens -= 1
    assert 20 <= len(sent) <= 23


def test_a_group_keeps_its_sliding_window() -> None:
    rl = RateLimiter(0, 1, 0, private_burst=3)
    rl.record(-100, "sendMessage", 0.0)
    assert rl.wait(-100, "sendMessage", 0.0) > 0.99


def test_group_limit_per_minute_and_overall_per_second() -> None:
    rl = RateLimiter(3, 0, 2)
    for i in range(2):
        rl.record(-100, "sendMessage", 10.0 + i * 0.01)
    assert rl.wait(-100, "sendMessage", 10.5) > 59
    rl.record(7, "sendMessage", 10.02)
    assert rl.wait(8, "sendMessage", 10.5) > 0  # 3 per second overall used up


def test_answers_and_chat_actions_are_not_messages() -> None:
    assert not counts_for_chat("answerCallbackQuery")
    assert not counts_for_chat("sendChatAction")
    assert counts_for_chat("editMessageText") and counts_for_chat("copyMessage")
    rl = RateLimiter(1, 1, 1)
    rl.record(5, "sendMessage", 0.0)
    assert rl.wait(5, "answerCallbackQuery", 0.0) == 0


def test_zero_turns_limits_off() -> None:
    rl = RateLimiter(0, 0, 0)
    for _ in range(1000):
        rl.record(-100, "sendMessage", 0.0)
    assert rl.wait(-100, "sendMessage", 0.0) == 0


def test_overall_limit_is_paced_not_burst() -> None:
    rl = RateLimiter(30, 0, 0)
    now, sent = 0.0, []
    while len(sent) < 60:
        w = rl.wait(len(sent), "sendMessage", now)
        if w == 0:
            rl.record(len(sent), "sendMessage", now)
            sent.append(now)
        now += 0.001
    gaps = [b - a for a, b in zip(sent, sent[1:], strict=False)]
    assert min(gaps) >= 0.75 / 30  # never two calls closer than 75 % of the average spacing
    # and no 1-second window ever holds more than 30
    assert max(sum(1 for t in sent if s <= t < s + 1) for s in sent) <= 30


def test_idle_chats_are_forgotten() -> None:
    rl = RateLimiter(0, 1, 20)
    for chat in range(1000):
        rl.record(chat, "sendMessage", 0.0)
    rl.record(-100, "sendMessage", 0.0)
    rl.prune(0.5)
    assert 5 in rl._buckets  # its allowance is still refilling: kept
    rl.prune(61.5)
    assert not rl._chats and not rl._groups and not rl._buckets
