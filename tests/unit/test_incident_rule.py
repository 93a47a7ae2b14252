"""The group-incident rule (群体性投诉): threshold, window edges, category and area, joining;
who may look, broadcast and resolve; the [incidents] configuration."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.config import ConfigError, load_config
from bot.domain.access import Actor, IncidentAction, authorize_incident
from bot.domain.incidents import (
    NOTHING,
    Filed,
    OpenIncident,
    Outcome,
    Rule,
    area_key,
    cluster,
    decide,
    joins,
)
from bot.services.mail_render import IncidentMail, incident_mail

T0 = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)
RULE = Rule(threshold=5, window=timedelta(hours=2))


def filed(i: int, minutes: float, category: str = "equipment", area: str | None = "3号楼"
          ) -> Filed:
    """Ticket `i` filed `minutes` after T0."""
    return Filed(i, category, area, T0 + timedelta(minutes=minutes))


def test_the_fifth_ticket_within_the_window_makes_an_incident_of_all_five() -> None:
    earlier = [filed(i, i * 10) for i in range(1, 5)]
    assert cluster(RULE, filed(5, 50), earlier) == (1, 2, 3, 4, 5)
    assert cluster(RULE, filed(4, 40), earlier[:3]) == ()  # four are not enough


def test_the_new_ticket_may_be_among_the_candidates_and_counts_once() -> None:
    tickets = [filed(i, i) for i in range(1, 5)]
    assert cluster(RULE, tickets[-1], tickets) == ()
    assert cluster(RULE, filed(5, 5), [*tickets, filed(5, 5)]) == (1, 2, 3, 4, 5)


def test_window_edges_the_start_is_inclusive() -> None:
    new = filed(5, 120)
    at_edge = [filed(1, 0), *(filed(i, 100 + i) for i in range(2, 5))]
    assert cluster(RULE, new, at_edge) == (1, 2, 3, 4, 5)  # exactly two hours before: counts
    just_out = [Filed(1, "equipment", "3号楼", T0 - timedelta(microseconds=1)), *at_edge[1:]]
    assert cluster(RULE, new, just_out) == ()


def test_tickets_filed_after_the_new_one_do_not_count() -> None:
    later = [filed(i, 60 + i) for i in range(1, 5)]
    assert cluster(RULE, filed(5, 30), later) == ()


def test_categories_and_areas_are_separate_matters() -> None:
    other_category = [filed(i, i, category="safety") for i in range(1, 5)]
    assert cluster(RULE, filed(5, 5), other_category) == ()
    other_area = [filed(i, i, area="5号楼") for i in range(1, 5)]
    assert cluster(RULE, filed(5, 5), other_area) == ()
    mixed = [filed(1, 1), filed(2, 2, area="5号楼"), filed(3, 3), filed(4, 4, category="safety"),
             filed(6, 6), filed(7, 7)]
    assert cluster(RULE, filed(8, 8), mixed) == (1, 3, 6, 7, 8)


def test_areas_compare_without_spacing_or_case_and_no_area_is_its_own_matter() -> None:
    assert area_key("  Block  3 ") == area_key("block 3") == "block 3"
    assert area_key("") is None and area_key(None) is None
    spelled = [filed(1, 1, area="Block 3"), filed(2, 2, area="BLOCK  3"),
               filed(3, 3, area=" block 3"), filed(4, 4, area="block 3")]
    assert cluster(RULE, filed(5, 5, area="Block 3"), spelled) == (1, 2, 3, 4, 5)
    without = [filed(i, i, area=None) for i in range(1, 5)]
    assert cluster(RULE, filed(5, 5, area=None), without) == (1, 2, 3, 4, 5)
    assert cluster(RULE, filed(5, 5, area="3号楼"), without) == ()


def test_by_area_off_makes_one_category_one_matter() -> None:
    rule = Rule(threshold=5, window=timedelta(hours=2), by_area=False)
    spread = [filed(i, i, area=f"{i}号楼") for i in range(1, 5)]
    assert cluster(rule, filed(5, 5, area=None), spread) == (1, 2, 3, 4, 5)


def test_threshold_zero_is_off_and_one_is_refused() -> None:
    off = Rule(threshold=0)
    assert cluster(off, filed(5, 5), [filed(i, i) for i in range(1, 5)]) == ()
    assert decide(off, filed(5, 5), [OpenIncident(9, "equipment", "3号楼", T0)], []) == NOTHING
    with pytest.raises(ValueError, match="threshold"):
        Rule(threshold=1)
    with pytest.raises(ValueError, match="window"):
        Rule(window=timedelta(0))
    assert cluster(Rule(threshold=2), filed(2, 1), [filed(1, 0)]) == (1, 2)


def test_a_later_ticket_joins_within_the_window_of_the_newest_one() -> None:
    inc = OpenIncident(7, "equipment", "3号楼", T0 + timedelta(minutes=50))
    assert joins(RULE, filed(9, 50 + 120), inc)  # exactly the window after the newest
    assert not joins(RULE, filed(9, 50 + 121), inc)
    assert not joins(RULE, filed(9, 60, area="5号楼"), inc)
    assert not joins(RULE, filed(9, 60, category="safety"), inc)
    # The storm goes on: joining moves the window along, so it stays one incident.
    assert decide(RULE, filed(9, 60), [inc], []) == Outcome(joins=7)


def test_decide_prefers_joining_and_picks_the_most_recent_incident() -> None:
    old = OpenIncident(3, "equipment", "3号楼", T0)
    new = OpenIncident(4, "equipment", "3号楼", T0 + timedelta(minutes=30))
    recent = [filed(i, i) for i in range(1, 6)]
    assert decide(RULE, filed(6, 40), [old, new], recent) == Outcome(joins=4)
    # An incident of another matter does not take it: five of this one open a new incident.
    elsewhere = OpenIncident(5, "equipment", "5号楼", T0)
    assert decide(RULE, filed(6, 40), [elsewhere], recent) == Outcome(opens_with=(1, 2, 3, 4,
                                                                                   5, 6))
    assert decide(RULE, filed(6, 40), [elsewhere], recent[:3]) == NOTHING


@pytest.mark.parametrize(("role", "show", "manage"), [
    (None, False, False), ("steward", True, False), ("supervisor", True, False),
    ("manager", True, True), ("committee", True, True), ("admin", True, True)])
def test_who_may_look_at_broadcast_and_resolve_an_incident(role: str | None, show: bool,
                                                            manage: bool) -> None:
    actor = Actor(1, role)
    assert authorize_incident(actor, IncidentAction.SHOW).allowed is show
    for action in (IncidentAction.BROADCAST, IncidentAction.RESOLVE):
        d = authorize_incident(actor, action)
        assert d.allowed is manage
        if role is not None and not manage:
            assert d.reason == "manager_only"
    gone = authorize_incident(Actor(2, "manager", active=False), IncidentAction.BROADCAST)
    assert (gone.allowed, gone.reason) == (False, "inactive")


def _load(tmp_path: Path, body: str) -> object:
    path = tmp_path / "desk.toml"
    path.write_text(body, encoding="utf-8")
    return load_config(path, environ={"TELEGRAM_BOT_TOKEN": "1:x"})


def test_the_incidents_section(tmp_path: Path) -> None:
    cfg = load_config(None, environ={"TELEGRAM_BOT_TOKEN": "1:x"})
    assert (cfg.file.incidents.threshold, str(cfg.file.incidents.window),
            cfg.file.incidents.by_area) == (5, "7200s", True)
    for body, problem in (("threshold = 1", "incidents.threshold: one ticket is not a group"),
                          ('window = "2 working days"', "incidents.window: 2 working days must"),
                          ('window = "soon"', "incidents.window: 'soon' is not a duration"),
                          ("thresold = 5", "incidents.thresold: unknown key")):
        with pytest.raises(ConfigError, match=problem):
            _load(tmp_path, f"[incidents]\n{body}\n")


def test_the_crisis_mail_escapes_what_customers_wrote() -> None:
    subject, plain, html = incident_mail(IncidentMail(
        3, "设备管理 · 3号楼", "2 小时",
        (("261202-AAAAA", "设备管理", "李雷", "电梯 <b>又</b> 坏了", "https://t.me/c/1/5"),
         ("261202-CCCCC", "设备管理", "韩梅梅", "停电", "javascript:alert(1)"))), "zh_CN")
    assert subject == "[群体性投诉 #3] 设备管理 · 3号楼:2 张工单"
    assert "电梯 <b>又</b> 坏了" in plain and "https://t.me/c/1/5" in plain
    assert "&lt;b&gt;又&lt;/b&gt;" in html and "<b>又</b>" not in html
    assert 'href="https://t.me/c/1/5"' in html and "javascript:" not in html + plain
    assert "/broadcast 3" in plain
