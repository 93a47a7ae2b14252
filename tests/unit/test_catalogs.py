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
