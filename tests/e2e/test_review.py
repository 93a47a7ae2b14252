"""Review before the customer hears it (审核), end to end over HTTP: a steward's Resolve goes to
their supervisor (private chat and topic, Approve · Send back) before the customer gets it."""

from __future__ import annotations

from typing import Any

from bot.app import App
from bot.emulator import Emulator
from bot.i18n import t
from tests.conftest import make_config
from tests.e2e.handoff_helpers import (
    GROUP,
    OTHER,
    STEWARD,
    SUPERVISOR,
    card_of,
    file_config,
    file_direct,
    history,
    settle,
    staff_users,
    ticket,
)
from tests.e2e.intake_helpers import assert_no_rejections, plain

NOTE = "已更换楼上水管并修复天花板。"
CUSTOMER = 5601


async def _desk(emu: Emulator, db_url: str, desk_factory: Any, review: str | None) -> App:
    staff_users(emu)
    f = file_config()
    if review is not None:
        f["escalation"] = {"review": review}
    return await desk_factory(make_config(db_url, emu.base_url, **f))  # type: ignore[no-any-return]


async def _claimed(desk: App, emu: Emulator, major: bool = False) -> Any:
    """A ticket claimed by the steward (marked major in its topic when asked)."""
    tk = await file_direct(desk, emu)
    await emu.user(STEWARD).press(tk.card_message_id, f"s:claim:{tk.id}", chat_id=GROUP)
    await settle(desk, emu)
    if major:
        await emu.user(OTHER).send_text("/major 客户说要找媒体", chat_id=GROUP,
                                        message_thread_id=tk.topic_id)
        await settle(desk, emu)
    return await ticket(desk, tk.id)


async def _resolve(desk: App, emu: Emulator, tk: Any, note: str = NOTE) -> None:
    """The steward presses Resolve and writes the note in the topic."""
    steward = emu.user(STEWARD)
    await steward.press(tk.card_message_id, f"s:resolve:{tk.id}", chat_id=GROUP)
    await settle(desk, emu)
    await steward.send_text(note, chat_id=GROUP, message_thread_id=tk.topic_id)
    await settle(desk, emu)


def _resolutions(emu: Emulator, note: str = NOTE) -> list[dict[str, Any]]:
    return [m for m in emu.sent(CUSTOMER) if note in m.get("text", "")]


def _review_buttons(msg: dict[str, Any]) -> dict[str, str]:
    return {b["callback_data"].split(":")[1]: b["callback_data"]
            for row in msg.get("reply_markup", {}).get("inline_keyboard", []) for b in row}


def _put_to(emu: Emulator, chat_id: int, ref: str, thread: int | None = None
            ) -> list[dict[str, Any]]:
    """Messages asking for a review of this ticket (with Approve · Send back)."""
    return [m for m in emu.sent(chat_id, message_thread_id=thread)
            if "approve" in _review_buttons(m) and (ref in m["text"] or thread)]


async def _answer(emu: Emulator, user: int, msg: dict[str, Any], data: str,
                  desk: App, chat_id: int | None = None) -> str:
    q = await emu.user(user).press(msg["message_id"], data, chat_id=chat_id)
    await settle(desk, emu)
    answer = emu.callback_answers(q)
    assert answer is not None
    return str(answer["text"])


async def test_review_all_the_supervisor_approves_and_the_customer_gets_the_note(
        emu: Emulator, db_url: str, desk_factory: Any) -> None:
    desk = await _desk(emu, db_url, desk_factory, "all")
    tk = await _claimed(desk, emu)
    await _resolve(desk, emu, tk)
    # Nothing reaches the customer yet; the ticket stays with the steward.
    assert not _resolutions(emu)
    now = await ticket(desk, tk.id)
    assert (now.status, now.assignee_id, now.review_by) == ("assigned", STEWARD, STEWARD)
    assert t("zh_CN", "staff.card.review", name="王管家") in card_of(emu, now)["text"]
    [dm] = _put_to(emu, SUPERVISOR, tk.ref)
    assert NOTE in dm["text"] and "王管家" in dm["text"]
    [in_topic] = _put_to(emu, GROUP, tk.ref, tk.topic_id)
    assert NOTE in in_topic["text"]
    data = _review_buttons(dm)

    # The proposer cannot approve their own resolution, a steward cannot approve at all, and a
    # second Resolve waits for the review.
    assert await _answer(emu, STEWARD, in_topic, data["approve"], desk, GROUP) == t(
        "zh_CN", "access.own_resolution")
    assert await _answer(emu, OTHER, in_topic, data["approve"], desk, GROUP) == t(
        "zh_CN", "access.senior_only")
    assert await _answer(emu, STEWARD, card_of(emu, now), f"s:resolve:{tk.id}", desk,
                         GROUP) == t("zh_CN", "access.awaiting_review")
    await emu.user(STEWARD).send_text("/resolve 再提交一次", chat_id=GROUP,
                                      message_thread_id=tk.topic_id)
    await settle(desk, emu)
    assert any(m.get("text") == t("zh_CN", "access.awaiting_review")
               for m in emu.sent(GROUP, message_thread_id=tk.topic_id))
    assert not _resolutions(emu) and (await ticket(desk, tk.id)).status == "assigned"

    # The supervisor approves from their private chat: the resolution happens as usual.
    assert await _answer(emu, SUPERVISOR, dm, data["approve"], desk) == t(
        "zh_CN", "staff.review.approved_done")
    [res] = _resolutions(emu)
    assert res["text"] == plain("zh_CN", "customer.resolved", ref=tk.ref, note=NOTE)
    now = await ticket(desk, tk.id)
    assert (now.status, now.review_by) == ("resolved", None) and now.resolved_at is not None
    [topic] = [x for x in emu.topics(GROUP) if x["message_thread_id"] == tk.topic_id]
    assert topic["is_closed"]
    assert any(plain("zh_CN", "staff.review.approved", name="李经理", proposer="王管家")
               == m.get("text") for m in emu.sent(GROUP, message_thread_id=tk.topic_id))
    assert any(tk.ref in m["text"] and "李经理" in m["text"] and "✅" in m["text"]
               for m in emu.sent(STEWARD))
    async with desk.db.uow() as uow:
        rows = await uow.repos.tickets.history(tk.id)
        names = history(rows)
        [proposed] = [h for h in rows if h.event == "resolution_proposed"]
        [approved] = [h for h in rows if h.event == "resolution_approved"]
        assert (proposed.actor_id, proposed.details["note"], proposed.details["to"]) == (
            STEWARD, NOTE, [SUPERVISOR])
        assert (approved.actor_id, approved.details) == (
            SUPERVISOR, {"proposal": proposed.id, "proposed_by": STEWARD})
    assert names.index("resolution_proposed") < names.index("resolution_approved") \
        < names.index("resolved")
    assert names.count("denied") == 4

    # A second press of the same button changes nothing.
    assert await _answer(emu, SUPERVISOR, dm, data["approve"], desk) == t(
        "zh_CN", "access.no_review")
    assert len(_resolutions(emu)) == 1
    assert_no_rejections(emu)


async def test_send_back_tells_the_steward_why_and_the_customer_nothing(
        emu: Emulator, db_url: str, desk_factory: Any) -> None:
    desk = await _desk(emu, db_url, desk_factory, "all")
    tk = await _claimed(desk, emu)
    await _resolve(desk, emu, tk, "第一版说明")
    [dm] = _put_to(emu, SUPERVISOR, tk.ref)
    first = _review_buttons(dm)
    # Sent back from the private chat: the reason is asked for in the ticket's topic.
    assert await _answer(emu, SUPERVISOR, dm, first["sendback"], desk) == t(
        "zh_CN", "staff.review.reason_in_topic")
    assert any(m.get("text") == plain("zh_CN", "staff.prompt.sendback", ref=tk.ref)
               for m in emu.sent(GROUP, message_thread_id=tk.topic_id))
    await emu.user(SUPERVISOR).send_text("没写清楚维修时间", chat_id=GROUP,
                                         message_thread_id=tk.topic_id)
    await settle(desk, emu)
    told = [m["text"] for m in emu.sent(STEWARD) if "没写清楚维修时间" in m["text"]]
    assert told == [plain("zh_CN", "staff.dm.review_sent_back", name="李经理", ref=tk.ref,
                          reason="没写清楚维修时间", link=_link(tk))]
    assert any("没写清楚维修时间" in m.get("text", "")
               for m in emu.sent(GROUP, message_thread_id=tk.topic_id))
    assert not _resolutions(emu, "第一版说明")
    assert not any("没写清楚维修时间" in m.get("text", "") for m in emu.sent(CUSTOMER))
    now = await ticket(desk, tk.id)
    assert (now.status, now.assignee_id, now.review_by) == ("assigned", STEWARD, None)
    assert t("zh_CN", "staff.card.review", name="王管家") not in card_of(emu, now)["text"]
    async with desk.db.uow() as uow:
        [back] = [h for h in await uow.repos.tickets.history(tk.id)
                  if h.event == "resolution_sent_back"]
        assert (back.actor_id, back.details["reason"], back.details["proposed_by"]) == (
            SUPERVISOR, "没写清楚维修时间", STEWARD)

    # The steward resolves again; the first proposal's buttons no longer decide anything.
    await _resolve(desk, emu, tk, NOTE)
    assert await _answer(emu, SUPERVISOR, dm, first["approve"], desk) == t(
        "zh_CN", "access.no_review")
    assert not _resolutions(emu)
    [second] = [m for m in _put_to(emu, SUPERVISOR, tk.ref) if NOTE in m["text"]]
    await _answer(emu, SUPERVISOR, second, _review_buttons(second)["approve"], desk)
    assert len(_resolutions(emu)) == 1 and not _resolutions(emu, "第一版说明")
    assert (await ticket(desk, tk.id)).status == "resolved"
    assert_no_rejections(emu)


def _link(tk: Any) -> str:
    from bot.domain.links import topic_link

    return topic_link(GROUP, tk.topic_id) or ""


async def test_review_major_applies_to_major_tickets_only(
        emu: Emulator, db_url: str, desk_factory: Any) -> None:
    desk = await _desk(emu, db_url, desk_factory, None)  # the default: "major"
    plain_tk = await _claimed(desk, emu)
    await _resolve(desk, emu, plain_tk)
    assert len(_resolutions(emu)) == 1  # an ordinary ticket: straight to the customer
    assert (await ticket(desk, plain_tk.id)).status == "resolved"

    major = await _claimed(desk, emu, major=True)
    assert major.is_major and major.assignee_id == STEWARD
    await _resolve(desk, emu, major, "已为您安排专人维修")
    assert not _resolutions(emu, "已为您安排专人维修")
    assert (await ticket(desk, major.id)).review_by == STEWARD
    assert _put_to(emu, SUPERVISOR, major.ref)


async def test_a_supervisors_own_resolution_is_not_reviewed(
        emu: Emulator, db_url: str, desk_factory: Any) -> None:
    desk = await _desk(emu, db_url, desk_factory, "all")
    tk = await _claimed(desk, emu)
    await emu.user(SUPERVISOR).send_text(f"/resolve {NOTE}", chat_id=GROUP,
                                         message_thread_id=tk.topic_id)
    await settle(desk, emu)
    assert len(_resolutions(emu)) == 1
    assert (await ticket(desk, tk.id)).status == "resolved"


async def test_review_none_resolves_as_before(
        emu: Emulator, db_url: str, desk_factory: Any) -> None:
    desk = await _desk(emu, db_url, desk_factory, "none")
    tk = await _claimed(desk, emu, major=True)
    await _resolve(desk, emu, tk)
    [res] = _resolutions(emu)
    assert res["text"] == plain("zh_CN", "customer.resolved", ref=tk.ref, note=NOTE)
    async with desk.db.uow() as uow:
        names = history(await uow.repos.tickets.history(tk.id))
    assert "resolved" in names and not {"resolution_proposed", "resolution_approved"} & set(names)
    assert not _put_to(emu, SUPERVISOR, tk.ref)
    assert_no_rejections(emu)
