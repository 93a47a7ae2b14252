"""Send limits mirroring Telegram's: sliding windows overall and per group, and a token bucket
per private chat (a short burst, then the sustained per-second rate)."""

from __future__ import annotations

from collections import deque

# A little slack so a limit measured on another machine's clock is never touched; keeps us
# above 95 % of the configured rate.
_SLACK = 1.02
# Minimum spacing between calls, as a share of the average spacing the limit allows.
_PACE = 0.75

# Calls that post or change a message in a chat; only these count against chat/group limits.
_CHAT_METHODS = ("send", "copyMessage", "forwardMessage", "editMessage", "createForumTopic")


def counts_for_chat(method: str) -> bool:
    """True when the call posts or edits a message (answers and chat actions are free)."""
    return method.startswith(_CHAT_METHODS) and method != "sendChatAction"


class _Window:
    __slots__ = ("limit", "pace", "span", "times")

    def __init__(self, limit: float, span: float) -> None:
        self.limit = int(limit) if limit >= 1 else 1
        self.span = (span / limit if 0 < limit < 1 else span) * _SLACK
        self.pace = self.span / self.limit * _PACE
        self.times: deque[float] = deque()

    def wait(self, now: float) -> float:
        while self.times and now - self.times[0] >= self.span:
            self.times.popleft()
        # Paced, not bursty: calls that leave together can arrive closer together still, and
        # a full window's worth in one burst is what tipped the receiver's count over (429s).
        gap = self.times[-1] + self.pace - now if self.times else 0.0
        if len(self.times) < self.limit:
            return max(gap, 0.0)
        return max(self.times[0] + self.span - now, gap)


class _Bucket:
    """A private chat's allowance: `burst` calls at once, refilled at `rate` per second."""

    __slots__ = ("at", "burst", "rate", "tokens")

    def __init__(self, rate: float, burst: int, now: float) -> None:
        self.rate, self.burst = rate / _SLACK, float(burst)
        self.tokens, self.at = self.burst, now

    def _refill(self, now: float) -> None:
        self.tokens = min(self.burst, self.tokens + max(now - self.at, 0.0) * self.rate)
        self.at = max(now, self.at)

    def wait(self, now: float) -> float:
        self._refill(now)
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    def take(self, now: float) -> None:
        self._refill(now)
        self.tokens -= 1

    def full(self, now: float) -> bool:
        return self.tokens + max(now - self.at, 0.0) * self.rate >= self.burst


class RateLimiter:
    """Decides when the next call to a chat may go; 0 for a limit turns it off.

    A private chat gets a token bucket: one turn's confirmation and next question (and a
    read-back in several parts) go out at once instead of a second apart, while the sustained
    rate stays `per_chat_per_second`. Groups keep their sliding windows as they were.
    """

    def __init__(self, overall_per_second: float, per_chat_per_second: float,
                 per_group_per_minute: float, private_burst: int = 3) -> None:
        self.overall = overall_per_second
        self.per_chat = per_chat_per_second
        self.per_group = per_group_per_minute
        self.private_burst = max(1, private_burst)
        self._overall = _Window(overall_per_second, 1.0) if overall_per_second else None
        self._chats: dict[int, _Window] = {}
        self._groups: dict[int, _Window] = {}
        self._buckets: dict[int, _Bucket] = {}

    def _bucket(self, chat_id: int, now: float) -> _Bucket:
        b = self._buckets.get(chat_id)
        if b is None:
            b = self._buckets[chat_id] = _Bucket(self.per_chat, self.private_burst, now)
        return b

    def wait(self, chat_id: int, method: str, now: float) -> float:
        """Seconds to wait before this call may be made (0 = now)."""
        if not counts_for_chat(method):
            return 0.0
        w = self._overall.wait(now) if self._overall else 0.0
        if self.per_chat and chat_id > 0:
            w = max(w, self._bucket(chat_id, now).wait(now))
        elif self.per_chat:
            w = max(w, self._win(self._chats, chat_id, self.per_chat, 1.0).wait(now))
        if chat_id < 0 and self.per_group:
            w = max(w, self._win(self._groups, chat_id, self.per_group, 60.0).wait(now))
        return w

    def record(self, chat_id: int, method: str, now: float) -> None:
        """Count a call that is being made now."""
        if not counts_for_chat(method):
            return
        if self._overall:
            self._overall.times.append(now)
        if self.per_chat and chat_id > 0:
            self._bucket(chat_id, now).take(now)
        elif self.per_chat:
            self._win(self._chats, chat_id, self.per_chat, 1.0).times.append(now)
        if chat_id < 0 and self.per_group:
            self._win(self._groups, chat_id, self.per_group, 60.0).times.append(now)

    def prune(self, now: float) -> None:
        """Forget chats with nothing in their window (memory stays bounded by active chats)."""
        for windows in (self._chats, self._groups):
            for key in [k for k, w in windows.items() if not w.times
                        or now - w.times[-1] >= w.span]:
                del windows[key]
        for key in [k for k, b in self._buckets.items() if b.full(now)]:
            del self._buckets[key]

    @staticmethod
    def _win(d: dict[int, _Window], key: int, limit: float, span: float) -> _Window:
        w = d.get(key)
        if w is None:
            w = d[key] = _Window(limit, span)
        return w
