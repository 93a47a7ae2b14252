"""Telegram's send limits as sliding windows; breaking one yields a 429 with retry_after."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from .schema import ApiError


@dataclass(frozen=True)
class Limits:
    """Send limits; 0 disables one. Defaults are Telegram's published ones."""

    overall_per_second: int = 30
    per_chat_per_second: int = 1  # private chats, sustained
    per_group_per_minute: int = 20  # groups and supergroups
    # Telegram lets a private chat take a short burst over its per-second rate ("short bursts
    # that go over this limit are allowed"), then answers 429: a token bucket of this size.
    private_burst: int = 3

    @classmethod
    def off(cls) -> Limits:
        """All limits disabled (benchmarks)."""
        return cls(0, 0, 0)


def _retry_after(window: deque[float], span: float, now: float) -> int:
    return max(1, math.ceil(window[0] + span - now))


class RateLimiter:
    """Counts message-sending calls per chat, per group and overall."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._overall: deque[float] = deque()
        self._chats: dict[int, deque[float]] = {}
        self._buckets: dict[int, tuple[float, float]] = {}  # private chat -> (tokens, at)

    def check(self, chat_id: int, now: float) -> None:
        """Record one send to ``chat_id`` at ``now`` or raise ApiError(429)."""
        lim = self.limits
        windows: list[deque[float]] = []
        checks: list[tuple[deque[float], float, int]] = []
        if lim.overall_per_second:
            checks.append((self._overall, 1.0, lim.overall_per_second))
        private = chat_id > 0 and lim.per_chat_per_second > 0
        tokens = 0.0
        if private:
            burst = max(1, lim.private_burst)
            held, at = self._buckets.get(chat_id, (float(burst), now))
            tokens = min(float(burst), held + (now - at) * lim.per_chat_per_second)
            if tokens < 1:
                n = max(1, math.ceil((1 - tokens) / lim.per_chat_per_second))
                raise ApiError(429, f"Too Many Requests: retry after {n}", retry_after=n)
        span, cap = (1.0, 0) if chat_id > 0 else (60.0, lim.per_group_per_minute)
        if cap:
            dq = self._chats.get(chat_id)
            if dq is None:
                dq = self._chats[chat_id] = deque()
            checks.append((dq, span, cap))
        for dq, span_, cap_ in checks:
            edge = now - span_
            while dq and dq[0] <= edge:
                dq.popleft()
            if len(dq) >= cap_:
                n = _retry_after(dq, span_, now)
                raise ApiError(429, f"Too Many Requests: retry after {n}", retry_after=n)
            windows.append(dq)
        for dq in windows:
            dq.append(now)
        if private:
            self._buckets[chat_id] = (tokens - 1, now)
