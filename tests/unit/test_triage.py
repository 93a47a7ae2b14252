"""Triage at filing (PROCESS.md §4): which complaints are major from the start, and why."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, load_config
from bot.domain.routing import RosterEntry, escalation_targets
from bot.domain.triage import DEFAULT_KEYWORDS, Keywords, MajorReason, MajorRule, assess

DEFAULT = Keywords()


def _assess(*texts: str | None, category: bool = False, vip: bool = False,
            abusive: bool = False, keywords: Keywords = DEFAULT) -> MajorReason | None:
    return assess(texts, category_is_major=category, customer_vip=vip, abusive=abusive,
                  keywords=keywords)


@pytest.mark.parametrize(("text", "keyword"), [
    ("再不修我就找媒体曝光", "媒体"),  # the leftmost keyword of the text is named
    ("我已经联系了记者", "记者"),
    ("我要请律师起诉你们", "律师"),
    ("我会打12315投诉", "12315"),
    ("不行就投诉到住建局", "投诉到"),
    ("我要去消费者协会", "消费者协会"),
    ("I will go to the media about this", "media"),
    ("My LAWYER will write to you", "lawyer"),  # case does not matter for latin letters
    ("two lawyers already saw it", "lawyer"),  # nor an English plural
    ("I am calling the Consumer\nAssociation", "consumer association"),  # spacing neither
    ("把这个发到ＴＶ上", "TV"),  # full-width letters are the same letters
])
def test_a_keyword_in_the_story_makes_it_major_and_is_named(text: str, keyword: str) -> None:
    assert _assess(text) == MajorReason(MajorRule.KEYWORD, keyword)


@pytest.mark.parametrize("text", [
    "I live on the intermediate floor",  # "media" inside a word is not the media
    "the pressure is suey",  # "sue" inside a word
    "房号 123150 的楼道灯坏了",  # 12315 inside a longer number
    "楼上漏水,已经三天了",
])
def test_latin_keywords_match_whole_words_only(text: str) -> None:
    assert _assess(text) is None


def test_every_text_the_customer_wrote_is_read_in_order() -> None:
    # Story, desired outcome, a field: the first text holding a keyword names it.
    assert _assess("楼上漏水", None, "不赔偿就找记者", "律师") == MajorReason(
        MajorRule.KEYWORD, "记者")


def test_each_other_rule_in_its_order() -> None:
    assert _assess("楼上漏水", vip=True, category=True, abusive=True) == MajorReason(
        MajorRule.VIP)
    assert _assess("楼上漏水", category=True, abusive=True) == MajorReason(MajorRule.CATEGORY)
    assert _assess("楼上漏水", abusive=True) == MajorReason(MajorRule.ABUSE)
    # A keyword says the most, so it is the reason even for a VIP.
    assert _assess("我要曝光", vip=True) == MajorReason(MajorRule.KEYWORD, "曝光")


def test_an_empty_list_turns_keyword_triage_off_but_not_the_other_rules() -> None:
    off = Keywords([])
    assert not off
    assert _assess("我要找媒体曝光 media lawyer", keywords=off) is None
    assert _assess("我要找媒体曝光", vip=True, keywords=off) == MajorReason(MajorRule.VIP)


def test_configured_keywords_replace_the_defaults() -> None:
    mine = Keywords(["人大代表", "Weibo"])
    assert _assess("我是人大代表", keywords=mine) == MajorReason(MajorRule.KEYWORD, "人大代表")
    assert _assess("posting on weibo", keywords=mine) == MajorReason(MajorRule.KEYWORD, "Weibo")
    assert _assess("找媒体", keywords=mine) is None


def test_the_defaults_hold_the_zh_and_en_words_of_the_brief() -> None:
    for word in ("media", "journalist", "reporter", "newspaper", "TV", "lawyer", "attorney",
                 "sue", "court", "regulator", "consumer association", "police", "12315",
                 "媒体", "曝光", "记者", "报社", "电视台", "律师", "起诉", "法院", "消协",
                 "消费者协会", "报警", "投诉到", "12345", "市长热线", "住建局"):
        assert word in DEFAULT_KEYWORDS
        assert DEFAULT.find([f"关于 {word} 的事"]) == word


def test_a_reason_survives_the_history_row() -> None:
    for r in (MajorReason(MajorRule.KEYWORD, "媒体"), MajorReason(MajorRule.VIP),
              MajorReason(MajorRule.STAFF, text="客户是人大代表")):
        assert MajorReason.from_details({"by": "x", **r.details()}) == r
    assert MajorReason(MajorRule.KEYWORD, "媒体").details() == {"rule": "keyword",
                                                                 "keyword": "媒体"}


def test_the_supervisors_of_the_routed_stewards() -> None:
    roster = [RosterEntry(1, "supervisor"), RosterEntry(2, "supervisor"),
              RosterEntry(3, "manager"),
              RosterEntry(11, "steward", supervisor_id=1), RosterEntry(12, "steward",
                                                                       supervisor_id=2),
              RosterEntry(13, "steward", supervisor_id=1), RosterEntry(14, "steward")]
    assert escalation_targets(1, [11, 13], None, roster) == (1,)
    assert escalation_targets(1, [11, 12], None, roster) == (1, 2)
    assert escalation_targets(2, [11, 12], None, roster) == (3,)  # nobody above: the level
    # Nobody above them (or nobody routed): the desk's supervisors, never the subject.
    assert escalation_targets(1, [14], None, roster) == (1, 2)
    assert escalation_targets(1, [], 1, roster) == (2,)
    assert escalation_targets(1, [11], 1, roster) == (2,)


# ---- configuration -------------------------------------------------------------------------

def _load(tmp_path: Path, text: str):  # type: ignore[no-untyped-def]
    p = tmp_path / "c.toml"
    p.write_text(text, encoding="utf-8")
    return load_config(p)


def test_triage_configuration(tmp_path: Path) -> None:
    f = _load(tmp_path, '[triage]\nmajor_keywords = [" 人大代表 ", "Weibo"]\n'
                        '[[categories]]\nkey = "safety"\nzh = "安全"\nen = "Safety"\n'
                        'major = true\n[[categories]]\nkey = "other"\nzh = "其他"\nen = "Other"\n'
              ).file
    assert f.triage.major_keywords == ["人大代表", "Weibo"]
    assert [(c.key, c.major) for c in f.categories] == [("safety", True), ("other", False)]
    assert _load(tmp_path, "[triage]\nmajor_keywords = []\n").file.triage.major_keywords == []
    defaults = load_config(None, environ={"TELEGRAM_API_URL": "http://x"}).file
    assert defaults.triage.major_keywords == list(DEFAULT_KEYWORDS)
    assert not any(c.major for c in defaults.categories)


@pytest.mark.parametrize(("text", "expected"), [
    ('[triage]\nmajor_keywords = ["媒体", " "]',
     "triage.major_keywords: keywords must be 1-40 characters, not ' '"),
    (f'[triage]\nmajor_keywords = ["{"长" * 41}"]',
     "triage.major_keywords: keywords must be 1-40 characters"),
    ("[triage]\nmajor_keywords = [" + ", ".join(f'"w{i}"' for i in range(501)) + "]",
     "triage.major_keywords: at most 500 keywords"),
    ('[triage]\nmajor_keyword = ["媒体"]', "triage.major_keyword: unknown key"),
    ('[[categories]]\nkey = "a"\nzh = "甲"\nen = "A"\nmajor = "maybe"',
     "categories[0].major: Input should be a valid boolean"),
])
def test_triage_mistakes_are_one_line_naming_the_key(tmp_path: Path, text: str,
                                                     expected: str) -> None:
    with pytest.raises(ConfigError) as err:
        _load(tmp_path, text)
    assert expected in str(err.value) and "\n" not in str(err.value)


def test_the_example_written_by_init_lists_the_default_keywords(tmp_path: Path) -> None:
    from bot.cli import main

    path = tmp_path / "example.toml"
    assert main(["init", str(path)]) == 0
    f = load_config(path).file
    assert f.triage.major_keywords == list(DEFAULT_KEYWORDS)
    assert not any(c.major for c in f.categories)
