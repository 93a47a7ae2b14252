"""Triage at filing: whether a complaint is major (重大投诉) from the start, and why (§4).

Major from the start: a customer who names the media, a lawyer, a court, a regulator or a
consumer association (the threat to go there is what makes it urgent), a VIP customer, a
category the desk handles as major, or abuse during intake (intense emotion). A supervisor
takes these at once. The reason names the rule and, for a keyword, the configured keyword, so
the supervisor reads why without opening the story.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

# What customers write when they mean to go public or to the authorities. Latin words match
# whole words (an English plural "s" included), CJK words anywhere in the text. Phone numbers of
# hotlines (12315 consumer complaints, 12345 city hotline) match as whole numbers.
DEFAULT_KEYWORDS: tuple[str, ...] = (
    # media
    "media", "journalist", "reporter", "newspaper", "TV", "television",
    "媒体", "曝光", "记者", "报社", "报纸", "电视台", "上电视", "发微博", "发抖音",
    # lawyers and courts
    "lawyer", "attorney", "solicitor", "sue", "sued", "suing", "lawsuit", "legal action",
    "court",
    "律师", "律师函", "起诉", "法院", "诉讼", "打官司",
    # regulators, consumer associations, police, hotlines
    "regulator", "consumer association", "consumer council", "ombudsman", "police",
    "消协", "消费者协会", "市场监管", "工商局", "住建局", "房管局", "信访", "报警", "警察",
    "投诉到", "12315", "12345", "市长热线",
)
MAX_KEYWORDS = 500
MAX_KEYWORD_LENGTH = 40


class MajorRule(StrEnum):
    """Why a ticket is major."""

    KEYWORD = "keyword"  # the customer wrote one of the configured keywords
    VIP = "vip"  # the customer is marked VIP
    CATEGORY = "category"  # the category is configured `major = true`
    ABUSE = "abuse"  # abusive language during intake
    STAFF = "staff"  # a member of staff marked it (/major reason)


@dataclass(frozen=True)
class MajorReason:
    """Which rule made a ticket major; the keyword found, or what the staff member wrote."""

    rule: MajorRule
    keyword: str | None = None
    text: str | None = None

    def details(self) -> dict[str, Any]:
        """The reason as stored on the ticket's history."""
        return {"rule": str(self.rule), "keyword": self.keyword,
                **({"reason": self.text} if self.text is not None else {})}

    @classmethod
    def from_details(cls, details: Mapping[str, Any]) -> MajorReason:
        """The reason read back from a history row (an unknown rule reads as staff's)."""
        rule = str(details.get("rule"))
        known = rule in {r.value for r in MajorRule}
        return cls(MajorRule(rule) if known else MajorRule.STAFF,
                   details.get("keyword"), details.get("reason"))


# Letters and digits that make a latin word longer: "media" is not in "intermediate".
_WORDISH = "0-9a-z\u00c0-\u024f"
_SPACE = re.compile(r"\s+")


def _fold(text: str) -> str:
    # Full-width forms ("ＴＶ", "１２３１５"), case and spacing are how the same word is written
    # differently; CJK has no case, so casefolding only touches latin letters.
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


def _pattern(folded: str) -> str:
    body = re.escape(folded).replace(r"\ ", r"\s+")
    # A keyword that starts or ends with a latin letter or digit must meet a boundary there;
    # one made of CJK characters may sit anywhere (Chinese has no spaces between words).
    head = f"(?<![{_WORDISH}])" if re.match(f"[{_WORDISH}]", folded) else ""
    tail = ""
    if re.search(f"[{_WORDISH}]$", folded):
        plural = "s?" if folded[-1].isalpha() and folded.isascii() else ""
        tail = f"{plural}(?![{_WORDISH}])"
    return head + body + tail


class Keywords:
    """The configured keyword list, compiled once (an empty list finds nothing)."""

    def __init__(self, words: Iterable[str] = DEFAULT_KEYWORDS) -> None:
        self._by_fold: dict[str, str] = {}
        for w in words:
            folded = _fold(w)
            if folded:
                self._by_fold.setdefault(folded, w.strip())
        # Longest first, so "consumer association" wins over a shorter keyword at the same place.
        ordered = sorted(self._by_fold, key=len, reverse=True)
        self._re = re.compile("|".join(f"({_pattern(f)})" for f in ordered)) if ordered else None
        self._order = ordered

    def __bool__(self) -> bool:
        return self._re is not None

    def find(self, texts: Iterable[str | None]) -> str | None:
        """The configured keyword found first in the texts (in their order), or None."""
        if self._re is None:
            return None
        for text in texts:
            if not text:
                continue
            m = self._re.search(_fold(text))
            if m is not None and m.lastindex is not None:
                return self._by_fold[self._order[m.lastindex - 1]]
        return None


def assess(texts: Iterable[str | None], *, category_is_major: bool, customer_vip: bool,
           abusive: bool, keywords: Keywords) -> MajorReason | None:
    """Why a new complaint is major, or None: keyword, then VIP, category, abuse."""
    # A keyword first: "the customer mentions 媒体" tells the supervisor the most.
    found = keywords.find(texts)
    if found is not None:
        return MajorReason(MajorRule.KEYWORD, found)
    if customer_vip:
        return MajorReason(MajorRule.VIP)
    if category_is_major:
        return MajorReason(MajorRule.CATEGORY)
    if abusive:
        return MajorReason(MajorRule.ABUSE)
    return None
