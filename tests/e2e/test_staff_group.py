"""Staff-group failures end to end: an upgraded group is followed (also after a restart); a
group the bot cannot post in hands tickets to the stewards by DM, shows in /healthz and
/metrics, and gets them back as topics and cards once it works again."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from bot.app import App
from bot.clock import FrozenClock
from bot.emulator import Emulator
from bot.services import customers, handoff, tickets
from handlers import staff_render
from storage.models import StaffChat, Ticket
from tests.conftest import make_config
from tests.e2e.handoff_helpers import (
    ANSWERS,
    GROUP,
    OTHER,
    STEWARD,
    SUPERVISOR,
    file_config,
    history,
    settle,
    staff_users,
    ticket,
)
from tests.e2e.intake_helpers import Chat, plain, to_confirm

NEW_GROUP = -1009876543210
MONDAY_10 = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


async def _file(desk: App, customer_id: int) -> int:
    """File a ticket through the services and let the desk deliver what it queued."""
    d = desk.deps.desk
    async with desk.db.uow() as uow:
        c = await customers.register(uow, d.clock, customer_id, "李雷", None, "zh")
        await uow.session.flush()
        t = await tickets.file_complaint(uow, d, c, dict(ANSWERS), d.clock.now())
        staff_render.render(uow.repos.outbox, await handoff.dispatch(uow, d, t, d.clock.now()))
        await uow.commit()
        return t.id


async def _carded(desk: App, emu: Emulator, ticket_id: int) -> Ticket:
    """The ticket once its card is in the group and recorded (bounded wait: on PostgreSQL a
    drained sender may still be posting the card that follows a topic)."""
    for _ in range(250):
        await settle(desk, emu)
        t = await ticket(desk, ticket_id)
        if t.card_message_id:
            return t
        await asyncio.sleep(0.02)
    raise AssertionError(f"ticket {ticket_id} never got its card")


async def _events(desk: App, ticket_id: int) -> list[str]:
    async with desk.db.uow() as uow:
        return history(await uow.repos.tickets.history(ticket_id))


def _cards(emu: Emulator, chat_id: int, ref: str) -> list[dict[str, Any]]:
    return [m for m in emu.sent(chat_id)
            if ref in (m.get("text") or "") and "reply_markup" in m]


async def _get(desk: App, path: str) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as http, \
            http.get(f"http://127.0.0.1:{desk.web_port}{path}") as resp:
        body = await (resp.json() if path == "/healthz" else resp.text())
        return resp.status, body


@pytest.fixture(params=["sqlite", "postgresql"])
def any_db(request: pytest.FixtureRequest) -> str:
    """A fresh SQLite file, then a fresh PostgreSQL database (skipped where none runs)."""
    return str(request.getfixturevalue("db_url" if request.param == "sqlite" else "pg_url"))


async def test_an_upgraded_group_is_followed_also_after_a_restart(
        emu: Emulator, any_db: str, desk_factory: Any,
        caplog: pytest.LogCaptureFixture) -> None:
    db_url = any_db
    staff_users(emu)
    emu.upgrade_group(GROUP, NEW_GROUP, title="管家群", is_forum=True)
    config = make_config(db_url, emu.base_url, **file_config())
    desk = await desk_factory(config)
    with caplog.at_level(logging.WARNING):
        first = await _file(desk, 5601)
        second = await _file(desk, 5602)
        await settle(desk, emu)
    for tid in (first, second):
        t = await _carded(desk, emu, tid)
        assert t.staff_chat_id == NEW_GROUP and t.topic_id
        [card] = _cards(emu, NEW_GROUP, t.ref)
        assert card["message_thread_id"] == t.topic_id
    # The first one was re-sent; the second too, unless the new id was known by then.
    assert "staff_group_migrated" in await _events(desk, first)
    assert not _cards(emu, GROUP, t.ref)
    upgraded = [r for r in caplog.records if "upgraded" in r.getMessage()]
    assert len(upgraded) == 1  # logged once, not once per ticket
    async with desk.db.uow() as uow:
        old = await uow.session.get(StaffChat, GROUP)
        assert old is not None and old.migrated_to == NEW_GROUP
    for sid in (STEWARD, OTHER):  # told as usual, with a link into the new group's topic
        assert any(str(NEW_GROUP)[4:] in m["text"] for m in emu.sent(sid))

    # After a restart the stored id wins over the configured one: no call to the old group.
    await desk.stop()
    desk = await desk_factory(config)
    emu.reset_calls()
    third = await _file(desk, 5603)
    t = await _carded(desk, emu, third)
    assert t.staff_chat_id == NEW_GROUP
    assert [c.params["chat_id"] for c in emu.calls if c.method == "createForumTopic"] \
        == [NEW_GROUP]
    assert all(c.status == 200 for c in emu.calls)


@pytest.fixture
async def frozen_desk(emu: Emulator, any_db: str, desk_factory: Any) -> tuple[App, FrozenClock]:
    """A staff desk whose clock moves only when a test says so (the retry timer)."""
    staff_users(emu)
    clock = FrozenClock(MONDAY_10)
    desk = await desk_factory(make_config(any_db, emu.base_url, **file_config()), clock=clock)
    return desk, clock


@pytest.mark.parametrize(("kind", "method"), [
    ("chat_not_found", None),  # the group was deleted, or the id is wrong
    ("kicked", None),  # the bot was removed from the group
    ("not_enough_rights", "createForumTopic"),  # the bot may post but not manage topics
])
async def test_a_group_that_fails_hands_tickets_to_stewards_and_gets_them_back(
        emu: Emulator, frozen_desk: tuple[App, FrozenClock], kind: str,
        method: str | None) -> None:
    desk, clock = frozen_desk
    emu.add_fault(method=method, chat_id=GROUP, kind=kind, times=None)
    first = await _file(desk, 5601)
    await settle(desk, emu)
    t1 = await ticket(desk, first)
    assert t1.topic_id is None and t1.card_message_id is None and t1.handoff_failed_at

    # The routed stewards and their supervisor get the card and are told what to do.
    for sid in (STEWARD, OTHER, SUPERVISOR):
        told, card = emu.sent(sid)[-2:]
        assert plain("zh_CN", "staff.dm.group_down", ref=t1.ref, chat=str(GROUP),
                     reason="x").split("x")[0] in told["text"]
        assert t1.ref in card["text"] and "楼上漏水" in card["text"]
        assert card["reply_markup"]["inline_keyboard"][0][0]["callback_data"] \
            == f"s:claim:{first}"
    assert "staff_dm_fallback" in await _events(desk, first)

    # Monitoring sees it, naming the group.
    status, health = await _get(desk, "/healthz")
    assert status == 200 and health["staff_group"]["ok"] is False, health
    [down] = health["staff_group"]["unreachable"]
    assert down["chat_id"] == GROUP and health["staff_group"]["tickets_waiting"] == 1
    _, metrics = await _get(desk, "/metrics")
    assert f'complaint_bot_staff_group_unreachable{{chat_id="{GROUP}"}} 1.0' in metrics
    assert "complaint_bot_tickets_awaiting_staff_group 1.0" in metrics

    # The next ticket goes straight to the stewards: the group is not tried again and again.
    tried = len([c for c in emu.calls if c.params.get("chat_id") == GROUP])
    second = await _file(desk, 5602)
    await settle(desk, emu)
    t2 = await ticket(desk, second)
    assert len([c for c in emu.calls if c.params.get("chat_id") == GROUP]) == tried
    assert any(t2.ref in (m.get("text") or "") for m in emu.sent(STEWARD))

    # A retry while the group still fails changes nothing and tells nobody twice.
    dms = len(emu.sent(STEWARD))
    clock.advance(timedelta(minutes=1))
    await desk.scheduler.run_due()
    await settle(desk, emu)
    assert len([c for c in emu.calls if c.params.get("chat_id") == GROUP]) > tried
    assert len(emu.sent(STEWARD)) == dms
    assert (await ticket(desk, first)).card_message_id is None

    # The admin fixes the group; the next retry (2 min later: it backs off) brings both back.
    emu.clear_faults()
    clock.advance(timedelta(minutes=2))
    await desk.scheduler.run_due()
    await settle(desk, emu)
    for tid in (first, second):
        t = await _carded(desk, emu, tid)
        assert t.topic_id and t.handoff_failed_at is None
        [card] = _cards(emu, GROUP, t.ref)
        assert card["message_thread_id"] == t.topic_id
        assert "staff_group_retried" in await _events(desk, tid)
        # Those who had the private card are told where the ticket is now.
        link = f"/{t.topic_id}"
        assert any(plain("zh_CN", "staff.dm.in_group_now", ref=t.ref, link="").strip()
                   in m["text"] and link in m["text"] for m in emu.sent(STEWARD))
    status, health = await _get(desk, "/healthz")
    assert health["staff_group"] == {"ok": True, "tickets_waiting": 0, "unreachable": []}
    async with desk.db.uow() as uow:  # cards went through: a next outage starts at 1 minute
        group = await uow.session.get(StaffChat, GROUP)
        assert group is not None and group.retries == 0
    _, metrics = await _get(desk, "/metrics")
    assert "complaint_bot_staff_group_unreachable{" not in metrics
    assert "complaint_bot_tickets_awaiting_staff_group 0.0" in metrics


async def test_a_steward_can_claim_from_the_private_card_while_the_group_is_down(
        emu: Emulator, frozen_desk: tuple[App, FrozenClock]) -> None:
    desk, clock = frozen_desk
    emu.add_fault(chat_id=GROUP, kind="kicked", times=None)
    chat = Chat(emu, emu.user(5601, first_name="李雷", language_code="zh"))
    await to_confirm(chat)
    [filed] = await chat.press("ok")  # the customer is answered as always
    async with desk.db.uow() as uow:
        [tk] = await uow.repos.tickets.of_customer(5601)
        tid, ref = tk.id, tk.ref
    assert ref in filed["text"]
    await settle(desk, emu)
    card = emu.sent(STEWARD)[-1]
    q = await emu.user(STEWARD).press(card["message_id"], f"s:claim:{tid}", chat_id=STEWARD)
    await settle(desk, emu)
    t = await ticket(desk, tid)
    assert emu.callback_answers(q)["text"] == plain("zh_CN", "staff.claimed", name="王管家")
    assert t.status == "assigned" and t.assignee_id == STEWARD
    emu.clear_faults()
    clock.advance(timedelta(minutes=1))
    await desk.scheduler.run_due()
    t = await _carded(desk, emu, tid)
    [card] = _cards(emu, GROUP, t.ref)
    assert "王管家" in card["text"] and t.card_message_id == card["message_id"]
    [topic] = [x for x in emu.topics(GROUP) if t.ref in x["name"]]
    assert topic["name"].endswith("→ 王管家")


async def test_a_group_that_fails_with_no_ticket_waiting_is_probed_then_gets_what_failed(
        emu: Emulator, frozen_desk: tuple[App, FrozenClock]) -> None:
    desk, clock = frozen_desk
    tid = await _file(desk, 5601)
    await _carded(desk, emu, tid)
    # The bot is removed: a later message to the topic fails; the group is marked down.
    emu.add_fault(chat_id=GROUP, kind="kicked", times=None)
    await emu.user(5601).send_text("还在漏水")
    await settle(desk, emu)
    _, health = await _get(desk, "/healthz")
    assert [d["chat_id"] for d in health["staff_group"]["unreachable"]] == [GROUP]
    emu.clear_faults()
    clock.advance(timedelta(minutes=1))
    await desk.scheduler.run_due()
    await settle(desk, emu)
    assert any(c.method == "getChat" and c.params["chat_id"] == GROUP for c in emu.calls)
    _, health = await _get(desk, "/healthz")
    assert health["staff_group"]["ok"] is True
    # What the customer wrote meanwhile reaches the topic after all.
    t = await ticket(desk, tid)
    [copied] = await emu.wait_for_sent(GROUP, message_thread_id=t.topic_id,
                                       predicate=lambda m: m.get("text") == "还在漏水")
    assert copied


async def test_a_card_refused_in_its_topic_is_posted_there_later(
        emu: Emulator, frozen_desk: tuple[App, FrozenClock]) -> None:
    desk, clock = frozen_desk
    # The bot may open topics but not post: the topic exists, its card does not.
    for method in ("sendMessage", "copyMessage"):
        emu.add_fault(method=method, chat_id=GROUP, kind="not_enough_rights", times=None)
    tid = await _file(desk, 5601)
    await settle(desk, emu)
    t = await ticket(desk, tid)
    assert t.topic_id and t.card_message_id is None and t.handoff_failed_at
    assert any(t.ref in (m.get("text") or "") for m in emu.sent(STEWARD))
    clock.advance(timedelta(seconds=5))
    await emu.user(5601).send_text("还在漏水")  # copied to the topic: refused too
    await settle(desk, emu)
    emu.clear_faults()
    clock.advance(timedelta(minutes=1))
    await desk.scheduler.run_due()
    t = await _carded(desk, emu, tid)
    [card] = _cards(emu, GROUP, t.ref)
    assert card["message_thread_id"] == t.topic_id and t.card_message_id == card["message_id"]
    assert len([x for x in emu.topics(GROUP) if t.ref in x["name"]]) == 1  # no second topic
    await settle(desk, emu)
    copies = [m for m in emu.sent(GROUP, message_thread_id=t.topic_id)
              if m.get("text") == "还在漏水"]
    assert len(copies) == 1  # brought along by the card, not sent again on top


async def test_a_probe_that_passes_while_posts_still_fail_backs_off(
        emu: Emulator, frozen_desk: tuple[App, FrozenClock]) -> None:
    desk, clock = frozen_desk
    tid = await _file(desk, 5601)
    await _carded(desk, emu, tid)
    # The bot may still read the group (getChat works) but no longer post in it.
    for method in ("sendMessage", "copyMessage"):
        emu.add_fault(method=method, chat_id=GROUP, kind="not_enough_rights", times=None)
    await emu.user(5601).send_text("还在漏水")
    await settle(desk, emu)
    probes = []
    for _ in range(7):
        clock.advance(timedelta(minutes=1))
        await desk.scheduler.run_due()
        await settle(desk, emu)
        probes.append(len([c for c in emu.calls if c.method == "getChat"]))
    assert probes == [1, 1, 2, 2, 2, 2, 3]  # after 1, 1+2 and 1+2+4 minutes: not every minute
    _, health = await _get(desk, "/healthz")
    assert [d["chat_id"] for d in health["staff_group"]["unreachable"]] == [GROUP]
