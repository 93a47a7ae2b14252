"""The intake form: which steps a complaint goes through, in what order, and what each accepts.

The draft's answers are a plain dict (stored as JSON) so a restart loses nothing:
``category``, ``facts`` (a list of the customer's messages), ``outcome`` / ``outcome_text``,
``extra`` (the category's fields), ``about`` ("no" / "yes") with ``about_text`` (the staff
member the complaint is about, as the customer typed it), ``name``, ``phone``, ``previous`` (an
earlier ticket's id, or one of PREVIOUS_CHOICES), ``editing`` (true while a field is being
changed from the read-back, so answering it returns to the summary), ``same_offer`` (the
customer's tickets this may be the same matter as, while they are asked: ``{id, ref, status}``)
and ``not_same`` (ids of tickets they said it is not).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.domain.moments import WhenError, parse_when
from bot.domain.phone import PhoneError, normalize_phone

CATEGORY = "category"
FACTS = "facts"
OUTCOME = "outcome"
OUTCOME_TEXT = "outcome_text"
NAME = "name"
PHONE = "phone"
PREVIOUS = "previous"
CONFIRM = "confirm"
CHANGE = "change"
EXTRA_PREFIX = "x:"
ABOUT = "about"
ABOUT_TEXT = "about_text"
ABOUT_CHOICES = ("no", "yes")
# "Is this the same matter as your ticket X?": asked once the category is known (or before the
# story, when someone whose tickets are all dealt with writes again), only while tickets match.
SAME = "same"
SAME_OFFER = "same_offer"
NOT_SAME = "not_same"
SAME_NEW = "new"  # the answer "No, something new"
# "Complained before?" without picking a ticket: through another channel, not at all, or
# "I complained before and nobody handled it" (a repeat complaint, PROCESS.md §4).
IGNORED = "ignored"
PREVIOUS_CHOICES = ("no", "else", IGNORED)

# PROCESS.md §1: the outcomes a customer may ask for, before anything is proposed.
OUTCOMES = ("repair", "refund", "exchange", "compensation", "apology", "explanation",
            "improvement", "other")

MAX_SHORT_ANSWER = 200  # names, units, places: a paragraph here is a mistake, not an answer
MAX_PHOTOS = 20


@dataclass(frozen=True)
class Field:
    """An extra required element of a category (受理要素)."""

    key: str
    names: dict[str, str]
    type: str = "text"  # text | phone | datetime | choice | photo
    options: tuple[dict[str, str], ...] = ()


@dataclass(frozen=True)
class Category:
    """A branch of the category tree with the fields it requires."""

    key: str
    names: dict[str, str]
    fields: tuple[Field, ...] = ()
    # Words (zh and en) that make this category the likely one for a story.
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True)
class IntakeForm:
    """The configured category tree and limits; built once at start-up."""

    categories: tuple[Category, ...]
    max_facts_length: int = 50_000
    phone_region: str = "CN"
    _by_key: dict[str, Category] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_key.update({c.key: c for c in self.categories})

    def category(self, key: str | None) -> Category | None:
        """The category with this key, or None (callback data is never trusted)."""
        return self._by_key.get(key) if key else None

    def field(self, answers: dict[str, Any], step: str) -> Field | None:
        """The extra field a step asks for, within the draft's category."""
        cat = self.category(answers.get("category"))
        if cat is None or not step.startswith(EXTRA_PREFIX):
            return None
        key = step[len(EXTRA_PREFIX):]
        return next((f for f in cat.fields if f.key == key), None)

    def sequence(self, answers: dict[str, Any]) -> list[str]:
        """The steps of this draft in order (the category decides the extra ones)."""
        cat = self.category(answers.get("category"))
        extras = [EXTRA_PREFIX + f.key for f in cat.fields] if cat else []
        # PROCESS.md §1: the customer says it all first; the category is asked after the story.
        rest = [OUTCOME, *extras, ABOUT, NAME, PHONE, PREVIOUS, CONFIRM]
        if not answers.get(SAME_OFFER):
            return [FACTS, CATEGORY, *rest]
        # "The same matter as ticket X?" comes as soon as there is something to compare: after
        # the category, or first of all when it was offered before there was one.
        if cat is None:
            return [SAME, FACTS, CATEGORY, *rest]
        return [FACTS, CATEGORY, SAME, *rest]

    def is_answered(self, answers: dict[str, Any], step: str) -> bool:
        """True when the draft holds an answer for the step."""
        if step == CATEGORY:
            return self.category(answers.get("category")) is not None
        if step == FACTS:
            return bool(answers.get("facts")) and bool(answers.get("facts_done"))
        if step == OUTCOME:
            return answers.get("outcome") in OUTCOMES and (
                answers["outcome"] != "other" or bool(answers.get("outcome_text")))
        if step.startswith(EXTRA_PREFIX):
            return step[len(EXTRA_PREFIX):] in (answers.get("extra") or {})
        if step == ABOUT:
            return answers.get(ABOUT) == "no" or (
                answers.get(ABOUT) == "yes" and bool(answers.get(ABOUT_TEXT)))
        if step == PREVIOUS:
            return "previous" in answers
        if step == SAME:
            return not answers.get(SAME_OFFER)  # asked while offered; "no" takes the offer away
        return bool(answers.get(step))

    def next_step(self, answers: dict[str, Any], current: str) -> str:
        """Where the conversation goes after `current` was answered."""
        seq = self.sequence(answers)
        if answers.get("editing"):
            # Changing a field from the read-back: back to the summary unless the change
            # opened new questions (another category brings its own fields).
            return next((s for s in seq if not self.is_answered(answers, s)), CONFIRM)
        current = {OUTCOME_TEXT: OUTCOME, ABOUT_TEXT: ABOUT}.get(current, current)
        if current == SAME and SAME not in seq:
            # "Something new": the offer is gone; carry on from where it was asked (with no
            # category yet, that is the story, the first step).
            current = CATEGORY if self.category(answers.get("category")) else ""
        i = seq.index(current) if current in seq else -1
        return seq[i + 1] if i + 1 < len(seq) else CONFIRM

    def previous_step(self, answers: dict[str, Any], current: str) -> str | None:
        """Where Back leads from `current`; None means out of the form, to the menu."""
        if answers.get("editing") or current == CHANGE:
            return CONFIRM
        if current == OUTCOME_TEXT:
            return OUTCOME
        if current == ABOUT_TEXT:
            return ABOUT
        seq = self.sequence(answers)
        i = seq.index(current) if current in seq else 0
        return seq[i - 1] if i > 0 else None

    def likely(self, story: str) -> list[Category]:
        """Categories whose keywords the story mentions, most mentioned first."""
        text = story.casefold()
        hits = [(sum(1 for k in c.keywords if k.casefold() in text), i, c)
                for i, c in enumerate(self.categories)]
        return [c for n, _, c in sorted(hits, key=lambda h: (-h[0], h[1])) if n]

    def suggestion(self, story: str) -> Category | None:
        """The one category the story clearly points to, or None (no match, or several)."""
        likely = self.likely(story)
        return likely[0] if len(likely) == 1 else None

    def changeable(self, answers: dict[str, Any]) -> list[str]:
        """The steps the read-back offers under "Change a field"."""
        return [s for s in self.sequence(answers) if s not in (CONFIRM, SAME)]


class InvalidAnswer(ValueError):
    """An answer the step cannot take; `reason` picks the friendly retry text."""

    def __init__(self, reason: str, **hints: str | int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.hints = hints


def facts_length(answers: dict[str, Any]) -> int:
    """Characters of story told so far (texts and captions)."""
    return sum(len(f.get("text") or "") for f in answers.get("facts") or [])


def check_fact(answers: dict[str, Any], text: str, max_length: int) -> None:
    """Refuse an empty message, or any message once the story has reached the maximum.

    A message is kept whole or not at all, never cut: one that arrives while there is room is
    accepted even if it takes the story past the maximum (one Telegram message is at most 4,096
    characters, so the story ends within one message of the limit).
    """
    if not text.strip():
        raise InvalidAnswer("empty")
    if facts_length(answers) >= max_length:
        raise InvalidAnswer("story_full", limit=max_length)


def record_edit(answers: dict[str, Any], message_id: int, text: str, at: datetime
                ) -> dict[str, Any]:
    """Answers after the customer edited a message while filing: the story takes the new
    wording, and every edit is kept (with the old wording when it was part of the story).

    Returns a new dict; the draft's answers are not changed in place.
    """
    out = copy.deepcopy(answers)
    before = None
    for f in [*(out.get("facts") or []), *(out.get("pending") or [])]:
        if f.get("mid") == message_id:
            before, f["text"] = f.get("text"), text
            break
    out.setdefault("edits", []).append({"message_id": message_id, "before": before,
                                        "after": text, "at": at.isoformat()})
    return out


def short_text(text: str | None) -> str:
    """A one-line answer (name, unit, place): non-empty and not an essay."""
    value = (text or "").strip()
    if not value:
        raise InvalidAnswer("empty")
    if len(value) > MAX_SHORT_ANSWER:
        raise InvalidAnswer("too_long", limit=MAX_SHORT_ANSWER, left=MAX_SHORT_ANSWER)
    return value


def phone(text: str | None, region: str) -> str:
    """A phone number in E.164, or InvalidAnswer carrying an example of a valid one."""
    try:
        return normalize_phone(text or "", region)
    except PhoneError as exc:
        raise InvalidAnswer("phone", example=exc.example,
                            example_international=exc.example_international) from None


def extra_value(f: Field, text: str | None, photo: str | None, now_local: datetime,
                region: str = "CN") -> Any:
    """Validate the answer to an extra field by its type; return what the draft stores."""
    if f.type == "photo":
        if not photo:
            raise InvalidAnswer("photo_expected")
        return {"file_id": photo}
    if text is None:
        raise InvalidAnswer("text_expected")
    if f.type == "phone":
        return phone(text, region)
    if f.type == "datetime":
        try:
            return parse_when(text, now_local).strftime("%Y-%m-%d %H:%M")
        except WhenError as exc:
            raise InvalidAnswer(exc.reason) from None
    if f.type == "choice":
        typed = text.strip().casefold()
        for i, opt in enumerate(f.options):
            if typed in {n.casefold() for n in opt.values()} or typed == str(i + 1):
                return i
        raise InvalidAnswer("choice")
    return short_text(text)


def choice(f: Field, index: int) -> int:
    """A pressed option, re-checked against the configuration."""
    if f.type != "choice" or not 0 <= index < len(f.options):
        raise InvalidAnswer("choice")
    return index
