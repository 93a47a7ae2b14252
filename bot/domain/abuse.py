"""Abusive language: noticed so the bot can answer calmly and firmly (PROCESS.md §5)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

# Insults aimed at a person, not strong words about a situation: "太他妈慢了" is anger at the
# delay and is heard as venting; "你他妈" / "傻逼" address the agent. Kept short on purpose —
# a false alarm lectures an angry customer, which is worse than missing one.
DEFAULT_WORDS = (
    "傻逼", "傻b", "煞笔", "沙比", "你他妈", "操你", "草你", "去死", "滚蛋", "王八蛋", "混蛋",
    "狗东西", "脑残", "废物", "垃圾客服", "你妈的",
    "fuck you", "idiot", "moron", "stupid bot", "asshole", "bitch", "shut up",
)

_INVISIBLE = re.compile(r"[\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff\s*._\-]+")


class AbuseDetector:
    """Finds insults in a message; built once from the defaults plus configured words."""

    def __init__(self, extra: Iterable[str] = ()) -> None:
        words = {self._fold(w) for w in (*DEFAULT_WORDS, *extra) if w.strip()}
        self._words = tuple(sorted(w for w in words if w))

    @staticmethod
    def _fold(text: str) -> str:
        # Spacing, zero-width characters and full-width forms are the usual ways round a
        # word list ("傻 逼", "ｆｕｃｋ"); fold them away before matching.
        return _INVISIBLE.sub("", unicodedata.normalize("NFKC", text).casefold())

    def is_abusive(self, text: str | None) -> bool:
        """True when the text contains one of the words."""
        if not text:
            return False
        folded = self._fold(text)
        return any(w in folded for w in self._words)
