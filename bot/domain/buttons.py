"""Every inline button of the desk and its callback data: one typed codec for both sides.

Customer buttons are "c:<action>[:<arg>]", staff buttons "s:<action>:<ticket>[:<arg>]", always
under Telegram's 64 bytes. The data only says which button was pressed: services re-check it
against the database (a ticket id among the presser's own tickets, a step against the draft,
a staff action against the roster). The formats are those buttons already in chats carry.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

MAX_BYTES = 64


class Side(StrEnum):
    """Whose button: the prefix of its data."""

    CUSTOMER = "c"
    STAFF = "s"


class CustomerAction(StrEnum):
    """The customer's buttons: menu, language, intake steps, their tickets."""

    FILE = "file"
    MINE = "mine"
    LANG = "lang"
    SET_LANG = "setlang"
    CATEGORY = "cat"
    CATEGORIES = "cats"
    DONE = "done"
    OUTCOME = "out"
    OPTION = "opt"
    PROFILE_NAME = "pname"
    PREVIOUS = "prev"
    ABOUT = "abt"
    CONFIRM = "ok"
    CHANGE = "chg"
    FIELD = "f"
    BACK = "back"
    CANCEL = "cancel"
    SHOW = "t"
    URGE = "u"
    ATTACH = "to"
    NOT_SOLVED = "ns"
    WITHDRAW = "wd"  # withdraw a ticket: asks why
    WITHDRAW_REASON = "wdr"  # arg "<ticket>:<reason>": asks to confirm
    WITHDRAW_CONFIRM = "wdok"  # arg "<ticket>:<reason>"
    WITHDRAW_KEEP = "wdk"  # changed their mind: the ticket carries on
    FOLLOW_UP = "fu"  # an answer to the follow-up: "fu:<ticket>:<follow-up>:<answer>"
    SAME = "same"  # "the same matter as ticket X?": a ticket id, or "new"


class StaffAction(StrEnum):
    """Staff buttons on a ticket's card, in its topic or in a private chat."""

    CLAIM = "claim"
    RELEASE = "release"
    TRANSFER = "transfer"
    TRANSFER_TO = "tt"  # a person picked from the transfer menu
    ABOUT = "about"
    ABOUT_WHO = "ab"  # a person picked from the "about a staff member" menu
    ASK = "ask"
    ESCALATE = "escalate"
    RESOLVE = "resolve"
    PHONE = "phone"
    APPROVE = "approve"  # a proposed resolution (arg: its history row) goes to the customer
    SEND_BACK = "sendback"  # … goes back to the steward with a reason
    # A group incident's update, previewed: these carry the broadcast's id where the others
    # carry a ticket's (bot.services.incidents decides them, never bot.services.handling).
    BROADCAST_SEND = "bcsend"
    BROADCAST_DROP = "bcdrop"


@dataclass(frozen=True)
class Press:
    """A decoded button: whose, which action, on which ticket (staff), with what argument."""

    side: Side
    action: CustomerAction | StaffAction | None  # None: a staff button naming no known action
    ticket_id: int | None = None
    arg: str = ""


def customer(action: CustomerAction, arg: str | int = "") -> str:
    """The data of a customer's button."""
    return _checked(f"{Side.CUSTOMER}:{action}" + (f":{arg}" if arg != "" else ""))


def staff(action: StaffAction, ticket_id: int, arg: str = "") -> str:
    """The data of a staff button on a ticket."""
    return _checked(f"{Side.STAFF}:{action}:{ticket_id}" + (f":{arg}" if arg else ""))


def decode(data: str | None) -> Press | None:
    """A button's data as a Press; None for anything that is not one of ours.

    A staff button with a ticket but an action we never make decodes with action None, so the
    attempt is refused and recorded on that ticket rather than lost.
    """
    if not data or len(data.encode("utf-8")) > MAX_BYTES:
        return None
    side, _, rest = data.partition(":")
    if side == Side.CUSTOMER:
        action, _, arg = rest.partition(":")
        if action not in CustomerAction.__members__.values():
            return None
        return Press(Side.CUSTOMER, CustomerAction(action), None, arg)
    if side == Side.STAFF:
        action, _, rest = rest.partition(":")
        ticket, _, arg = rest.partition(":")
        if not ticket.isdigit():
            return None
        known = action in StaffAction.__members__.values()
        return Press(Side.STAFF, StaffAction(action) if known else None, int(ticket), arg)
    return None


def _checked(data: str) -> str:
    if len(data.encode("utf-8")) > MAX_BYTES:
        raise ValueError(f"callback data over {MAX_BYTES} bytes: {data!r}")
    return data
