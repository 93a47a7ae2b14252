"""Every intake prompt ends with one clear question and labels its buttons in plain words, so a
person (or a script reading the chat) always knows what is asked."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest

from bot.clock import Clock
from bot.config import Config, EnvSettings, FileConfig
from bot.domain import intake as steps
from bot.i18n import LANGUAGES
from bot.services.desk import Desk
from bot.services.views import EarlierTicket, Prompt
from handlers import render

QUESTION = ("?", "\uff1f")  # ASCII and full-width question marks

CATEGORIES = [{"key": "goods", "zh": "商品", "en": "Goods", "keywords": ["冰箱", "fridge"],
               "fields": [
                   {"key": "model", "zh": "型号", "en": "Model"},
                   {"key": "when", "zh": "购买时间", "en": "Bought on", "type": "datetime"},
                   {"key": "size", "zh": "规格", "en": "Size", "type": "choice",
                    "options": [{"zh": "大", "en": "Large"}, {"zh": "小", "en": "Small"}]},
                   {"key": "item", "zh": "商品照片", "en": "Photo of the item", "type": "photo"},
                   {"key": "alt", "zh": "备用电话", "en": "Other phone", "type": "phone"}]},
              {"key": "other", "zh": "其他", "en": "Other"}]
FORM = Desk.from_config(Config(env=EnvSettings(telegram_bot_token="1:x"),
                               file=FileConfig.model_validate({"categories": CATEGORIES})),
                        Clock()).form
ANSWERS: dict[str, Any] = {
    "category": "goods", "facts": [{"kind": "text", "text": "冰箱坏了 the fridge broke"}],
    "facts_done": True, "outcome": "repair", "extra": {"model": "X1"}, "about": "no",
    "name": "Lei", "phone": "+8613812345678", "previous": "no"}


SAME_OFFER = [{"id": 1, "ref": "260301-AAAAA", "status": "open"},
              {"id": 2, "ref": "260201-CCCCC", "status": "closed"}]


def _visible(text: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", text)).strip()


def _prompts() -> list[tuple[str, Prompt]]:
    out = [(s, Prompt(s, ANSWERS, first_name="Lei")) for s in FORM.sequence(ANSWERS)]
    out += [(f"heard_{n}", Prompt(steps.FACTS, ANSWERS, reaction=n)) for n in range(1, 6)]
    out += [("rewrite", Prompt(steps.FACTS, {**ANSWERS, "facts_rewrite": True})),
            ("all_categories", Prompt(steps.CATEGORY, {**ANSWERS, "all_categories": True})),
            ("no_suggestion", Prompt(steps.CATEGORY, {"facts": [{"text": "hm"}]})),
            ("outcome_text", Prompt(steps.OUTCOME_TEXT, ANSWERS)),
            ("about_text", Prompt(steps.ABOUT_TEXT, ANSWERS)),
            ("change", Prompt(steps.CHANGE, ANSWERS)),
            ("pick", Prompt(steps.PREVIOUS, ANSWERS, earlier=(EarlierTicket(1, "R-1", "goods"),))),
            ("same", Prompt(steps.SAME, {**ANSWERS, steps.SAME_OFFER: SAME_OFFER})),
            ("same_first", Prompt(steps.SAME, {"facts": [{"text": "again"}],
                                               steps.SAME_OFFER: SAME_OFFER[:1]})),
            ("error", Prompt(steps.PHONE, ANSWERS, error="phone",
                             hints={"example": "1", "example_international": "+1"}))]
    return out


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize(("name", "p"), _prompts(), ids=[n for n, _ in _prompts()])
def test_every_prompt_ends_with_one_question_and_plain_buttons(lang: str, name: str,
                                                               p: Prompt) -> None:
    text, markup = render.prompt(lang, p, FORM)
    visible = _visible(text)
    assert visible[-1] in QUESTION, f"{name} does not end with a question: {visible[-60:]!r}"
    # One question: the last sentence asks it (a read-back quotes the customer, so only the
    # part after the quote counts there).
    tail = visible.rsplit("\n", 1)[-1]
    assert sum(tail.count(q) for q in QUESTION) == 1, tail
    rows = (markup or {}).get("inline_keyboard") or (markup or {}).get("keyboard") or []
    labels = [b["text"] for row in rows for b in row]
    assert labels or p.step in (steps.OUTCOME_TEXT, steps.ABOUT_TEXT), name
    for label in labels:
        assert label.strip() and not re.search(r"\bc:|_|\{", label), label


def test_the_suggestion_is_the_one_category_the_story_points_to() -> None:
    assert FORM.suggestion("我家冰箱坏了") is not None
    assert FORM.suggestion("My fridge broke").key == "goods"  # type: ignore[union-attr]
    assert FORM.suggestion("nothing to see") is None
    assert [c.key for c in FORM.likely("fridge")] == ["goods"]
