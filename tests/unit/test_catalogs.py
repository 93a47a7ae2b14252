"""Catalog checks: both languages have the same keys and placeholders; tone rules hold."""

from __future__ import annotations

import re
import string

import pytest

from bot.i18n import LANGUAGES, catalog

# PROCESS.md §5 "Never", and the English a translator would reach for.
NEVER = ("你不明白", "你说的不对", "我们有规定", "这不是我的工作范围", "你的话没道理",
         "我从来没有说过", "我不知道", "你不懂", "不归我管", "那是别的部门", "同事的问题",
         "公司的问题",
         "you don't understand", "you do not understand", "you are wrong", "you're wrong",
         "our policy", "we have rules", "not my job", "not my responsibility",
         "makes no sense",
         "i never said", "i don't know", "i do not know", "another department's fault",
         "my colleague's fault")


def _fields(text: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(text) if f}


def test_same_keys_in_every_language() -> None:
    zh, en = catalog("zh_CN"), catalog("en")
    assert set(zh) == set(en), set(zh) ^ set(en)


def test_same_placeholders_in_every_language() -> None:
    zh, en = catalog("zh_CN"), catalog("en")
    for key in zh:
        if key == "time.format":  # each language picks from the same values (month or name)
            continue
        assert _fields(zh[key]) == _fields(en[key]), key


@pytest.mark.parametrize("lang", LANGUAGES)
def test_no_text_uses_a_never_phrase(lang: str) -> None:
    for key, text in catalog(lang).items():
        folded = text.casefold().replace("’", "'")
        for phrase in NEVER:
            assert phrase not in folded, f"{lang}:{key} says {phrase!r}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_markup_is_balanced(lang: str) -> None:
    for key, text in catalog(lang).items():
        tags = re.findall(r"</?([a-z]+)[^>]*>", text)
        assert tags.count("b") % 2 == 0 and tags.count("blockquote") % 2 == 0, key
        assert "&" not in re.sub(r"&(amp|lt|gt|quot);", "", text), key


def test_abuse_answer_is_calm_and_firm() -> None:
    assert "尊重我的人格" in catalog("zh_CN")["abuse.reply"]
    assert "respect" in catalog("en")["abuse.reply"]


# PROCESS.md §3: the customer must never have to repeat the story. Phrases that ask for it again
# (a customer-initiated rewrite from the read-back says "what you'd like it to read" instead).
RETELL = ("重新告诉", "重新说", "再说一遍", "再讲一遍", "重新描述", "重新点「我要投诉」",
          "重新填写", "tell us again", "tell me again", "start again", "start over", "retell",
          "please repeat", "describe it again", "explain it again from", "from the beginning")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_no_customer_text_asks_them_to_repeat_the_story(lang: str) -> None:
    for key, text in catalog(lang).items():
        if key.startswith(("staff.", "access.")):  # staff-facing
            continue
        folded = text.casefold()
        for phrase in RETELL:
            assert phrase not in folded, f"{lang}:{key} says {phrase!r}"


def test_wording_a_chinese_customer_trusts() -> None:
    zh, en = catalog("zh_CN"), catalog("en")
    for key in ("intake.category.ask", "intake.facts.ask"):  # before they have said anything
        assert "对不起" not in zh[key] and "我理解您的心情" not in zh[key], key
        assert "sorry" not in en[key].casefold() and "understand how" not in en[key], key
    assert "签收" not in zh["customer.claimed"] and "他/她" not in zh["customer.claimed"]
    assert "催办" not in zh["tickets.urge"] + zh["urge.recorded"] + zh["history.urged"]
    assert "urge" not in (en["tickets.urge"] + en["urge.recorded"] + en["history.urged"]).lower()
    assert "抱歉" in zh["urge.recorded"] and "sorry" in en["urge.recorded"]
    assert "48 小时内" not in zh["customer.resolved"] and "48 hours" not in en["customer.resolved"]
    assert "如实记录" not in zh["abuse.reply"]
    for lang in ("zh_CN", "en"):
        texts = " ".join(catalog(lang).values())
        for phrase in ("谢谢您的表情", "这个时间还没到呢", "我们看当前这一步", "没能理解",
                       "That time is still to come", "Thanks for the sticker",
                       "didn't understand"):
            assert phrase not in texts, phrase
