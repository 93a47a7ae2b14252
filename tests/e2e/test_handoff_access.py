"""The authorisation matrix end to end: every staff action × every kind of person."""

from __future__ import annotations

from typing import Any

import pytest

from bot.app import App
from bot.emulator import Emulator
from bot.i18n import t
from bot.services import roster
from tests.conftest import make_config
from tests.e2e.handoff_helpers import (
    GROUP,
    OTHER,
    RETIRED,
    STEWARD,
    SUBJECT,
    SUPERVISOR,
    file_config,
    file_direct,
    settle,
    staff_users,
    ticket,
)
from tests.e2e.intake_helpers import plain

CUSTOMER, UNKNOWN = 5601, 9999
ACTORS = {"customer": CUSTOMER, "unknown": UNKNOWN, "other_steward": OTHER,
          "assignee": STEWARD, "supervisor": SUPERVISOR, "subject": SUBJECT,
          "deactivated": RETIRED}
BUTTONS = ["release", "transfer", "about", "ask", "escalate", "resolve", "phone"]
COMMANDS = ["note", "history"]
HANDLERS = {"assignee", "supervisor"}
ALLOWED = {
    **{b: HANDLERS for b in BUTTONS},
    "about": HANDLERS | {"other_steward"},
    "note": HANDLERS | {"other_steward"},
    "history": HANDLERS | {"other_steward"},
    "relay": {"assignee"},  # other staff's messages are notes, never relayed
}
REFUSALS = {"customer": "not_staff", "unknown": "not_staff", "deactivated": "inactive",
            "subject": "about_you", "other_steward": "not_assignee"}


@pytest.fixture
async def claimed(emu: Emulator, db_url: str, desk_factory: Any) -> tuple[App, Any]:
    """A ticket about SUBJECT, claimed by STEWARD; RETIRED deactivated."""
    staff_users(emu)
    emu.user(UNKNOWN, first_name="Stranger")
    desk = await desk_factory(make_config(db_url, emu.base_url, **file_config()))
    tk = await file_direct(desk, emu)
    await emu.user(STEWARD).press(tk.card_message_id, f"s:claim:{tk.id}", chat_id=GROUP)
    await settle(desk, emu)
    async with desk.db.uow() as uow:
        await roster.remove(uow, RETIRED)
        row = await uow.repos.tickets.get(tk.id)
        assert row is not None and row.assignee_id == STEWARD
        row.about_staff_id = SUBJECT  # it turned out to be about a colleague
        await uow.commit()
    return desk, await ticket(desk, tk.id)


async def _denials(desk: App, ticket_id: int) -> list[dict[str, Any]]:
    async with desk.db.uow() as uow:
        return [h.details for h in await uow.repos.tickets.history(ticket_id)
                if h.event == "denied"]


@pytest.mark.parametrize("action", BUTTONS)
@pytest.mark.parametrize("who", list(ACTORS))
async def test_buttons(emu: Emulator, claimed: tuple[App, Any], who: str, action: str) -> None:
    desk, tk = claimed
    q = await emu.user(ACTORS[who]).press(tk.card_message_id, f"s:{action}:{tk.id}",
                                          chat_id=GROUP)
    await settle(desk, emu)
    answer = emu.callback_answers(q)
    assert answer is not None
    if who in ALLOWED[action]:
        assert not answer["show_alert"], answer
    else:
        assert answer["show_alert"]
        assert answer["text"] == plain("zh_CN", f"access.{REFUSALS[who]}")
        [denied] = await _denials(desk, tk.id)
        assert denied["reason"] == REFUSALS[who]


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("who", list(ACTORS))
async def test_commands(emu: Emulator, claimed: tuple[App, Any], who: str, command: str) -> None:
    desk, tk = claimed
    await emu.user(ACTORS[who]).send_text(f"/{command} 内部看法", chat_id=GROUP,
                                          message_thread_id=tk.topic_id)
    await settle(desk, emu)
    said = [m.get("text") for m in emu.sent(GROUP, message_thread_id=tk.topic_id)]
    denials = await _denials(desk, tk.id)
    if who in ALLOWED[command]:
        assert not denials
        assert (t("zh_CN", "staff.note_recorded") in said if command == "note"
                else any("📜" in (x or "") for x in said))
    else:
        assert [d["reason"] for d in denials] == [
            "not_staff" if who in ("customer", "unknown") else REFUSALS[who]]
        assert plain("zh_CN", f"access.{denials[0]['reason']}") in said


@pytest.mark.parametrize("who", list(ACTORS))
async def test_relay(emu: Emulator, claimed: tuple[App, Any], who: str) -> None:
    desk, tk = claimed
    before = len(emu.sent(CUSTOMER))
    await emu.user(ACTORS[who]).send_text("请问您在家吗?", chat_id=GROUP,
                                          message_thread_id=tk.topic_id)
    await settle(desk, emu)
    relayed = [m for m in emu.sent(CUSTOMER)[before:] if "请问您在家吗?" in m.get("text", "")]
    assert bool(relayed) == (who in ALLOWED["relay"])
    async with desk.db.uow() as uow:
        lines = [(x.direction, x.author_id) for x in await uow.repos.tickets.messages(tk.id)
                 if x.text == "请问您在家吗?"]
    if who == "assignee":
        assert lines == [("out", STEWARD)]
    elif who in ("other_steward", "supervisor"):
        assert lines == [("note", ACTORS[who])]  # kept, internal
    else:
        assert lines == []  # not staff, or not allowed near this ticket: nothing recorded


async def test_callback_data_naming_another_ticket_is_refused(
        emu: Emulator, claimed: tuple[App, Any]) -> None:
    desk, tk = claimed
    other = await file_direct(desk, emu, customer_id=5602)
    # Forge: a button on the first ticket's card (in its topic) that names the second ticket.
    card = emu.chat(GROUP).messages[tk.card_message_id]
    card["reply_markup"]["inline_keyboard"][0][0]["callback_data"] = f"s:claim:{other.id}"
    q = await emu.user(OTHER).press(tk.card_message_id, f"s:claim:{other.id}", chat_id=GROUP)
    await settle(desk, emu)
    answer = emu.callback_answers(q)
    assert answer is not None and answer["show_alert"]
    assert answer["text"] == plain("zh_CN", "access.wrong_chat")
    assert (await ticket(desk, other.id)).assignee_id is None
    assert [d["reason"] for d in await _denials(desk, other.id)] == ["wrong_chat"]


# Claim is only offered before anyone has the ticket: an open one about SUBJECT. Stewards are
# below the level a complaint about a colleague needs; only the supervisor may take it.
CLAIM_REFUSALS = {"customer": "not_staff", "unknown": "not_staff", "deactivated": "inactive",
                  "subject": "about_you", "other_steward": "level_too_low",
                  "assignee": "level_too_low"}


@pytest.fixture
async def unclaimed(emu: Emulator, db_url: str, desk_factory: Any) -> tuple[App, Any]:
    """An open ticket about SUBJECT that nobody has claimed; RETIRED deactivated."""
    staff_users(emu)
    emu.user(UNKNOWN, first_name="Stranger")
    desk = await desk_factory(make_config(db_url, emu.base_url, **file_config()))
    tk = await file_direct(desk, emu)
    async with desk.db.uow() as uow:
        await roster.remove(uow, RETIRED)
        row = await uow.repos.tickets.get(tk.id)
        assert row is not None and row.status == "open" and row.assignee_id is None
        row.about_staff_id = SUBJECT
        await uow.commit()
    return desk, await ticket(desk, tk.id)


@pytest.mark.parametrize("who", list(ACTORS))
async def test_claim(emu: Emulator, unclaimed: tuple[App, Any], who: str) -> None:
    desk, tk = unclaimed
    q = await emu.user(ACTORS[who]).press(tk.card_message_id, f"s:claim:{tk.id}", chat_id=GROUP)
    await settle(desk, emu)
    answer = emu.callback_answers(q)
    assert answer is not None
    now = await ticket(desk, tk.id)
    denials = await _denials(desk, tk.id)
    if who == "supervisor":
        assert not answer["show_alert"], answer
        assert answer["text"] == plain("zh_CN", "staff.claimed", name="李经理")
        assert now.status == "assigned" and now.assignee_id == SUPERVISOR
        assert not denials
    else:
        assert answer["show_alert"]
        assert answer["text"] == plain("zh_CN", f"access.{CLAIM_REFUSALS[who]}")
        assert now.status == "open" and now.assignee_id is None
        assert [d["reason"] for d in denials] == [CLAIM_REFUSALS[who]]


@pytest.mark.parametrize("who", ["assignee", "supervisor"])
async def test_show_phone_goes_to_the_private_chat_only_and_is_recorded(
        emu: Emulator, claimed: tuple[App, Any], who: str) -> None:
    desk, tk = claimed
    card = next(m for m in emu.sent(GROUP) if m["message_id"] == tk.card_message_id)
    assert "138 1234 5678" not in card["text"]  # the card shows it masked
    labels = [b["text"] for row in card["reply_markup"]["inline_keyboard"] for b in row]
    assert t("zh_CN", "staff.btn.phone") in labels
    group_before, dm_before = len(emu.sent(GROUP)), len(emu.sent(ACTORS[who]))
    q = await emu.user(ACTORS[who]).press(tk.card_message_id, f"s:phone:{tk.id}", chat_id=GROUP)
    await settle(desk, emu)
    assert emu.callback_answers(q)["text"] == plain("zh_CN", "staff.phone_sent")
    [dm] = emu.sent(ACTORS[who])[dm_before:]
    assert "+86 138 1234 5678" in dm["text"] and tk.ref in dm["text"]
    said = " ".join(m.get("text") or "" for m in emu.sent(GROUP)[group_before:])
    assert "138 1234 5678" not in said and "13812345678" not in said  # never in the group
    async with desk.db.uow() as uow:
        [shown] = [(h.actor_id, h.actor_kind, h.at) for h in
                   await uow.repos.tickets.history(tk.id) if h.event == "phone_shown"]
    assert shown[:2] == (ACTORS[who], "staff") and shown[2] is not None


@pytest.mark.parametrize("who", ["other_steward", "subject", "customer", "deactivated"])
async def test_show_phone_refused_for_everyone_else_and_recorded(
        emu: Emulator, claimed: tuple[App, Any], who: str) -> None:
    desk, tk = claimed
    dm_before = len(emu.sent(ACTORS[who]))
    await emu.user(ACTORS[who]).press(tk.card_message_id, f"s:phone:{tk.id}", chat_id=GROUP)
    await settle(desk, emu)
    assert len(emu.sent(ACTORS[who])) == dm_before  # nothing in their private chat
    [denied] = await _denials(desk, tk.id)
    assert denied == {"action": "phone", "reason": REFUSALS[who]}
