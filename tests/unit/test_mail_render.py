"""The escalation e-mail: subject with reference and level, both parts, the customer escaped."""

from __future__ import annotations

from datetime import datetime

import pytest

from bot.domain.mail import address, addresses
from bot.services.mail_render import EscalationMail, escalation_mail

STORY = "电梯坏了 <img src=x onerror=alert(1)> & \"三天\"没人管\n第二行"


def _mail(**kw: object) -> EscalationMail:
    base: dict[str, object] = dict(
        ref="260312-K7Q3M", level=1, level_name="值班经理", reason="30 分钟无人签收 <b>",
        category="设备管理", contact_name="张<女士>", facts=STORY,
        desired_outcome="今天修好 & 道歉",
        first_response_due=datetime(2026, 3, 12, 9, 30), reply_due=None,
        card_link="https://t.me/c/1001/77",
        history=((datetime(2026, 3, 12, 9, 0), "客户", "提交了投诉 <script>"),))
    return EscalationMail(**{**base, **kw})  # type: ignore[arg-type]


def test_subject_names_the_reference_and_the_level() -> None:
    assert escalation_mail(_mail(), "zh_CN")[0] == "[投诉 260312-K7Q3M] 升级至第 1 级 · 值班经理"
    subject = escalation_mail(_mail(level=3, level_name="Committee"), "en")[0]
    assert subject == "[Complaint 260312-K7Q3M] Escalated to level 3 · Committee"


def test_the_plain_text_holds_everything_as_written() -> None:
    _, text, _ = escalation_mail(_mail(), "zh_CN")
    for part in (STORY, "张<女士>", "今天修好 & 道歉", "30 分钟无人签收 <b>", "设备管理",
                 "3月12日 周四 09:30", "答复时限:未设定", "https://t.me/c/1001/77",
                 "3月12日 周四 09:00 · 客户 · 提交了投诉 <script>"):
        assert part in text, part


def test_the_html_escapes_everything_the_customer_wrote() -> None:
    _, _, html = escalation_mail(_mail(), "en")
    assert "<img" not in html and "<script>" not in html and "<女士>" not in html
    assert "&lt;img src=x onerror=alert(1)&gt; &amp; &quot;三天&quot;" in html
    assert "张&lt;女士&gt;" in html and "今天修好 &amp; 道歉" in html
    assert '<a href="https://t.me/c/1001/77">' in html
    assert "Thu 12 Mar, 09:30" in html and "not set" in html


def test_only_web_and_telegram_links_become_links() -> None:
    _, text, html = escalation_mail(_mail(card_link="javascript:alert(1)"), "en")
    assert "javascript" not in html and "javascript" not in text and "<a " not in html


def test_no_history_says_so() -> None:
    _, text, html = escalation_mail(_mail(history=()), "en")
    assert "Nothing recorded yet." in text and "Nothing recorded yet." in html


@pytest.mark.parametrize("level", [0, 4])
def test_only_three_levels(level: int) -> None:
    with pytest.raises(ValueError, match="not 1, 2 or 3"):
        _mail(level=level)


@pytest.mark.parametrize("bad", ["", "desk", "@example.com", "desk@", "a b@example.com",
                                 "Desk <desk@example.com>", "a@example.com,b@example.com",
                                 "desk@example.com\r\nBcc: x@evil.test", "a@b@c"])
def test_an_address_is_one_bare_address(bad: str) -> None:
    with pytest.raises(ValueError, match="is not an e-mail address"):
        address(bad)


def test_addresses_are_kept_once_in_order() -> None:
    assert addresses(["B@x.cn", " a@x.cn ", "b@X.cn"], besides=("c@x.cn",)) == ["B@x.cn",
                                                                                   "a@x.cn"]
    assert addresses(["c@x.cn", "d@x.cn"], besides=("C@x.cn",)) == ["d@x.cn"]
