"""The ticket's references; the intake form's order; moments; abuse (the status machine is
in test_ticket_lifecycle.py)."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from bot.domain import intake as f
from bot.domain import ticket as tk
from bot.domain.abuse import AbuseDetector
from bot.domain.moments import WhenError, parse_when


def test_reference_shape_and_typing() -> None:
    ref = tk.new_ref(date(2026, 3, 12))
    assert len(ref) == 12 and ref.startswith("260312-")
    assert not set(ref[7:]) & set("0O1IL2Z5S8B")
    assert tk.normalise_ref(f" #{ref.lower().replace('-', ' ')} ") == ref
    assert tk.new_ref(date(2026, 3, 12), "AAAAA") == "260312-AAAAA"


FORM = f.IntakeForm((
    f.Category("housing", {"en": "Housing"}, (f.Field("unit", {"en": "Unit"}),)),
    f.Category("other", {"en": "Other"}),
))


def test_sequence_follows_the_category() -> None:
    # The story first (PROCESS.md §1), then the category and what it requires.
    assert FORM.sequence({"category": "housing"}) == [
        "facts", "category", "outcome", "x:unit", "about", "name", "phone", "previous",
        "confirm"]
    assert FORM.sequence({}) == [
        "facts", "category", "outcome", "about", "name", "phone", "previous", "confirm"]


def test_next_and_previous() -> None:
    a = {"category": "housing"}
    assert FORM.next_step(a, "outcome") == "x:unit"
    assert FORM.next_step(a, "outcome_text") == "x:unit"
    assert FORM.previous_step(a, "x:unit") == "outcome"
    assert FORM.previous_step(a, "outcome_text") == "outcome"
    assert FORM.previous_step(a, "facts") is None
    assert FORM.previous_step(a, "category") == "facts"
    assert FORM.next_step(a, "facts") == "category"
    assert FORM.next_step(a, "x:unit") == "about"
    assert FORM.next_step(a, "about_text") == "name"
    assert FORM.previous_step(a, "about_text") == "about"
    assert FORM.previous_step(a, "name") == "about"


def test_about_is_answered_by_no_or_by_a_name() -> None:
    assert not FORM.is_answered({}, "about")
    assert FORM.is_answered({"about": "no"}, "about")
    assert not FORM.is_answered({"about": "yes"}, "about")
    assert FORM.is_answered({"about": "yes", "about_text": "王管家"}, "about")


def test_editing_returns_to_the_summary_unless_something_is_missing() -> None:
    a = {"category": "housing", "facts": [{"text": "x"}], "facts_done": True,
         "outcome": "repair", "extra": {}, "name": "N", "phone": "+8613812345678",
         "previous": "no", "about": "no", "editing": True}
    assert FORM.next_step(a, "category") == "x:unit"
    a["extra"] = {"unit": "3-1201"}
    assert FORM.next_step(a, "name") == "confirm"
    assert FORM.previous_step(a, "name") == "confirm"


def test_fact_limits() -> None:
    a = {"facts": [{"text": "x" * 90}]}
    f.check_fact(a, "y" * 4096, 100)  # a message is kept whole while there is room
    with pytest.raises(f.InvalidAnswer):
        f.check_fact(a, " \n ", 100)
    full = {"facts": [{"text": "x" * 90}, {"text": "y" * 4096}]}
    with pytest.raises(f.InvalidAnswer) as e:
        f.check_fact(full, "z", 100)  # only a story that reached the maximum refuses more
    assert e.value.reason == "story_full" and e.value.hints["limit"] == 100


def test_phone_answers() -> None:
    assert f.phone("+86 138 1234 5678", "CN") == "+8613812345678"
    with pytest.raises(f.InvalidAnswer) as e:
        f.phone("12345", "CN")
    assert e.value.reason == "phone" and e.value.hints["example"] == "13812345678"


NOW = datetime(2026, 3, 12, 15, 0)


@pytest.mark.parametrize(("text", "expected"), [
    ("2026-03-01 14:30", datetime(2026, 3, 1, 14, 30)),
    ("2026/3/1", datetime(2026, 3, 1)),
    ("3月1日 14点", datetime(2026, 3, 1, 14, 0)),
    ("３月１日 １４：３０", datetime(2026, 3, 1, 14, 30)),
    ("昨天 20:00", datetime(2026, 3, 11, 20, 0)),
    ("昨天下午3点", datetime(2026, 3, 11, 15, 0)),
    ("today 09:15", datetime(2026, 3, 12, 9, 15)),
    ("12-30", datetime(2025, 12, 30)),
])
def test_moments_customers_type(text: str, expected: datetime) -> None:
    assert parse_when(text, NOW) == expected


@pytest.mark.parametrize(("text", "reason"), [
    ("the other day", "datetime"), ("2026-02-30", "datetime"), ("25:00", "datetime"),
    ("2026-03-13 10:00", "future"), ("", "datetime")])
def test_moments_refused(text: str, reason: str) -> None:
    with pytest.raises(WhenError) as e:
        parse_when(text, NOW)
    assert e.value.reason == reason


def test_abuse_detection() -> None:
    d = AbuseDetector(["混账"])
    assert d.is_abusive("你们这帮废物")
    assert d.is_abusive("傻 逼")  # spacing does not hide it
    assert d.is_abusive("ｆｕｃｋ　ｙｏｕ")  # nor full-width forms
    assert d.is_abusive("混账东西")  # configured words count too
    assert not d.is_abusive("漏水三天了,太让人生气了")
    assert not d.is_abusive(None)


def test_an_edit_while_filing_updates_the_story_and_is_kept() -> None:
    from datetime import UTC, datetime

    at = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    a = {"facts": [{"kind": "text", "text": "三天", "mid": 7}]}
    out = f.record_edit(a, 7, "五天", at)
    assert out["facts"][0]["text"] == "五天" and a["facts"][0]["text"] == "三天"  # a copy
    assert out["edits"] == [{"message_id": 7, "before": "三天", "after": "五天",
                             "at": at.isoformat()}]
    other = f.record_edit(out, 9, "3栋 1202", at)  # not part of the story: kept as an edit
    assert other["facts"] == out["facts"] and other["edits"][-1]["before"] is None
