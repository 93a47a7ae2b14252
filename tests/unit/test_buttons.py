"""The one callback-data codec: every button both sides make decodes to what was encoded."""

from __future__ import annotations

import pytest

from bot.domain import buttons
from bot.domain.buttons import CustomerAction, Press, Side, StaffAction


@pytest.mark.parametrize("action", list(CustomerAction))
def test_every_customer_button_round_trips(action: CustomerAction) -> None:
    for arg in ("", "17", "housing"):
        data = buttons.customer(action, arg)
        assert data.startswith("c:") and len(data.encode()) <= buttons.MAX_BYTES
        assert buttons.decode(data) == Press(Side.CUSTOMER, action, None, arg)


@pytest.mark.parametrize("action", list(StaffAction))
def test_every_staff_button_round_trips(action: StaffAction) -> None:
    for arg in ("", "5001"):
        data = buttons.staff(action, 123456789, arg)
        assert buttons.decode(data) == Press(Side.STAFF, action, 123456789, arg)


def test_the_formats_of_buttons_already_in_chats_still_decode() -> None:
    # Buttons sent before the codec existed are still on customers' and stewards' screens.
    assert buttons.decode("c:ns:42") == Press(Side.CUSTOMER, CustomerAction.NOT_SOLVED, None, "42")
    assert buttons.decode("s:tt:7:1002") == Press(Side.STAFF, StaffAction.TRANSFER_TO, 7, "1002")
    assert buttons.decode("c:file") == Press(Side.CUSTOMER, CustomerAction.FILE)


@pytest.mark.parametrize("data", [None, "", "x:file", "c:", "c:nonsense", "s:claim", "s:claim:x",
                                  "c:" + "9" * 70, "sclaim:1"])
def test_what_is_not_ours_decodes_to_none(data: str | None) -> None:
    assert buttons.decode(data) is None


def test_a_staff_action_we_never_make_keeps_its_ticket_so_the_attempt_is_recorded() -> None:
    assert buttons.decode("s:delete:9") == Press(Side.STAFF, None, 9, "")


def test_data_over_64_bytes_is_refused_when_made() -> None:
    with pytest.raises(ValueError, match="64 bytes"):
        buttons.customer(CustomerAction.CATEGORY, "类" * 30)
